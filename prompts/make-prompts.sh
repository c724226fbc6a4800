#!/usr/bin/env bash
# Regenerates the shipped prompts: prompts/<lang>/<name>.wav, 8 kHz mono u-law WAV.
# Needs espeak-ng and sox. The output is deterministic (no dither), so re-running it only
# changes the files whose text changed. Usage: prompts/make-prompts.sh [name ...]
# A text may switch voice mid-prompt with "|LANG|": the offer of another language is
# spoken in that language ("... |vi| Để nghe bằng tiếng Việt, bấm phím 9.").
set -euo pipefail
shopt -s extglob

cd "$(dirname "$0")"
rate=150 # words per minute: slow enough for a phone line

declare -A text

text[en:main/greeting]="Thank you for calling Example Company. For sales, press 1. For billing, press 2. For technical support, press 3. For a call back from billing, press 4. To cancel a call back, press 7. To hear these options again, press the pound key. To speak with an operator, press 0 at any time. |vi| Để nghe bằng tiếng Việt, bấm phím 9."
text[vi:main/greeting]="Cảm ơn quý khách đã gọi đến công ty Example. Để gặp bộ phận bán hàng, vui lòng bấm phím 1. Để gặp bộ phận thanh toán, bấm phím 2. Để được hỗ trợ kỹ thuật, bấm phím 3. Để được bộ phận thanh toán gọi lại, bấm phím 4. Để hủy yêu cầu gọi lại, bấm phím 7. Để nghe lại các lựa chọn này, bấm phím thăng. Để nói chuyện với nhân viên tổng đài, bấm phím 0 bất cứ lúc nào. |en| For English, press 8."

text[en:main/short]="For sales, press 1. For billing, 2. For technical support, 3. Call back, 4. Cancel a call back, 7. For an operator, 0."
text[vi:main/short]="Bán hàng, bấm phím 1. Thanh toán, phím 2. Hỗ trợ kỹ thuật, phím 3. Được gọi lại, phím 4. Hủy gọi lại, phím 7. Gặp nhân viên tổng đài, phím 0."

text[en:sales/greeting]="Sales. For a new order, press 1. For an order you have already placed, press 2. To go back, press star."
text[vi:sales/greeting]="Bộ phận bán hàng. Để đặt đơn hàng mới, bấm phím 1. Về đơn hàng quý khách đã đặt, bấm phím 2. Để quay lại, bấm phím sao."

text[en:sales/short]="New order, 1. Existing order, 2. Back, star."
text[vi:sales/short]="Đơn hàng mới, phím 1. Đơn hàng đã đặt, phím 2. Quay lại, phím sao."

text[en:support/greeting]="Technical support. For internet service, press 1. For phone service, press 2. To go back, press star."
text[vi:support/greeting]="Hỗ trợ kỹ thuật. Về dịch vụ internet, bấm phím 1. Về dịch vụ điện thoại, bấm phím 2. Để quay lại, bấm phím sao."

text[en:support/short]="Internet, 1. Phone, 2. Back, star."
text[vi:support/short]="Internet, phím 1. Điện thoại, phím 2. Quay lại, phím sao."

text[en:common/invalid]="Sorry, that is not one of the choices."
text[vi:common/invalid]="Xin lỗi, đó không phải là một trong các lựa chọn."

text[en:common/no-input]="Sorry, I did not hear a choice."
text[vi:common/no-input]="Xin lỗi, tôi không nghe thấy quý khách chọn phím nào."

text[en:common/transferring]="Please hold while I connect you."
text[vi:common/transferring]="Xin quý khách vui lòng giữ máy trong khi tôi kết nối."

text[en:common/closed]="That department is closed right now. Let me find someone who can help you."
text[vi:common/closed]="Bộ phận đó hiện đang ngoài giờ làm việc. Để tôi tìm người khác có thể giúp quý khách."

text[en:common/unavailable]="Sorry, that department cannot take your call right now. Let me find someone who can help you."
text[vi:common/unavailable]="Xin lỗi, bộ phận đó hiện không thể nhận cuộc gọi của quý khách. Để tôi tìm người khác có thể giúp quý khách."

text[en:common/goodbye]="Thank you for calling. Goodbye."
text[vi:common/goodbye]="Cảm ơn quý khách đã gọi. Xin chào tạm biệt."

# The callback conversation (src/call/offer.c): sentences, then the words a promise is read
# back with, each its own short prompt: "... the number ending in" 4 5 6 7, "... call you"
# tomorrow at "eight thirty a m".
text[en:callback/offer]="We can call you back instead, so you do not have to wait. For a call back, press 1. To go on, press 2."
text[vi:callback/offer]="Chúng tôi có thể gọi lại cho quý khách, để quý khách không phải chờ. Để được gọi lại, bấm phím 1. Để tiếp tục, bấm phím 2."
text[en:callback/number-is]="We will call you at the number ending in"
text[vi:callback/number-is]="Chúng tôi sẽ gọi lại vào số điện thoại có đuôi là"
text[en:callback/confirm]="If that is right, press 1. To give another number, press 2."
text[vi:callback/confirm]="Nếu đúng, bấm phím 1. Để cho số khác, bấm phím 2."
text[en:callback/enter-number]="Please enter the number to call, with its area code, then press the pound key."
text[vi:callback/enter-number]="Vui lòng nhập số điện thoại cần gọi lại, kể cả mã vùng, rồi bấm phím thăng."
text[en:callback/invalid-number]="Sorry, that number cannot be called."
text[vi:callback/invalid-number]="Xin lỗi, không thể gọi đến số đó."
text[en:callback/promised]="Thank you, your call back is booked. We expect to call you"
text[vi:callback/promised]="Cảm ơn quý khách, yêu cầu gọi lại đã được ghi nhận. Chúng tôi dự kiến gọi lại cho quý khách"
text[en:callback/goodbye]="Goodbye."
text[vi:callback/goodbye]="Xin chào tạm biệt."
text[en:callback/this-is]="Hello. This is your call back from"
text[vi:callback/this-is]="Xin chào. Đây là cuộc gọi lại từ"
text[en:callback/for-caller]="This is a call back for a waiting caller. Connecting."
text[vi:callback/for-caller]="Đây là cuộc gọi lại cho một khách hàng đang chờ. Đang kết nối."
text[en:callback/returning]="Welcome back. You have a call back pending from"
text[vi:callback/returning]="Chào mừng quý khách. Quý khách đang có một yêu cầu gọi lại từ"
text[en:callback/returning-keys]="To be connected now, press 1. To keep your call back, press 2."
text[vi:callback/returning-keys]="Để được kết nối ngay, bấm phím 1. Để giữ yêu cầu gọi lại, bấm phím 2."
text[en:callback/cancelled]="Your call back has been cancelled."
text[vi:callback/cancelled]="Yêu cầu gọi lại của quý khách đã được hủy."
text[en:callback/none]="You have no call back pending."
text[vi:callback/none]="Quý khách không có yêu cầu gọi lại nào."
text[en:callback/dept-billing]="Billing."
text[vi:callback/dept-billing]="bộ phận thanh toán."
text[en:callback/dept-support]="Technical support."
text[vi:callback/dept-support]="bộ phận hỗ trợ kỹ thuật."
text[en:callback/today]="today"
text[vi:callback/today]="hôm nay"
text[en:callback/tomorrow]="tomorrow"
text[vi:callback/tomorrow]="ngày mai"
text[en:callback/at]="at"
text[vi:callback/at]="lúc"
days_en=(sunday monday tuesday wednesday thursday friday saturday)
days_vi=("Chủ nhật" "thứ Hai" "thứ Ba" "thứ Tư" "thứ Năm" "thứ Sáu" "thứ Bảy")
for i in "${!days_en[@]}"; do
	text[en:callback/${days_en[$i]}]="on ${days_en[$i]^}"
	text[vi:callback/${days_en[$i]}]="vào ${days_vi[$i]}"
done
digits_en=(zero one two three four five six seven eight nine)
digits_vi=(không một hai ba bốn năm sáu bảy tám chín)
for i in "${!digits_en[@]}"; do
	text[en:callback/digit-$i]="${digits_en[$i]}"
	text[vi:callback/digit-$i]="${digits_vi[$i]}"
done
# Promised times are rounded up to the half hour: 48 per language.
hours_en=(twelve one two three four five six seven eight nine ten eleven)
for h in $(seq 0 23); do
	for m in 00 30; do
		hh=$(printf %02d "$h")
		if [ "$h" -lt 12 ]; then ampm="a m"; else ampm="p m"; fi
		words=${hours_en[$((h % 12))]}
		[ "$m" = 30 ] && words="$words thirty"
		case $h$m in
		000) words="midnight" ;;
		1200) words="noon" ;;
		*) words="$words $ampm" ;;
		esac
		text[en:callback/time-$hh$m]=$words
		# Vietnamese: 12-hour clock with the part of the day, "8 giờ rưỡi sáng"
		if [ "$h" -ge 5 ] && [ "$h" -le 10 ]; then part="sáng"
		elif [ "$h" -ge 11 ] && [ "$h" -le 12 ]; then part="trưa"
		elif [ "$h" -ge 13 ] && [ "$h" -le 17 ]; then part="chiều"
		elif [ "$h" -ge 18 ] && [ "$h" -le 21 ]; then part="tối"
		else part="đêm"; fi
		h12=$((h % 12)); [ "$h12" = 0 ] && h12=12
		vi="$h12 giờ"
		[ "$m" = 30 ] && vi="$vi rưỡi"
		text[vi:callback/time-$hh$m]="$vi $part"
	done
done

declare -A voice=([en]=en-us [vi]=vi)

for tool in espeak-ng sox; do
	command -v "$tool" >/dev/null || { echo "make-prompts: $tool not found" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for key in "${!text[@]}"; do
		[[ $key == en:* ]] && names+=("${key#en:}")
	done
fi

for name in "${names[@]}"; do
	[ -n "${text[en:$name]+x}" ] || { echo "make-prompts: unknown prompt $name" >&2; exit 1; }
	for lang in "${!voice[@]}"; do
		[ -n "${text[$lang:$name]+x}" ] ||
			{ echo "make-prompts: no $lang text for $name" >&2; exit 1; }
		out=$lang/$name.wav
		mkdir -p "$(dirname "$out")"
		# one synthesis per voice segment, joined end to end
		parts=()
		seg_lang=$lang
		rest=${text[$lang:$name]}
		while :; do
			seg=${rest%%|*}
			n=${#parts[@]}
			espeak-ng -v "${voice[$seg_lang]}" -s "$rate" -w "$tmp/part$n.wav" -- "$seg"
			parts+=("$tmp/part$n.wav")
			[[ $rest == *"|"*"|"* ]] || break
			rest=${rest#*|}
			seg_lang=${rest%%|*}
			rest=${rest#*|}
		done
		sox "${parts[@]}" "$tmp/tts.wav"
		# -D: no dither, so the same text always gives the same bytes. espeak-ng's
		# leading and trailing silence is cut to 0.1 s (so the caller hears the prompt at
		# once, without a clipped first syllable) and 0.3 s. norm -3: every prompt at the
		# same level, with headroom so the rate change cannot clip.
		# Words read back one after another (digits, days, times) get less padding, so
		# "four five six seven" is not spaced out.
		pad="0.1 0.3"
		[[ $name == callback/@(digit-*|time-*|today|tomorrow|at|*day) ]] && pad="0.02 0.12"
		sox -D "$tmp/tts.wav" -r 8000 -c 1 -e u-law "$tmp/out.wav" \
			silence 1 0.02 -50d reverse silence 1 0.02 -50d reverse pad $pad norm -3
		mv "$tmp/out.wav" "$out"
		echo "$out"
	done
done
