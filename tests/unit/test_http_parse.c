/* test_http_parse.c — table-driven tests of the request-head parser and of
 * http_list_accepts. One TAP line per row; each input is copied into a buffer of
 * exactly its size, so a sanitizer build also catches reads past the end. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"
#include "tap.h"

/* ---- http_parse_request rows ---- */

#define WHOLE   INT_MAX  /* want: .in is exactly one head (the tail is not part of it) */
#define DEF_MAX 8192     /* max_head when a row leaves it 0 */

enum tri { ANY, YES, NO };
enum { M_ANY, M_GET, M_HEAD, M_OPTIONS, M_OTHER }; /* HTTP_x + 1, so 0 means "don't check" */
enum { V_ANY, V10, V11 };

/* An expected span that must be absent (p == NULL), as opposed to NULL = not checked. */
static const char ABSENT[] = "<absent>";

struct row {
	const char *desc;
	const char *in;
	size_t len;             /* bytes of .in; 0: strlen (set it for inputs holding NUL) */
	const char *tail;       /* appended after .in: a pipelined request or a body */
	size_t max_head;        /* 0: DEF_MAX */
	int want;               /* return value, or WHOLE */
	/* Checked only on success, and only when set. */
	int method, minor;
	const char *path, *query, *host;
	enum tri keep_alive, chunked, has_cl;
	uint64_t cl;            /* checked when has_cl == YES */
	const char *im, *inm, *ims, *ius, *range, *if_range, *ae;
	const char *referer, *ua;
};

/* Inputs too big to write out; built before the rows run. */
static char fields_100[100 * 16 + 64], fields_101[101 * 16 + 64];
static char target_max[RINGD_MAX_TARGET + 64], target_over[RINGD_MAX_TARGET + 64];
static char line_long[600], fields_long[600];

#define H11 "GET / HTTP/1.1\r\nHost: x\r\n"

static const struct row rows[] = {
	/* request line */
	{ "simple GET", H11 "\r\n", .want = WHOLE, .method = M_GET, .minor = V11,
	  .path = "/", .query = ABSENT, .host = "x", .keep_alive = YES, .has_cl = NO,
	  .chunked = NO, .im = ABSENT, .inm = ABSENT, .ims = ABSENT, .ius = ABSENT,
	  .range = ABSENT, .if_range = ABSENT, .ae = ABSENT },
	{ "HEAD", "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n", .want = WHOLE, .method = M_HEAD, .path = "/a" },
	{ "Referer and User-Agent kept for the log",
	  H11 "Referer: http://a/b?c\r\nUser-Agent:  curl/7.88 (x\"y)  \r\n\r\n", .want = WHOLE,
	  .referer = "http://a/b?c", .ua = "curl/7.88 (x\"y)" },
	{ "no Referer, no User-Agent", H11 "\r\n", .want = WHOLE, .referer = ABSENT, .ua = ABSENT },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", .want = WHOLE,
	  .method = M_OPTIONS, .path = "*", .query = ABSENT },
	{ "GET * accepted, caller decides", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", .want = WHOLE,
	  .method = M_GET, .path = "*" },
	{ "POST is another method", "POST / HTTP/1.1\r\nHost: x\r\n\r\n", .want = WHOLE, .method = M_OTHER },
	{ "methods are case-sensitive", "get / HTTP/1.1\r\nHost: x\r\n\r\n", .want = WHOLE, .method = M_OTHER },
	{ "any token is a method", "M-SEARCH / HTTP/1.1\r\nHost: x\r\n\r\n", .want = WHOLE, .method = M_OTHER },
	{ "empty method", " / HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "non-token byte in method", "GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "path and query split at first ?", "GET /a/b?x=1&y?z HTTP/1.1\r\nHost: x\r\n\r\n",
	  .want = WHOLE, .path = "/a/b", .query = "x=1&y?z" },
	{ "empty query is present", "GET /a? HTTP/1.1\r\nHost: x\r\n\r\n", .want = WHOLE,
	  .path = "/a", .query = "" },
	{ "percent escapes kept", "GET /%41%20b HTTP/1.1\r\nHost: x\r\n\r\n", .want = WHOLE, .path = "/%41%20b" },
	{ "fragment", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "raw UTF-8 in target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "control byte in target", "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "DEL in target", "GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "HTTP/0.9 request line", "GET /\r\n\r\n", .want = -400 },
	{ "lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "two spaces after method", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "two spaces before version", "GET /  HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "space after version", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", .want = -400 },
	{ "tab as separator", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", .want = WHOLE, .minor = V10,
	  .keep_alive = NO, .host = ABSENT },
	{ "HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", .want = WHOLE,
	  .minor = V10, .keep_alive = YES },
	{ "HTTP/1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	  .want = WHOLE, .keep_alive = NO },
	{ "HTTP/1.1 Connection: close", H11 "Connection: close\r\n\r\n", .want = WHOLE, .keep_alive = NO },
	{ "HTTP/1.1 close in a list, any case", H11 "Connection: Upgrade , CLOSE\r\n\r\n", .want = WHOLE,
	  .keep_alive = NO },
	{ "HTTP/1.1 close in a second field", H11 "Connection: x\r\nConnection: close\r\n\r\n", .want = WHOLE,
	  .keep_alive = NO },
	{ "closed is not close", H11 "Connection: closed\r\n\r\n", .want = WHOLE, .keep_alive = YES },
	{ "HTTP/1.2 is answered as 1.1", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", .want = WHOLE, .minor = V11 },
	{ "HTTP/1.9 is answered as 1.1", "GET / HTTP/1.9\r\nHost: x\r\n\r\n", .want = WHOLE, .minor = V11 },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", .want = -505 },
	{ "HTTP/0.9 spelled out", "GET / HTTP/0.9\r\n\r\n", .want = -505 },
	{ "HTTP/10.0", "GET / HTTP/10.0\r\n\r\n", .want = -400 },
	{ "HTTP/1", "GET / HTTP/1\r\n\r\n", .want = -400 },
	{ "HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", .want = -400 },

	/* request-target forms */
	{ "absolute-form: authority beats Host",
	  "GET http://example.com/p?q HTTP/1.1\r\nHost: other\r\n\r\n", .want = WHOLE,
	  .host = "example.com", .path = "/p", .query = "q" },
	{ "absolute-form: https, any case, no path",
	  "GET HTTPS://Example.com:8443 HTTP/1.1\r\nHost: e\r\n\r\n", .want = WHOLE,
	  .host = "Example.com:8443", .path = "/", .query = ABSENT },
	{ "absolute-form: query without path", "GET http://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
	  .want = WHOLE, .host = "h", .path = "/", .query = "x=1" },
	{ "absolute-form: IP literal", "GET http://[::1]:80/a HTTP/1.1\r\nHost: h\r\n\r\n",
	  .want = WHOLE, .host = "[::1]:80", .path = "/a" },
	{ "absolute-form in 1.0 without Host", "GET http://h/a HTTP/1.0\r\n\r\n", .want = WHOLE,
	  .host = "h", .path = "/a" },
	{ "absolute-form in 1.1 still needs Host", "GET http://h/a HTTP/1.1\r\n\r\n", .want = -400 },
	{ "absolute-form with userinfo", "GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n", .want = -400 },
	{ "absolute-form with empty host", "GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n", .want = -400 },
	{ "absolute-form, other scheme", "GET ftp://h/a HTTP/1.1\r\nHost: h\r\n\r\n", .want = -400 },
	{ "authority-form (CONNECT)", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
	  .want = -400 },
	{ "asterisk with more", "OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "relative target", "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "target of RINGD_MAX_TARGET bytes", target_max, .max_head = 16384, .want = WHOLE },
	{ "target one byte over RINGD_MAX_TARGET", target_over, .max_head = 16384, .want = -414 },

	/* line endings */
	{ "two leading empty lines", "\r\n\r\n" H11 "\r\n", .want = WHOLE, .path = "/" },
	{ "eight leading empty lines",
	  "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n" H11 "\r\n", .want = WHOLE },
	{ "nine leading empty lines",
	  "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n" H11 "\r\n", .want = -400 },
	{ "leading bare LF", "\n" H11 "\r\n", .want = -400 },
	{ "leading bare CR", "\r\r\n" H11 "\r\n", .want = -400 },
	{ "bare LF ends the request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", .want = -400 },
	{ "bare LF ends a field", "GET / HTTP/1.1\r\nHost: x\n\r\n", .want = -400 },
	{ "bare LF ends the head", H11 "\n", .want = -400 },
	{ "bare CR in a value", H11 "X: a\rb\r\n\r\n", .want = -400 },
	{ "bare CR ends the head", H11 "\rX", .want = -400 },
	{ "bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", .want = -400 },
	{ "CR CR LF", H11 "X: a\r\r\n\r\n", .want = -400 },

	/* field syntax */
	{ "obs-fold", H11 "X: a\r\n b\r\n\r\n", .want = -400 },
	{ "obs-fold with tab", H11 "X: a\r\n\tb\r\n\r\n", .want = -400 },
	{ "whitespace before the first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", .want = -400 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", .want = -400 },
	{ "Transfer-Encoding space colon", H11 "Transfer-Encoding : chunked\r\n\r\n", .want = -400 },
	{ "empty field name", H11 ": x\r\n\r\n", .want = -400 },
	{ "line without colon", H11 "X\r\n\r\n", .want = -400 },
	{ "NUL in a value", H11 "X: a\0b\r\n\r\n", .len = sizeof(H11 "X: a\0b\r\n\r\n") - 1, .want = -400 },
	{ "NUL in a name", H11 "X\0: a\r\n\r\n", .len = sizeof(H11 "X\0: a\r\n\r\n") - 1, .want = -400 },
	{ "DEL in a value", H11 "X: a\x7f\r\n\r\n", .want = -400 },
	{ "ESC in a value", H11 "X: \x1b[0m\r\n\r\n", .want = -400 },
	{ "obs-text in a value is allowed", H11 "X: caf\xc3\xa9\r\n\r\n", .want = WHOLE },
	{ "OWS trimmed, inner tabs kept", H11 "If-Match: \t \"a\"\t, \"b\" \t\r\n\r\n", .want = WHOLE,
	  .im = "\"a\"\t, \"b\"" },
	{ "empty value is present", H11 "Range:\r\n\r\n", .want = WHOLE, .range = "" },
	{ "field names are case-insensitive",
	  H11 "iF-nOnE-mAtCh: \"e\"\r\nIF-MODIFIED-SINCE: d1\r\nif-unmodified-since: d2\r\n"
	  "RANGE: bytes=0-1\r\nIf-Range: \"e\"\r\nACCEPT-ENCODING: br\r\n\r\n", .want = WHOLE,
	  .inm = "\"e\"", .ims = "d1", .ius = "d2", .range = "bytes=0-1", .if_range = "\"e\"",
	  .ae = "br", .im = ABSENT },
	{ "similar names are not recognised", H11 "Ranges: x\r\nIf-Matchx: y\r\n\r\n", .want = WHOLE,
	  .range = ABSENT, .im = ABSENT },
	{ "100 fields", fields_100, .want = WHOLE },
	{ "101 fields", fields_101, .want = -431 },

	/* Host */
	{ "empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", .want = WHOLE, .host = "" },
	{ "Host with port", "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", .want = WHOLE,
	  .host = "a.example:8080" },
	{ "Host IP literal", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", .want = WHOLE, .host = "[::1]:80" },
	{ "Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", .want = -400 },
	{ "Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", .want = -400 },
	{ "Host with inner space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", .want = -400 },
	{ "Host with obs-text", "GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n", .want = -400 },
	{ "two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", .want = -400 },

	/* Content-Length */
	{ "Content-Length 5 with body", H11 "Content-Length: 5\r\n\r\n", .tail = "hello", .want = WHOLE,
	  .has_cl = YES, .cl = 5, .chunked = NO },
	{ "Content-Length 0", H11 "Content-Length: 0\r\n\r\n", .want = WHOLE, .has_cl = YES, .cl = 0 },
	{ "Content-Length leading zeros", H11 "Content-Length: 007\r\n\r\n", .want = WHOLE,
	  .has_cl = YES, .cl = 7 },
	{ "Content-Length +5", H11 "Content-Length: +5\r\n\r\n", .want = -400 },
	{ "Content-Length -1", H11 "Content-Length: -1\r\n\r\n", .want = -400 },
	{ "Content-Length hex", H11 "Content-Length: 0x10\r\n\r\n", .want = -400 },
	{ "Content-Length inner space", H11 "Content-Length: 1 2\r\n\r\n", .want = -400 },
	{ "Content-Length empty", H11 "Content-Length:\r\n\r\n", .want = -400 },
	{ "Content-Length only commas", H11 "Content-Length: , ,\r\n\r\n", .want = -400 },
	{ "Content-Length list, equal", H11 "Content-Length: 5, 5\r\n\r\n", .want = WHOLE,
	  .has_cl = YES, .cl = 5 },
	{ "Content-Length list, different", H11 "Content-Length: 5, 6\r\n\r\n", .want = -400 },
	{ "Content-Length twice, equal", H11 "Content-Length: 3\r\nContent-Length: 3\r\n\r\n",
	  .want = WHOLE, .has_cl = YES, .cl = 3 },
	{ "Content-Length: 1 then 2", H11 "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", .want = -400 },
	{ "Content-Length 2^62", H11 "Content-Length: 4611686018427387904\r\n\r\n", .want = WHOLE,
	  .has_cl = YES, .cl = UINT64_C(1) << 62 },
	{ "Content-Length 2^62+1", H11 "Content-Length: 4611686018427387905\r\n\r\n", .want = -400 },
	{ "Content-Length 2^64", H11 "Content-Length: 18446744073709551616\r\n\r\n", .want = -400 },
	{ "Content-Length 30 digits", H11 "Content-Length: 999999999999999999999999999999\r\n\r\n",
	  .want = -400 },

	/* Transfer-Encoding */
	{ "TE chunked", H11 "Transfer-Encoding: chunked\r\n\r\n", .want = WHOLE, .chunked = YES, .has_cl = NO },
	{ "TE CHUNKED", H11 "Transfer-Encoding: CHUNKED\r\n\r\n", .want = WHOLE, .chunked = YES },
	{ "TE gzip, chunked", H11 "Transfer-Encoding: gzip, chunked\r\n\r\n", .want = WHOLE, .chunked = YES },
	{ "TE gzip then chunked fields", H11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	  .want = WHOLE, .chunked = YES },
	{ "TE chunked, gzip", H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", .want = -400 },
	{ "TE chunked then gzip fields", H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	  .want = -400 },
	{ "TE chunked twice", H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", .want = -400 },
	{ "TE identity", H11 "Transfer-Encoding: identity\r\n\r\n", .want = -400 },
	{ "TE empty", H11 "Transfer-Encoding:\r\n\r\n", .want = -400 },
	{ "TE chunked with parameter", H11 "Transfer-Encoding: chunked;x=1\r\n\r\n", .want = -400 },
	{ "CL then TE", H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", .want = -400 },
	{ "TE then CL", H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", .want = -400 },
	{ "TE in HTTP/1.0", "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .want = -400 },

	/* duplicates of the conditional and range fields */
	{ "two Range fields", H11 "Range: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n", .want = -400 },
	{ "two If-Range fields", H11 "If-Range: \"a\"\r\nIf-Range: \"b\"\r\n\r\n", .want = -400 },
	{ "two If-Modified-Since keep first",
	  H11 "If-Modified-Since: d1\r\nIf-Modified-Since: d2\r\n\r\n", .want = WHOLE, .ims = "d1" },
	{ "two If-None-Match keep first", H11 "If-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n\r\n",
	  .want = WHOLE, .inm = "\"a\"" },
	{ "two Accept-Encoding keep first", H11 "Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n\r\n",
	  .want = WHOLE, .ae = "br" },

	/* incomplete input and size limits */
	{ "empty input", "", .want = 0 },
	{ "lone CR", "\r", .want = 0 },
	{ "head without final CRLF", H11, .want = 0 },
	{ "head ending in CR", H11 "\r", .want = 0 },
	{ "request line unfinished at max_head", line_long, .max_head = 256, .want = -414 },
	{ "fields unfinished at max_head", fields_long, .max_head = 256, .want = -431 },
	{ "whole head one byte over max_head", H11 "X: y\r\n\r\n", .max_head = sizeof(H11 "X: y\r\n\r\n") - 2,
	  .want = -431 },
	{ "whole head exactly max_head", H11 "X: y\r\n\r\n", .max_head = sizeof(H11 "X: y\r\n\r\n") - 1,
	  .want = WHOLE },
	{ "huge max_head, incomplete", H11, .max_head = SIZE_MAX, .want = 0 },
	{ "huge max_head, complete", H11 "\r\n", .max_head = SIZE_MAX, .want = WHOLE },
	{ "max_head reached inside the first line", "GET /", .max_head = 5, .want = -414 },
	{ "error before max_head wins", "GET /\x01", .max_head = 6, .want = -400 },
	{ "pipelined: first head only", H11 "\r\n", .tail = "GET /b HTTP/1.1\r\nHost: y\r\n\r\n",
	  .want = WHOLE, .path = "/", .host = "x" },
	{ "pipelined: second one partial", H11 "\r\n", .tail = "GET /b HT", .want = WHOLE },
};
#define N_ROWS ((int)(sizeof rows / sizeof rows[0]))

static void build_big_inputs(void)
{
	char *p;

	p = fields_100 + sprintf(fields_100, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int k = 1; k < 100; k++)
		p += sprintf(p, "X-%d: v\r\n", k);
	strcpy(p, "\r\n");
	p = fields_101 + sprintf(fields_101, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int k = 1; k < 101; k++)
		p += sprintf(p, "X-%d: v\r\n", k);
	strcpy(p, "\r\n");

	p = target_max + sprintf(target_max, "GET /");
	memset(p, 'a', RINGD_MAX_TARGET - 1);
	strcpy(p + RINGD_MAX_TARGET - 1, " HTTP/1.1\r\nHost: x\r\n\r\n");
	p = target_over + sprintf(target_over, "GET /");
	memset(p, 'a', RINGD_MAX_TARGET);
	strcpy(p + RINGD_MAX_TARGET, " HTTP/1.1\r\nHost: x\r\n\r\n");

	p = line_long + sprintf(line_long, "GET /");
	memset(p, 'a', 400);
	p = fields_long + sprintf(fields_long, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
	memset(p, 'a', 400);
}

/* The row's input in a malloc'd buffer of exactly its size. */
static char *row_input(const struct row *r, size_t *head, size_t *len)
{
	size_t tl = r->tail ? strlen(r->tail) : 0;
	char *buf;

	*head = r->len ? r->len : strlen(r->in);
	*len = *head + tl;
	buf = malloc(*len ? *len : 1);
	if (!buf)
		abort();
	memcpy(buf, r->in, *head);
	if (tl)
		memcpy(buf + *head, r->tail, tl);
	return buf;
}

static bool span_inside(struct span s, const char *buf, size_t n)
{
	return !s.p || (s.p >= buf && s.len <= n && s.p - buf <= (ptrdiff_t)(n - s.len));
}

static bool span_is(const char *what, struct span s, const char *want)
{
	if (!want)
		return true;
	if (want == ABSENT) {
		if (!s.p)
			return true;
		tap_diag("%s: want absent, got \"%.*s\"", what, (int)s.len, s.p);
		return false;
	}
	if (s.p && s.len == strlen(want) && !memcmp(s.p, want, s.len))
		return true;
	if (s.p)
		tap_diag("%s: want \"%s\", got \"%.*s\"", what, want, (int)s.len, s.p);
	else
		tap_diag("%s: want \"%s\", got absent", what, want);
	return false;
}

static bool tri_is(const char *what, enum tri want, bool got)
{
	if (want == ANY || (want == YES) == got)
		return true;
	tap_diag("%s: want %s", what, want == YES ? "true" : "false");
	return false;
}

static bool fields_ok(const struct row *r, const struct http_request *q, const char *buf, int n)
{
	const struct span all[] = { q->method_name, q->target, q->path, q->query, q->host,
		q->if_match, q->if_none_match, q->if_modified_since, q->if_unmodified_since,
		q->range, q->if_range, q->accept_encoding, q->referer, q->user_agent };
	bool ok = true;

	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
		if (!span_inside(all[k], buf, (size_t)n)) {
			tap_diag("span %zu outside the head", k);
			ok = false;
		}
	if (q->head_len != (uint32_t)n) {
		tap_diag("head_len %u, returned %d", q->head_len, n);
		ok = false;
	}
	if (r->method && (int)q->method != r->method - 1) {
		tap_diag("method %d, want %d", (int)q->method, r->method - 1);
		ok = false;
	}
	if (r->minor && q->version_minor != (r->minor == V11)) {
		tap_diag("version_minor %u", q->version_minor);
		ok = false;
	}
	ok &= span_is("path", q->path, r->path);
	ok &= span_is("query", q->query, r->query);
	ok &= span_is("host", q->host, r->host);
	ok &= span_is("If-Match", q->if_match, r->im);
	ok &= span_is("If-None-Match", q->if_none_match, r->inm);
	ok &= span_is("If-Modified-Since", q->if_modified_since, r->ims);
	ok &= span_is("If-Unmodified-Since", q->if_unmodified_since, r->ius);
	ok &= span_is("Range", q->range, r->range);
	ok &= span_is("If-Range", q->if_range, r->if_range);
	ok &= span_is("Accept-Encoding", q->accept_encoding, r->ae);
	ok &= span_is("Referer", q->referer, r->referer);
	ok &= span_is("User-Agent", q->user_agent, r->ua);
	ok &= tri_is("keep_alive", r->keep_alive, q->keep_alive);
	ok &= tri_is("chunked", r->chunked, q->chunked);
	ok &= tri_is("has_content_length", r->has_cl, q->has_content_length);
	if (r->has_cl == YES && q->content_length != r->cl) {
		tap_diag("content_length %llu", (unsigned long long)q->content_length);
		ok = false;
	}
	return ok;
}

static void run_row(const struct row *r)
{
	struct http_request q;
	size_t head, len, max = r->max_head ? r->max_head : DEF_MAX;
	char *buf = row_input(r, &head, &len);
	int want = r->want == WHOLE ? (int)head : r->want;
	int got = http_parse_request(buf, len, max, &q);
	bool ok = got == want;

	if (!ok)
		tap_diag("returned %d, want %d", got, want);
	else if (got > 0)
		ok = fields_ok(r, &q, buf, got);
	tap_ok(ok, "%s", r->desc);
	free(buf);
}

/* Every proper prefix of a complete head is "need more", whatever bytes follow it. */
static void run_prefixes(const struct row *r)
{
	struct http_request q;
	size_t head, len, max = r->max_head ? r->max_head : DEF_MAX;
	char *full = row_input(r, &head, &len);
	bool ok = true;

	for (size_t m = 0; m < head && ok; m++) {
		char *buf = malloc(m ? m : 1);
		memcpy(buf, full, m);
		int got = http_parse_request(buf, m, max, &q);
		if (got != 0) {
			tap_diag("prefix of %zu bytes returned %d", m, got);
			ok = false;
		}
		free(buf);
	}
	tap_ok(ok, "every prefix of \"%s\" is incomplete", r->desc);
	free(full);
}

/* Three requests back to back, the last one cut short: each parse starts where the
 * previous head ended. */
static void run_pipeline(void)
{
	static const char in[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
				 "\r\nHEAD /b?c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
				 "GET /c HTTP/1.1\r\nHo";
	static const struct { int n; const char *path; int method; } want[] = {
		{ 28, "/a", M_GET }, { 48, "/b", M_HEAD }, { 0, NULL, 0 },
	};
	size_t len = sizeof in - 1, off = 0;
	char *buf = malloc(len);
	bool ok = true;

	memcpy(buf, in, len);
	for (size_t k = 0; k < sizeof want / sizeof want[0] && ok; k++) {
		struct http_request q;
		int got = http_parse_request(buf + off, len - off, DEF_MAX, &q);
		if (got != want[k].n) {
			tap_diag("request %zu: returned %d, want %d", k, got, want[k].n);
			ok = false;
		} else if (got > 0) {
			ok = span_is("path", q.path, want[k].path) && (int)q.method == want[k].method - 1;
			off += (size_t)got;
		}
	}
	tap_ok(ok, "three pipelined requests, the last partial");
	free(buf);
}

/* ---- http_list_accepts rows ---- */

static const struct list_row {
	const char *list, *token;
	bool want;
} list_rows[] = {
	{ "gzip", "gzip", true },
	{ "GZIP", "gzip", true },
	{ "gzip", "GZip", true },
	{ "gzip;q=0", "gzip", false },
	{ "gzip; q=0.000", "gzip", false },
	{ "gzip;q=0.001", "gzip", true },
	{ "gzip;Q=1", "gzip", true },
	{ "gzip;q=1.000", "gzip", true },
	{ "gzip ; q=0.8", "gzip", true },
	{ "br, gzip;q=0.5", "gzip", true },
	{ "br, gzip;q=0.5", "zstd", false },
	{ "deflate", "gzip", false },
	{ "gzipx", "gzip", false },
	{ "xgzip", "gzip", false },
	{ "", "gzip", false },
	{ " , ,gzip , ", "gzip", true },
	{ "*", "zstd", true },
	{ "*;q=0", "gzip", false },
	{ "*, gzip;q=0", "gzip", false },
	{ "gzip;q=0, *", "gzip", false },
	{ "*, gzip;q=0", "br", true },
	{ "gzip, gzip;q=0", "gzip", true },
	{ "gzip;q=2", "gzip", false },
	{ "gzip;q=1.5", "gzip", false },
	{ "gzip;q=0.5000", "gzip", false },
	{ "gzip;q=", "gzip", false },
	{ "gzip;q=.5", "gzip", false },
	{ "gzip;q=0x5", "gzip", false },
	{ "gzip;q=0.5x", "gzip", false },
	{ "gzip;qs=0", "gzip", true },
	{ "gzip;q", "gzip", true },
	{ "*;q=0.5, *;q=0", "br", true },
	{ "identity;q=0, gzip;level=9;q=0.3", "gzip", true },
	{ "x;a=\"b,gzip\", br", "gzip", false },
	{ "x;a=\"b,gzip\", br", "br", true },
	{ "x;a=\"b\\\"gzip, gzip\"", "gzip", false },
	{ "x;a=\"gzip", "gzip", false },
	{ "x;a=\"\\", "gzip", false },
	{ "gzip", "", false },
};
#define N_LIST ((int)(sizeof list_rows / sizeof list_rows[0]))

static void run_list_row(const struct list_row *r)
{
	size_t n = strlen(r->list);
	char *buf = malloc(n ? n : 1);
	bool got;

	memcpy(buf, r->list, n);
	got = http_list_accepts((struct span){ buf, (uint32_t)n }, r->token);
	tap_ok(got == r->want, "accepts(\"%s\", %s) is %s", r->list, r->token,
	       r->want ? "true" : "false");
	free(buf);
}

int main(void)
{
	int n_prefix = 0;

	build_big_inputs();
	for (int k = 0; k < N_ROWS; k++)
		n_prefix += rows[k].want > 0;
	tap_plan(N_ROWS + n_prefix + 1 + N_LIST + 2);

	for (int k = 0; k < N_ROWS; k++)
		run_row(&rows[k]);
	for (int k = 0; k < N_ROWS; k++)
		if (rows[k].want > 0)
			run_prefixes(&rows[k]);
	run_pipeline();
	for (int k = 0; k < N_LIST; k++)
		run_list_row(&list_rows[k]);
	tap_ok(!http_list_accepts((struct span){ NULL, 0 }, "gzip"), "accepts on an absent list is false");
	tap_ok(!http_list_accepts((struct span){ "gzip", 4 }, NULL), "accepts of no token is false");
	return tap_exit();
}
