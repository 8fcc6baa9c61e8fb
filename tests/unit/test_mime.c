/* test_mime.c — mime_lookup() against tables: the built-ins, a small mime.types
 * text loaded on top, how the extension is found, case, charset rules, the pinned
 * modern types, and (when the host has one) the real /etc/mime.types. TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"
#include "tap.h"

#define OCTET "application/octet-stream"
#define UTF8  "; charset=utf-8"

struct row {
	const char *path;
	const char *want;
};

/* The built-in table alone. */
static const struct row builtin[] = {
	{ "/index.html", "text/html" UTF8 },
	{ "/a.htm", "text/html" UTF8 },
	{ "/s.css", "text/css" UTF8 },
	{ "/app.js", "text/javascript" UTF8 },
	{ "/mod.mjs", "text/javascript" UTF8 },
	{ "/d.json", "application/json" UTF8 },
	{ "/app.js.map", "application/json" UTF8 },
	{ "/r.txt", "text/plain" UTF8 },
	{ "/f.xml", "application/xml" UTF8 },
	{ "/i.svg", "image/svg+xml" UTF8 },
	{ "/i.png", "image/png" },
	{ "/i.jpg", "image/jpeg" },
	{ "/i.jpeg", "image/jpeg" },
	{ "/i.gif", "image/gif" },
	{ "/i.webp", "image/webp" },
	{ "/i.avif", "image/avif" },
	{ "/favicon.ico", "image/vnd.microsoft.icon" },
	{ "/i.bmp", "image/bmp" },
	{ "/m.wasm", "application/wasm" },
	{ "/f.woff", "font/woff" },
	{ "/f.woff2", "font/woff2" },
	{ "/f.ttf", "font/ttf" },
	{ "/f.otf", "font/otf" },
	{ "/f.eot", "application/vnd.ms-fontobject" },
	{ "/d.pdf", "application/pdf" },
	{ "/a.zip", "application/zip" },
	{ "/a.tar.gz", "application/gzip" },
	{ "/a.br", "application/x-brotli" },
	{ "/a.zst", "application/zstd" },
	{ "/a.tar", "application/x-tar" },
	{ "/v.mp4", "video/mp4" },
	{ "/v.webm", "video/webm" },
	{ "/a.ogg", "audio/ogg" },
	{ "/a.mp3", "audio/mpeg" },
	{ "/a.wav", "audio/wav" },
	{ "/a.flac", "audio/flac" },
	{ "/a.m4a", "audio/mp4" },
	{ "/a.opus", "audio/ogg" },
	{ "/t.csv", "text/csv" UTF8 },
	{ "/README.md", "text/markdown" UTF8 },
	{ "/site.webmanifest", "application/manifest+json" UTF8 },
	{ "/cal.ics", "text/calendar" UTF8 },
	{ "/feed.rss", "application/rss+xml" UTF8 },
	{ "/feed.atom", "application/atom+xml" UTF8 },
	{ "/x.jsonld", "application/ld+json" UTF8 },
	{ "/sub.vtt", "text/vtt" UTF8 },
	/* finding the extension */
	{ "/", OCTET },
	{ "", OCTET },
	{ "/Makefile", OCTET },
	{ "/a.b/c", OCTET },                  /* a dot in a directory is not an extension */
	{ "/a.b/c.css", "text/css" UTF8 },
	{ "/.htaccess", OCTET },              /* a dotfile has no extension */
	{ "/dir/.css", OCTET },
	{ "/.config.json", "application/json" UTF8 },
	{ "/..png", "image/png" },
	{ "/file.", OCTET },
	{ "/dir.html/", OCTET },
	{ "index.html", "text/html" UTF8 },   /* no slash at all */
	{ "/x.unknownext", OCTET },
	{ "/x.averyveryveryveryverylongextensionname", OCTET },
	/* case does not matter */
	{ "/INDEX.HTML", "text/html" UTF8 },
	{ "/Photo.JpG", "image/jpeg" },
	{ "/M.WASM", "application/wasm" },
};

/* A small mime.types on top of the built-ins: overrides, comments, garbage. */
static const char small_types[] =
	"# a comment line\n"
	"\n"
	"text/x-foo\t\tfoo FOOB\n"
	"image/png png apng  # png is redefined here\n"
	"application/x-thing   thing\r\n"
	"Application/X-Upper UPX\n"
	"application/vnd.demo+json  demo\n"
	"application/vnd.demo+xml  demox\n"
	"application/javascript js mjs legacyjs\n"   /* outdated: pinned js/mjs stay */
	"application/octet-stream wasm\n"             /* wasm is pinned too */
	"text/vnd.trolltech.linguist ts\n"            /* ts stays video/mp2t */
	"not-a-type foo2\n"                           /* garbage: skipped whole */
	"/x bad1\n"
	"a/b/c bad2\n"
	"text/ spacesub\n"
	"text/plain ok1 bad.dot ok2\n"                /* a dotted extension can never match */
	"    \t  \n"
	"text/csv\n"                                  /* a type without extensions */
	"image/late foo\n";                           /* later lines win */

static const struct row loaded[] = {
	{ "/a.foo", "image/late" },
	{ "/a.foob", "text/x-foo" UTF8 },
	{ "/a.FOOB", "text/x-foo" UTF8 },
	{ "/i.png", "image/png" },
	{ "/i.thing", "application/x-thing" },
	{ "/u.upx", "application/x-upper" },
	{ "/d.demo", "application/vnd.demo+json" UTF8 },
	{ "/d.demox", "application/vnd.demo+xml" UTF8 },
	{ "/a.legacyjs", "application/javascript" UTF8 },
	{ "/a.js", "text/javascript" UTF8 },
	{ "/a.mjs", "text/javascript" UTF8 },
	{ "/m.wasm", "application/wasm" },
	{ "/seg.ts", "video/mp2t" },
	{ "/a.foo2", OCTET },
	{ "/a.bad1", OCTET },
	{ "/a.bad2", OCTET },
	{ "/a.spacesub", OCTET },
	{ "/a.ok1", "text/plain" UTF8 },
	{ "/a.ok2", "text/plain" UTF8 },
	{ "/a.dot", OCTET },
	{ "/s.css", "text/css" UTF8 },        /* built-ins not mentioned survive */
};

/* What Debian's /etc/mime.types (media-types) gives, with our pins applied. */
static const struct row debian[] = {
	{ "/i.png", "image/png" },
	{ "/index.html", "text/html" UTF8 },
	{ "/app.js", "text/javascript" UTF8 },
	{ "/m.wasm", "application/wasm" },
	{ "/s.css", "text/css" UTF8 },
	{ "/d.json", "application/json" UTF8 },
	{ "/i.svg", "image/svg+xml" UTF8 },
	{ "/f.woff2", "font/woff2" },
	{ "/d.pdf", "application/pdf" },
};

static void ok(bool cond, const char *what, const char *in)
{
	tap_ok_input(cond, what, in, strlen(in));
}

static void check(const struct mime_table *t, const struct row *r, const char *what)
{
	size_t len = strlen(r->path);
	char *p = malloc(len ? len : 1);   /* exact size, not NUL-terminated: ASan sees overreads */
	const char *got;

	memcpy(p, r->path, len);
	got = mime_lookup(t, p, len);
	if (strcmp(got, r->want) != 0)
		printf("# got \"%s\", want \"%s\"\n", got, r->want);
	ok(strcmp(got, r->want) == 0, what, r->path);
	free(p);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

int main(void)
{
	struct mime_table *t = mime_table_new();
	size_t len;
	char *sys;
	int n;

	ok(t != NULL, "mime_table_new", "");
	if (!t)
		return 1;
	for (size_t k = 0; k < sizeof builtin / sizeof builtin[0]; k++)
		check(t, &builtin[k], "built-in");
	ok(strcmp(mime_lookup(NULL, "/a.html", 7), OCTET) == 0, "no table", "/a.html");
	/* The length bounds the path: ".html" past len must not be seen. */
	ok(strcmp(mime_lookup(t, "/a.css.html", 6), "text/css" UTF8) == 0, "length-bounded",
	   "/a.css|.html");

	n = mime_table_load(t, small_types, sizeof small_types - 1);
	/* Counted: foo foob png apng thing upx demo demox legacyjs ok1 ok2 foo(again). */
	if (n != 12)
		printf("# loaded %d\n", n);
	ok(n == 12, "load count", "small_types");
	for (size_t k = 0; k < sizeof loaded / sizeof loaded[0]; k++)
		check(t, &loaded[k], "loaded");
	ok(mime_table_load(t, "", 0) == 0, "load empty", "");
	/* A NUL inside the text is garbage, not an end. */
	ok(mime_table_load(t, "text/x-a\0b nul\ntext/x-ok aft\n", 29) == 1, "load with NUL",
	   "text/x-a\\0b nul");
	mime_table_free(t);
	mime_table_free(NULL);

	/* Enough entries to grow the hash table several times, with or without a
	 * system mime.types: every one must still be found, and the built-ins too. */
	static char many[2000 * 16];
	size_t m = 0;

	t = mime_table_new();
	for (int k = 0; k < 2000; k++)
		m += (size_t)snprintf(many + m, sizeof many - m, "x/t%d e%d\n", k % 7, k);
	n = mime_table_load(t, many, m);
	ok(n == 2000, "load 2000", "x/tK eK");
	bool all = true;

	for (int k = 0; k < 2000; k++) {
		char path[16], want[8];
		int pl = snprintf(path, sizeof path, "/f.E%d", k);

		snprintf(want, sizeof want, "x/t%d", k % 7);
		all = all && strcmp(mime_lookup(t, path, (size_t)pl), want) == 0;
	}
	ok(all, "2000 found after growing", "/f.EK");
	ok(strcmp(mime_lookup(t, "/a.css", 6), "text/css" UTF8) == 0, "built-ins survive growing",
	   "/a.css");
	mime_table_free(t);

	sys = slurp("/etc/mime.types", &len);
	if (sys) {
		t = mime_table_new();
		n = mime_table_load(t, sys, len);
		ok(n > 500, "load /etc/mime.types", "/etc/mime.types");
		for (size_t k = 0; k < sizeof debian / sizeof debian[0]; k++)
			check(t, &debian[k], "/etc/mime.types");
		mime_table_free(t);
		free(sys);
	} else {
		tap_skip("no /etc/mime.types");
	}
	tap_plan(tap_n);
	return tap_exit();
}
