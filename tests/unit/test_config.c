/* The configuration loader: files each test writes into its own directory under /tmp, with
 * 8 kHz prompts made here with libsndfile. A good file loads with the table's defaults; a
 * bad one is refused with every error at once, each at its file:line and setting path. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ivr/conf.h"
#include "ivr/hours.h"
#include "ivr/prompt.h"
#include "ivr/util.h"

static char dir[64];

/* --- files --- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void
mkdirs(const char *path)
{
	char p[512];

	str_copy(p, path, sizeof(p));
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) == -1)
			CHECK(errno == EEXIST);
		*s = '/';
	}
}

/* Writes text to DIR/name, with every "@DIR@" replaced by the test's directory. */
static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	mkdirs(path);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	for (const char *s = text; *s != '\0';) {
		if (strncmp(s, "@DIR@", 5) == 0) {
			fputs(dir, f);
			s += 5;
		} else {
			fputc(*s++, f);
		}
	}
	CHECK_INT(fclose(f), 0);
}

/* DIR/prompts/LANG/NAME.wav: ms of a tone, 8 kHz mono 16-bit. */
static void
write_prompt(const char *lang, const char *name, int ms)
{
	SF_INFO info = {.samplerate = 8000, .channels = 1,
		.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	char path[512];
	short pcm[8000];
	sf_count_t n = 8 * ms;
	SNDFILE *sf;

	for (sf_count_t i = 0; i < n; i++)
		pcm[i] = (short)lrint(8000 * sin(2 * M_PI * 440 * (double)i / 8000));
	snprintf(path, sizeof(path), "%s/prompts/%s/%s.wav", dir, lang, name);
	mkdirs(path);
	sf = sf_open(path, SFM_WRITE, &info);
	CHECK(sf != NULL);
	if (sf == NULL)
		return;
	CHECK_INT(sf_writef_short(sf, pcm, n), n);
	CHECK_INT(sf_close(sf), 0);
}

/* The prompts the good configuration names, in both languages. */
static const char *const prompts[] = {
	"main/greeting", "main/short", "sales/greeting", "common/invalid", "common/no-input",
	"common/closed", "common/unavailable", "common/transferring", "common/goodbye",
};

static void
setup(bool vi)
{
	str_copy(dir, "/tmp/ivr-conf-XXXXXX", sizeof(dir));
	CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < ARRAY_LEN(prompts); i++) {
		write_prompt("en", prompts[i], 100);
		if (vi)
			write_prompt("vi", prompts[i], 120);
	}
}

static void
teardown(void)
{
	CHECK_INT(nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* --- loading and the error list --- */

static struct conf_errors errs;

static void
dump(const struct conf_errors *e)
{
	for (size_t i = 0; i < e->nerrors; i++)
		fprintf(stderr, "  error: %s\n", e->errors[i]);
	for (size_t i = 0; i < e->nwarnings; i++)
		fprintf(stderr, "  warning: %s\n", e->warnings[i]);
}

static int
load(struct conf **cp, const char *name, struct prompt_cache *cache)
{
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = conf_load(cp, &errs, path, cache, 7);
	if (check_failed)
		dump(&errs);
	return rc;
}

/* Line (from 1) of the first line of text that contains marker; the test fails without one. */
static int
line_of(const char *text, const char *marker)
{
	const char *p = strstr(text, marker);
	int line = 1;

	CHECK(p != NULL);
	if (p == NULL)
		return -1;
	for (const char *s = text; s < p; s++)
		line += *s == '\n';
	return line;
}

/* Whether list holds exactly "DIR/file:LINE: what" (LINE that of marker in text), or with
 * prefix set, a line starting so. */
static bool
listed(char **list, size_t n, const char *file, const char *text, const char *marker,
	const char *what, bool prefix)
{
	char want[1024];

	if (marker != NULL)
		snprintf(want, sizeof(want), "%s/%s:%d: %s", dir, file, line_of(text, marker), what);
	else
		snprintf(want, sizeof(want), "%s/%s: %s", dir, file, what);
	for (size_t i = 0; i < n; i++)
		if (prefix ? strncmp(list[i], want, strlen(want)) == 0 : strcmp(list[i], want) == 0)
			return true;
	fprintf(stderr, "not listed: %s%s\n", want, prefix ? "..." : "");
	return false;
}

#define ERROR(file, text, marker, what) \
	CHECK(listed(errs.errors, errs.nerrors, file, text, marker, what, false))
#define ERROR_PREFIX(file, text, marker, what) \
	CHECK(listed(errs.errors, errs.nerrors, file, text, marker, what, true))
#define WARNING(file, text, marker, what) \
	CHECK(listed(errs.warnings, errs.nwarnings, file, text, marker, what, false))

/* Loads a file expected to be refused, with n errors. */
static void
load_bad(const char *name, size_t n)
{
	struct conf *c = NULL;

	CHECK_INT(load(&c, name, NULL), EINVAL);
	CHECK(c == NULL);
	conf_unref(c); /* when it was wrongly accepted */
	CHECK_INT(errs.nerrors, n);
	if (errs.nerrors != n)
		dump(&errs);
}

/* --- the good configuration --- */

static const char good[] =
	"# a small call center\n"
	"ivrd: {\n"
	"  state_dir = \"@DIR@/state\";\n"
	"  prompts_dir = \"@DIR@/prompts\";\n"
	"  languages = [\"en\", \"vi\"];\n"
	"  sip: {\n"
	"    listen = [\"udp:127.0.0.1:5070\", \"udp:[::1]:5071\", \"tcp:[::1]:5071\"];\n"
	"    answer_delay = 1.5;\n"
	"    tcp_idle_timeout = 30;\n"
	"  };\n"
	"  rtp: {\n"
	"    address = \"127.0.0.2\";\n"
	"    ports = [30000, 30100];\n"
	"  };\n"
	"};\n"
	"numbers = (\n"
	"  { dnis = \"+1 800 555-0100\"; },\n"
	"  { dnis = \"18005550101\"; menu = \"sales\"; language = \"vi\"; }\n"
	");\n"
	"departments = {\n"
	"  sales = {\n"
	"    targets = [\"sip:sales@127.0.0.1:5090\", \"sips:backup@127.0.0.1:5091\"];\n"
	"    timezone = \"America/Chicago\";\n"
	"    hours = [\"mon-fri 08:00-18:00\", \"sat 09:00-12:00\"];\n"
	"    transfer_timeout = 10;\n"
	"  };\n"
	"  support = {\n"
	"    targets = [\"sip:support@127.0.0.1\"];\n"
	"    fallback = \"menu:main\";\n"
	"  };\n"
	"  operator = {\n"
	"    targets = [\"sip:operator@127.0.0.1\"];\n"
	"  };\n"
	"};\n"
	"menus = {\n"
	"  main = {\n"
	"    greeting = \"main/greeting\";\n"
	"    short = \"main/short\";\n"
	"    options = (\n"
	"      { key = \"1\"; action = \"menu:sales\"; },\n"
	"      { key = \"2\"; action = \"dept:support\"; },\n"
	"      { key = \"#\"; action = \"repeat\"; }\n"
	"    );\n"
	"  };\n"
	"  sales = {\n"
	"    greeting = \"sales/greeting\";\n"
	"    timeout = 2.5;\n"
	"    max_failures = 2;\n"
	"    max_timeouts = 4;\n"
	"    barge_in = false;\n"
	"    fallback = \"menu:main\";\n"
	"    options = (\n"
	"      { key = \"1\"; action = \"dept:sales\"; },\n"
	"      { key = \"0\"; action = \"dept:support\"; },\n"
	"      { key = \"*\"; action = \"back\"; },\n"
	"      { key = \"D\"; action = \"repeat\"; }\n"
	"    );\n"
	"  };\n"
	"};\n";

static const char *
prompt_name(const struct conf *c, int id)
{
	CHECK(id >= 0 && (size_t)id < c->nprompts);
	return id >= 0 && (size_t)id < c->nprompts ? c->prompt_names[id] : "(none)";
}

static void
test_good(void)
{
	struct conf *c = NULL;
	const struct conf_menu *main, *sales;
	const struct conf_dept *d;
	const struct conf_number *num;
	char buf[64], path[256];
	int m, k;

	setup(true);
	write_file("ivrd.conf", good);
	CHECK_INT(load(&c, "ivrd.conf", NULL), 0);
	CHECK(c != NULL);
	CHECK_INT(errs.nerrors, 0);
	CHECK_INT(errs.nwarnings, 0);
	if (c == NULL)
		goto out;
	CHECK_INT(c->refs, 1);
	CHECK_INT(c->generation, 7);
	snprintf(path, sizeof(path), "%s/ivrd.conf", dir);
	CHECK_STR(c->path, path);

	/* ivrd, with the table's defaults where the file says nothing */
	snprintf(path, sizeof(path), "%s/state", dir);
	CHECK_STR(c->state_dir, path);
	CHECK_STR(c->control_socket, "/run/ivrd/ivrd.sock");
	CHECK_INT(c->nlangs, 2);
	CHECK_STR(c->langs[0], "en");
	CHECK_STR(c->langs[1], "vi");
	CHECK_INT(c->nlisten, 3);
	CHECK_STR(c->listen[0].text, "udp:127.0.0.1:5070");
	CHECK_INT(c->listen[0].addr.ss_family, AF_INET);
	CHECK_INT(c->listen[0].proto, CONF_UDP);
	CHECK_STR(c->listen[1].text, "udp:[::1]:5071");
	CHECK_INT(c->listen[1].addr.ss_family, AF_INET6);
	CHECK_INT(c->listen[2].proto, CONF_TCP);
	CHECK_INT(c->listen[2].addr.ss_family, AF_INET6);
	CHECK_INT(c->tcp_idle_timeout, 30);
	CHECK_INT(c->max_connections, 1024);
	CHECK_INT(c->answer_delay_ms, 1500);
	CHECK_STR(c->user_agent, "ivrd");
	CHECK_STR(c->rtp_address, "127.0.0.2");
	CHECK_INT(c->rtp_port_min, 30000);
	CHECK_INT(c->rtp_port_max, 30100);
	CHECK_STR(prompt_name(c, c->goodbye_prompt), "common/goodbye");
	CHECK_INT(c->operator_action.kind, ACT_DEPT);
	CHECK_INT(c->operator_action.index, conf_dept_find(c, "operator"));
	CHECK_INT(c->entry_menu, conf_menu_find(c, "main"));

	/* menus */
	CHECK_INT(c->nmenus, 2);
	m = conf_menu_find(c, "main");
	CHECK(m >= 0);
	main = &c->menus[m];
	CHECK_STR(main->name, "main");
	CHECK_STR(prompt_name(c, main->greeting), "main/greeting");
	CHECK_STR(prompt_name(c, main->short_prompt), "main/short");
	CHECK_STR(prompt_name(c, main->invalid), "common/invalid");
	CHECK_STR(prompt_name(c, main->no_input), "common/no-input");
	CHECK_INT(main->timeout_ms, 5000);
	CHECK_INT(main->max_failures, 3);
	CHECK_INT(main->max_timeouts, 3);
	CHECK(main->barge_in);
	CHECK_INT(main->fallback.kind, ACT_DEPT);
	CHECK_INT(main->fallback.index, conf_dept_find(c, "operator"));
	for (k = 0; k < CONF_KEYS; k++)
		CHECK(main->key_set[k] == (k == conf_key_index('1') || k == conf_key_index('2') ||
			k == conf_key_index('#')));
	conf_action_str(c, &main->keys[conf_key_index('1')], buf, sizeof(buf));
	CHECK_STR(buf, "menu:sales");
	conf_action_str(c, &main->keys[conf_key_index('2')], buf, sizeof(buf));
	CHECK_STR(buf, "dept:support");
	CHECK_INT(main->keys[conf_key_index('#')].kind, ACT_REPEAT);

	sales = &c->menus[conf_menu_find(c, "sales")];
	CHECK_STR(prompt_name(c, sales->greeting), "sales/greeting");
	CHECK_INT(sales->short_prompt, sales->greeting); /* short defaults to the greeting */
	CHECK_INT(sales->timeout_ms, 2500);
	CHECK_INT(sales->max_failures, 2);
	CHECK_INT(sales->max_timeouts, 4);
	CHECK(!sales->barge_in);
	conf_action_str(c, &sales->fallback, buf, sizeof(buf));
	CHECK_STR(buf, "menu:main");
	CHECK(sales->key_set[conf_key_index('0')]);
	conf_action_str(c, &sales->keys[conf_key_index('0')], buf, sizeof(buf));
	CHECK_STR(buf, "dept:support");
	CHECK_INT(sales->keys[conf_key_index('*')].kind, ACT_BACK);
	CHECK_INT(sales->keys[conf_key_index('D')].kind, ACT_REPEAT);
	CHECK(!sales->key_set[conf_key_index('#')]);
	/* the same name is one prompt */
	CHECK_INT(sales->invalid, main->invalid);

	/* departments */
	CHECK_INT(c->ndepts, 3);
	d = &c->depts[conf_dept_find(c, "sales")];
	CHECK_INT(d->ntargets, 2);
	CHECK_STR(d->targets[0], "sip:sales@127.0.0.1:5090");
	CHECK_STR(d->targets[1], "sips:backup@127.0.0.1:5091");
	CHECK_STR(d->timezone, "America/Chicago");
	CHECK(d->tz != NULL);
	CHECK(d->hours != NULL && !hours_always(d->hours));
	CHECK_INT(d->transfer_timeout_ms, 10000);
	conf_action_str(c, &d->fallback, buf, sizeof(buf));
	CHECK_STR(buf, "dept:operator");
	CHECK_STR(prompt_name(c, d->closed_prompt), "common/closed");
	CHECK_STR(prompt_name(c, d->unavailable_prompt), "common/unavailable");
	CHECK_STR(prompt_name(c, d->transfer_prompt), "common/transferring");
	d = &c->depts[conf_dept_find(c, "support")];
	CHECK_STR(d->timezone, "UTC");
	CHECK(d->hours != NULL && hours_always(d->hours));
	CHECK_INT(d->transfer_timeout_ms, 30000);
	conf_action_str(c, &d->fallback, buf, sizeof(buf));
	CHECK_STR(buf, "menu:main");
	/* the operator is the last resort: no fallback unless told */
	d = &c->depts[conf_dept_find(c, "operator")];
	CHECK_INT(d->fallback.kind, ACT_NONE);
	CHECK_INT(conf_dept_find(c, "nosuch"), -1);
	CHECK_INT(conf_menu_find(c, "nosuch"), -1);

	/* numbers: digits only, menu and language defaulted */
	CHECK_INT(c->nnumbers, 2);
	num = conf_number_find(c, "tel:+1 (800) 555 0100");
	CHECK(num != NULL);
	if (num != NULL) {
		CHECK_STR(num->dnis, "18005550100");
		CHECK_INT(num->menu, conf_menu_find(c, "main"));
		CHECK_INT(num->lang, 0);
	}
	num = conf_number_find(c, "18005550101");
	CHECK(num != NULL);
	if (num != NULL) {
		CHECK_INT(num->menu, conf_menu_find(c, "sales"));
		CHECK_INT(num->lang, 1);
	}
	CHECK(conf_number_find(c, "18005550102") == NULL);

	/* every prompt decoded, in each language */
	for (size_t lang = 0; lang < c->nlangs; lang++)
		for (size_t id = 0; id < c->nprompts; id++) {
			const struct prompt *p = conf_prompt(c, (int)lang, (int)id);
			CHECK(p != NULL);
			if (p == NULL)
				continue;
			snprintf(path, sizeof(path), "%s/prompts/%s/%s.wav", dir, c->langs[lang],
				c->prompt_names[id]);
			CHECK_STR(prompt_path(p), path);
			CHECK_INT(prompt_duration_ms(p), lang == 0 ? 100 : 120);
		}
	CHECK_INT(c->nprompts, ARRAY_LEN(prompts));
	CHECK(conf_prompt(c, 2, 0) == NULL);
	CHECK(conf_prompt(c, 0, (int)c->nprompts) == NULL);
	CHECK(conf_prompt(c, 0, -1) == NULL);

	/* references */
	CHECK(conf_ref(c) == c);
	CHECK_INT(c->refs, 2);
	conf_unref(c);
	CHECK_INT(c->refs, 1);
out:
	conf_unref(c);
	conf_errors_free(&errs);
	teardown();
}

/* --- errors: all of them, each where it is --- */

static const char bad[] =
	"ivrd: {\n"
	"  prompts_dir = \"@DIR@/prompts\";\n"
	"  languages = [\"en\", \"vi\"];\n"
	"  sip: {\n"
	"    listen = [\"udp:localhost:5060\"];\n"
	"  };\n"
	"  rtp: {\n"
	"    ports = [80, 70000];\n"
	"  };\n"
	"};\n"
	"numbers = (\n"
	"  { dnis = \"18005550100\"; },\n"
	"  { dnis = \"1-800-555-0100\"; },\n"
	"  { dnis = \"18005550102\"; language = \"fr\"; }\n"
	");\n"
	"departments = {\n"
	"  operator = { targets = [\"sip:operator@127.0.0.1\"]; };\n"
	"  a = {\n"
	"    targets = [\"sip:a@127.0.0.1\"];\n"
	"    timezone = \"Mars/Olympus_Mons\";\n"
	"    fallback = \"dept:b\";\n"
	"  };\n"
	"  b = {\n"
	"    targets = [\"sip:b@127.0.0.1\"];\n"
	"    hours = [\"mon-fri 08:00-25:00\"];\n"
	"    fallback = \"dept:a\";\n"
	"  };\n"
	"};\n"
	"menus = {\n"
	"  main = {\n"
	"    greeting = \"main/greeting\";\n"
	"    timout = 3;\n"
	"    options = (\n"
	"      { key = \"1\"; action = \"menu:nosuch\"; },\n"
	"      { key = \"2\"; action = \"dept:nosuch\"; },\n"
	"      { key = \"11\"; action = \"repeat\"; },\n"
	"      { key = \"3\"; action = \"menu:nogreet\"; },\n"
	"      { key = \"3\"; action = \"menu:empty\"; },\n"
	"      { key = \"4\"; action = \"menu:self\"; },\n"
	"      { key = \"5\"; action = \"menu:audio\"; },\n"
	"      { key = \"6\"; action = \"dept:a\"; }\n"
	"    );\n"
	"  };\n"
	"  nogreet = {\n"
	"    options = ( { key = \"1\"; action = \"back\"; } );\n"
	"  };\n"
	"  empty = {\n"
	"    greeting = \"main/greeting\";\n"
	"  };\n"
	"  self = {\n"
	"    greeting = \"main/greeting\";\n"
	"    fallback = \"menu:self\";\n"
	"    options = ( { key = \"1\"; action = \"back\"; } );\n"
	"  };\n"
	"  audio = {\n"
	"    greeting = \"main/nosuch\";\n"
	"    short = \"main/text\";\n"
	"    options = ( { key = \"1\"; action = \"back\"; } );\n"
	"  };\n"
	"};\n";

static void
test_errors(void)
{
	const char *f = "ivrd.conf";

	setup(true);
	write_file("ivrd.conf", bad);
	write_file("prompts/en/main/text.wav", "this is not a sound file\n");
	write_file("prompts/vi/main/text.wav", "nor is this\n");
	load_bad(f, 19);

	ERROR(f, bad, "udp:localhost", "ivrd.sip.listen: \"udp:localhost:5060\" is not "
		"udp:ADDRESS:PORT or tcp:ADDRESS:PORT with a numeric IPv4 or [IPv6] address and a "
		"port 1-65535");
	ERROR(f, bad, "70000", "ivrd.rtp.ports: [80, 70000] must be two ports from 1024 to "
		"65534, first < last");
	ERROR(f, bad, "1-800-555-0100", "numbers.[2]: dnis 18005550100 is listed twice");
	ERROR(f, bad, "\"fr\"", "numbers.[3]: language \"fr\" is not the default language nor "
		"listed in ivrd.languages");
	ERROR_PREFIX(f, bad, "Mars", "departments.a.timezone: zone \"Mars/Olympus_Mons\"");
	ERROR_PREFIX(f, bad, "25:00", "departments.b.hours: rule 1 \"mon-fri 08:00-25:00\"");
	ERROR(f, bad, "\"dept:b\"", "departments.a.fallback: the chain of department fallbacks "
		"loops without reaching a menu or a department with no fallback");
	ERROR(f, bad, "\"dept:a\";", "departments.b.fallback: the chain of department fallbacks "
		"loops without reaching a menu or a department with no fallback");
	ERROR(f, bad, "timout", "menus.main.timout: unknown setting");
	ERROR(f, bad, "menu:nosuch", "menus.main.options.[1].action: no menu named \"nosuch\"");
	ERROR(f, bad, "dept:nosuch",
		"menus.main.options.[2].action: no department named \"nosuch\"");
	ERROR(f, bad, "\"11\"", "menus.main.options.[3]: key \"11\" is not one of 0-9 * # A-D");
	ERROR(f, bad, "menu:empty",
		"menus.main.options.[5]: key 3 is already used in this menu");
	ERROR_PREFIX(f, bad, "nogreet = {", "menus.nogreet.greeting: missing (");
	ERROR(f, bad, "empty = {",
		"menus.empty: has no options: a caller could only wait for the fallback");
	ERROR(f, bad, "fallback = \"menu:self\"",
		"menus.self.fallback: a menu cannot fall back to itself");
	{
		char what[512];
		snprintf(what, sizeof(what), "menus.audio.greeting: no file for prompt "
			"\"main/nosuch\" in %s/prompts/en/", dir);
		ERROR(f, bad, "main/nosuch", what);
	}
	/* not audio, in both languages: a second language's file that is there but does not
	 * decode is an error, not a fallback */
	{
		char what[512];
		snprintf(what, sizeof(what), "menus.audio.short: %s/prompts/en/main/text.wav: ",
			dir);
		ERROR_PREFIX(f, bad, "main/text", what);
		snprintf(what, sizeof(what), "menus.audio.short: %s/prompts/vi/main/text.wav: ",
			dir);
		ERROR_PREFIX(f, bad, "main/text", what);
	}
	conf_errors_free(&errs);
	CHECK(errs.errors == NULL && errs.nerrors == 0);
	teardown();
}

/* A file that does not parse: one error, with the line libconfig stopped at. */
static void
test_syntax_error(void)
{
	static const char text[] =
		"ivrd: {\n"
		"  prompts_dir = \"/nowhere\";\n"
		"};\n"
		"menus = {\n"
		"  main = {\n"
		"    greeting = \"main/greeting\";\n"
		"    options = ( { key = \"1\"; action = } );\n"
		"  };\n"
		"};\n";
	char want[512];

	setup(false);
	write_file("ivrd.conf", text);
	load_bad("ivrd.conf", 1);
	snprintf(want, sizeof(want), "%s/ivrd.conf:7: syntax error: ", dir);
	CHECK(errs.nerrors == 1 && strncmp(errs.errors[0], want, strlen(want)) == 0);
	conf_errors_free(&errs);

	load_bad("nosuch.conf", 1);
	snprintf(want, sizeof(want), "%s/nosuch.conf: cannot read: %s", dir, strerror(ENOENT));
	CHECK(errs.nerrors == 1 && strcmp(errs.errors[0], want) == 0);
	conf_errors_free(&errs);
	teardown();
}

/* Wrong types, ranges, references and names, in every block. */
static const char types[] =
	"ivrd: {\n"
	"  prompts_dir = \"@DIR@/prompts\";\n"
	"  languages = [\"en\", \"v!\"];\n"
	"  operator = \"repeat\";\n"
	"  entry_menu = \"lobby\";\n"
	"  goodbye_prompt = \"../../etc/passwd\";\n"
	"  sip: { listen = []; answer_delay = 31; user_agent = \"\"; };\n"
	"  rtp: { address = \"localhost\"; ports = [2000, 1999]; porst = 1; };\n"
	"};\n"
	"menu = {};\n"
	"departments = {\n"
	"  x = {\n"
	"    targets = [\"http://x\", \"sip:a b@c\"];\n"
	"    transfer_timeout = 1;\n"
	"    fallback = \"back\";\n"
	"  };\n"
	"  y = { timezone = \"UTC\"; };\n"
	"  z = 5;\n"
	"};\n"
	"menus = {\n"
	"  main = {\n"
	"    greeting = \"main/greeting\";\n"
	"    timeout = \"5\";\n"
	"    max_failures = 0;\n"
	"    max_timeouts = 11;\n"
	"    barge_in = 1;\n"
	"    fallback = \"menu:\";\n"
	"    options = (\n"
	"      { key = \"1\"; },\n"
	"      { key = \"2\"; action = \"dance\"; },\n"
	"      { key = \"3\"; action = \"back\"; typo = 1; },\n"
	"      \"4\" );\n"
	"  };\n"
	"};\n";

static void
test_types_and_ranges(void)
{
	const char *f = "types.conf";

	setup(false);
	write_file(f, types);
	load_bad(f, 26);
	ERROR(f, types, "menu = {}", "menu: unknown setting");
	ERROR(f, types, "z = 5", "departments.z: must be a group { ... }");
	ERROR(f, types, "v!", "ivrd.languages: \"v!\" is not a language code");
	ERROR(f, types, "etc/passwd", "ivrd.goodbye_prompt: \"../../etc/passwd\" is not a prompt "
		"name (letters, digits, _ - and /)");
	ERROR(f, types, "listen = []", "ivrd.sip.listen: needs at least one address");
	ERROR(f, types, "answer_delay", "ivrd.sip.answer_delay: 31 is out of range (0 to 30)");
	ERROR(f, types, "user_agent", "ivrd.sip.user_agent: must not be empty");
	ERROR(f, types, "porst", "ivrd.rtp.porst: unknown setting");
	ERROR(f, types, "localhost", "ivrd.rtp.address: \"localhost\" is not a numeric IP address");
	ERROR(f, types, "1999", "ivrd.rtp.ports: [2000, 1999] must be two ports from 1024 to "
		"65534, first < last");
	ERROR(f, types, "\"repeat\"", "ivrd.operator: must be dept:NAME or menu:NAME");
	ERROR(f, types, "lobby", "ivrd.entry_menu: no menu named \"lobby\"");
	ERROR(f, types, "http://x", "departments.x.targets: \"http://x\" is not a sip: URI");
	ERROR(f, types, "http://x", "departments.x.targets: \"sip:a b@c\" must not contain <, >, "
		"quotes or spaces");
	ERROR(f, types, "transfer_timeout",
		"departments.x.transfer_timeout: 1 is out of range (2 to 300)");
	ERROR(f, types, "\"back\";\n", "departments.x.fallback: a fallback must lead out: "
		"menu:NAME or dept:NAME");
	ERROR_PREFIX(f, types, "y = {", "departments.y.targets: missing (");
	ERROR(f, types, "timeout = \"5\"", "menus.main.timeout: must be a number of seconds");
	ERROR(f, types, "max_failures",
		"menus.main.max_failures: 0 is out of range (1 to 10)");
	ERROR(f, types, "max_timeouts",
		"menus.main.max_timeouts: 11 is out of range (1 to 10)");
	ERROR(f, types, "barge_in", "menus.main.barge_in: must be true or false");
	ERROR(f, types, "\"menu:\"", "menus.main.fallback: no menu named \"\"");
	ERROR_PREFIX(f, types, "{ key = \"1\"; }", "menus.main.options.[1].action: missing (");
	ERROR(f, types, "dance", "menus.main.options.[2].action: \"dance\" is not an action "
		"(menu:NAME, dept:NAME, repeat or back)");
	ERROR(f, types, "typo", "menus.main.options.[3].typo: unknown setting");
	ERROR(f, types, "\"4\"",
		"menus.main.options.[4]: must be a group { key = \"1\"; action = \"...\"; }");
	conf_errors_free(&errs);
	teardown();
}

/* Runs fn in a child, so that a crash fails this test instead of ending the run. */
static void
survives(void (*fn)(void), const char *what)
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CHECK(pid != -1);
	if (pid == 0) {
		check_failed = 0;
		fn();
		_exit(check_failed ? 1 : 0);
	}
	CHECK_INT(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fprintf(stderr, "%s: crashed with signal %d\n", what, WTERMSIG(st));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
no_ivrd_group(void)
{
	static const char text[] =
		"departments = { operator = { targets = [\"sip:op@127.0.0.1\"]; }; };\n"
		"menus = { main = { greeting = \"main/greeting\";\n"
		"  options = ( { key = \"1\"; action = \"dept:operator\"; } ); }; };\n";
	struct conf *c = NULL;

	write_file("noivrd.conf", text);
	CHECK_INT(load(&c, "noivrd.conf", NULL), EINVAL);
	CHECK(listed(errs.errors, errs.nerrors, "noivrd.conf", text, NULL,
		"ivrd: missing (the daemon's own settings)", false));
	conf_errors_free(&errs);

	write_file("empty.conf", "");
	CHECK_INT(load(&c, "empty.conf", NULL), EINVAL);
	CHECK(listed(errs.errors, errs.nerrors, "empty.conf", "", NULL,
		"ivrd: missing (the daemon's own settings)", false));
	CHECK(listed(errs.errors, errs.nerrors, "empty.conf", "", NULL,
		"menus: no menus: callers need at least one", false));
	conf_errors_free(&errs);
}

/* A file without the ivrd group (an empty file, say) is refused, not a crash of ivrd -t or
 * of the daemon reloading it. */
static void
test_regress_no_ivrd_group_crash(void)
{
	setup(false);
	survives(no_ivrd_group, "a file without ivrd { }");
	teardown();
}

/* ivrd { rtp { } } with no sip group: rtp is not an unknown setting of ivrd, and a typo in
 * ivrd is reported once. */
static void
test_regress_ivrd_without_sip(void)
{
	static const char text[] =
		"ivrd: {\n"
		"  prompts_dir = \"@DIR@/prompts\";\n"
		"  rtp: { address = \"127.0.0.1\"; };\n"
		"};\n"
		"departments = { operator = { targets = [\"sip:op@127.0.0.1\"]; }; };\n"
		"menus = { main = { greeting = \"main/greeting\";\n"
		"  options = ( { key = \"1\"; action = \"dept:operator\"; } ); }; };\n";
	static const char typo[] =
		"ivrd: {\n"
		"  prompts_dir = \"@DIR@/prompts\";\n"
		"  stat_dir = \"/tmp\";\n"
		"};\n"
		"departments = { operator = { targets = [\"sip:op@127.0.0.1\"]; }; };\n"
		"menus = { main = { greeting = \"main/greeting\";\n"
		"  options = ( { key = \"1\"; action = \"dept:operator\"; } ); }; };\n";
	struct conf *c = NULL;

	setup(false);
	write_file("rtp.conf", text);
	CHECK_INT(load(&c, "rtp.conf", NULL), 0);
	CHECK_INT(errs.nerrors, 0);
	if (errs.nerrors != 0)
		dump(&errs);
	conf_unref(c);
	conf_errors_free(&errs);

	write_file("typo.conf", typo);
	load_bad("typo.conf", 1);
	ERROR("typo.conf", typo, "stat_dir", "ivrd.stat_dir: unknown setting");
	conf_errors_free(&errs);
	teardown();
}

/* options = (); offers a caller nothing, like a menu without options. */
static void
test_regress_empty_options(void)
{
	static const char text[] =
		"ivrd: { prompts_dir = \"@DIR@/prompts\"; };\n"
		"departments = { operator = { targets = [\"sip:op@127.0.0.1\"]; }; };\n"
		"menus = {\n"
		"  main = {\n"
		"    greeting = \"main/greeting\";\n"
		"    options = ();\n"
		"  };\n"
		"};\n";
	char want[512];

	setup(false);
	write_file("empty.conf", text);
	load_bad("empty.conf", 1);
	snprintf(want, sizeof(want), "%s/empty.conf:", dir);
	CHECK(errs.nerrors == 1 && strncmp(errs.errors[0], want, strlen(want)) == 0 &&
		strstr(errs.errors[0], ": menus.main: has no options") != NULL);
	conf_errors_free(&errs);
	teardown();
}

/* --- warnings: the file loads, and says what it did --- */

static const char warn[] =
	"ivrd: {\n"
	"  prompts_dir = \"@DIR@/prompts\";\n"
	"  default_language = \"en\";\n"
	"  languages = [\"vi\", \"en\", \"vi\"];\n"
	"};\n"
	"departments = { operator = { targets = [\"sip:op@127.0.0.1\"]; }; };\n"
	"menus = {\n"
	"  main = {\n"
	"    greeting = \"main/greeting\";\n"
	"    short = \"main/short\";\n"
	"    options = ( { key = \"1\"; action = \"dept:operator\"; } );\n"
	"  };\n"
	"  orphan = {\n"
	"    greeting = \"sales/greeting\";\n"
	"    options = ( { key = \"1\"; action = \"menu:main\"; } );\n"
	"  };\n"
	"};\n";

static void
test_warnings(void)
{
	struct conf *c = NULL;
	const struct prompt *en, *vi;
	char want[512];
	int id;

	setup(true);
	snprintf(want, sizeof(want), "%s/prompts/vi/main/short.wav", dir);
	CHECK_INT(unlink(want), 0);
	write_file("warn.conf", warn);
	CHECK_INT(load(&c, "warn.conf", NULL), 0);
	CHECK(c != NULL);
	CHECK_INT(errs.nerrors, 0);
	CHECK_INT(errs.nwarnings, 2);
	if (errs.nwarnings != 2)
		dump(&errs);
	snprintf(want, sizeof(want), "menus.main.short: no file for prompt \"main/short\" in "
		"%s/prompts/vi/; playing the en prompt instead", dir);
	WARNING("warn.conf", warn, "main/short", want);
	WARNING("warn.conf", warn, "orphan = {",
		"menus.orphan: unreachable: no number, menu or fallback leads here");
	if (c == NULL)
		goto out;
	/* languages listed twice count once, the default first */
	CHECK_INT(c->nlangs, 2);
	CHECK_STR(c->langs[0], "en");
	CHECK_STR(c->langs[1], "vi");
	/* the missing Vietnamese prompt is the English one, never silence */
	id = c->menus[conf_menu_find(c, "main")].short_prompt;
	en = conf_prompt(c, 0, id);
	vi = conf_prompt(c, 1, id);
	CHECK(en != NULL);
	CHECK(vi == en);
	CHECK_INT(prompt_refcount(en), 2);
	/* the others are the Vietnamese files */
	id = c->menus[conf_menu_find(c, "main")].greeting;
	CHECK(conf_prompt(c, 1, id) != conf_prompt(c, 0, id));
	snprintf(want, sizeof(want), "%s/prompts/vi/main/greeting.wav", dir);
	CHECK_STR(prompt_path(conf_prompt(c, 1, id)), want);
out:
	conf_unref(c);
	conf_errors_free(&errs);
	teardown();
}

/* --- @include: errors name the file they are in --- */

static const char inc_main[] =
	"ivrd: { prompts_dir = \"@DIR@/prompts\"; };\n"
	"departments = { operator = { targets = [\"sip:op@127.0.0.1\"]; }; };\n"
	"@include \"menus.conf\"\n"
	"numbers = ( { dnis = \"100\"; menu = \"nosuch\"; } );\n";

static const char inc_menus[] =
	"# menus, in a file of their own\n"
	"menus = {\n"
	"  main = {\n"
	"    greeting = \"main/greeting\";\n"
	"    short = \"main/missing\";\n"
	"    options = (\n"
	"      { key = \"1\"; action = \"dept:nosuch\"; },\n"
	"      { key = \"2\"; action = \"dept:operator\"; }\n"
	"    );\n"
	"  };\n"
	"};\n";

static void
test_include(void)
{
	struct conf *c = NULL;
	char want[512];

	setup(false);
	write_file("ivrd.conf", inc_main);
	write_file("menus.conf", inc_menus);
	load_bad("ivrd.conf", 3);
	ERROR("menus.conf", inc_menus, "dept:nosuch",
		"menus.main.options.[1].action: no department named \"nosuch\"");
	snprintf(want, sizeof(want), "menus.main.short: no file for prompt \"main/missing\" in "
		"%s/prompts/en/", dir);
	ERROR("menus.conf", inc_menus, "main/missing", want);
	/* and the main file's own lines after the include are still right */
	ERROR("ivrd.conf", inc_main, "\"nosuch\"", "numbers.[1]: menu: no menu named \"nosuch\"");
	conf_errors_free(&errs);

	/* fixed, the pair loads */
	write_file("menus.conf",
		"menus = { main = { greeting = \"main/greeting\";\n"
		"  options = ( { key = \"1\"; action = \"dept:operator\"; } ); }; };\n");
	write_file("ivrd.conf",
		"ivrd: { prompts_dir = \"@DIR@/prompts\"; };\n"
		"departments = { operator = { targets = [\"sip:op@127.0.0.1\"]; }; };\n"
		"@include \"menus.conf\"\n");
	CHECK_INT(load(&c, "ivrd.conf", NULL), 0);
	CHECK(c != NULL && c->nmenus == 1 && conf_menu_find(c, "main") == 0);
	conf_unref(c);
	conf_errors_free(&errs);

	/* an include that is not there */
	write_file("ivrd.conf", "ivrd: { };\n@include \"gone.conf\"\n");
	load_bad("ivrd.conf", 1);
	snprintf(want, sizeof(want), "%s/ivrd.conf:2: ", dir);
	CHECK(errs.nerrors == 1 && strncmp(errs.errors[0], want, strlen(want)) == 0);
	conf_errors_free(&errs);
	teardown();
}

/* --- the prompt cache: a reload decodes only what changed --- */

static void
test_prompt_cache(void)
{
	struct prompt_cache *cache = NULL;
	struct conf *c1 = NULL, *c2 = NULL, *c3 = NULL, *plain = NULL;
	int greeting;

	setup(true);
	write_file("ivrd.conf", good);
	CHECK_INT(prompt_cache_new(&cache), 0);
	CHECK_INT(load(&c1, "ivrd.conf", cache), 0);
	conf_errors_free(&errs);
	CHECK_INT(load(&c2, "ivrd.conf", cache), 0);
	conf_errors_free(&errs);
	CHECK_INT(load(&plain, "ivrd.conf", NULL), 0);
	conf_errors_free(&errs);
	if (c1 == NULL || c2 == NULL || plain == NULL)
		goto out;
	CHECK_INT(prompt_cache_count(cache), c1->nlangs * c1->nprompts);
	for (size_t lang = 0; lang < c1->nlangs; lang++)
		for (size_t id = 0; id < c1->nprompts; id++) {
			const struct prompt *p = conf_prompt(c1, (int)lang, (int)id);
			CHECK(p != NULL);
			CHECK(conf_prompt(c2, (int)lang, (int)id) == p);
			/* the cache, c1 and c2 */
			CHECK_INT(prompt_refcount(p), 3);
			/* without the cache, decoded again */
			CHECK(conf_prompt(plain, (int)lang, (int)id) != p);
		}

	/* a changed file is decoded again; the old generation keeps its audio */
	greeting = c1->menus[conf_menu_find(c1, "main")].greeting;
	write_prompt("en", "main/greeting", 300);
	CHECK_INT(load(&c3, "ivrd.conf", cache), 0);
	conf_errors_free(&errs);
	if (c3 == NULL)
		goto out;
	CHECK(conf_prompt(c3, 0, greeting) != conf_prompt(c1, 0, greeting));
	CHECK_INT(prompt_duration_ms(conf_prompt(c3, 0, greeting)), 300);
	CHECK_INT(prompt_duration_ms(conf_prompt(c1, 0, greeting)), 100);
	CHECK(conf_prompt(c3, 1, greeting) == conf_prompt(c1, 1, greeting));
	CHECK(conf_prompt(c3, 0, c3->menus[0].invalid) == conf_prompt(c1, 0, c1->menus[0].invalid));
out:
	conf_unref(c1);
	conf_unref(c2);
	conf_unref(c3);
	conf_unref(plain);
	prompt_cache_sweep(cache);
	CHECK_INT(prompt_cache_count(cache), 0);
	prompt_cache_free(cache);
	teardown();
}

CHECK_MAIN(T(test_good), T(test_errors), T(test_types_and_ranges), T(test_syntax_error),
	T(test_warnings), T(test_include), T(test_prompt_cache),
	T(test_regress_no_ivrd_group_crash), T(test_regress_ivrd_without_sip),
	T(test_regress_empty_options))
