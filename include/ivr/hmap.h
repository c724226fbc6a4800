/* A string-keyed hash map (chained), for calls by Call-ID and transactions by branch. */
#ifndef IVR_HMAP_H
#define IVR_HMAP_H

#include <stddef.h>

struct hmap;

int hmap_new(struct hmap **mp);
void hmap_free(struct hmap *m); /* values are the caller's */
void *hmap_get(const struct hmap *m, const char *key);
/* Returns 0, EEXIST when key is present, or ENOMEM. The key is copied. */
int hmap_put(struct hmap *m, const char *key, void *value);
/* Returns the removed value or NULL. */
void *hmap_del(struct hmap *m, const char *key);
size_t hmap_count(const struct hmap *m);
/* Calls fn for each entry; fn must not change the map. */
void hmap_foreach(const struct hmap *m, void (*fn)(void *arg, const char *key, void *value),
	void *arg);

#endif
