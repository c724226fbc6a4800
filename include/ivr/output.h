/* Tabular output for ivrctl: an aligned table for a terminal, a JSON array of objects, or
 * CSV (RFC 4180). A command declares its columns once and adds rows cell by cell. */
#ifndef IVR_OUTPUT_H
#define IVR_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_CSV,
};

enum {
	OUTPUT_RIGHT = 1 << 0,      /* column: right-aligned in a table (numbers, times) */
	OUTPUT_TABLE_ONLY = 1 << 1, /* column: for people (local times, words) */
	OUTPUT_DATA_ONLY = 1 << 2,  /* column: JSON and CSV only (raw values) */
};

struct output_column {
	const char *key;   /* JSON key and CSV heading */
	const char *title; /* table heading */
	unsigned flags;
};

enum {
	OUTPUT_NO_HEADER = 1 << 0, /* table: no heading line */
	OUTPUT_SKIP_NULL = 1 << 1, /* JSON: leave out keys whose value is NULL */
};

struct output;

/* The column array must outlive the output. */
int output_open(struct output **op, FILE *fp, enum output_format fmt, unsigned flags,
	const struct output_column *cols, size_t ncols);
/* Cells, in column order, one for every column including those the format hides. NULL is
 * no value: JSON null, an empty CSV field, "-" in a table. */
int output_str(struct output *o, const char *s);
int output_int(struct output *o, int64_t v);
/* JSON true or false; "true" or "false" in CSV and a table. */
int output_bool(struct output *o, bool v);
/* A nested value (an array or object) for JSON, written as given: json must be one valid
 * JSON value (json.h's writer on a memstream makes one). A table and CSV show text instead
 * ("1>dept:billing 12, 2>menu:sales 3"); text NULL reads as no value there. */
int output_json(struct output *o, const char *json, const char *text);
int output_end_row(struct output *o);
/* Writes what is held back (a table is aligned once all rows are in), frees o, returns 0 or
 * the errno of a failed write. */
int output_close(struct output *o);

#endif
