/* range.c — the Range request header (RFC 9110 §14.1-14.2) as a pure function:
 * a byte span and the representation size in, clamped inclusive byte ranges out.
 * The caller decides what to do with the count (1 → 206, more → full 200). */
#include <limits.h>

#include "ringd.h"

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_ows(const char *s, size_t len, size_t i)
{
	while (i < len && is_ows(s[i]))
		i++;
	return i;
}

/* 1*DIGIT into *v. Returns the index after the digits, or 0 when there are none
 * or the value overflows uint64 (a position that large is a malformed header, not
 * an unsatisfiable one). 0 is never a valid answer: digits follow at least "=". */
static size_t parse_u64(const char *s, size_t len, size_t i, uint64_t *v)
{
	size_t start = i;
	uint64_t n = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return 0;
		n = n * 10 + d;
		i++;
	}
	if (i == start)
		return 0;
	*v = n;
	return i;
}

static bool unit_is_bytes(const char *s, size_t len, size_t i)
{
	static const char unit[] = "bytes";

	if (len - i < sizeof unit - 1)
		return false;
	for (size_t k = 0; k < sizeof unit - 1; k++)
		if ((s[i + k] | 0x20) != unit[k])
			return false;
	return true;
}

int range_parse(const char *s, size_t len, uint64_t size, struct byte_range *out, int max)
{
	size_t i = skip_ows(s, len, 0);
	bool any = false;
	int n = 0;

	if (!unit_is_bytes(s, len, i))
		return 0;
	i = skip_ows(s, len, i + 5);
	if (i >= len || s[i] != '=')
		return 0;
	i++;

	/* One pass, constant work per byte: a header listing thousands of ranges
	 * costs time linear in its length and stores only the first max. */
	for (;;) {
		uint64_t first, last;
		bool satisfiable;

		i = skip_ows(s, len, i);
		if (i == len)
			break;
		if (s[i] == ',') {
			/* RFC 9110 §5.6.1.2: recipients accept empty list elements. */
			i++;
			continue;
		}

		if (s[i] == '-') {
			uint64_t suffix;
			i = parse_u64(s, len, i + 1, &suffix);
			if (!i)
				return 0;
			/* "-0" asks for nothing; an empty representation has no last
			 * byte to count back from. Both are valid but unsatisfiable. */
			satisfiable = suffix > 0 && size > 0;
			first = suffix >= size ? 0 : size - suffix;
			last = size - 1;
		} else {
			i = parse_u64(s, len, i, &first);
			if (!i || i == len || s[i] != '-')
				return 0;
			i++;
			if (i < len && s[i] >= '0' && s[i] <= '9') {
				i = parse_u64(s, len, i, &last);
				if (!i || last < first)
					return 0;
			} else {
				last = UINT64_MAX;
			}
			satisfiable = first < size;
			if (satisfiable && last > size - 1)
				last = size - 1;
		}
		any = true;

		if (satisfiable) {
			if (n < max)
				out[n] = (struct byte_range){ .first = first, .last = last };
			if (n < INT_MAX)
				n++;
		}

		i = skip_ows(s, len, i);
		if (i < len && s[i] != ',')
			return 0;
	}

	if (!any)
		return 0;
	return n > 0 ? n : -1;
}
