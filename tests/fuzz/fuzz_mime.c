/* fuzz_mime.c — mime_table_load() and mime_lookup(). The input up to the first
 * NUL is a mime.types text loaded over the built-ins; the rest is a path to look
 * up (no NUL: the whole input is the path, against the built-ins alone). Every
 * word of the text is also looked up as an extension, so hits are exercised, not
 * just misses. A lookup must return a NUL-terminated value, ignore case, and
 * never read past the length it is given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

static void check(const struct mime_table *t, const char *path, size_t len)
{
	/* Exact-size copies, so ASan sees any read past len. */
	char *p = malloc(len ? len : 1), *up = malloc(len ? len : 1);
	const char *a, *b;

	if (!p || !up)
		abort();
	memcpy(p, path, len);
	for (size_t i = 0; i < len; i++)
		up[i] = p[i] >= 'a' && p[i] <= 'z' ? (char)(p[i] - 32) : p[i];
	a = mime_lookup(t, p, len);
	b = mime_lookup(t, up, len);
	if (!a || !b || strchr(a, '/') == NULL || strlen(a) > 256)
		abort();
	if (strcmp(a, b) != 0)
		abort(); /* case-insensitive */
	free(p);
	free(up);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nul = memchr(in, '\0', size);
	struct mime_table *t = mime_table_new();
	char *text = NULL;
	size_t tlen = 0;

	if (!t)
		return 0;
	if (nul) {
		tlen = (size_t)(nul - in);
		text = malloc(tlen ? tlen : 1);
		if (!text)
			abort();
		memcpy(text, in, tlen);
		if (mime_table_load(t, text, tlen) < 0)
			abort(); /* only on ENOMEM, which a fuzzer run does not hit */
		check(t, nul + 1, size - tlen - 1);
	} else {
		check(t, in, size);
	}
	/* Each word of the text, as "/x.WORD". */
	for (size_t i = 0; i < tlen;) {
		char path[64] = "/x.";
		size_t w = 0;

		while (i < tlen && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
			i++;
		while (i < tlen && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') {
			if (w < sizeof path - 4)
				path[3 + w++] = text[i];
			i++;
		}
		if (w)
			check(t, path, 3 + w);
	}
	free(text);
	mime_table_free(t);
	return 0;
}
