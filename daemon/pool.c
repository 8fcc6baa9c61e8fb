/* pool.c — fixed-size blocks carved from one anonymous mapping made at start-up.
 * The mapping is reserved, not touched: a block costs RSS only once used, and the
 * free list is LIFO so the same few hot blocks are reused under light load. */
#include <stdlib.h>
#include <sys/mman.h>

#include "ringd.h"

int pool_init(struct pool *p, size_t size, uint32_t count)
{
	p->size = (size + 63) & ~(size_t)63;
	p->count = count;
	p->base = mmap(NULL, p->size * count, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->base == MAP_FAILED)
		return -1;
	p->free = malloc(sizeof(uint32_t) * count);
	if (!p->free)
		return -1;
	/* Lowest index on top of the stack, so use starts at the front of the mapping. */
	for (uint32_t i = 0; i < count; i++)
		p->free[i] = count - 1 - i;
	p->nfree = count;
	return 0;
}

void *pool_get(struct pool *p)
{
	if (p->nfree == 0)
		return NULL;
	return p->base + (size_t)p->free[--p->nfree] * p->size;
}

void pool_put(struct pool *p, void *block)
{
	p->free[p->nfree++] = (uint32_t)(((char *)block - p->base) / p->size);
}
