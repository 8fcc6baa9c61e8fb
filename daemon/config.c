/* config.c — reads ringd's INI file (with inih) and -o SECTION.KEY=VALUE overrides
 * into struct config. Every value is parsed strictly and range-checked here, once,
 * so the rest of the daemon can trust the struct; every mistake is reported as
 * "FILE:LINE: KEY: problem". Only config_load_file touches the file system. */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

#define SHOW_MAX 40 /* bytes of a bad value quoted back in a message */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A value quoted back in a message: cut short and with control bytes replaced,
 * so a hostile or binary config cannot forge log lines through our messages. */
static const char *show(const char *s, size_t len, char buf[SHOW_MAX + 4])
{
	size_t n = len < SHOW_MAX ? len : SHOW_MAX;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	strcpy(buf + n, len > SHOW_MAX ? "..." : "");
	return buf;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* ---- listen addresses ---- */

/* Decimal 1..65535, nothing else. */
static int parse_port(const char *s, size_t len, uint16_t *port, char *err, size_t errlen)
{
	char b[SHOW_MAX + 4];
	unsigned long v = 0;

	if (len == 0) {
		seterr(err, errlen, "port missing");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			seterr(err, errlen, "bad port \"%s\"", show(s, len, b));
			return -1;
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535) {
		seterr(err, errlen, "port %s out of range", show(s, len, b));
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

int listen_addr_parse(const char *s, struct listen_addr *out, char *err, size_t errlen)
{
	size_t len = strlen(s);
	char host[64], b[SHOW_MAX + 4];
	const char *colon;
	uint16_t port;

	memset(out, 0, sizeof *out);
	if (len == 0) {
		seterr(err, errlen, "empty address");
		return -1;
	}
	if (len >= sizeof out->text) {
		seterr(err, errlen, "address too long");
		return -1;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
		size_t hl;

		if (!close) {
			seterr(err, errlen, "missing ']' in \"%s\"", show(s, len, b));
			return -1;
		}
		hl = (size_t)(close - s - 1);
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (close[1] != ':' && close[1] != '\0') {
			seterr(err, errlen, "expected ':' after ']' in \"%s\"", show(s, len, b));
			return -1;
		}
		if (parse_port(close[1] ? close + 2 : close + 1, close[1] ? strlen(close + 2) : 0,
			       &port, err, errlen) != 0)
			return -1;
		if (strchr(host, '%')) {
			/* Zone ids need if_nametoindex, i.e. the host's state: not here. */
			seterr(err, errlen, "IPv6 zone ids are not supported (\"%s\")", show(s, len, b));
			return -1;
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			seterr(err, errlen, "bad IPv6 address \"%s\"", show(host, hl, b));
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		out->len = sizeof *sin6;
		goto done;
	}
	colon = strrchr(s, ':');
	if (!colon) {
		seterr(err, errlen, "port missing");
		return -1;
	}
	size_t hl = (size_t)(colon - s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (memchr(host, ':', hl)) {
		seterr(err, errlen, "IPv6 addresses need brackets, e.g. [::1]:8080");
		return -1;
	}
	if (parse_port(colon + 1, strlen(colon + 1), &port, err, errlen) != 0)
		return -1;
	if (hl == 0) {
		seterr(err, errlen, "address missing (use *:%u for all addresses)", port);
		return -1;
	}
	if (strcmp(host, "*") == 0) {
		/* "::" with IPV6_V6ONLY off takes IPv4 too; listen.c falls back to
		 * 0.0.0.0 on hosts without IPv6. */
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		out->len = sizeof *sin6;
		out->any_addr = true;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			bool name = false;

			for (size_t i = 0; i < hl; i++)
				if ((host[i] | 0x20) >= 'a' && (host[i] | 0x20) <= 'z')
					name = true;
			/* Resolving names would make the config's meaning depend on DNS
			 * at start-up, and would make this function impure. */
			if (name)
				seterr(err, errlen, "use a numeric address, not \"%s\"",
				       show(host, hl, b));
			else
				seterr(err, errlen, "bad IPv4 address \"%s\"", show(host, hl, b));
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		out->len = sizeof *sin;
	}
done:
	memcpy(out->text, s, len + 1);
	return 0;
}

static bool same_addr(const struct listen_addr *a, const struct listen_addr *b)
{
	/* Both were zeroed before being filled, so the padding compares equal too. */
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

static uint16_t addr_port(const struct listen_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

/* ---- the keys ---- */

struct key;
typedef int (*set_fn)(struct config *c, const struct key *k, const char *v, char *why,
		      size_t n);

/* One row per key: where it lives in struct config and how its value is checked. */
struct key {
	const char *section;
	const char *name;
	set_fn set;
	size_t off;                 /* offset of the field in struct config */
	size_t size;                /* strings: the field's size */
	int min, max;               /* integers */
	const char *const *words;   /* enums: names, index = value, NULL-terminated */
};

#define FIELD(c, k, type) ((type *)(void *)((char *)(c) + (k)->off))

/* Enum fields are written through int *: they must be int-sized. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum fields are stored as int");

static int set_int(struct config *c, const struct key *k, const char *v, char *why, size_t n)
{
	char b[SHOW_MAX + 4];
	const char *p = v;
	bool neg = false;
	long long x = 0;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p == '\0')
		goto nan;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto nan;
		if (x <= (long long)k->max)
			x = x * 10 + (*p - '0');
	}
	if (neg)
		x = -x;
	if (x < k->min || x > k->max) {
		seterr(why, n, "must be between %d and %d, not %s", k->min, k->max,
		       show(v, strlen(v), b));
		return -1;
	}
	*FIELD(c, k, int) = (int)x;
	return 0;
nan:
	seterr(why, n, "\"%s\" is not a whole number", show(v, strlen(v), b));
	return -1;
}

static int set_workers(struct config *c, const struct key *k, const char *v, char *why, size_t n)
{
	char b[SHOW_MAX + 4];

	if (strcmp(v, "auto") == 0) {
		c->workers = 0;
		return 0;
	}
	if (set_int(c, k, v, NULL, 0) != 0) {
		seterr(why, n, "must be auto or between %d and %d, not %s", k->min, k->max,
		       show(v, strlen(v), b));
		return -1;
	}
	return 0;
}

static int set_word(struct config *c, const struct key *k, const char *v, char *why, size_t n)
{
	char b[SHOW_MAX + 4], list[128] = "";
	int i;

	for (i = 0; k->words[i]; i++) {
		if (strcmp(v, k->words[i]) == 0) {
			*FIELD(c, k, int) = i;
			return 0;
		}
	}
	/* "a, b or c", from the same table that was searched */
	for (int j = 0; j < i; j++) {
		size_t l = strlen(list);

		snprintf(list + l, sizeof list - l, "%s%s", j == 0 ? "" : j == i - 1 ? " or " : ", ",
			 k->words[j]);
	}
	seterr(why, n, "expected %s, not \"%s\"", list, show(v, strlen(v), b));
	return -1;
}

/* A string field: fits, and is one line of text. */
static int check_text(const struct key *k, const char *v, char *why, size_t n)
{
	if (strlen(v) >= k->size) {
		seterr(why, n, "too long (max %zu bytes)", k->size - 1);
		return -1;
	}
	if (has_control(v)) {
		seterr(why, n, "contains a control character");
		return -1;
	}
	return 0;
}

static int set_text(struct config *c, const struct key *k, const char *v, char *why, size_t n)
{
	if (check_text(k, v, why, n) != 0)
		return -1;
	memcpy(FIELD(c, k, char), v, strlen(v) + 1);
	return 0;
}

static int set_path(struct config *c, const struct key *k, const char *v, char *why, size_t n)
{
	if (*v == '\0') {
		seterr(why, n, "must not be empty");
		return -1;
	}
	return set_text(c, k, v, why, n);
}

static int set_index(struct config *c, const struct key *k, const char *v, char *why, size_t n)
{
	if (*v == '\0' || strcmp(v, ".") == 0 || strcmp(v, "..") == 0 || strchr(v, '/')) {
		seterr(why, n, "must be a plain file name such as index.html");
		return -1;
	}
	return set_text(c, k, v, why, n);
}

static int set_access_log(struct config *c, const struct key *k, const char *v, char *why,
			  size_t n)
{
	if (*v == '\0') {
		seterr(why, n, "must not be empty (use off to disable the access log)");
		return -1;
	}
	return set_text(c, k, v, why, n);
}

static int set_error_log(struct config *c, const struct key *k, const char *v, char *why,
			 size_t n)
{
	/* Errors must go somewhere; "off" would silently create a file named off. */
	if (*v == '\0' || strcmp(v, "off") == 0) {
		seterr(why, n, "must be stderr or a path");
		return -1;
	}
	return set_text(c, k, v, why, n);
}

static int set_cache_control(struct config *c, const struct key *k, const char *v, char *why,
			     size_t n)
{
	/* Sent verbatim as a header field value (RFC 9110 §5.5), so it must be
	 * visible ASCII, space and tab only: no way to smuggle a CRLF. */
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch < 0x20 && ch != '\t') || ch >= 0x7f) {
			seterr(why, n, "must be printable ASCII");
			return -1;
		}
	}
	return set_text(c, k, v, why, n);
}

static const char *const enc_names[] = { [ENC_BR] = "br", [ENC_ZSTD] = "zstd",
					 [ENC_GZIP] = "gzip" };

/* Split v at commas into trimmed items; call fn for each. Empty items are errors:
 * "br,,gzip" is a typo, not a request for nothing. */
static int each_item(const char *v, int (*fn)(void *arg, const char *item, int nitems, char *why,
					      size_t n),
		     void *arg, char *why, size_t n)
{
	int nitems = 1;

	for (const char *p = v; *p; p++)
		nitems += *p == ',';
	for (const char *p = v;;) {
		const char *e = strchr(p, ',');
		const char *end = e ? e : p + strlen(p);
		char item[128];
		size_t len;

		while (p < end && is_space(*p))
			p++;
		while (end > p && is_space(end[-1]))
			end--;
		len = (size_t)(end - p);
		if (len == 0) {
			seterr(why, n, "empty item in list");
			return -1;
		}
		if (len >= sizeof item) {
			char b[SHOW_MAX + 4];

			seterr(why, n, "item too long: \"%s\"", show(p, len, b));
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (fn(arg, item, nitems, why, n) != 0)
			return -1;
		if (!e)
			return 0;
		p = e + 1;
	}
}

static int add_precomp(void *arg, const char *item, int nitems, char *why, size_t n)
{
	struct config *c = arg;
	char b[SHOW_MAX + 4];
	int e;

	(void)nitems;
	for (e = ENC_BR; e <= ENC_GZIP; e++)
		if (strcmp(item, enc_names[e]) == 0)
			break;
	if (e > ENC_GZIP) {
		seterr(why, n, "unknown encoding \"%s\" (expected br, zstd, gzip or off)",
		       show(item, strlen(item), b));
		return -1;
	}
	for (int i = 0; i < c->n_precompressed; i++) {
		if (c->precompressed[i] == (enum encoding)e) {
			seterr(why, n, "%s listed twice", item);
			return -1;
		}
	}
	c->precompressed[c->n_precompressed++] = (enum encoding)e;
	return 0;
}

static int set_precompressed(struct config *c, const struct key *k, const char *v, char *why,
			     size_t n)
{
	struct config tmp;

	(void)k;
	tmp.n_precompressed = 0;
	memset(tmp.precompressed, 0, sizeof tmp.precompressed);
	if (*v != '\0' && strcmp(v, "off") != 0 && each_item(v, add_precomp, &tmp, why, n) != 0)
		return -1;
	memcpy(c->precompressed, tmp.precompressed, sizeof c->precompressed);
	c->n_precompressed = tmp.n_precompressed;
	return 0;
}

/* Listen items are parsed into a scratch list so a bad value leaves the old list. */
struct listen_list {
	struct listen_addr a[RINGD_MAX_LISTEN];
	int n;
};

static int add_listen(void *arg, const char *item, int nitems, char *why, size_t n)
{
	struct listen_list *l = arg;
	char reason[128];

	if (l->n == RINGD_MAX_LISTEN) {
		seterr(why, n, "more than %d addresses", RINGD_MAX_LISTEN);
		return -1;
	}
	if (listen_addr_parse(item, &l->a[l->n], reason, sizeof reason) != 0) {
		char b[SHOW_MAX + 4];

		/* With several addresses, say which one. */
		if (nitems > 1)
			seterr(why, n, "%s: %s", show(item, strlen(item), b), reason);
		else
			seterr(why, n, "%s", reason);
		return -1;
	}
	for (int i = 0; i < l->n; i++) {
		if (same_addr(&l->a[i], &l->a[l->n])) {
			seterr(why, n, "%s listed twice", l->a[l->n].text);
			return -1;
		}
	}
	l->n++;
	return 0;
}

static int set_listen(struct config *c, const struct key *k, const char *v, char *why, size_t n)
{
	struct listen_list l;

	(void)k;
	l.n = 0;
	if (*v == '\0') {
		seterr(why, n, "at least one address is required");
		return -1;
	}
	if (each_item(v, add_listen, &l, why, n) != 0)
		return -1;
	memcpy(c->listen, l.a, sizeof l.a[0] * (size_t)l.n);
	memset(c->listen + l.n, 0, sizeof l.a[0] * (size_t)(RINGD_MAX_LISTEN - l.n));
	c->n_listen = l.n;
	return 0;
}

static const char *const dotfiles_words[] = { "deny", "allow", NULL };
static const char *const symlinks_words[] = { "within-root", "follow", "deny", NULL };
static const char *const body_words[] = { "splice", "read", NULL };
static const char *const format_words[] = { "combined", "common", "json", NULL };
static const char *const level_words[] = { "error", "warn", "info", "debug", NULL };

#define OFF(f)  offsetof(struct config, f)
#define SZ(f)   sizeof(((struct config *)0)->f)
#define INT(s, name, f, lo, hi)   { s, name, set_int, OFF(f), 0, lo, hi, NULL }
#define WORD(s, name, f, w)       { s, name, set_word, OFF(f), 0, 0, 0, w }
#define TEXT(s, name, f, fn)      { s, name, fn, OFF(f), SZ(f), 0, 0, NULL }

/* Keep in the order of config/ringd.ini, which documents each key. */
static const struct key keys[] = {
	{ "server", "listen", set_listen, 0, 0, 0, 0, NULL },
	TEXT("server", "root", root, set_path),
	TEXT("server", "index", index, set_index),
	TEXT("server", "user", user, set_text),
	{ "server", "workers", set_workers, OFF(workers), 0, 1, 256, NULL },
	INT("server", "max_connections", max_connections, 16, 1048576),
	INT("server", "shutdown_timeout", shutdown_timeout, 0, 3600),
	INT("server", "batch_wait", batch_wait, 0, 10000),
	INT("http", "keepalive_timeout", keepalive_timeout, 0, 3600),
	INT("http", "header_timeout", header_timeout, 1, 3600),
	INT("http", "send_timeout", send_timeout, 1, 3600),
	INT("http", "max_header_bytes", max_header_bytes, 1024, 65536),
	WORD("http", "dotfiles", dotfiles, dotfiles_words),
	WORD("http", "symlinks", symlinks, symlinks_words),
	{ "http", "precompressed", set_precompressed, 0, 0, 0, 0, NULL },
	TEXT("http", "cache_control", cache_control, set_cache_control),
	WORD("http", "body", body, body_words),
	INT("http", "body_memory", body_memory_mb, 1, 65536),
	TEXT("log", "access", access_log, set_access_log),
	WORD("log", "format", log_format, format_words),
	TEXT("log", "error", error_log, set_error_log),
	WORD("log", "level", log_level, level_words),
	INT("cache", "entries", cache_entries, 0, 1048576),
	INT("cache", "memory", cache_memory_mb, 0, 65536),
	INT("cache", "max_file", cache_max_file, 0, RINGD_CACHE_MAX_FILE),
	INT("cache", "revalidate", cache_revalidate, 1, 3600),
};

enum set_result { SET_OK = 0, SET_BAD_VALUE, SET_BAD_KEY, SET_BAD_SECTION };

static bool known_section(const char *s)
{
	return strcmp(s, "server") == 0 || strcmp(s, "http") == 0 || strcmp(s, "log") == 0 ||
	       strcmp(s, "cache") == 0;
}

/* The one place a key is applied. why gets the problem alone; callers add
 * "FILE:LINE: KEY: " or "-o SECTION.KEY: " in front. */
static enum set_result apply(struct config *c, const char *section, const char *name,
			     const char *value, char *why, size_t n)
{
	const struct key *other = NULL;

	if (!known_section(section)) {
		seterr(why, n, "unknown section");
		return SET_BAD_SECTION;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (strcmp(keys[i].section, section) == 0)
			return keys[i].set(c, &keys[i], value, why, n) ? SET_BAD_VALUE : SET_OK;
		other = &keys[i];
	}
	if (other)
		seterr(why, n, "unknown key in [%s] (it belongs in [%s])", section, other->section);
	else
		seterr(why, n, "unknown key in [%s]", section);
	return SET_BAD_KEY;
}

int config_set(struct config *c, const char *section, const char *key, const char *value,
	       char *err, size_t errlen)
{
	char why[256], b[SHOW_MAX + 4];
	enum set_result r = apply(c, section, key, value, why, sizeof why);

	if (r == SET_OK)
		return 0;
	if (r == SET_BAD_SECTION)
		seterr(err, errlen, "[%s]: %s", show(section, strlen(section), b), why);
	else
		seterr(err, errlen, "%s: %s", show(key, strlen(key), b), why);
	return -1;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	listen_addr_parse("*:8080", &c->listen[0], NULL, 0);
	c->n_listen = 1;
	strcpy(c->root, "/usr/share/ringd/www");
	strcpy(c->index, "index.html");
	c->workers = 1;
	c->max_connections = 16384;
	c->shutdown_timeout = 30;
	c->batch_wait = 250;   /* µs; measured: see README, Benchmarks */
	c->keepalive_timeout = 60;
	c->header_timeout = 15;
	c->send_timeout = 60;
	c->max_header_bytes = 8192;
	c->dotfiles = DOTFILES_DENY;
	c->symlinks = SYMLINKS_WITHIN_ROOT;
	c->precompressed[0] = ENC_BR;
	c->precompressed[1] = ENC_ZSTD;
	c->precompressed[2] = ENC_GZIP;
	c->n_precompressed = 3;
	c->body = BODY_READ;   /* measured: see README, Benchmarks */
	c->body_memory_mb = 64;
	strcpy(c->access_log, "stderr");
	c->log_format = LOG_COMBINED;
	strcpy(c->error_log, "stderr");
	c->log_level = LOGL_INFO;
	c->cache_entries = 4096;
	c->cache_memory_mb = 64;
	c->cache_max_file = 65536;
	c->cache_revalidate = 1;
}

/* ---- INI files ---- */

/* Parsing state shared by our line reader and the inih handler. inih calls the
 * handler for a line before it asks the reader for the next one, so lineno is
 * the handler's line too (inih r55's handler has no line number of its own). */
struct ini_ctx {
	struct config *c;
	const char *name;       /* file name as given, for messages */
	const char *p, *end;    /* source: a string ... */
	FILE *f;                /* ... or a file, read with getline */
	char *buf;
	size_t bufcap;
	int lineno;
	int err_line;           /* line of the first error we reported; 0: none */
	int read_errno;
	char *err;
	size_t errlen;
};

static void ctx_error(struct ini_ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ctx_error(struct ini_ctx *x, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (x->err_line)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	x->err_line = x->lineno;
	seterr(x->err, x->errlen, "%s:%d: %s", x->name, x->lineno, msg);
}

static int next_line(struct ini_ctx *x, const char **line, size_t *len)
{
	if (x->f) {
		ssize_t n = getline(&x->buf, &x->bufcap, x->f);

		if (n < 0) {
			if (ferror(x->f))
				x->read_errno = errno ? errno : EIO;
			return -1;
		}
		*line = x->buf;
		*len = (size_t)n;
		return 0;
	}
	if (x->p >= x->end)
		return -1;
	const char *nl = memchr(x->p, '\n', (size_t)(x->end - x->p));

	*line = x->p;
	*len = nl ? (size_t)(nl - x->p + 1) : (size_t)(x->end - x->p);
	x->p += *len;
	return 0;
}

/* inih's reader callback. It hands inih one line at a time, after fixing what
 * inih would get silently wrong:
 *  - leading whitespace is removed, because inih treats an indented line as the
 *    continuation of the previous value ("  root = /x" after "listen = ..."
 *    would become part of listen);
 *  - a line longer than inih's buffer is an error here, where inih would split
 *    it and parse the tail as a line of its own (long comments are just dropped);
 *  - unknown [sections] are reported on their own line, which inih never shows
 *    to the handler when no key follows. */
static char *ini_read(char *str, int num, void *stream)
{
	struct ini_ctx *x = stream;
	const char *s;
	size_t len;

	if (next_line(x, &s, &len) != 0)
		return NULL;
	x->lineno++;
	if (len && s[len - 1] == '\n')
		len--;
	if (len && s[len - 1] == '\r')
		len--;
	if (x->lineno == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		len -= 3;
	}
	while (len && is_space(*s)) {
		s++;
		len--;
	}
	if (len && (*s == '#' || *s == ';'))
		len = 0;
	if (memchr(s, '\0', len)) {
		ctx_error(x, "NUL byte in line");
		len = 0;
	} else if (num < 2 || len > (size_t)num - 2) {
		/* room for our '\n' and the NUL */
		ctx_error(x, "line too long (max %d bytes)", num - 2);
		len = 0;
	} else if (len && *s == '[') {
		const char *close = memchr(s, ']', len);

		if (close) {
			const char *a = s + 1, *b = close;
			char sec[64];

			while (a < b && is_space(*a))
				a++;
			while (b > a && is_space(b[-1]))
				b--;
			if ((size_t)(b - a) >= sizeof sec) {
				char q[SHOW_MAX + 4];

				ctx_error(x, "[%s]: unknown section", show(a, (size_t)(b - a), q));
			} else {
				memcpy(sec, a, (size_t)(b - a));
				sec[b - a] = '\0';
				if (!known_section(sec)) {
					char q[SHOW_MAX + 4];

					ctx_error(x, "[%s]: unknown section", show(sec, strlen(sec), q));
				}
			}
		}
	}
	if (num < 2)
		return NULL;
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int ini_on_key(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	char sec[64], why[256], b[SHOW_MAX + 4];
	size_t sl = strlen(section);
	const char *s = section;

	/* After the first error the rest of the file is still read (inih goes on),
	 * but not applied: one message, about the first mistake. */
	if (x->err_line)
		return 1;
	while (sl && is_space(*s)) {
		s++;
		sl--;
	}
	while (sl && is_space(s[sl - 1]))
		sl--;
	if (sl >= sizeof sec)
		sl = sizeof sec - 1; /* unknown anyway; the reader has said so */
	memcpy(sec, s, sl);
	sec[sl] = '\0';
	if (*name == '\0') {
		ctx_error(x, "missing key name before '='");
		return 0;
	}
	if (sl == 0) {
		ctx_error(x, "%s: key outside any section (start with [server], [http] or [log])",
			  show(name, strlen(name), b));
		return 0;
	}
	switch (apply(x->c, sec, name, value, why, sizeof why)) {
	case SET_OK:
		return 1;
	case SET_BAD_SECTION:
		ctx_error(x, "[%s]: %s", show(sec, sl, b), why);
		return 0;
	default:
		ctx_error(x, "%s: %s", show(name, strlen(name), b), why);
		return 0;
	}
}

/* inih returns the line of the first error it saw, which is either one of ours
 * (the handler returned 0) or a line it could not parse; the earlier one wins. */
static int ini_run(struct ini_ctx *x)
{
	int r = ini_parse_stream(ini_read, x, ini_on_key, x);

	if (x->read_errno) {
		seterr(x->err, x->errlen, "%s: cannot read: %s", x->name, strerror(x->read_errno));
		return -1;
	}
	if (r == -2) {
		seterr(x->err, x->errlen, "%s: out of memory", x->name);
		return -1;
	}
	if (r > 0 && (!x->err_line || r < x->err_line)) {
		seterr(x->err, x->errlen,
		       "%s:%d: syntax error (expected [section], KEY = VALUE or a comment)",
		       x->name, r);
		return -1;
	}
	return x->err_line || r != 0 ? -1 : 0;
}

int config_load_string(struct config *c, const char *text, const char *name, char *err,
		       size_t errlen)
{
	struct ini_ctx x = {
		.c = c, .name = name ? name : "<string>", .p = text, .end = text + strlen(text),
		.err = err, .errlen = errlen,
	};

	return ini_run(&x);
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	struct ini_ctx x = { .c = c, .name = path, .err = err, .errlen = errlen };
	int r;

	x.f = fopen(path, "r");
	if (!x.f) {
		seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	r = ini_run(&x);
	free(x.buf);
	fclose(x.f);
	return r;
}

/* "-o SECTION.KEY=VALUE": the same keys and checks as the file, for one run. */
int config_override(struct config *c, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '='), *dot, *a, *b, *v;
	char sec[64], key[64], value[4200], why[256], q[SHOW_MAX + 4];
	size_t vl;

	if (!eq)
		goto malformed;
	a = arg;
	b = eq;
	while (a < b && is_space(*a))
		a++;
	while (b > a && is_space(b[-1]))
		b--;
	dot = memchr(a, '.', (size_t)(b - a));
	if (!dot || dot == a || dot + 1 == b || (size_t)(dot - a) >= sizeof sec ||
	    (size_t)(b - dot - 1) >= sizeof key)
		goto malformed;
	memcpy(sec, a, (size_t)(dot - a));
	sec[dot - a] = '\0';
	memcpy(key, dot + 1, (size_t)(b - dot - 1));
	key[b - dot - 1] = '\0';
	for (v = eq + 1; is_space(*v); v++)
		;
	vl = strlen(v);
	while (vl && is_space(v[vl - 1]))
		vl--;
	if (vl >= sizeof value) {
		seterr(err, errlen, "-o %s.%s: value too long", sec, key);
		return -1;
	}
	memcpy(value, v, vl);
	value[vl] = '\0';
	if (apply(c, sec, key, value, why, sizeof why) == SET_OK)
		return 0;
	{
		char q2[SHOW_MAX + 4];

		seterr(err, errlen, "-o %s.%s: %s", show(sec, strlen(sec), q),
		       show(key, strlen(key), q2), why);
	}
	return -1;
malformed:
	seterr(err, errlen, "-o %s: expected SECTION.KEY=VALUE", show(arg, strlen(arg), q));
	return -1;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	if (c->n_listen < 1) {
		seterr(err, errlen, "listen: at least one address is required");
		return -1;
	}
	if (c->root[0] == '\0') {
		seterr(err, errlen, "root: must not be empty");
		return -1;
	}
	/* "*:P" is bound dual-stack, so any other address on port P would fail
	 * at bind time with a less helpful EADDRINUSE. */
	for (int i = 0; i < c->n_listen; i++) {
		if (!c->listen[i].any_addr)
			continue;
		for (int j = 0; j < c->n_listen; j++) {
			if (j != i && addr_port(&c->listen[j]) == addr_port(&c->listen[i])) {
				seterr(err, errlen, "listen: %s already covers %s",
				       c->listen[i].text, c->listen[j].text);
				return -1;
			}
		}
	}
	return 0;
}

const char *encoding_name(enum encoding e)
{
	switch (e) {
	case ENC_BR:
	case ENC_ZSTD:
	case ENC_GZIP:
		return enc_names[e];
	default:
		return "identity";
	}
}

const char *encoding_suffix(enum encoding e)
{
	switch (e) {
	case ENC_BR:
		return ".br";
	case ENC_ZSTD:
		return ".zst";
	case ENC_GZIP:
		return ".gz";
	default:
		return "";
	}
}
