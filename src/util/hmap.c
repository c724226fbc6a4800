#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivr/hmap.h"

struct entry {
	struct entry *next;
	uint64_t hash;
	void *value;
	char key[];
};

struct hmap {
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

/* FNV-1a: keys are short protocol tokens, and the map only needs spread, not secrecy. */
static uint64_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

int
hmap_new(struct hmap **mp)
{
	struct hmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return ENOMEM;
	m->nbuckets = 64;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (m->buckets == NULL) {
		free(m);
		return ENOMEM;
	}
	*mp = m;
	return 0;
}

void
hmap_free(struct hmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct entry **
find(const struct hmap *m, const char *key, uint64_t h)
{
	struct entry **pp = &m->buckets[h & (m->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

void *
hmap_get(const struct hmap *m, const char *key)
{
	struct entry **pp = find(m, key, hash(key));

	return *pp != NULL ? (*pp)->value : NULL;
}

static void
grow(struct hmap *m)
{
	size_t n = m->nbuckets * 2;
	struct entry **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return; /* a fuller table still works */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct entry *e = m->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

int
hmap_put(struct hmap *m, const char *key, void *value)
{
	uint64_t h = hash(key);
	struct entry **pp = find(m, key, h), *e;
	size_t len = strlen(key);

	if (*pp != NULL)
		return EEXIST;
	e = malloc(sizeof(*e) + len + 1);
	if (e == NULL)
		return ENOMEM;
	e->hash = h;
	e->value = value;
	memcpy(e->key, key, len + 1);
	e->next = NULL;
	*pp = e;
	if (++m->count > m->nbuckets)
		grow(m);
	return 0;
}

void *
hmap_del(struct hmap *m, const char *key)
{
	struct entry **pp = find(m, key, hash(key)), *e = *pp;
	void *v;

	if (e == NULL)
		return NULL;
	*pp = e->next;
	v = e->value;
	free(e);
	m->count--;
	return v;
}

size_t
hmap_count(const struct hmap *m)
{
	return m->count;
}

void
hmap_foreach(const struct hmap *m, void (*fn)(void *arg, const char *key, void *value),
	void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct entry *e = m->buckets[i]; e != NULL; e = e->next)
			fn(arg, e->key, e->value);
}
