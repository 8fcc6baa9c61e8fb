/* fuzz_request.c — libFuzzer harness for http_parse_request and http_list_accepts.
 * The input is parsed as pipelined requests; the first byte also picks max_head, so the
 * size limits are fuzzed too. Besides memory safety it checks what the parser promises:
 * spans inside the head, a head parsed from a prefix only once it is complete, and the
 * same answer for every longer prefix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

#define CHECK(cond)                      \
	do {                             \
		if (!(cond))             \
			__builtin_trap(); \
	} while (0)

/* Indexed by the first byte's low bits: 'G'/'O' → 16384, 'H'/'P' → 8192, the rest
 * sit around the interesting edges (tiny heads, RINGD_MAX_TARGET). */
static const size_t max_heads[8] = { 8192, 32, 100, 256, 1024, 4110, 4200, 16384 };

static bool span_inside(struct span s, const char *buf, size_t n)
{
	return !s.p || (s.p >= buf && s.len <= n && (size_t)(s.p - buf) <= n - s.len);
}

static bool span_same(struct span a, struct span b)
{
	return a.p == b.p && a.len == b.len;
}

static bool same_request(const struct http_request *a, const struct http_request *b)
{
	return a->method == b->method && span_same(a->method_name, b->method_name) &&
	       span_same(a->target, b->target) && span_same(a->path, b->path) &&
	       span_same(a->query, b->query) && a->version_minor == b->version_minor &&
	       a->keep_alive == b->keep_alive && a->has_content_length == b->has_content_length &&
	       a->chunked == b->chunked && a->content_length == b->content_length &&
	       span_same(a->host, b->host) && span_same(a->if_match, b->if_match) &&
	       span_same(a->if_none_match, b->if_none_match) &&
	       span_same(a->if_modified_since, b->if_modified_since) &&
	       span_same(a->if_unmodified_since, b->if_unmodified_since) &&
	       span_same(a->range, b->range) && span_same(a->if_range, b->if_range) &&
	       span_same(a->accept_encoding, b->accept_encoding) && a->head_len == b->head_len;
}

static void check_success(const char *buf, size_t len, size_t max_head, int n,
			  const struct http_request *q)
{
	const struct span all[] = { q->method_name, q->target, q->path, q->query, q->host,
		q->if_match, q->if_none_match, q->if_modified_since, q->if_unmodified_since,
		q->range, q->if_range, q->accept_encoding };
	static const char *const tokens[] = { "gzip", "br", "zstd", "*" };

	CHECK((size_t)n <= len && (size_t)n <= max_head && q->head_len == (uint32_t)n);
	CHECK(n >= 4 && !memcmp(buf + n - 4, "\r\n\r\n", 4));
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
		CHECK(span_inside(all[k], buf, (size_t)n));
	CHECK(q->method_name.len > 0 && q->target.len > 0 && q->target.len <= RINGD_MAX_TARGET);
	CHECK(q->path.len > 0 && (q->path.p[0] == '/' || (q->path.len == 1 && q->path.p[0] == '*')));
	CHECK((q->method == HTTP_GET) == (q->method_name.len == 3 && !memcmp(q->method_name.p, "GET", 3)));
	CHECK(q->version_minor <= 1);
	CHECK(!(q->chunked && q->has_content_length));
	CHECK(q->has_content_length || q->content_length == 0);
	CHECK(q->content_length <= (UINT64_C(1) << 62));
	CHECK(q->version_minor == 0 || q->host.p);
	for (size_t k = 0; k < sizeof tokens / sizeof tokens[0]; k++)
		(void)http_list_accepts(q->accept_encoding, tokens[k]);
}

/* Parse buf[0..m) from its own allocation of exactly m bytes, so a read past m is an
 * ASan report rather than a silent look at the rest of the input. */
static int parse_prefix(const char *buf, size_t m, size_t max_head)
{
	struct http_request q;
	char *copy = malloc(m ? m : 1);
	int r;

	CHECK(copy);
	memcpy(copy, buf, m);
	r = http_parse_request(copy, m, max_head, &q);
	free(copy);
	return r;
}

/* With full = the answer for all of buf[0..len): a prefix shorter than max_head answers
 * 0 until the byte that decides, then the same answer from there on; a prefix of at
 * least max_head bytes sees the same window as the whole and answers the same. */
static void check_prefixes(const char *buf, size_t len, size_t max_head, int full)
{
	size_t step = len <= 96 ? 1 : len / 48;
	int prev = 0;

	for (size_t m = 0; m < len; m += step) {
		int r = parse_prefix(buf, m, max_head);
		if (m >= max_head) {
			CHECK(r == full);
		} else {
			CHECK(r == 0 || r == full);
			CHECK(prev == 0 || r == prev);
			if (full > 0)
				CHECK((r == 0) == (m < (size_t)full));
		}
		prev = r;
	}
	/* the edges where a complete head becomes visible */
	if (full > 0) {
		CHECK(parse_prefix(buf, (size_t)full - 1, max_head) == 0);
		CHECK(parse_prefix(buf, (size_t)full, max_head) == full);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max_head, off = 0;
	char *buf;

	if (size == 0)
		return 0;
	max_head = max_heads[data[0] & 7];
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	/* The list parser takes any bytes. */
	(void)http_list_accepts((struct span){ buf, (uint32_t)(size < UINT32_MAX ? size : UINT32_MAX) }, "gzip");

	for (int k = 0; off < size; k++) {
		struct http_request q, again;
		const char *p = buf + off;
		size_t len = size - off;
		int n = http_parse_request(p, len, max_head, &q);

		CHECK(n > 0 || n == 0 || n == -400 || n == -414 || n == -431 || n == -505);
		CHECK(n != 0 || len < max_head);
		if (n > 0) {
			check_success(p, len, max_head, n, &q);
			/* Bytes after the head change nothing. */
			CHECK(http_parse_request(p, (size_t)n, max_head, &again) == n);
			CHECK(same_request(&q, &again));
		}
		/* Prefix checks cost a parse per prefix: the first two requests suffice. */
		if (k < 2)
			check_prefixes(p, len, max_head, n);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(buf);
	return 0;
}
