#!/usr/bin/env bash
# Regenerates the shipped prompts: prompts/<lang>/<name>.wav, 8 kHz mono u-law WAV.
# Needs espeak-ng and sox. The output is deterministic (no dither), so re-running it only
# changes the files whose text changed. Usage: prompts/make-prompts.sh [name ...]
# A text may switch voice mid-prompt with "|LANG|": the offer of another language is
# spoken in that language ("... |vi| Để nghe bằng tiếng Việt, bấm phím 9.").
set -euo pipefail

cd "$(dirname "$0")"
rate=150 # words per minute: slow enough for a phone line

declare -A text

text[en:main/greeting]="Thank you for calling Example Company. For sales, press 1. For billing, press 2. For technical support, press 3. To hear these options again, press the pound key. To speak with an operator, press 0 at any time. |vi| Để nghe bằng tiếng Việt, bấm phím 9."
text[vi:main/greeting]="Cảm ơn quý khách đã gọi đến công ty Example. Để gặp bộ phận bán hàng, vui lòng bấm phím 1. Để gặp bộ phận thanh toán, bấm phím 2. Để được hỗ trợ kỹ thuật, bấm phím 3. Để nghe lại các lựa chọn này, bấm phím thăng. Để nói chuyện với nhân viên tổng đài, bấm phím 0 bất cứ lúc nào. |en| For English, press 8."

text[en:main/short]="For sales, press 1. For billing, 2. For technical support, 3. For an operator, 0."
text[vi:main/short]="Bán hàng, bấm phím 1. Thanh toán, phím 2. Hỗ trợ kỹ thuật, phím 3. Gặp nhân viên tổng đài, phím 0."

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
		sox -D "$tmp/tts.wav" -r 8000 -c 1 -e u-law "$tmp/out.wav" \
			silence 1 0.02 -50d reverse silence 1 0.02 -50d reverse pad 0.1 0.3 norm -3
		mv "$tmp/out.wav" "$out"
		echo "$out"
	done
done
