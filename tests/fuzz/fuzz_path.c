/* fuzz_path.c — libFuzzer harness for path_normalize() and path_is_hidden().
 * Traps when a successful result is not canonical (leading '/', no empty, "." or
 * ".." segment, no NUL, control byte or backslash, valid UTF-8), when normalising it again
 * changes it, or when a smaller output buffer changes the answer other than by
 * -414. path_is_hidden() is checked against a second, independent formulation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

/* Independent UTF-8 check by decoding: each sequence must encode a scalar value
 * (no surrogate, at most U+10FFFF) in its shortest form. */
static bool utf8_ref(const unsigned char *p, size_t n)
{
	static const uint32_t min[4] = { 0, 0x80, 0x800, 0x10000 };

	for (size_t k = 0; k < n;) {
		unsigned len = p[k] < 0x80 ? 1 : p[k] >= 0xc0 && p[k] < 0xe0 ? 2 :
			       p[k] >= 0xe0 && p[k] < 0xf0 ? 3 : p[k] >= 0xf0 && p[k] < 0xf8 ? 4 : 0;
		uint32_t cp;

		if (len == 0 || n - k < len)
			return false;
		cp = len == 1 ? p[k] : p[k] & (0x7f >> len);
		for (unsigned j = 1; j < len; j++) {
			if ((p[k + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[k + j] & 0x3f);
		}
		if (cp < min[len - 1] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		k += len;
	}
	return true;
}

static void check_canonical(const char *p, int n)
{
	if (n < 1 || p[0] != '/' || p[n] != '\0' || strlen(p) != (size_t)n)
		__builtin_trap();
	for (int k = 0; k < n; k++) {
		unsigned char c = (unsigned char)p[k];
		if (c < 0x20 || c == 0x7f || c == '\\')
			__builtin_trap();
	}
	if (!utf8_ref((const unsigned char *)p, (size_t)n))
		__builtin_trap();
	/* Segments between slashes: none empty (except after a trailing '/'),
	 * none "." or "..". */
	for (int k = 1, start = 1; k <= n; k++) {
		if (k < n && p[k] != '/')
			continue;
		int len = k - start;
		if (len == 0 && k < n)
			__builtin_trap();
		if ((len == 1 && p[start] == '.') ||
		    (len == 2 && p[start] == '.' && p[start + 1] == '.'))
			__builtin_trap();
		start = k + 1;
	}
}

/* Hidden iff some "/." occurs, other than the one opening a leading
 * "/.well-known" segment. */
static bool hidden_ref(const char *p, size_t n)
{
	static const char wk[] = "/.well-known";
	size_t w = sizeof wk - 1;
	bool leading_wk = n >= w && memcmp(p, wk, w) == 0 && (n == w || p[w] == '/');

	for (size_t k = 0; k + 1 < n; k++)
		if (p[k] == '/' && p[k + 1] == '.' && !(k == 0 && leading_wk))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	char *out = malloc(size + 1);
	int r;

	if (!in || !out)
		goto out;
	memcpy(in, data, size);

	/* Each input byte yields at most one output byte: len + 1 always fits. */
	r = path_normalize(in, size, out, size + 1);
	if (r != -400 && r < 0)
		__builtin_trap();
	(void)path_is_hidden(in, size);

	if (r >= 0) {
		check_canonical(out, r);
		if (path_is_hidden(out, (size_t)r) != hidden_ref(out, (size_t)r))
			__builtin_trap();
		/* Idempotent, unless a '%' would be decoded a second time. */
		if (!memchr(out, '%', (size_t)r)) {
			char *again = malloc((size_t)r);
			char *out2 = malloc((size_t)r + 1);
			if (again && out2) {
				memcpy(again, out, (size_t)r);
				if (path_normalize(again, (size_t)r, out2, (size_t)r + 1) != r ||
				    memcmp(out, out2, (size_t)r + 1) != 0)
					__builtin_trap();
			}
			free(again);
			free(out2);
		}
	}

	/* A smaller buffer may only turn the answer into -414. */
	size_t cap = size ? data[0] % (size + 1) : 0;
	char *small = malloc(cap ? cap : 1);
	if (small) {
		int rs = path_normalize(in, size, small, cap);
		if (rs >= 0 && (rs != r || memcmp(small, out, (size_t)rs + 1) != 0))
			__builtin_trap();
		if (rs == -400 && r != -400)
			__builtin_trap();
		if (rs != -414 && rs != -400 && rs < 0)
			__builtin_trap();
		free(small);
	}
out:
	free(in);
	free(out);
	return 0;
}
