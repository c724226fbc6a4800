/* The settings table: every scalar setting with its type, default, range and help. The
 * validator reads it, and so will the man page and "ivrctl show config". */
#ifndef IVR_CONF_TABLE_H
#define IVR_CONF_TABLE_H

#include <stdbool.h>

enum opt_type {
	OPT_STRING,
	OPT_INT,
	OPT_SECONDS, /* int or float, in seconds */
	OPT_BOOL,
	OPT_STRINGS, /* list or array of strings */
	OPT_PORTS,   /* [first, last] */
	OPT_LIST,    /* a list of groups, checked by its own table */
	OPT_NUMBER,  /* int or float, not a duration (a rate) */
};

struct conf_opt {
	const char *name;
	enum opt_type type;
	bool required;
	const char *def; /* default, as written in a file; NULL = none */
	double min, max; /* for numbers; both 0 = unbounded */
	const char *help;
};

struct conf_block {
	const char *path; /* "ivrd.sip", "menus.NAME", ... */
	const struct conf_opt *opts;
};

extern const struct conf_block conf_blocks[];

const struct conf_opt *conf_table_find(const struct conf_opt *opts, const char *name);
/* The settings of a block by its path as in conf_blocks ("menus.NAME"); NULL if none. */
const struct conf_opt *conf_block_opts(const char *path);

#endif
