/* Prompt cache: a reload decodes only the files that changed. A list is enough: a
 * configuration has tens of prompts and lookups happen at load time, not per packet. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ivr/prompt.h"

struct cache_entry {
	struct cache_entry *next;
	struct prompt *p; /* the cache's reference; keyed by prompt_path(p) */
	off_t size;
	struct timespec mtime;
};

struct prompt_cache {
	struct cache_entry *head;
	size_t count;
};

int
prompt_cache_new(struct prompt_cache **cp)
{
	struct prompt_cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ENOMEM;
	*cp = c;
	return 0;
}

static void
entry_remove(struct prompt_cache *c, struct cache_entry **ep)
{
	struct cache_entry *e = *ep;

	*ep = e->next;
	prompt_unref(e->p);
	free(e);
	c->count--;
}

static bool
entry_fresh(const struct cache_entry *e, const struct stat *st)
{
	return e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
		e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int
prompt_cache_get(struct prompt_cache *c, struct prompt **pp, const char *path, char *err,
	size_t errlen)
{
	struct cache_entry **ep, *e = NULL;
	struct prompt *p = NULL;
	struct stat st;
	int rc;

	if (stat(path, &st) == -1) {
		rc = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(rc));
		goto out;
	}
	for (ep = &c->head; *ep != NULL; ep = &(*ep)->next) {
		if (strcmp(prompt_path((*ep)->p), path) != 0)
			continue;
		if (entry_fresh(*ep, &st)) {
			*pp = prompt_ref((*ep)->p);
			rc = 0;
			goto out;
		}
		/* Calls still playing the old audio keep their own references. */
		entry_remove(c, ep);
		break;
	}

	/* Stat comes before the load: a file that changes in between is stored under the
	 * old stat and decoded again on the next get, never served stale. */
	if ((rc = prompt_load(&p, path, err, errlen)) != 0)
		goto out;
	if ((e = malloc(sizeof(*e))) == NULL) {
		rc = ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	e->p = p;
	e->size = st.st_size;
	e->mtime = st.st_mtim;
	e->next = c->head;
	c->head = e;
	c->count++;
	*pp = prompt_ref(p);
	p = NULL;
out:
	prompt_unref(p);
	return rc;
}

void
prompt_cache_sweep(struct prompt_cache *c)
{
	struct cache_entry **ep = &c->head;

	while (*ep != NULL) {
		if (prompt_refcount((*ep)->p) == 1)
			entry_remove(c, ep);
		else
			ep = &(*ep)->next;
	}
}

size_t
prompt_cache_count(const struct prompt_cache *c)
{
	return c->count;
}

void
prompt_cache_free(struct prompt_cache *c)
{
	if (c == NULL)
		return;
	while (c->head != NULL)
		entry_remove(c, &c->head);
	free(c);
}
