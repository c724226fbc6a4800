#include <stddef.h>
#include <string.h>

#include "table.h"

static const struct conf_opt ivrd_opts[] = {
	{"state_dir", OPT_STRING, false, "/var/lib/ivrd", 0, 0,
		"Directory for the journal (journal.db). Relative paths are relative to the "
		"working directory."},
	{"control_socket", OPT_STRING, false, "/run/ivrd/ivrd.sock", 0, 0,
		"Unix socket ivrctl talks to."},
	{"prompts_dir", OPT_STRING, false, "/usr/share/ivrd/prompts", 0, 0,
		"Directory holding one subdirectory of prompts per language (en/, vi/)."},
	{"default_language", OPT_STRING, false, "en", 0, 0,
		"Language of calls whose dialed number names none; its prompts must all exist."},
	{"languages", OPT_STRINGS, false, NULL, 0, 0,
		"Languages whose prompts are loaded (default: the default language only). A "
		"prompt missing in one of them is played in the default language, with a warning "
		"at load."},
	{"operator", OPT_STRING, false, "dept:operator", 0, 0,
		"Where 0 leads from any menu, and the fallback of menus and departments that name "
		"none: \"dept:NAME\" or \"menu:NAME\"."},
	{"entry_menu", OPT_STRING, false, "main", 0, 0,
		"Menu for dialed numbers not listed in numbers."},
	{"country_code", OPT_STRING, false, "1", 0, 0,
		"Country code of national numbers: dialed and caller numbers are compared as E.164 "
		"digits without '+', so \"+1 (800) 555-0100\", \"tel:+1-800-555-0100\", "
		"\"18005550100\" and \"8005550100\" are one number. A number of exactly "
		"national_length digits without '+' gets this code in front; other lengths are kept "
		"as they are."},
	{"national_length", OPT_INT, false, "10", 4, 14,
		"Digits of a national number without its country code (10 in North America)."},
	{"goodbye_prompt", OPT_STRING, false, "common/goodbye", 0, 0,
		"Played before ivrd ends a call itself because nowhere is left to send it."},
	{"drain_time", OPT_SECONDS, false, "30", 0, 3600,
		"On SIGTERM, seconds that calls in progress may take to finish before ivrd ends "
		"them; meanwhile new calls get 503 with Retry-After."},
	{"http_listen", OPT_STRING, false, "127.0.0.1:9090", 0, 0,
		"ADDRESS:PORT serving /metrics (Prometheus) and /healthz, or \"off\". Keep it on a "
		"local address: the figures describe callers."},
	{"control_group", OPT_STRING, false, NULL, 0, 0,
		"Group whose members may use the control socket besides root and ivrd's own user "
		"(default: ivrd's own group)."},
	{"max_overflow", OPT_INT, false, "3", 0, 10,
		"Department fallbacks (one department overflowing to the next) a call may take "
		"before it goes to the operator; when the operator itself failed, the goodbye "
		"prompt."},
	{"retention_days", OPT_INT, false, "0", 0, 36500,
		"Days the journal keeps events (0: keep everything). Older events, and promises "
		"closed before then, are removed at start, when the value changes and every hour, "
		"in small batches; open promises and their calls stay whatever their age."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt sip_opts[] = {
	{"listen", OPT_STRINGS, false, "[\"udp:127.0.0.1:5060\"]", 0, 0,
		"Addresses SIP is received on: \"udp:ADDRESS:PORT\" or \"tcp:ADDRESS:PORT\", IPv6 "
		"as \"udp:[::1]:5060\". Responses go back over the request's TCP connection; "
		"requests in a dialog go over the caller's connection while it is open."},
	{"answer_delay", OPT_SECONDS, false, "0", 0, 30,
		"Seconds between 180 Ringing and answering (0 answers at once)."},
	{"user_agent", OPT_STRING, false, "ivrd", 0, 0,
		"User-Agent and Server header value."},
	{"trusted", OPT_STRINGS, false, NULL, 0, 0,
		"Sources (trunks, PBXs) that may place calls: addresses or CIDR prefixes, "
		"\"10.1.2.3\", \"127.0.0.0/8\", \"2001:db8::/32\". INVITEs from elsewhere get 403 "
		"Forbidden (journaled as refused), other requests 403, OPTIONS is still answered. "
		"Default: none listed, every source may call."},
	{"max_calls", OPT_INT, false, "0", 0, 1000000,
		"Calls in progress at once; beyond it INVITEs get 503 with Retry-After (journaled "
		"as refused). 0 = no limit."},
	{"max_calls_per_source", OPT_INT, false, "0", 0, 1000000,
		"Calls in progress at once from one source IP address; beyond it 503 with "
		"Retry-After (journaled as refused). 0 = no limit."},
	{"max_message_size", OPT_INT, false, "16384", 1024, 65535,
		"Bytes in one SIP datagram or TCP message; larger requests get 413 when Via, "
		"From, To, Call-ID and CSeq are within the first max_message_size bytes (else they "
		"are dropped; a TCP connection is then closed), larger responses are dropped."},
	{"max_headers", OPT_INT, false, "100", 10, 1000,
		"Header lines in one SIP message; requests with more get 400 (Too many headers), "
		"responses with more are dropped."},
	{"max_connections", OPT_INT, false, "1024", 1, 1000000,
		"TCP connections open at once, accepted and opened by ivrd; more are closed at "
		"once."},
	{"tcp_idle_timeout", OPT_INT, false, "120", 1, 86400,
		"Seconds without traffic before a TCP connection is closed; a connection a call "
		"in progress came over is kept (the caller may be reachable no other way). A "
		"closed connection ends no call."},
	{"session_expires", OPT_INT, false, "1800", 90, 86400,
		"Session timer (RFC 4028), seconds: the longest interval between session refreshes "
		"ivrd grants a caller that asks for one (Session-Expires). A call not refreshed in "
		"time is ended with a BYE; when ivrd is the refresher it sends UPDATE (or re-INVITE) "
		"at half the interval. Not lower than min_se."},
	{"min_se", OPT_INT, false, "90", 90, 86400,
		"Shortest session timer interval accepted, seconds (RFC 4028 Min-SE, at least 90); "
		"an INVITE asking for less gets 422 with Min-SE."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt outbound_opts[] = {
	{"proxy", OPT_STRING, false, "off", 0, 0,
		"Outbound proxy (a trunk or SBC) every call ivrd places goes through, with a loose "
		"Route to it: \"udp:ADDRESS:PORT\" with a numeric address, or \"off\" (ivrctl "
		"dial and callbacks are refused)."},
	{"from", OPT_STRING, false, "sip:ivrd@invalid", 0, 0,
		"Our identity in From of calls ivrd places: a sip: URI, \"sip:ivrd@callcenter.example\"."},
	{"domain", OPT_STRING, false, NULL, 0, 0,
		"Host of the Request-URI sip:NUMBER@DOMAIN (default: the proxy's address and port)."},
	{"username", OPT_STRING, false, NULL, 0, 0,
		"User name for digest authentication when the proxy challenges (401/407)."},
	{"password", OPT_STRING, false, NULL, 0, 0,
		"Password for digest authentication; never printed (ivrctl show config masks it). "
		"Keep the file readable by ivrd only."},
	{"realm", OPT_STRING, false, NULL, 0, 0,
		"Answer challenges of this realm only (default: any realm the proxy names)."},
	{"ring_timeout", OPT_SECONDS, false, "30", 1, 300,
		"Seconds a call ivrd places may ring before it is cancelled (CANCEL, no answer)."},
	{"max_outbound", OPT_INT, false, "50", 1, 100000,
		"Calls ivrd places that may be in progress at once; more are refused."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt rtp_opts[] = {
	{"address", OPT_STRING, false, "127.0.0.1", 0, 0,
		"Local IP address RTP is sent from and announced in SDP."},
	{"ports", OPT_PORTS, false, "[20000, 20999]", 1024, 65534,
		"First and last UDP port for RTP; each call takes an even port for RTP and the next "
		"one for RTCP."},
	{"symmetric", OPT_BOOL, false, "false", 0, 0,
		"Send RTP (and RTCP) to where the caller's RTP (RTCP) comes from rather than to the "
		"SDP address, for callers behind NAT. Only packets of the negotiated codec or "
		"telephone-event move the stream, and only once the source it follows has been "
		"silent for 1.5 s."},
	{"timeout", OPT_SECONDS, false, "60", 0, 3600,
		"Seconds with no RTP or RTCP from the caller and no SIP request in the call before "
		"ivrd ends it with a BYE (journaled as a drop, \"no media for N s\"). 0 = never."},
	{"hold_timeout", OPT_SECONDS, false, "0", 0, 86400,
		"The same while the caller has put the call on hold (a=sendonly or a=inactive: it "
		"sends no RTP). 0 = never: a held call ends with the caller's BYE."},
	{"inband_dtmf", OPT_STRING, false, "auto", 0, 0,
		"Keys heard as DTMF tones in the caller's audio: \"auto\" when the caller's SDP "
		"offers no telephone-event, \"always\", or \"off\"."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt menu_opts[] = {
	{"greeting", OPT_STRING, true, NULL, 0, 0,
		"Prompt played the first time a caller enters the menu (name under prompts_dir/LANG)."},
	{"short", OPT_STRING, false, NULL, 0, 0,
		"Prompt played on repeats: after an invalid key, a timeout, # or a return with * "
		"(default: the greeting)."},
	{"invalid", OPT_STRING, false, "common/invalid", 0, 0,
		"Prompt played after a key the menu does not offer, before the short prompt."},
	{"no_input", OPT_STRING, false, "common/no-input", 0, 0,
		"Prompt played after the timeout passes with no key, before the short prompt."},
	{"timeout", OPT_SECONDS, false, "5.0", 1, 60,
		"Seconds of silence, counted from the end of the prompts, before a timeout."},
	{"max_failures", OPT_INT, false, "3", 1, 10,
		"Invalid keys in one visit of the menu before the caller goes to the fallback."},
	{"max_timeouts", OPT_INT, false, "3", 1, 10,
		"Timeouts in one visit of the menu before the caller goes to the fallback."},
	{"fallback", OPT_STRING, false, NULL, 0, 0,
		"Where callers go after max_failures or max_timeouts (default: operator)."},
	{"barge_in", OPT_BOOL, false, "true", 0, 0,
		"Whether a key interrupts the greeting and short prompt; false for legal notices."},
	{"options", OPT_LIST, false, NULL, 0, 0,
		"The menu's choices: ( { key = \"1\"; action = \"menu:NAME\" | \"dept:NAME\" | "
		"\"repeat\" | \"back\"; }, ... ). Keys 0, * and # mean operator, back and repeat "
		"unless an option takes them."},
	{"type", OPT_STRING, false, "choice", 0, 0,
		"\"choice\": one key picks an option; \"entry\": the caller types several digits "
		"(an account number), routed by routes; \"directory\": the caller spells a name "
		"on the keypad (2=ABC ... 9=WXYZ), matched against entries."},
	{"min_length", OPT_INT, false, "1", 1, 32,
		"Entry and directory menus: fewer digits than this are one failure."},
	{"max_length", OPT_INT, false, "10", 1, 32,
		"Entry and directory menus: the entry ends by itself at this many digits."},
	{"terminator", OPT_STRING, false, "#", 0, 0,
		"Entry and directory menus: the key that ends an entry (not part of it): \"#\", "
		"A-D, or \"none\"."},
	{"inter_digit_timeout", OPT_SECONDS, false, "3.0", 0.5, 30,
		"Entry and directory menus: seconds without a further digit that end the entry "
		"with what was typed (a partial entry, judged like any other; never a timeout)."},
	{"sensitive", OPT_BOOL, false, "false", 0, 0,
		"Entry menus: the value is masked (12***67) in the journal and logs."},
	{"zero_is_digit", OPT_BOOL, false, "false", 0, 0,
		"Entry menus: 0 as the first key is a digit, not the operator (values that may "
		"start with 0). After the first digit 0 is always a digit."},
	{"routes", OPT_LIST, false, NULL, 0, 0,
		"Entry menus: ( { from = \"100000\"; to = \"199999\"; action = \"dept:NAME\"; }, "
		"{ prefix = \"2\"; action = \"menu:NAME\"; } ), the first that matches wins; a "
		"value no route matches is one failure."},
	{"entries", OPT_LIST, false, NULL, 0, 0,
		"Directory menus: ( { name = \"billing\"; spell = \"BILLING\"; action = "
		"\"dept:billing\"; prompt = \"dir/billing\"; }, ... )."},
	{"choice_prompt", OPT_STRING, false, "dir/choice", 0, 0,
		"Directory menus: played before the prompts of up to 3 names that match, which the "
		"caller then picks with 1, 2 or 3."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt route_opts[] = {
	{"from", OPT_STRING, false, NULL, 0, 0,
		"First value of a range, digits; a value matches when it has as many digits as "
		"from and to and lies between them."},
	{"to", OPT_STRING, false, NULL, 0, 0, "Last value of the range, as many digits as from."},
	{"prefix", OPT_STRING, false, NULL, 0, 0,
		"Digits a value starts with (instead of from and to)."},
	{"action", OPT_STRING, true, NULL, 0, 0, "\"menu:NAME\" or \"dept:NAME\"."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt dir_entry_opts[] = {
	{"name", OPT_STRING, true, NULL, 0, 0, "The name, as journaled."},
	{"spell", OPT_STRING, false, NULL, 0, 0,
		"What callers spell (default: name): letters and digits; spaces and punctuation "
		"are skipped."},
	{"action", OPT_STRING, true, NULL, 0, 0, "\"menu:NAME\" or \"dept:NAME\"."},
	{"prompt", OPT_STRING, true, NULL, 0, 0,
		"The name read back when several names match (\"for billing\")."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt option_opts[] = {
	{"key", OPT_STRING, true, NULL, 0, 0, "One key: 0-9, *, #, A-D."},
	{"action", OPT_STRING, true, NULL, 0, 0,
		"\"menu:NAME\", \"dept:NAME\", \"repeat\", \"back\", \"lang:CODE\": the "
		"call continues in that language (one of ivrd.languages) and the menu's short "
		"prompt plays again in it, \"callback:DEPT\": a call back from DEPT (which needs a "
		"callback group) is offered, or \"callback-cancel\": the caller's open promises "
		"are cancelled; either way the menu's short prompt follows."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt dept_opts[] = {
	{"targets", OPT_STRINGS, true, NULL, 0, 0,
		"SIP URIs callers are transferred to (REFER), tried in order when one fails."},
	{"timezone", OPT_STRING, false, "UTC", 0, 0,
		"Time zone of the department's hours (tz database name)."},
	{"hours", OPT_STRINGS, false, "[\"always\"]", 0, 0,
		"Opening hours: \"always\", \"never\", \"mon-fri 08:00-18:00\", "
		"\"sat 09:00-12:00,13:00-17:00\"; open when any rule matches."},
	{"fallback", OPT_STRING, false, NULL, 0, 0,
		"Where callers go when the department is closed or no target takes the call "
		"(default: operator)."},
	{"closed_prompt", OPT_STRING, false, "common/closed", 0, 0,
		"Prompt played when the department is closed."},
	{"unavailable_prompt", OPT_STRING, false, "common/unavailable", 0, 0,
		"Prompt played when no target took the transfer."},
	{"transfer_prompt", OPT_STRING, false, "common/transferring", 0, 0,
		"Prompt played while the transfer is under way."},
	{"transfer_timeout", OPT_SECONDS, false, "30", 2, 300,
		"Seconds to wait for the transfer's final result before it counts as failed."},
	{"strategy", OPT_STRING, false, "order", 0, 0,
		"Which target a transfer tries first: \"order\" (the first, every time) or "
		"\"round-robin\" (the one after the previous transfer's first); either way the "
		"others follow when one fails."},
	{"holidays", OPT_STRINGS, false, NULL, 0, 0,
		"Days closed all day in the department's time zone: \"YYYY-MM-DD\" one date, "
		"\"MM-DD\" every year (\"02-29\" in leap years only)."},
	{"max_transfers", OPT_INT, false, "0", 0, 10000,
		"Transfers to the department under way at once (REFER sent, no outcome yet); at "
		"the cap it counts as unavailable: unavailable_prompt, then fallback. 0 = no cap."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt loop_guard_opts[] = {
	{"window", OPT_SECONDS, false, "86400", 60, 2592000,
		"Seconds back over which each caller number's transfers, drops and calls are "
		"counted (from the journal, so counts survive restarts)."},
	{"max_transfers", OPT_INT, false, "5", 0, 32,
		"Transfers in the window at which the caller's next call is escalated (0: not "
		"counted)."},
	{"max_drops", OPT_INT, false, "3", 0, 32,
		"Hang-ups in the IVR in the window at which the caller's next call is escalated "
		"(0: not counted)."},
	{"max_calls", OPT_INT, false, "6", 0, 32,
		"Calls in the window at which the caller's next call is escalated (0: not "
		"counted)."},
	{"dept", OPT_STRING, true, NULL, 0, 0,
		"Department escalated callers go to; also where a call goes instead of back to a "
		"department whose transfer already failed in it."},
	{"prompt", OPT_STRING, false, "common/escalate", 0, 0,
		"Played to escalated callers before the transfer."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt callback_opts[] = {
	{"offer", OPT_STRINGS, false, "[\"closed\", \"unavailable\", \"overflow\"]", 0, 0,
		"When callers of the department are offered a call back instead of (before) its "
		"fallback: \"closed\" (outside its hours), \"unavailable\" (every target refused "
		"or failed the transfer, or max_transfers reached), \"overflow\" (max_overflow "
		"fallbacks taken). Only callers whose number (From user) is a telephone number are "
		"offered; [] offers only through a menu option \"callback:NAME\"."},
	{"service_level", OPT_SECONDS, false, "1800", 0, 604800,
		"Seconds after the department opens (or after the promise, while it is open) by "
		"which the caller is told to expect the call; said rounded up to the next half "
		"hour in the department's time zone."},
	{"window", OPT_SECONDS, false, "86400", 300, 2592000,
		"Seconds after the promise by which it must be kept; past them it is broken "
		"(journaled, escalated)."},
	{"attempts", OPT_INT, false, "3", 1, 20,
		"Dial-backs before the promise is broken."},
	{"retry", OPT_SECONDS, false, "300", 10, 86400,
		"Seconds between a busy, unanswered or failed dial-back and the next."},
	{"max_active", OPT_INT, false, "2", 1, 1000,
		"Dial-backs for the department in progress at once."},
	{"order", OPT_STRING, false, "caller-first", 0, 0,
		"\"caller-first\": dial the caller, say \"this is your call back from\" "
		"name_prompt, then transfer them to the department; \"department-first\": dial "
		"the department first, then bring the caller in."},
	{"returning", OPT_STRING, false, "offer", 0, 0,
		"A caller with an open promise who calls again: \"offer\" (told of it: 1 connects "
		"to the department now, 2 keeps the promise and goes on to the menus) or \"route\" "
		"(sent straight to the department). Connected, the promise is kept."},
	{"name_prompt", OPT_STRING, false, NULL, 0, 0,
		"The department's name as spoken (\"callback/dept-billing\"), after \"this is "
		"your call back from\" and \"you have a call back pending from\" (default: none)."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt callbacks_opts[] = {
	{"rate", OPT_NUMBER, false, "2.0", 0.01, 1000,
		"Dial-backs started per second at most, over all departments."},
	{"lease", OPT_SECONDS, false, "120", 10, 3600,
		"Seconds an attempt holds its promise in the journal; a promise whose lease ran out "
		"(the daemon died mid-attempt) is attempted again, never twice at once."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt dashboard_opts[] = {
	{"enabled", OPT_BOOL, false, "true", 0, 0,
		"Serve the read-only QA dashboard (/, /trace, /assets/...) and its JSON API "
		"(/api/KIND?NAME=VALUE, as \"ivrctl KIND --json\" prints) on http_listen."},
	{"token", OPT_STRING, false, NULL, 0, 0,
		"Access token: requests must carry \"Authorization: Bearer TOKEN\" or, once, "
		"?token=TOKEN (the page then keeps an HttpOnly cookie). Never printed. Without "
		"one, when http_listen is not a loopback address, only loopback peers are served."},
	{"full_numbers", OPT_BOOL, false, "false", 0, 0,
		"Show whole caller and dialed numbers; by default they are masked (\"*******4567\")."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt number_opts[] = {
	{"dnis", OPT_STRING, true, NULL, 0, 0,
		"Dialed number (request URI user part, or the To user when the URI has none), "
		"compared after normalization (see ivrd.country_code)."},
	{"dept", OPT_STRING, false, NULL, 0, 0,
		"Department hint: 0 (operator) in this number's menus goes to this department "
		"first; when it is closed or nobody answers, its fallback applies as usual."},
	{"menu", OPT_STRING, false, NULL, 0, 0, "Entry menu (default: entry_menu)."},
	{"language", OPT_STRING, false, NULL, 0, 0,
		"Language of the call (default: default_language)."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt caller_opts[] = {
	{"match", OPT_STRINGS, true, NULL, 0, 0,
		"Caller numbers: full numbers, compared after normalization (\"+15551234567\"), or "
		"prefixes of normalized digits ending in * (\"1555*\"). The first rule in the list "
		"that matches a call applies, and is named in its route decisions."},
	{"mark", OPT_STRING, false, NULL, 0, 0,
		"\"internal\" (a colleague; journaled), \"priority\" (journaled; first in any "
		"queue) or \"blocked\" (the INVITE gets 603 Decline, journaled)."},
	{"menu", OPT_STRING, false, NULL, 0, 0,
		"Entry menu for these callers, instead of the dialed number's."},
	{"dept", OPT_STRING, false, NULL, 0, 0,
		"Department these callers are transferred to on answer, after its transfer prompt; "
		"its fallback applies as usual."},
	{"language", OPT_STRING, false, NULL, 0, 0,
		"Language of these callers' calls, instead of the dialed number's."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

const struct conf_block conf_blocks[] = {
	{"ivrd", ivrd_opts},
	{"ivrd.sip", sip_opts},
	{"ivrd.sip.outbound", outbound_opts},
	{"ivrd.rtp", rtp_opts},
	{"menus.NAME", menu_opts},
	{"menus.NAME.options.[N]", option_opts},
	{"departments.NAME", dept_opts},
	{"numbers.[N]", number_opts},
	{"ivrd.loop_guard", loop_guard_opts},
	{"ivrd.callbacks", callbacks_opts},
	{"ivrd.dashboard", dashboard_opts},
	{"departments.NAME.callback", callback_opts},
	{"menus.NAME.routes.[N]", route_opts},
	{"menus.NAME.entries.[N]", dir_entry_opts},
	{"callers.[N]", caller_opts},
	{NULL, NULL},
};

const struct conf_opt *
conf_table_find(const struct conf_opt *opts, const char *name)
{
	for (; opts->name != NULL; opts++)
		if (strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

const struct conf_opt *
conf_block_opts(const char *path)
{
	for (const struct conf_block *b = conf_blocks; b->path != NULL; b++)
		if (strcmp(b->path, path) == 0)
			return b->opts;
	return NULL;
}
