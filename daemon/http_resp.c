/* http_resp.c — status lines, response heads and the small HTML error pages.
 * Heads are written into the exchange's tx buffer, where small bodies follow them
 * so that head and body leave in one send. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ringd.h"

const char *resp_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* The one errno → status mapping (OpenBSD httpd's rule, plus the resolve errors). */
int errno_to_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		return 404;
	case EACCES:
	case EPERM:
	case EXDEV:   /* RESOLVE_BENEATH: the path (a symlink) leads out of the root */
	case ELOOP:   /* RESOLVE_NO_SYMLINKS, or a symlink loop */
		return 403;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return 503;
	default:
		return 500;
	}
}

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap)
		n = o->cap - o->len;  /* cannot happen with RINGD_TX_SIZE; never overrun */
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Decimal, without printf: the head of every response is built from put, puts_
 * and put_u64 (vsnprintf was half of the instructions spent per request). */
static void put_u64(struct out *o, uint64_t v)
{
	char b[20];
	size_t n = sizeof b;
	do {
		b[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, b + n, sizeof b - n);
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - o->len - 1;
}

/* Status line and the fields every response carries. */
static void common_head(struct out *o, const struct conn *c, const struct exchange *ex)
{
	puts_(o, "HTTP/1.1 ");
	put_u64(o, (uint64_t)ex->status);
	puts_(o, " ");
	puts_(o, resp_reason(ex->status));
	puts_(o, "\r\nDate: ");
	put(o, srv.date, RINGD_HTTP_DATE_LEN);
	puts_(o, "\r\nServer: " RINGD_NAME "/" RINGD_VERSION "\r\n");
	bool keep = ex->keep_alive && !c->closing_after && !srv.stopping;
	if (!keep)
		puts_(o, "Connection: close\r\n");
	else if (ex->req.version_minor == 0)
		puts_(o, "Connection: keep-alive\r\n");
}

size_t resp_head(struct conn *c, struct exchange *ex, char *buf, size_t cap)
{
	struct out o = { buf, 0, cap };
	char date[RINGD_HTTP_DATE_LEN + 1];
	common_head(&o, c, ex);
	http_date_format((time_t)ex->mtime, date);
	if (ex->status != 304) {
		puts_(&o, "Content-Type: ");
		puts_(&o, mime_lookup(srv.mime, ex->path, ex->path_len));
		puts_(&o, "\r\nContent-Length: ");
		put_u64(&o, ex->body_len);
		puts_(&o, "\r\n");
		if (ex->status == 206)
			putf(&o, "Content-Range: bytes %llu-%llu/%llu\r\n",
			     (unsigned long long)ex->body_off,
			     (unsigned long long)(ex->body_off + ex->body_len - 1),
			     (unsigned long long)ex->size);
		puts_(&o, "Accept-Ranges: bytes\r\n");
	}
	puts_(&o, "Last-Modified: ");
	put(&o, date, RINGD_HTTP_DATE_LEN);
	puts_(&o, "\r\nETag: ");
	put(&o, ex->etag, ex->etag_len);
	puts_(&o, "\r\n");
	if (ex->enc != ENC_NONE) {
		puts_(&o, "Content-Encoding: ");
		puts_(&o, encoding_name(ex->enc));
		puts_(&o, "\r\n");
	}
	if (srv.cfg.n_precompressed > 0)
		puts_(&o, "Vary: Accept-Encoding\r\n");
	if (srv.cfg.cache_control[0]) {
		puts_(&o, "Cache-Control: ");
		puts_(&o, srv.cfg.cache_control);
		puts_(&o, "\r\n");
	}
	puts_(&o, "\r\n");
	return o.len;
}

/* Percent-encode a normalised path for a Location field: only unreserved and a few
 * safe sub-delimiters pass, so nothing in it can end the field or change its meaning. */
static void put_path(struct out *o, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~/!$&'()*+,;=:@", ch)) {
			put(o, (const char *)&ch, 1);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			put(o, e, 3);
		}
	}
}

void resp_error(struct conn *c, int status)
{
	struct exchange *ex = c->ex;
	struct out o = { ex->tx, 0, sizeof ex->tx };
	char body[256];
	int blen = 0;

	ex->status = status;
	if (status >= 400)
		blen = snprintf(body, sizeof body,
				"<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
				"<body><h1>%d %s</h1></body></html>\n",
				status, resp_reason(status), status, resp_reason(status));
	else if (status == 301)
		blen = snprintf(body, sizeof body,
				"<!DOCTYPE html>\n<html><head><title>301 Moved Permanently</title></head>"
				"<body><h1>Moved Permanently</h1></body></html>\n");
	/* After a malformed or refused request we cannot trust the framing of what
	 * follows it: this is the last response on the connection. */
	if (status == 400 || status == 408 || status == 413 || status == 414 || status == 431 ||
	    status == 501 || status == 505)
		c->closing_after = true;
	common_head(&o, c, ex);
	if (status == 405 || status == 204)
		puts_(&o, "Allow: GET, HEAD, OPTIONS\r\n");
	if (status == 416)
		putf(&o, "Content-Range: bytes */%llu\r\n", (unsigned long long)ex->size);
	if (status == 301) {
		puts_(&o, "Location: /");
		/* ex->path is relative to the root and ends without the slash we add. */
		put_path(&o, ex->path, ex->path_len);
		puts_(&o, "/");
		if (ex->req.query.len) {
			puts_(&o, "?");
			put(&o, ex->req.query.p, ex->req.query.len);
		}
		puts_(&o, "\r\n");
	}
	if (status != 204 && status != 304)
		putf(&o, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n", blen);
	puts_(&o, "\r\n");
	ex->body_len = (uint64_t)blen;
	if (!ex->head_only && status != 204 && status != 304) {
		put(&o, body, (size_t)blen);
		ex->body_sent = (uint64_t)blen;
	}
	ex->tx_len = (uint32_t)o.len;
	ex->tx_sent = 0;
	ex->body_left = 0;
	c->state = CONN_SENDING;
	timer_set(c, (uint32_t)srv.cfg.send_timeout);
	c->tp->send(c, ex->tx, ex->tx_len, false);
}
