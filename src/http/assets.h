/* The dashboard's pages, scripts and styles, embedded at build time by gen_assets.py. */
#ifndef IVR_HTTP_ASSETS_H
#define IVR_HTTP_ASSETS_H

#include <stddef.h>

struct dash_asset {
	const char *name; /* file name: "index.html", "dash.js" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Ends with a NULL name. */
extern const struct dash_asset dash_assets[];

#endif
