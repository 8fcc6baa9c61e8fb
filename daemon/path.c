/* path.c — turns the still-encoded path of a request target into the one
 * canonical form that file.c may join to the document root, or refuses it.
 * Everything that could name a file outside the root, or the same file two ways,
 * is rejected here, in one pass, before any system call sees the bytes. */
#include <limits.h>

#include "ringd.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Streaming UTF-8 check (RFC 3629 table 4): `need` continuation bytes remain and
 * the next one must lie in [lo, hi]. The narrowed ranges after E0, ED, F0 and F4
 * are what reject overlong forms, surrogates and code points above U+10FFFF;
 * C0, C1 and F5-FF are never lead bytes. */
struct utf8 {
	unsigned need;
	unsigned char lo, hi;
};

static bool utf8_step(struct utf8 *u, unsigned char b)
{
	if (u->need) {
		if (b < u->lo || b > u->hi)
			return false;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return true;
	}
	if (b < 0x80)
		return true;
	u->lo = 0x80;
	u->hi = 0xbf;
	if (b >= 0xc2 && b <= 0xdf) {
		u->need = 1;
	} else if (b >= 0xe0 && b <= 0xef) {
		u->need = 2;
		if (b == 0xe0)
			u->lo = 0xa0;
		else if (b == 0xed)
			u->hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		u->need = 3;
		if (b == 0xf0)
			u->lo = 0x90;
		else if (b == 0xf4)
			u->hi = 0x8f;
	} else {
		return false;
	}
	return true;
}

/*
 * Decoding and resolving happen in the same left-to-right pass; out holds the
 * resolved prefix and always ends in '/' when a segment begins, so ".." pops by
 * scanning back to the previous '/'. Every byte so scanned is then discarded,
 * which keeps the whole pass linear.
 *
 * Decisions worth knowing:
 *  - %2F is refused rather than decoded. A decoded slash either becomes a
 *    separator (so "/a%2F..%2F.." walks up, and the path the client, caches and
 *    logs see differs from the one opened) or stays inside a segment where no
 *    file name can hold it. Neither is useful for a static server.
 *  - Decoded dots do count: "%2e%2e" is "..", as RFC 3986 §6.2.2.2 says
 *    unreserved characters are equivalent to their escapes.
 *  - Decoding happens once: "%252e" yields the literal name "%2e".
 *  - ".." above the root is an error, not clamped: such a request is an attack or
 *    a broken client, and answering it with "/" would hide that.
 *  - The working output may briefly hold a segment that a later ".." pops, so
 *    -414 is reported against that high-water mark. Each input byte yields at
 *    most one output byte, so outcap >= len + 1 never gives -414.
 */
int path_normalize(const char *in, size_t len, char *out, size_t outcap)
{
	struct utf8 u = { 0 };
	size_t cap = outcap > INT_MAX ? INT_MAX : outcap;
	size_t i = 1, o = 0;

	if (len == 0 || in[0] != '/')
		return -400;
	if (cap < 2)
		return -414;
	out[o++] = '/';

	while (i <= len) {
		size_t seg = o;     /* where this segment starts in out */
		bool dots = true;   /* segment so far consists of '.' only */

		for (; i < len && in[i] != '/'; i++) {
			unsigned char b = (unsigned char)in[i];

			if (b == '%') {
				int hi, lo;
				if (len - i < 3)
					return -400;
				hi = hexval((unsigned char)in[i + 1]);
				lo = hexval((unsigned char)in[i + 2]);
				if (hi < 0 || lo < 0)
					return -400;
				b = (unsigned char)(hi << 4 | lo);
				if (b == '/')
					return -400;
				i += 2;
			}
			/* NUL would truncate the name for open(); other controls end up
			 * in logs and terminals; backslash is a separator elsewhere. */
			if (b < 0x20 || b == 0x7f || b == '\\')
				return -400;
			if (!utf8_step(&u, b))
				return -400;
			if (o + 1 >= cap)
				return -414;
			out[o++] = (char)b;
			dots = dots && b == '.';
		}
		/* A raw '/' is never a continuation byte: a sequence cut by a
		 * separator or by the end of the path is truncated. */
		if (u.need)
			return -400;

		size_t n = o - seg;
		if (n == 0 || (dots && n == 1)) {
			/* "//" or "/./": nothing to keep; out still ends in '/'. */
			o = seg;
		} else if (dots && n == 2) {
			if (seg == 1)
				return -400;
			o = seg - 1;
			while (out[o - 1] != '/')
				o--;
		} else if (i < len) {
			if (o + 1 >= cap)
				return -414;
			out[o++] = '/';
		}
		i++;    /* past the '/', or past the end to leave the loop */
	}

	out[o] = '\0';
	return (int)o;
}

bool path_is_hidden(const char *path, size_t len)
{
	static const char wk[] = ".well-known";
	size_t i = 0;
	bool first = true;

	while (i < len) {
		size_t start, n;

		while (i < len && path[i] == '/')
			i++;
		start = i;
		while (i < len && path[i] != '/')
			i++;
		n = i - start;
		if (n == 0)
			break;
		if (path[start] == '.') {
			/* RFC 8615: only the top-level /.well-known/ is exempt. */
			bool exempt = first && n == sizeof wk - 1;
			for (size_t k = 0; exempt && k < n; k++)
				exempt = path[start + k] == wk[k];
			if (!exempt)
				return true;
		}
		first = false;
	}
	return false;
}
