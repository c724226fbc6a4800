/* Table, JSON and CSV writers. JSON and CSV rows stream out as they end; a table keeps its
 * rows until close, to size the columns. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/output.h"
#include "ivr/json.h"

enum cell_kind { CELL_NULL, CELL_STR, CELL_INT, CELL_BOOL, CELL_JSON };

struct cell {
	enum cell_kind kind;
	char *s;    /* CELL_STR, CELL_INT and CELL_BOOL (as text); CELL_JSON: the JSON */
	char *text; /* CELL_JSON: what a table and CSV show, or NULL */
};

struct output {
	FILE *fp;
	enum output_format fmt;
	unsigned flags;
	const struct output_column *cols;
	size_t ncols;
	struct cell *row; /* the row being built */
	size_t ncells;
	size_t nrows;     /* rows written (JSON, CSV) or held (table) */
	struct cell **rows; /* table: every row */
	size_t cap;
};

static bool
shown(const struct output *o, size_t c)
{
	unsigned hide = o->fmt == OUTPUT_TABLE ? OUTPUT_DATA_ONLY : OUTPUT_TABLE_ONLY;

	return !(o->cols[c].flags & hide);
}

static void
cells_free(struct cell *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].s);
		free(c[i].text);
	}
	free(c);
}

/* RFC 4180: quote fields holding a separator, quote or line break; double the quotes. */
static void
csv_field(FILE *fp, const char *s)
{
	if (s[strcspn(s, ",\"\r\n")] == '\0') {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* Columns on a terminal: one per code point (no wide-character tables). */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* A terminal must not receive escape sequences from caller-supplied text. */
static void
table_text(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		fputc(c < 0x20 || c == 0x7f ? '?' : c, fp);
	}
}

static void
table_cell(FILE *fp, const char *s, size_t width, bool right, bool last)
{
	size_t pad = width - text_width(s);

	if (right)
		for (size_t i = 0; i < pad; i++)
			fputc(' ', fp);
	table_text(fp, s);
	if (!right && !last)
		for (size_t i = 0; i < pad; i++)
			fputc(' ', fp);
}

static const char *
cell_text(const struct cell *c)
{
	if (c->kind == CELL_JSON)
		return c->text != NULL ? c->text : "-";
	return c->kind == CELL_NULL ? "-" : c->s;
}

static int
write_table(struct output *o)
{
	size_t *width = calloc(o->ncols, sizeof(*width));
	bool header = !(o->flags & OUTPUT_NO_HEADER);
	size_t last = 0;

	if (width == NULL)
		return ENOMEM;
	for (size_t c = 0; c < o->ncols; c++) {
		if (shown(o, c))
			last = c;
		if (header)
			width[c] = text_width(o->cols[c].title);
		for (size_t r = 0; r < o->nrows; r++) {
			size_t w = text_width(cell_text(&o->rows[r][c]));
			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t r = header ? 0 : 1; r <= o->nrows; r++) {
		const char *sep = "";
		for (size_t c = 0; c < o->ncols; c++) {
			const char *s = r == 0 ? o->cols[c].title : cell_text(&o->rows[r - 1][c]);
			if (!shown(o, c))
				continue;
			fputs(sep, o->fp);
			table_cell(o->fp, s, width[c], o->cols[c].flags & OUTPUT_RIGHT, c == last);
			sep = "  ";
		}
		fputc('\n', o->fp);
	}
	free(width);
	return 0;
}

static void
write_json_row(struct output *o)
{
	const char *sep = "";

	fputs(o->nrows == 0 ? "[\n  {" : ",\n  {", o->fp);
	for (size_t c = 0; c < o->ncols; c++) {
		const struct cell *cell = &o->row[c];
		if (!shown(o, c) || (cell->kind == CELL_NULL && (o->flags & OUTPUT_SKIP_NULL)))
			continue;
		fputs(sep, o->fp);
		json_write_string(o->fp, o->cols[c].key);
		fputs(": ", o->fp);
		if (cell->kind == CELL_STR)
			json_write_string(o->fp, cell->s);
		else
			fputs(cell->kind != CELL_NULL ? cell->s : "null", o->fp);
		sep = ", ";
	}
	fputc('}', o->fp);
}

/* row NULL: the heading */
static void
write_csv_row(const struct output *o, const struct cell *row)
{
	const char *sep = "";

	for (size_t c = 0; c < o->ncols; c++) {
		if (!shown(o, c))
			continue;
		fputs(sep, o->fp);
		if (row == NULL)
			csv_field(o->fp, o->cols[c].key);
		else if (row[c].kind == CELL_JSON && row[c].text != NULL)
			csv_field(o->fp, row[c].text);
		else if (row[c].kind != CELL_NULL && row[c].kind != CELL_JSON)
			csv_field(o->fp, row[c].s);
		sep = ",";
	}
	fputs("\r\n", o->fp);
}

int
output_open(struct output **op, FILE *fp, enum output_format fmt, unsigned flags,
	const struct output_column *cols, size_t ncols)
{
	struct output *o;

	*op = NULL;
	if (ncols == 0)
		return EINVAL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return ENOMEM;
	o->row = calloc(ncols, sizeof(*o->row));
	if (o->row == NULL) {
		free(o);
		return ENOMEM;
	}
	o->fp = fp;
	o->fmt = fmt;
	o->flags = flags;
	o->cols = cols;
	o->ncols = ncols;
	if (fmt == OUTPUT_CSV)
		write_csv_row(o, NULL);
	*op = o;
	return 0;
}

static int
add_cell(struct output *o, enum cell_kind kind, const char *s)
{
	struct cell *c;

	if (o->ncells == o->ncols)
		return EINVAL;
	c = &o->row[o->ncells];
	c->kind = kind;
	c->s = NULL;
	c->text = NULL;
	if (s != NULL && (c->s = strdup(s)) == NULL)
		return ENOMEM;
	o->ncells++;
	return 0;
}

int
output_json(struct output *o, const char *json, const char *text)
{
	int err;

	if (json == NULL)
		return EINVAL;
	if ((err = add_cell(o, CELL_JSON, json)) != 0)
		return err;
	if (text != NULL && (o->row[o->ncells - 1].text = strdup(text)) == NULL)
		return ENOMEM;
	return 0;
}

int
output_str(struct output *o, const char *s)
{
	return add_cell(o, s != NULL ? CELL_STR : CELL_NULL, s);
}

int
output_int(struct output *o, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return add_cell(o, CELL_INT, buf);
}

int
output_bool(struct output *o, bool v)
{
	return add_cell(o, CELL_BOOL, v ? "true" : "false");
}

int
output_end_row(struct output *o)
{
	if (o->ncells != o->ncols)
		return EINVAL;
	if (o->fmt == OUTPUT_TABLE) {
		struct cell *row;
		if (o->nrows == o->cap) {
			size_t cap = o->cap ? o->cap * 2 : 64;
			struct cell **rows = realloc(o->rows, cap * sizeof(*rows));
			if (rows == NULL)
				return ENOMEM;
			o->rows = rows;
			o->cap = cap;
		}
		row = calloc(o->ncols, sizeof(*row));
		if (row == NULL)
			return ENOMEM;
		/* the row keeps its cells; the next row starts empty */
		o->rows[o->nrows] = o->row;
		o->row = row;
	} else {
		if (o->fmt == OUTPUT_JSON)
			write_json_row(o);
		else
			write_csv_row(o, o->row);
		for (size_t c = 0; c < o->ncols; c++) {
			free(o->row[c].s);
			free(o->row[c].text);
			o->row[c].s = o->row[c].text = NULL;
		}
	}
	o->nrows++;
	o->ncells = 0;
	return 0;
}

int
output_close(struct output *o)
{
	int err = 0;

	if (o == NULL)
		return 0;
	if (o->fmt == OUTPUT_TABLE)
		err = write_table(o);
	else if (o->fmt == OUTPUT_JSON)
		fputs(o->nrows == 0 ? "[]\n" : "\n]\n", o->fp);
	errno = 0;
	if ((fflush(o->fp) != 0 || ferror(o->fp)) && err == 0)
		err = errno != 0 ? errno : EIO;
	for (size_t r = 0; r < (o->fmt == OUTPUT_TABLE ? o->nrows : 0); r++)
		cells_free(o->rows[r], o->ncols);
	free(o->rows);
	cells_free(o->row, o->ncols);
	free(o);
	return err;
}
