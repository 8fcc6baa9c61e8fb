/* fuzz_range.c — libFuzzer harness for range_parse(). Input: an optional
 * representation size as decimal digits and '\n', then the Range value (the size
 * defaults to 10000). Traps on a stored range outside the representation, on
 * counts that depend on max, and on validity that depends on the size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

#define MAXR 8

static void check(const char *s, size_t len, uint64_t size)
{
	struct byte_range out[MAXR], one[1];
	int r = range_parse(s, len, size, out, MAXR);

	if (r < -1 || (size == 0 && r > 0))
		__builtin_trap();
	for (int k = 0; k < r && k < MAXR; k++)
		if (out[k].first > out[k].last || out[k].last >= size)
			__builtin_trap();
	/* max only limits what is stored, never what is counted. */
	if (range_parse(s, len, size, NULL, 0) != r)
		__builtin_trap();
	if (range_parse(s, len, size, one, 1) != r)
		__builtin_trap();
	if (r > 0 && (one[0].first != out[0].first || one[0].last != out[0].last))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t rsize = 10000;
	size_t i = 0;
	char *s;

	while (i < size && i < 20 && data[i] >= '0' && data[i] <= '9')
		i++;
	if (i > 0 && i < size && data[i] == '\n') {
		rsize = 0;
		for (size_t k = 0; k < i; k++)
			rsize = rsize * 10 + (data[k] - '0');  /* wraps: any uint64 is fine */
		data += i + 1;
		size -= i + 1;
	}

	s = malloc(size ? size : 1);  /* exact size: ASan sees any over-read */
	if (!s)
		return 0;
	memcpy(s, data, size);
	check(s, size, rsize);

	/* Whether the header is a valid range-set does not depend on the size:
	 * 0 (ignore) for one size means 0 for every size. */
	int a = range_parse(s, size, rsize, NULL, 0);
	int b = range_parse(s, size, 0, NULL, 0);
	int c = range_parse(s, size, UINT64_MAX, NULL, 0);
	if ((a == 0) != (b == 0) || (a == 0) != (c == 0))
		__builtin_trap();
	if (b > 0)
		__builtin_trap();
	check(s, size, 1);
	check(s, size, UINT64_MAX);
	free(s);
	return 0;
}
