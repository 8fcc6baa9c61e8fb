/* pool.c — fixed-size blocks carved from one anonymous mapping made at start-up.
 * The mapping is reserved, not touched: a block costs RSS only once used, and the
 * free list is LIFO so the same few hot blocks are reused under light load. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <liburing.h>

#include "ringd.h"

#define POOL_KEEP_WARM 64      /* free blocks kept resident for the next burst */
#define POOL_TRIM_MAX  1024    /* madvise SQEs per pool per tick, at most */
#define PAGE           4096

static struct pool *pools[32];
static int n_pools;

int pool_init(struct pool *p, size_t size, uint32_t count)
{
	count += POOL_TRIM_MAX;   /* headroom for blocks away being trimmed */
	p->size = (size + 63) & ~(size_t)63;
	p->count = count;
	p->base = mmap(NULL, p->size * count, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->base == MAP_FAILED)
		return -1;
	p->free = malloc(sizeof(uint32_t) * count);
	p->trimming = malloc(sizeof(uint32_t) * POOL_TRIM_MAX);
	if (!p->free || !p->trimming || n_pools == (int)(sizeof pools / sizeof pools[0]))
		return -1;
	p->id = (uint32_t)n_pools;
	pools[n_pools++] = p;
	p->trim_pending = p->n_trimming = 0;
	/* Lowest index on top of the stack, so use starts at the front of the mapping. */
	for (uint32_t i = 0; i < count; i++)
		p->free[i] = count - 1 - i;
	p->nfree = count;
	p->clean = count;   /* never touched: nothing to give back */
	return 0;
}

void *pool_get(struct pool *p)
{
	if (p->nfree == 0)
		return NULL;
	if (--p->nfree < p->clean)
		p->clean = p->nfree;   /* the stack reached into the trimmed part */
	return p->base + (size_t)p->free[p->nfree] * p->size;
}

/* Once a second: give the pages of cold free blocks (the bottom of the LIFO stack,
 * below the warm top) back to the kernel, so that a burst of traffic does not leave
 * its peak RSS behind. The madvise runs asynchronously, so the blocks leave the free
 * stack until its completion: a block handed out meanwhile could lose what its new
 * owner wrote. Pools are sized POOL_TRIM_MAX blocks beyond their users for this. */
void pool_trim(struct pool *p)
{
	if (p->trim_pending)
		return;
	uint32_t cold = p->nfree > POOL_KEEP_WARM ? p->nfree - POOL_KEEP_WARM : 0;
	if (p->clean >= cold)
		return;
	uint32_t k = cold - p->clean < POOL_TRIM_MAX ? cold - p->clean : POOL_TRIM_MAX;
	memcpy(p->trimming, p->free + p->clean, sizeof(uint32_t) * k);
	memmove(p->free + p->clean, p->free + p->clean + k, sizeof(uint32_t) * (p->nfree - p->clean - k));
	p->nfree -= k;
	p->n_trimming = p->trim_pending = k;
	for (uint32_t i = 0; i < k; i++) {
		/* Only whole pages inside the block: madvise works on pages, and a page
		 * shared with a neighbouring block would zero what its owner wrote. */
		uintptr_t start = (uintptr_t)(p->base + (size_t)p->trimming[i] * p->size);
		uintptr_t end = start + p->size;
		start = (start + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
		end &= ~(uintptr_t)(PAGE - 1);
		struct io_uring_sqe *sqe = loop_sqe();
		if (end > start)
			io_uring_prep_madvise(sqe, (void *)start, (off_t)(end - start), MADV_DONTNEED);
		else
			io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, ud_pack(OP_POOL_TRIM, p->id, 0));
	}
}

void pool_trimmed(uint32_t id)
{
	struct pool *p = pools[id];
	if (--p->trim_pending)
		return;
	/* All back: they go under the clean part of the stack. */
	uint32_t k = p->n_trimming;
	memmove(p->free + k, p->free, sizeof(uint32_t) * p->nfree);
	memcpy(p->free, p->trimming, sizeof(uint32_t) * k);
	p->nfree += k;
	p->clean += k;
	p->n_trimming = 0;
}

void pool_put(struct pool *p, void *block)
{
	p->free[p->nfree++] = (uint32_t)(((char *)block - p->base) / p->size);
}
