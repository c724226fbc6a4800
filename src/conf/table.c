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
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt sip_opts[] = {
	{"listen", OPT_STRINGS, false, "[\"udp:127.0.0.1:5060\"]", 0, 0,
		"Addresses SIP is received on: \"udp:ADDRESS:PORT\", IPv6 as \"udp:[::1]:5060\"."},
	{"answer_delay", OPT_SECONDS, false, "0", 0, 30,
		"Seconds between 180 Ringing and answering (0 answers at once)."},
	{"user_agent", OPT_STRING, false, "ivrd", 0, 0,
		"User-Agent and Server header value."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt rtp_opts[] = {
	{"address", OPT_STRING, false, "127.0.0.1", 0, 0,
		"Local IP address RTP is sent from and announced in SDP."},
	{"ports", OPT_PORTS, false, "[20000, 20999]", 1024, 65534,
		"First and last UDP port for RTP; each call takes one even port."},
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
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt option_opts[] = {
	{"key", OPT_STRING, true, NULL, 0, 0, "One key: 0-9, *, #, A-D."},
	{"action", OPT_STRING, true, NULL, 0, 0,
		"\"menu:NAME\", \"dept:NAME\", \"repeat\" or \"back\"."},
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
	{NULL, 0, false, NULL, 0, 0, NULL},
};

static const struct conf_opt number_opts[] = {
	{"dnis", OPT_STRING, true, NULL, 0, 0,
		"Dialed number (request URI user part); only its digits are compared."},
	{"menu", OPT_STRING, false, NULL, 0, 0, "Entry menu (default: entry_menu)."},
	{"language", OPT_STRING, false, NULL, 0, 0,
		"Language of the call (default: default_language)."},
	{NULL, 0, false, NULL, 0, 0, NULL},
};

const struct conf_block conf_blocks[] = {
	{"ivrd", ivrd_opts},
	{"ivrd.sip", sip_opts},
	{"ivrd.rtp", rtp_opts},
	{"menus.NAME", menu_opts},
	{"menus.NAME.options.[N]", option_opts},
	{"departments.NAME", dept_opts},
	{"numbers.[N]", number_opts},
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
