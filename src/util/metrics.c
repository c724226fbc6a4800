#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/hmap.h"
#include "ivr/metrics.h"

struct series {
	char *name;
	char *labels; /* "" when none */
	int64_t value;
};

struct decl {
	enum metric_kind kind;
	char *help;
};

struct metrics {
	struct hmap *series; /* "name{labels}" -> series */
	struct hmap *decls;  /* name -> decl */
};

int
metrics_new(struct metrics **mp)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return ENOMEM;
	if (hmap_new(&m->series) != 0 || hmap_new(&m->decls) != 0) {
		metrics_free(m);
		return ENOMEM;
	}
	*mp = m;
	return 0;
}

static void
free_series(void *arg, const char *key, void *value)
{
	struct series *s = value;
	(void)arg;
	(void)key;
	free(s->name);
	free(s->labels);
	free(s);
}

static void
free_decl(void *arg, const char *key, void *value)
{
	struct decl *d = value;
	(void)arg;
	(void)key;
	free(d->help);
	free(d);
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->series != NULL)
		hmap_foreach(m->series, free_series, NULL);
	if (m->decls != NULL)
		hmap_foreach(m->decls, free_decl, NULL);
	hmap_free(m->series);
	hmap_free(m->decls);
	free(m);
}

int
metrics_declare(struct metrics *m, const char *name, enum metric_kind kind, const char *help)
{
	struct decl *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->help = strdup(help)) == NULL) {
		free(d);
		return ENOMEM;
	}
	d->kind = kind;
	if (hmap_put(m->decls, name, d) != 0) {
		free_decl(NULL, name, d);
		return EEXIST;
	}
	return 0;
}

static struct series *
find(const struct metrics *m, const char *name, const char *labels, bool create)
{
	char key[256];
	struct series *s;

	snprintf(key, sizeof(key), "%s{%s}", name, labels != NULL ? labels : "");
	s = hmap_get(m->series, key);
	if (s != NULL || !create)
		return s;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->name = strdup(name);
	s->labels = strdup(labels != NULL ? labels : "");
	if (s->name == NULL || s->labels == NULL || hmap_put(m->series, key, s) != 0) {
		free_series(NULL, key, s);
		return NULL;
	}
	return s;
}

void
metrics_add(struct metrics *m, const char *name, const char *labels, int64_t by)
{
	struct series *s = m != NULL ? find(m, name, labels, true) : NULL;

	if (s != NULL)
		s->value += by;
}

void
metrics_set(struct metrics *m, const char *name, const char *labels, int64_t value)
{
	struct series *s = m != NULL ? find(m, name, labels, true) : NULL;

	if (s != NULL)
		s->value = value;
}

int64_t
metrics_get(const struct metrics *m, const char *name, const char *labels)
{
	struct series *s = find(m, name, labels, false);

	return s != NULL ? s->value : 0;
}

struct collect {
	struct series **v;
	size_t n;
};

static void
collect(void *arg, const char *key, void *value)
{
	struct collect *c = arg;
	(void)key;
	c->v[c->n++] = value;
}

static int
by_name(const void *a, const void *b)
{
	const struct series *x = *(struct series *const *)a, *y = *(struct series *const *)b;
	int r = strcmp(x->name, y->name);

	return r != 0 ? r : strcmp(x->labels, y->labels);
}

void
metrics_foreach(const struct metrics *m,
	void (*fn)(void *arg, const char *name, enum metric_kind kind, const char *help,
		const char *labels, int64_t value),
	void *arg)
{
	struct collect c = {.v = calloc(hmap_count(m->series) + 1, sizeof(*c.v))};

	if (c.v == NULL)
		return;
	hmap_foreach(m->series, collect, &c);
	qsort(c.v, c.n, sizeof(*c.v), by_name);
	for (size_t i = 0; i < c.n; i++) {
		const struct decl *d = hmap_get(m->decls, c.v[i]->name);
		fn(arg, c.v[i]->name, d != NULL ? d->kind : METRIC_COUNTER, d != NULL ? d->help : "",
			c.v[i]->labels, c.v[i]->value);
	}
	free(c.v);
}
