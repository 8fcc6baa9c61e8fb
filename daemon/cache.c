/* cache.c — the open-file cache: what openat2 + statx (+ a read, for small files)
 * found for a path, kept for `revalidate` seconds so that a hot file costs no
 * syscall-equivalent at all: the response is built from memory and sent at once.
 *
 * Entries are keyed by the path as opened (relative to the root). They remember
 * regular files (fd, validators, and the body when it is small), directories, and
 * failures (a missing file.br must not cost three failed opens per request).
 * Staleness is checked by age only: after `revalidate` seconds an entry is dropped
 * and the next request resolves the path through the ring again. A file changed
 * in place within that second may be served as it was — the same trade nginx's
 * open_file_cache_valid makes; the body, when cached, always matches the
 * validators it is sent with.
 *
 * Lifetime: an exchange that uses an entry holds a reference; an entry evicted
 * while referenced is unlinked at once and freed (fd closed) at the last unref. */
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

/* Entries and bodies come from pools reserved at start-up: the loop never calls
 * malloc, which may itself make system calls (brk, mmap). Bodies use power-of-two
 * size classes from 1 KiB to max_file. */
#define BODY_MIN_SHIFT 10
#define BODY_CLASSES   11      /* 1 KiB .. 1 MiB */
static struct pool entry_pool;
static struct pool body_pool[BODY_CLASSES];
static int n_classes;
static struct centry **table;
static uint32_t table_mask;
static uint32_t n_entries, max_entries;
static uint64_t body_bytes, max_body_bytes;
static struct centry lru;   /* sentinel: lru.lru_next is the most recent */

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

int cache_init(void)
{
	lru.lru_next = lru.lru_prev = &lru;
	max_entries = (uint32_t)srv.cfg.cache_entries;
	max_body_bytes = (uint64_t)srv.cfg.cache_memory_mb << 20;
	if (!max_entries)
		return 0;
	uint32_t size = 16;
	while (size < max_entries * 2)
		size <<= 1;
	table = calloc(size, sizeof *table);
	table_mask = size - 1;
	if (!table || pool_init(&entry_pool, sizeof(struct centry) + RINGD_MAX_TARGET + 40, max_entries))
		return -1;
	for (n_classes = 0; n_classes < BODY_CLASSES; n_classes++) {
		size_t cls = (size_t)1 << (BODY_MIN_SHIFT + n_classes);
		if (cls / 2 >= (size_t)srv.cfg.cache_max_file || max_body_bytes / cls == 0)
			break;
		uint64_t count = max_body_bytes / cls;
		if (count > max_entries)
			count = max_entries;
		if (pool_init(&body_pool[n_classes], cls, (uint32_t)count))
			return -1;
	}
	return 0;
}

static int body_class(uint64_t size)
{
	for (int i = 0; i < n_classes; i++)
		if (size <= (uint64_t)1 << (BODY_MIN_SHIFT + i))
			return i;
	return -1;
}

void cache_trim_pools(void)
{
	if (!table)
		return;
	pool_trim(&entry_pool);
	for (int i = 0; i < n_classes; i++)
		pool_trim(&body_pool[i]);
}

static void lru_unlink(struct centry *e)
{
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push(struct centry *e)
{
	e->lru_next = lru.lru_next;
	e->lru_prev = &lru;
	lru.lru_next->lru_prev = e;
	lru.lru_next = e;
}

static void destroy(struct centry *e)
{
	if (e->fd >= 0)
		loop_submit_close(e->fd);
	if (e->body) {
		int cls = body_class(e->size);
		body_bytes -= (uint64_t)1 << (BODY_MIN_SHIFT + cls);
		pool_put(&body_pool[cls], e->body);
	}
	pool_put(&entry_pool, e);
}

/* Take e out of the table; free it now or when its last user lets go. */
static void remove_entry(struct centry *e)
{
	struct centry **pp = &table[e->hash & table_mask];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	n_entries--;
	e->dead = true;
	if (e->refs == 0)
		destroy(e);
}

struct centry *cache_get(const char *key, size_t klen)
{
	if (!table)
		return NULL;
	uint32_t h = hash(key, klen);
	for (struct centry *e = table[h & table_mask]; e; e = e->hnext) {
		if (e->hash != h || e->klen != klen || memcmp(e->key, key, klen))
			continue;
		if (srv.now - e->checked >= (uint32_t)srv.cfg.cache_revalidate) {
			remove_entry(e);
			return NULL;
		}
		lru_unlink(e);
		lru_push(e);
		return e;
	}
	return NULL;
}

static struct centry *insert(const char *key, size_t klen)
{
	if (!table || klen > RINGD_MAX_TARGET + 32)
		return NULL;
	struct centry *old = cache_get(key, klen);
	if (old)
		remove_entry(old);
	while (n_entries >= max_entries && lru.lru_prev != &lru)
		remove_entry(lru.lru_prev);
	/* Empty only when many evicted entries are still referenced: then no caching. */
	struct centry *e = pool_get(&entry_pool);
	if (!e)
		return NULL;
	memset(e, 0, sizeof *e);
	memcpy(e->key, key, klen);
	e->key[klen] = 0;
	e->klen = (uint16_t)klen;
	e->hash = hash(key, klen);
	e->fd = -1;
	e->checked = srv.now;
	e->hnext = table[e->hash & table_mask];
	table[e->hash & table_mask] = e;
	lru_push(e);
	n_entries++;
	return e;
}

void cache_put_status(const char *key, size_t klen, uint8_t kind, int status)
{
	struct centry *e = insert(key, klen);
	if (e) {
		e->kind = kind;
		e->status = (int16_t)status;
	}
}

struct centry *cache_put_file(const char *key, size_t klen, int fd, const struct exchange *ex)
{
	struct centry *e = insert(key, klen);
	if (!e)
		return NULL;
	e->kind = CE_FILE;
	e->fd = fd;
	e->size = ex->size;
	e->mtime = ex->mtime;
	e->mtime_nsec = ex->mtime_nsec;
	e->ino = ex->ino;
	return e;
}

bool cache_wants_body(const struct centry *e)
{
	return e && !e->dead && !e->body && e->size > 0 && e->size <= (uint64_t)srv.cfg.cache_max_file &&
	       body_class(e->size) >= 0;
}

void cache_set_body(struct centry *e, const char *data)
{
	if (!cache_wants_body(e))
		return;
	int cls = body_class(e->size);
	uint64_t need = (uint64_t)1 << (BODY_MIN_SHIFT + cls);
	/* Make room: the least recently used entries go first, with their bodies. */
	while ((body_bytes + need > max_body_bytes || body_pool[cls].nfree == 0) &&
	       lru.lru_prev != &lru && lru.lru_prev != e)
		remove_entry(lru.lru_prev);
	if (body_bytes + need > max_body_bytes || !(e->body = pool_get(&body_pool[cls])))
		return;
	memcpy(e->body, data, e->size);
	body_bytes += need;
}

void cache_ref(struct centry *e)
{
	e->refs++;
}

void cache_unref(struct centry *e)
{
	if (--e->refs == 0 && e->dead)
		destroy(e);
}

void cache_flush(void)
{
	while (lru.lru_prev != &lru)
		remove_entry(lru.lru_prev);
}
