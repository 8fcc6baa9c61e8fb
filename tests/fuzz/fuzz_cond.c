/* fuzz_cond.c — libFuzzer harness for cond.c. The first 8 bytes pick a time:
 * formatting it and parsing the result must give it back. The rest is split on
 * '\n' into If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since,
 * If-Range and the current ETag, each in its own exact-size allocation; every
 * piece that parses as a date must survive format→parse unchanged, and the
 * evaluation must return one of the three results. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

#define DATE_MIN (-62167219200LL)   /* 0000-01-01T00:00:00Z */
#define DATE_MAX (253402300799LL)   /* 9999-12-31T23:59:59Z */

enum { F_IM, F_IUS, F_INM, F_IMS, F_IR, F_ETAG, NFIELDS };

static void check_format(time_t t, bool in_range)
{
	char out[RINGD_HTTP_DATE_LEN + 1];
	time_t back;

	memset(out, 0, sizeof out);
	if (http_date_format(t, out) != RINGD_HTTP_DATE_LEN || out[RINGD_HTTP_DATE_LEN] != '\0')
		__builtin_trap();
	for (int k = 0; k < RINGD_HTTP_DATE_LEN; k++)
		if (out[k] < 0x20 || out[k] > 0x7e)
			__builtin_trap();
	if (http_date_parse(out, RINGD_HTTP_DATE_LEN, &back) != 0)
		__builtin_trap();
	if (in_range && back != t)
		__builtin_trap();
}

/* An accepted IMF-fixdate must be the one we would write for the same second,
 * up to letter case and the day name (which is not cross-checked); otherwise the
 * parser took an impossible date such as 31 Nov and rolled it over. Leap seconds
 * roll over by design. */
static bool imf_noncanonical(const char *p, size_t n, const char *fmt)
{
	if (n != RINGD_HTTP_DATE_LEN || p[3] != ',' || (p[23] == '6' && p[24] == '0'))
		return false;
	for (size_t k = 3; k < n; k++) {
		char a = p[k], b = fmt[k];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a | 0x20);
		if (b >= 'A' && b <= 'Z')
			b = (char)(b | 0x20);
		if (a != b)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span f[NFIELDS] = { { 0 } };
	uint64_t u = 0;
	size_t i = 0;

	for (; i < 8 && i < size; i++)
		u = u << 8 | data[i];
	check_format((time_t)(int64_t)u, false);  /* any time_t: clamped, still valid */
	time_t t = (time_t)(DATE_MIN + (int64_t)(u % (uint64_t)(DATE_MAX - DATE_MIN + 1)));
	check_format(t, true);

	for (int k = 0; k < NFIELDS && i <= size; k++) {
		size_t start = i;
		while (i < size && data[i] != '\n')
			i++;
		size_t n = i - start;
		char *p = malloc(n ? n : 1);
		if (!p)
			goto out;
		memcpy(p, data + start, n);
		f[k] = (struct span){ p, (uint32_t)n };
		i++;

		time_t d, d2;
		char buf[RINGD_HTTP_DATE_LEN + 1];
		if (http_date_parse(p, n, &d) == 0) {
			http_date_format(d, buf);
			if (http_date_parse(buf, RINGD_HTTP_DATE_LEN, &d2) != 0 || d2 != d)
				__builtin_trap();
			if (imf_noncanonical(p, n, buf))
				__builtin_trap();
		}
	}

	struct http_request req;
	memset(&req, 0, sizeof req);
	req.method = size ? (enum http_method)(data[size - 1] & 3) : HTTP_GET;
	req.if_match = f[F_IM];
	req.if_unmodified_since = f[F_IUS];
	req.if_none_match = f[F_INM];
	req.if_modified_since = f[F_IMS];
	req.if_range = f[F_IR];

	struct validators v = { f[F_ETAG].p, f[F_ETAG].len, t };
	enum cond_result c = cond_evaluate(&req, &v);
	if (c != COND_PROCEED && c != COND_NOT_MODIFIED && c != COND_PRECONDITION_FAILED)
		__builtin_trap();
	(void)cond_if_range(f[F_IR], &v);

	/* With a generated strong tag, the tag and the date validate themselves. */
	char etag[RINGD_ETAG_MAX], date[RINGD_HTTP_DATE_LEN + 1];
	size_t en = etag_format(etag, u, u >> 7, (int64_t)u, (uint32_t)u);
	if (en >= RINGD_ETAG_MAX || etag[en] != '\0')
		__builtin_trap();
	v.etag = etag;
	v.etag_len = en;
	http_date_format(t, date);
	if (!cond_if_range((struct span){ etag, (uint32_t)en }, &v) ||
	    !cond_if_range((struct span){ date, RINGD_HTTP_DATE_LEN }, &v))
		__builtin_trap();
	memset(&req, 0, sizeof req);
	req.if_none_match = (struct span){ etag, (uint32_t)en };
	req.if_match = f[F_IM].len ? f[F_IM] : (struct span){ etag, (uint32_t)en };
	c = cond_evaluate(&req, &v);
	if (c == COND_PROCEED)
		__builtin_trap();  /* If-None-Match names the current tag */
out:
	for (int k = 0; k < NFIELDS; k++)
		free((void *)f[k].p);
	return 0;
}
