/* mime.c — maps a file name's extension to the Content-Type value sent with it.
 * The table is built once at start-up (built-ins, then the system's mime.types on
 * top) and is read-only afterwards, so mime_lookup is pure and allocation-free and
 * the value it returns lives as long as the table. */
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

#define MIME_EXT_MAX  31   /* longest extension kept; longer ones cannot match anything */
#define MIME_TYPE_MAX 127  /* longest type/subtype accepted from a mime.types file */
#define MIME_DEFAULT  "application/octet-stream"
#define MIME_CHARSET  "; charset=utf-8"

/* Built-in types: enough for a static web site when /etc/mime.types is missing
 * (containers, minimal installs). Sorted by kind, not by name: the hash table
 * does not care. */
static const struct {
	const char *ext, *type;
} builtin[] = {
	{ "html", "text/html" }, { "htm", "text/html" }, { "xhtml", "application/xhtml+xml" },
	{ "css", "text/css" }, { "js", "text/javascript" }, { "mjs", "text/javascript" },
	{ "cjs", "text/javascript" }, { "json", "application/json" },
	{ "map", "application/json" }, /* source maps */
	{ "jsonld", "application/ld+json" }, { "geojson", "application/geo+json" },
	{ "webmanifest", "application/manifest+json" }, { "txt", "text/plain" },
	{ "xml", "application/xml" }, { "rss", "application/rss+xml" },
	{ "atom", "application/atom+xml" }, { "csv", "text/csv" }, { "md", "text/markdown" },
	{ "markdown", "text/markdown" }, { "ics", "text/calendar" }, { "vtt", "text/vtt" },
	{ "svg", "image/svg+xml" }, { "png", "image/png" }, { "apng", "image/apng" },
	{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "gif", "image/gif" },
	{ "webp", "image/webp" }, { "avif", "image/avif" }, { "jxl", "image/jxl" },
	{ "heic", "image/heic" }, { "ico", "image/vnd.microsoft.icon" }, { "bmp", "image/bmp" },
	{ "tif", "image/tiff" }, { "tiff", "image/tiff" },
	{ "wasm", "application/wasm" },
	{ "woff", "font/woff" }, { "woff2", "font/woff2" }, { "ttf", "font/ttf" },
	{ "otf", "font/otf" }, { "eot", "application/vnd.ms-fontobject" },
	{ "pdf", "application/pdf" }, { "epub", "application/epub+zip" },
	{ "zip", "application/zip" }, { "gz", "application/gzip" },
	{ "br", "application/x-brotli" }, { "zst", "application/zstd" },
	{ "xz", "application/x-xz" }, { "bz2", "application/x-bzip2" },
	{ "tar", "application/x-tar" }, { "7z", "application/x-7z-compressed" },
	{ "deb", "application/vnd.debian.binary-package" },
	{ "iso", "application/x-iso9660-image" },
	{ "asc", "application/pgp-signature" }, { "sig", "application/pgp-signature" },
	{ "mp4", "video/mp4" }, { "m4v", "video/mp4" }, { "webm", "video/webm" },
	{ "ogv", "video/ogg" }, { "mov", "video/quicktime" }, { "ts", "video/mp2t" },
	{ "m3u8", "application/vnd.apple.mpegurl" }, { "mpd", "application/dash+xml" },
	{ "ogg", "audio/ogg" }, { "oga", "audio/ogg" }, { "opus", "audio/ogg" },
	{ "mp3", "audio/mpeg" }, { "wav", "audio/wav" }, { "flac", "audio/flac" },
	{ "m4a", "audio/mp4" }, { "aac", "audio/aac" },
};

/* Extensions whose built-in type wins over any mime.types file, because older or
 * generic files get them wrong for the web: "application/javascript" and
 * "application/x-javascript" are obsolete for scripts (RFC 9239 §6), module
 * workers need a JavaScript type, WebAssembly.instantiateStreaming refuses
 * anything but application/wasm, and Debian maps .ts to Qt Linguist files while
 * on a web server .ts is an HLS video segment (nginx agrees). */
static const char *const pinned[] = { "js", "mjs", "cjs", "wasm", "ts" };

/* One slot of an open-addressing hash table. ext and type share one allocation
 * (ext first), so freeing ext frees both. */
struct mime_entry {
	char *ext;         /* lower-case, NUL-terminated; NULL: empty slot */
	const char *type;  /* full header value, e.g. "text/html; charset=utf-8" */
	uint32_t hash;
	uint8_t ext_len;
	bool pinned;
};

struct mime_table {
	struct mime_entry *slot;
	size_t cap;    /* power of two */
	size_t count;
};

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* FNV-1a: short keys, no adversary (the keys come from our own configuration;
 * request paths only probe). */
static uint32_t hash_ext(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Which types carry text that a browser must decode: our files are served as
 * UTF-8, and without a charset browsers guess (and for scripts, sniff). */
static bool needs_charset(const char *type, size_t len)
{
	static const char *const exact[] = {
		"application/javascript", "application/x-javascript", "application/ecmascript",
		"application/json", "application/xml",
	};

	if (len >= 5 && memcmp(type, "text/", 5) == 0)
		return true;
	if ((len > 5 && memcmp(type + len - 5, "+json", 5) == 0) ||
	    (len > 4 && memcmp(type + len - 4, "+xml", 4) == 0))
		return true;
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strlen(exact[i]) == len && memcmp(exact[i], type, len) == 0)
			return true;
	return false;
}

static bool is_pinned(const char *ext, size_t len)
{
	for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++)
		if (strlen(pinned[i]) == len && memcmp(pinned[i], ext, len) == 0)
			return true;
	return false;
}

/* The slot holding ext (lower-case), or the empty slot where it would go. */
static struct mime_entry *find_slot(const struct mime_table *t, const char *ext, size_t len,
				    uint32_t h)
{
	size_t mask = t->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct mime_entry *e = &t->slot[i];

		if (!e->ext || (e->hash == h && e->ext_len == len && memcmp(e->ext, ext, len) == 0))
			return e;
	}
}

static int grow(struct mime_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 256;
	struct mime_entry *old = t->slot, *nslot = calloc(ncap, sizeof *nslot);
	size_t ocap = t->cap;

	if (!nslot)
		return -1;
	t->slot = nslot;
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].ext)
			*find_slot(t, old[i].ext, old[i].ext_len, old[i].hash) = old[i];
	free(old);
	return 0;
}

/* Set ext (already lower-case, 1..MIME_EXT_MAX bytes) to type (lower-case, without
 * parameters). Returns 1 if set, 0 if a pinned entry kept its type, -1 on ENOMEM. */
static int put(struct mime_table *t, const char *ext, size_t elen, const char *type,
	       size_t tlen, bool pin)
{
	uint32_t h = hash_ext(ext, elen);
	struct mime_entry *e;
	bool cs = needs_charset(type, tlen);
	size_t vlen = tlen + (cs ? sizeof MIME_CHARSET - 1 : 0);
	char *mem;

	/* Keep the load factor under 3/4 so probe runs stay short. */
	if ((t->count + 1) * 4 > t->cap * 3 && grow(t) != 0)
		return -1;
	e = find_slot(t, ext, elen, h);
	if (e->ext && e->pinned)
		return 0;
	mem = malloc(elen + 1 + vlen + 1);
	if (!mem)
		return -1;
	memcpy(mem, ext, elen);
	mem[elen] = '\0';
	memcpy(mem + elen + 1, type, tlen);
	if (cs)
		memcpy(mem + elen + 1 + tlen, MIME_CHARSET, sizeof MIME_CHARSET - 1);
	mem[elen + 1 + vlen] = '\0';
	if (e->ext)
		free(e->ext);
	else
		t->count++;
	e->ext = mem;
	e->type = mem + elen + 1;
	e->hash = h;
	e->ext_len = (uint8_t)elen;
	e->pinned = pin;
	return 1;
}

struct mime_table *mime_table_new(void)
{
	struct mime_table *t = calloc(1, sizeof *t);

	if (!t || grow(t) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
		const char *ext = builtin[i].ext, *type = builtin[i].type;
		size_t elen = strlen(ext);

		if (put(t, ext, elen, type, strlen(type), is_pinned(ext, elen)) < 0)
			goto fail;
	}
	return t;
fail:
	mime_table_free(t);
	return NULL;
}

void mime_table_free(struct mime_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i].ext);
	free(t->slot);
	free(t);
}

/* RFC 9110 §5.6.2 tchar: what a type, subtype or (sensibly) an extension is made of. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* "type/subtype", both non-empty tokens. */
static bool valid_type(const char *s, size_t len)
{
	size_t slash = 0, nslash = 0;

	if (len > MIME_TYPE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '/') {
			slash = i;
			nslash++;
		} else if (!is_tchar((unsigned char)s[i])) {
			return false;
		}
	}
	return nslash == 1 && slash > 0 && slash + 1 < len;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Debian's format: "type/subtype ext ext ...", '#' to the end of a line is a
 * comment. A line whose first word is not a media type is skipped whole; an
 * extension we could never match (a dot, too long, odd bytes) is skipped alone.
 * Later lines win over earlier ones, as they do over the built-ins. */
int mime_table_load(struct mime_table *t, const char *text, size_t len)
{
	size_t i = 0;
	int added = 0;

	while (i < len) {
		size_t eol = i, end;
		char type[MIME_TYPE_MAX + 1];
		size_t tlen = 0;
		bool first = true;

		while (eol < len && text[eol] != '\n')
			eol++;
		end = eol;
		for (size_t k = i; k < eol; k++) {
			if (text[k] == '#') {
				end = k;
				break;
			}
		}
		while (i < end) {
			size_t w;

			while (i < end && is_blank(text[i]))
				i++;
			if (i == end)
				break;
			w = i;
			while (i < end && !is_blank(text[i]))
				i++;
			if (first) {
				first = false;
				if (!valid_type(text + w, i - w))
					break;
				tlen = i - w;
				for (size_t k = 0; k < tlen; k++)
					type[k] = (char)lower((unsigned char)text[w + k]);
				continue;
			}
			char ext[MIME_EXT_MAX];
			size_t elen = i - w;
			bool ok = elen <= MIME_EXT_MAX;

			for (size_t k = 0; ok && k < elen; k++) {
				unsigned char c = (unsigned char)text[w + k];

				ok = is_tchar(c) && c != '.';
				ext[k] = (char)lower(c);
			}
			if (!ok)
				continue;
			int r = put(t, ext, elen, type, tlen, false);
			if (r < 0)
				return -1;
			added += r;
		}
		i = eol + 1;
	}
	return added;
}

const char *mime_lookup(const struct mime_table *t, const char *path, size_t len)
{
	size_t seg = 0, dot = 0;
	bool has_dot = false;
	char ext[MIME_EXT_MAX];
	size_t elen;
	const struct mime_entry *e;

	for (size_t i = 0; i < len; i++) {
		if (path[i] == '/') {
			seg = i + 1;
			has_dot = false;
		} else if (path[i] == '.') {
			dot = i;
			has_dot = true;
		}
	}
	/* A leading dot names a hidden file (".htaccess"), not an extension. */
	if (!t || !has_dot || dot == seg)
		return MIME_DEFAULT;
	elen = len - dot - 1;
	if (elen == 0 || elen > MIME_EXT_MAX)
		return MIME_DEFAULT;
	for (size_t k = 0; k < elen; k++)
		ext[k] = (char)lower((unsigned char)path[dot + 1 + k]);
	e = find_slot(t, ext, elen, hash_ext(ext, elen));
	return e->ext ? e->type : MIME_DEFAULT;
}
