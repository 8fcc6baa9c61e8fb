/* test_range.c — range_parse() against a table of Range values (RFC 9110 §14.1),
 * plus a few generated rows (huge range sets) that do not fit a literal. TAP. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"
#include "tap.h"

#define MAXR 4
#define U64MAX "18446744073709551615"

struct row {
	const char *in;
	uint64_t size;
	int want;                     /* return value */
	struct byte_range r[MAXR];    /* first min(want, MAXR) ranges */
};

static const struct row rows[] = {
	/* single ranges */
	{ "bytes=0-0", 100, 1, { { 0, 0 } } },
	{ "bytes=0-99", 100, 1, { { 0, 99 } } },
	{ "bytes=10-20", 100, 1, { { 10, 20 } } },
	{ "bytes=0-1000", 100, 1, { { 0, 99 } } },            /* last clamped */
	{ "bytes=50-", 100, 1, { { 50, 99 } } },              /* open-ended */
	{ "bytes=99-", 100, 1, { { 99, 99 } } },
	{ "bytes=-1", 100, 1, { { 99, 99 } } },               /* suffix */
	{ "bytes=-10", 100, 1, { { 90, 99 } } },
	{ "bytes=-100", 100, 1, { { 0, 99 } } },
	{ "bytes=-500", 100, 1, { { 0, 99 } } },              /* suffix > size: whole */
	{ "bytes=0-" U64MAX, 100, 1, { { 0, 99 } } },
	{ "bytes=0-", UINT64_MAX, 1, { { 0, UINT64_MAX - 1 } } },
	/* case, whitespace and empty list elements */
	{ "BYTES=1-2", 10, 1, { { 1, 2 } } },
	{ "Bytes=1-2", 10, 1, { { 1, 2 } } },
	{ "bytes = 1-2", 10, 1, { { 1, 2 } } },
	{ " bytes=1-2 ", 10, 1, { { 1, 2 } } },
	{ "bytes=1-2 , 4-5", 10, 2, { { 1, 2 }, { 4, 5 } } },
	{ "bytes=\t1-2,\t4-5\t", 10, 2, { { 1, 2 }, { 4, 5 } } },
	{ "bytes=,1-2", 10, 1, { { 1, 2 } } },
	{ "bytes=1-2,,4-5,", 10, 2, { { 1, 2 }, { 4, 5 } } },
	/* sets: unsatisfiable members dropped, only MAXR stored */
	{ "bytes=0-0,-1", 10, 2, { { 0, 0 }, { 9, 9 } } },
	{ "bytes=500-600,1-2", 10, 1, { { 1, 2 } } },
	{ "bytes=1-2,500-", 10, 1, { { 1, 2 } } },
	{ "bytes=-0,3-4", 10, 1, { { 3, 4 } } },
	{ "bytes=0-0,1-1,2-2,3-3,4-4,5-5", 10, 6, { { 0, 0 }, { 1, 1 }, { 2, 2 }, { 3, 3 } } },
	{ "bytes=5-9,0-4", 10, 2, { { 5, 9 }, { 0, 4 } } },  /* order kept */
	/* valid but unsatisfiable → 416 */
	{ "bytes=100-", 100, -1, { { 0 } } },
	{ "bytes=100-200", 100, -1, { { 0 } } },
	{ "bytes=-0", 100, -1, { { 0 } } },
	{ "bytes=0-0", 0, -1, { { 0 } } },
	{ "bytes=-5", 0, -1, { { 0 } } },
	{ "bytes=200-300,100-", 100, -1, { { 0 } } },
	{ "bytes=" U64MAX "-", 100, -1, { { 0 } } },
	/* invalid → ignore the header */
	{ "", 100, 0, { { 0 } } },
	{ "bytes", 100, 0, { { 0 } } },
	{ "bytes=", 100, 0, { { 0 } } },
	{ "bytes=,", 100, 0, { { 0 } } },
	{ "bytes= , ,", 100, 0, { { 0 } } },
	{ "bytes=-", 100, 0, { { 0 } } },
	{ "bytes=5", 100, 0, { { 0 } } },
	{ "bytes=5-4", 100, 0, { { 0 } } },                  /* first > last */
	{ "bytes=1-2,5-4", 100, 0, { { 0 } } },              /* one bad member spoils the set */
	{ "bytes=a-b", 100, 0, { { 0 } } },
	{ "bytes=1-2x", 100, 0, { { 0 } } },
	{ "bytes=1 -2", 100, 0, { { 0 } } },
	{ "bytes=1- 2", 100, 0, { { 0 } } },
	{ "bytes=1-2 3-4", 100, 0, { { 0 } } },
	{ "bytes=+1-2", 100, 0, { { 0 } } },
	{ "bytes=--1", 100, 0, { { 0 } } },
	{ "bytes=-1-2", 100, 0, { { 0 } } },
	{ "bytes=0x10-", 100, 0, { { 0 } } },
	{ "bytes=18446744073709551616-", 100, 0, { { 0 } } }, /* uint64 overflow */
	{ "bytes=0-18446744073709551616", 100, 0, { { 0 } } },
	{ "bytes=-99999999999999999999", 100, 0, { { 0 } } },
	{ "items=0-1", 100, 0, { { 0 } } },
	{ "bytesx=0-1", 100, 0, { { 0 } } },
	{ "byte=0-1", 100, 0, { { 0 } } },
	{ "bytes;0-1", 100, 0, { { 0 } } },
	{ "bytes=0-1;x", 100, 0, { { 0 } } },
};

#define ok tap_ok

static bool check_row(const struct row *t)
{
	struct byte_range out[MAXR];
	size_t len = strlen(t->in);
	char *copy = malloc(len ? len : 1);  /* exact size: ASan catches over-reads */
	int got;

	memcpy(copy, t->in, len);
	memset(out, 0xa5, sizeof out);
	got = range_parse(copy, len, t->size, out, MAXR);
	free(copy);
	if (got != t->want) {
		printf("# %s size %" PRIu64 ": got %d want %d\n", t->in, t->size, got, t->want);
		return false;
	}
	for (int k = 0; k < got && k < MAXR; k++) {
		if (out[k].first != t->r[k].first || out[k].last != t->r[k].last) {
			printf("# range %d: got %" PRIu64 "-%" PRIu64 "\n", k, out[k].first, out[k].last);
			return false;
		}
	}
	return true;
}

/* A header listing many ranges is counted in full but stores only max; and one
 * with 200k ranges must finish quickly (linear time), which the test timeout
 * would notice if not. */
static void many_ranges(void)
{
	size_t n = 200000, cap = n * 8 + 16, len;
	char *s = malloc(cap);
	struct byte_range out[2];
	int got;

	len = (size_t)snprintf(s, cap, "bytes=0-0");
	for (size_t k = 1; k < n; k++)
		len += (size_t)snprintf(s + len, cap - len, ",%zu-", k % 1000);
	got = range_parse(s, len, 1000, out, 2);
	ok(got == (int)n && out[0].first == 0 && out[0].last == 0 && out[1].first == 1 &&
	   out[1].last == 999, "%s", "200000 ranges counted, first two stored");

	got = range_parse(s, len, 1000, NULL, 0);
	ok(got == (int)n, "%s", "max 0 with NULL out only counts");

	s[len - 1] = 'x';
	got = range_parse(s, len, 1000, out, 2);
	ok(got == 0, "%s", "bad last member of 200000 invalidates the set");
	free(s);
}

int main(void)
{
	size_t nrows = sizeof rows / sizeof rows[0];

	printf("1..%zu\n", nrows + 3);
	for (size_t k = 0; k < nrows; k++)
		ok(check_row(&rows[k]), "range \"%s\"", rows[k].in);
	many_ranges();
	return tap_exit();
}
