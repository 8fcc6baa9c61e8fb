/* test_path.c — path_normalize() and path_is_hidden() against tables: ordinary
 * paths, traversal attempts in every encoding we know of, UTF-8 edge cases and
 * output-size limits. TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"
#include "tap.h"

#define BAD   -400
#define LONG  -414

struct norm_row {
	const char *in;
	size_t len;        /* 0: strlen(in); set when the input holds a raw NUL */
	size_t outcap;     /* 0: 256 */
	int want;          /* length, BAD or LONG */
	const char *out;   /* expected output when want >= 0 */
};

static const struct norm_row norm[] = {
	/* ordinary paths */
	{ "/", 0, 0, 1, "/" },
	{ "/index.html", 0, 0, 11, "/index.html" },
	{ "/a/b/c", 0, 0, 6, "/a/b/c" },
	{ "/a/b/", 0, 0, 5, "/a/b/" },
	{ "/a//b", 0, 0, 4, "/a/b" },
	{ "//a///b//", 0, 0, 5, "/a/b/" },
	{ "/./a", 0, 0, 2, "/a" },
	{ "/a/./b/.", 0, 0, 5, "/a/b/" },
	{ "/a/b/..", 0, 0, 3, "/a/" },
	{ "/a/b/../c", 0, 0, 4, "/a/c" },
	{ "/a/..", 0, 0, 1, "/" },
	{ "/.", 0, 0, 1, "/" },
	{ "/a/b/../../", 0, 0, 1, "/" },
	{ "/...", 0, 0, 4, "/..." },                 /* three dots is a name */
	{ "/..a/a..", 0, 0, 8, "/..a/a.." },
	{ "/.hidden", 0, 0, 8, "/.hidden" },
	/* percent-decoding */
	{ "/a%20b", 0, 0, 4, "/a b" },
	{ "/%41%62%63", 0, 0, 4, "/Abc" },
	{ "/%7e%7E", 0, 0, 3, "/~~" },
	{ "/%252e%252e/", 0, 0, 8, "/%2e%2e/" },     /* decoded once: a literal name */
	{ "/%25", 0, 0, 2, "/%" },
	{ "/a/%2e/b", 0, 0, 4, "/a/b" },             /* decoded "." is "." */
	{ "/a/b/%2e%2E", 0, 0, 3, "/a/" },
	{ "/a/b/.%2e/c", 0, 0, 4, "/a/c" },
	{ "/%2e%2e%2e", 0, 0, 4, "/..." },
	{ "/a?b", 0, 0, 4, "/a?b" },                 /* the query is the caller's to split */
	/* UTF-8 */
	{ "/caf%C3%A9", 0, 0, 6, "/caf\xc3\xa9" },
	{ "/caf\xc3\xa9", 0, 0, 6, "/caf\xc3\xa9" },
	{ "/%E2%82%AC", 0, 0, 4, "/\xe2\x82\xac" },  /* U+20AC */
	{ "/%ED%9F%BF", 0, 0, 4, "/\xed\x9f\xbf" },  /* U+D7FF, last before surrogates */
	{ "/%EF%BF%BF", 0, 0, 4, "/\xef\xbf\xbf" },  /* U+FFFF */
	{ "/%F0%90%80%80", 0, 0, 5, "/\xf0\x90\x80\x80" },
	{ "/%F4%8F%BF%BF", 0, 0, 5, "/\xf4\x8f\xbf\xbf" }, /* U+10FFFF */
	{ "/%C2%80", 0, 0, 3, "/\xc2\x80" },
	{ "/%C3%A9%2F", 0, 0, BAD, NULL },
	{ "/%C3", 0, 0, BAD, NULL },                 /* truncated */
	{ "/%C3/%A9", 0, 0, BAD, NULL },             /* split by a separator */
	{ "/%E2%82", 0, 0, BAD, NULL },
	{ "/%A9", 0, 0, BAD, NULL },                 /* lone continuation */
	{ "/%C1%BF", 0, 0, BAD, NULL },              /* overlong 2-byte */
	{ "/%E0%9F%BF", 0, 0, BAD, NULL },           /* overlong 3-byte */
	{ "/%F0%8F%BF%BF", 0, 0, BAD, NULL },        /* overlong 4-byte */
	{ "/%ED%A0%80", 0, 0, BAD, NULL },           /* U+D800 surrogate */
	{ "/%ED%BF%BF", 0, 0, BAD, NULL },           /* U+DFFF surrogate */
	{ "/%F4%90%80%80", 0, 0, BAD, NULL },        /* U+110000 */
	{ "/%F5%80%80%80", 0, 0, BAD, NULL },
	{ "/%FF", 0, 0, BAD, NULL },
	{ "/\xc3", 0, 0, BAD, NULL },                /* raw bytes are checked too */
	{ "/\xc0\xaf", 0, 0, BAD, NULL },
	/* bad escapes, controls, not a path */
	{ "", 0, 0, BAD, NULL },
	{ "*", 0, 0, BAD, NULL },
	{ "a/b", 0, 0, BAD, NULL },
	{ "http://x/", 0, 0, BAD, NULL },
	{ "/%", 0, 0, BAD, NULL },
	{ "/%4", 0, 0, BAD, NULL },
	{ "/%4g", 0, 0, BAD, NULL },
	{ "/%g4", 0, 0, BAD, NULL },
	{ "/a%", 0, 0, BAD, NULL },
	{ "/%%41", 0, 0, BAD, NULL },
	{ "/%+1", 0, 0, BAD, NULL },
	{ "/a%0a", 0, 0, BAD, NULL },
	{ "/a%0D%0A", 0, 0, BAD, NULL },
	{ "/a%1f", 0, 0, BAD, NULL },
	{ "/a%7f", 0, 0, BAD, NULL },
	{ "/a\tb", 0, 0, BAD, NULL },
	{ "/a\x7f", 0, 0, BAD, NULL },
	{ "/a\0b", 4, 0, BAD, NULL },                /* raw NUL inside the span */
	{ "/a%2fb", 0, 0, BAD, NULL },               /* encoded '/' refused */
	/* output size: room for the path plus its NUL, or -414 */
	{ "/abc", 0, 5, 4, "/abc" },
	{ "/abc", 0, 4, LONG, NULL },
	{ "/", 0, 2, 1, "/" },
	{ "/", 0, 1, LONG, NULL },
	{ "/a//b", 0, 5, 4, "/a/b" },              /* collapsed bytes cost nothing */
	{ "/a%41", 0, 3, LONG, NULL },
	{ "/a%41", 0, 4, 3, "/aA" },
	{ "/a/", 0, 4, 3, "/a/" },
	{ "/a/", 0, 3, LONG, NULL },
	{ "/aaaa/../b", 0, 4, LONG, NULL },          /* high-water mark, see path.c */
	{ "/aaaa/../b", 0, 11, 2, "/b" },
};

/* Traversal attempts: every one must be refused outright or land inside the root
 * with no dot-dot left. want is BAD or the exact safe result. */
static const struct norm_row traversal[] = {
	{ "/../etc/passwd", 0, 0, BAD, NULL },
	{ "/..", 0, 0, BAD, NULL },
	{ "/../", 0, 0, BAD, NULL },
	{ "/%2e%2e/etc/passwd", 0, 0, BAD, NULL },
	{ "/%2E%2E/etc/passwd", 0, 0, BAD, NULL },
	{ "/.%2e/etc/passwd", 0, 0, BAD, NULL },
	{ "/%2e./etc/passwd", 0, 0, BAD, NULL },
	{ "/%2E%2E%2Fetc", 0, 0, BAD, NULL },
	{ "/..%2f..%2f", 0, 0, BAD, NULL },
	{ "/..%2F..%2Fetc%2Fpasswd", 0, 0, BAD, NULL },
	{ "/a%2f..%2f..%2fetc", 0, 0, BAD, NULL },
	{ "/%252e%252e/", 0, 0, 8, "/%2e%2e/" },
	{ "/%252e%252e%252fetc", 0, 0, 13, "/%2e%2e%2fetc" },
	{ "/a/..\\..\\", 0, 0, BAD, NULL },
	{ "/..\\etc", 0, 0, BAD, NULL },
	{ "/%5c..", 0, 0, BAD, NULL },
	{ "/%5C..%5Cetc", 0, 0, BAD, NULL },
	{ "/%00", 0, 0, BAD, NULL },
	{ "/a%00.html", 0, 0, BAD, NULL },
	{ "/index.html%00.jpg", 0, 0, BAD, NULL },
	{ "/%c0%ae%c0%ae/", 0, 0, BAD, NULL },       /* overlong '.' */
	{ "/%c0%af", 0, 0, BAD, NULL },              /* overlong '/' */
	{ "/%e0%80%ae", 0, 0, BAD, NULL },
	{ "/%e0%80%af", 0, 0, BAD, NULL },
	{ "/%f0%80%80%ae", 0, 0, BAD, NULL },
	{ "/%c1%9c", 0, 0, BAD, NULL },              /* overlong '\' */
	{ "/./../", 0, 0, BAD, NULL },
	{ "/a/b/../../../", 0, 0, BAD, NULL },
	{ "/a/../../etc", 0, 0, BAD, NULL },
	{ "/a/./../../", 0, 0, BAD, NULL },
	{ "//../", 0, 0, BAD, NULL },
	{ "/a//../../", 0, 0, BAD, NULL },
	{ "/a/b/c/../../../..", 0, 0, BAD, NULL },
	{ "/a/b/../../x/../..", 0, 0, BAD, NULL },
	{ "/a/b/../../x/..", 0, 0, 1, "/" },
	{ "/..;/etc", 0, 0, 8, "/..;/etc" },          /* a name, not a dot-dot */
	{ "/.../etc", 0, 0, 8, "/.../etc" },
	{ "/ ..", 0, 0, 4, "/ .." },
	{ "/.. ", 0, 0, 4, "/.. " },
};

struct hidden_row {
	const char *in;
	bool want;
};

static const struct hidden_row hidden[] = {
	{ "/", false },
	{ "/index.html", false },
	{ "/a/b.c/d", false },
	{ "/a.", false },
	{ "/.git", true },
	{ "/.git/config", true },
	{ "/a/.env", true },
	{ "/a/b/.htaccess", true },
	{ "/a/.b/c", true },
	{ "/.well-known", false },
	{ "/.well-known/", false },
	{ "/.well-known/acme-challenge/x", false },
	{ "/.well-known/.git", true },
	{ "/.well-known/a/.b", true },
	{ "/a/.well-known/x", true },                /* only the top level is exempt */
	{ "/.well-knownx/y", true },
	{ "/.well-know/y", true },
	{ "/.Well-Known/y", true },
	{ "/.", true },
	{ "", false },
};

#define ok tap_ok_input

static bool check_norm(const struct norm_row *t)
{
	size_t len = t->len ? t->len : strlen(t->in);
	size_t cap = t->outcap ? t->outcap : 256;
	char *in = malloc(len ? len : 1);   /* exact sizes: ASan catches overruns */
	char *out = malloc(cap);
	bool good;
	int got;

	memcpy(in, t->in, len);
	got = path_normalize(in, len, out, cap);
	good = got == t->want;
	if (good && got >= 0)
		good = strcmp(out, t->out) == 0 && strlen(out) == (size_t)got;
	if (!good)
		printf("# got %d \"%s\", want %d\n", got, got >= 0 ? out : "", t->want);
	free(in);
	free(out);
	return good;
}

int main(void)
{
	size_t nn = sizeof norm / sizeof norm[0];
	size_t nt = sizeof traversal / sizeof traversal[0];
	size_t nh = sizeof hidden / sizeof hidden[0];

	printf("1..%zu\n", nn + nt + nh);
	for (size_t k = 0; k < nn; k++) {
		const struct norm_row *t = &norm[k];
		ok(check_norm(t), "normalize", t->in, t->len ? t->len : strlen(t->in));
	}
	for (size_t k = 0; k < nt; k++) {
		const struct norm_row *t = &traversal[k];
		ok(check_norm(t), "traversal", t->in, strlen(t->in));
	}
	for (size_t k = 0; k < nh; k++) {
		const struct hidden_row *t = &hidden[k];
		size_t len = strlen(t->in);
		char *in = malloc(len ? len : 1);
		bool got;

		memcpy(in, t->in, len);
		got = path_is_hidden(in, len);
		free(in);
		ok(got == t->want, t->want ? "hidden" : "not hidden", t->in, len);
	}
	return tap_exit();
}
