/* test_cond.c — HTTP-date parsing and formatting, ETag generation, and the
 * RFC 9110 §13.2.2 precondition order, each against a table. Links cond.c alone:
 * the request is filled by hand, not by http_parse.c. TAP. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"
#include "tap.h"

#define NO -1      /* http_date_parse fails */

struct date_row {
	const char *in;
	int rc;
	int64_t t;
};

static const struct date_row dates[] = {
	/* the three forms of §5.6.7, all naming the same second */
	{ "Sun, 06 Nov 1994 08:49:37 GMT", 0, 784111777 },
	{ "Sunday, 06-Nov-94 08:49:37 GMT", 0, 784111777 },
	{ "Sun Nov  6 08:49:37 1994", 0, 784111777 },
	{ "Sun Nov 06 08:49:37 1994", 0, 784111777 },
	{ " \tSun, 06 Nov 1994 08:49:37 GMT\t ", 0, 784111777 },
	{ "sun, 06 nov 1994 08:49:37 gmt", 0, 784111777 },
	{ "SUNDAY, 06-NOV-94 08:49:37 GMT", 0, 784111777 },
	/* calendar edges */
	{ "Thu, 01 Jan 1970 00:00:00 GMT", 0, 0 },
	{ "Wed, 31 Dec 1969 23:59:59 GMT", 0, -1 },
	{ "Mon, 01 Jan 1900 00:00:00 GMT", 0, -2208988800LL },
	{ "Tue, 29 Feb 2000 00:00:00 GMT", 0, 951782400 },
	{ "Sun, 29 Feb 2004 00:00:00 GMT", 0, 1078012800 },
	{ "Tue, 19 Jan 2038 03:14:08 GMT", 0, 2147483648LL },
	{ "Fri, 31 Dec 9999 23:59:59 GMT", 0, 253402300799LL },
	{ "Sat, 31 Dec 2016 23:59:60 GMT", 0, 1483228800 },   /* leap second */
	{ "Mon, 06 Nov 1994 08:49:37 GMT", 0, 784111777 },    /* day name not cross-checked */
	/* two-digit years: < 70 is 20yy */
	{ "Wednesday, 31-Dec-69 23:59:59 GMT", 0, 3155759999LL },
	{ "Thursday, 01-Jan-70 00:00:00 GMT", 0, 0 },
	{ "Saturday, 31-Dec-16 23:59:60 GMT", 0, 1483228800 },
	{ "Thu Jan  1 00:00:00 1970", 0, 0 },
	/* invalid */
	{ "", NO, 0 },
	{ "   ", NO, 0 },
	{ "Sun", NO, 0 },
	{ "Sun, 06 Nov 1994 08:49:37", NO, 0 },
	{ "Sun, 06 Nov 1994 08:49:37 UTC", NO, 0 },
	{ "Sun, 06 Nov 1994 08:49:37 GMTx", NO, 0 },
	{ "Sun, 06 Nov 1994 08:49:37 GMT, Mon", NO, 0 },
	{ "Sun, 06 Nov 1994 08:49:37  GMT", NO, 0 },
	{ "Sun,06 Nov 1994 08:49:37 GMT", NO, 0 },
	{ "Sun, 6 Nov 1994 08:49:37 GMT", NO, 0 },
	{ "Sun, 06 Nov 94 08:49:37 GMT", NO, 0 },
	{ "Sun, 06 Nov 1994 8:49:37 GMT", NO, 0 },
	{ "Sun, 06 Foo 1994 08:49:37 GMT", NO, 0 },
	{ "Xyz, 06 Nov 1994 08:49:37 GMT", NO, 0 },
	{ "Sun, 00 Nov 1994 08:49:37 GMT", NO, 0 },
	{ "Sun, 32 Dec 1994 08:49:37 GMT", NO, 0 },
	{ "Sun, 31 Nov 1994 08:49:37 GMT", NO, 0 },
	{ "Mon, 29 Feb 2100 00:00:00 GMT", NO, 0 },             /* not a leap year */
	{ "Sun, 06 Nov 1994 24:00:00 GMT", NO, 0 },
	{ "Sun, 06 Nov 1994 08:60:00 GMT", NO, 0 },
	{ "Sun, 06 Nov 1994 08:49:61 GMT", NO, 0 },
	{ "Sunday, 06 Nov 1994 08:49:37 GMT", NO, 0 },          /* forms mixed */
	{ "Sun, 06-Nov-94 08:49:37 GMT", NO, 0 },
	{ "Sunday, 06-Nov-1994 08:49:37 GMT", NO, 0 },
	{ "Sun Nov 6 08:49:37 1994", NO, 0 },
	{ "Sun Nov  6 08:49:37 94", NO, 0 },
	{ "Sun Nov  6 08:49:37 1994 GMT", NO, 0 },
	{ "1994-11-06T08:49:37Z", NO, 0 },
	{ "784111777", NO, 0 },
};

struct fmt_row {
	int64_t t;
	const char *out;
};

static const struct fmt_row fmts[] = {
	{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
	{ 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },
	{ 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
	{ 1700000000, "Tue, 14 Nov 2023 22:13:20 GMT" },
	{ 946684799, "Fri, 31 Dec 1999 23:59:59 GMT" },
	{ 978307200, "Mon, 01 Jan 2001 00:00:00 GMT" },
	{ 4102444800LL, "Fri, 01 Jan 2100 00:00:00 GMT" },
	{ 2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT" },
	{ -1, "Wed, 31 Dec 1969 23:59:59 GMT" },
	{ -2208988800LL, "Mon, 01 Jan 1900 00:00:00 GMT" },
	{ 253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT" },
	{ 253402300800LL, "Fri, 31 Dec 9999 23:59:59 GMT" },    /* clamped */
	{ INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT" },
	{ -62167219200LL, "Sat, 01 Jan 0000 00:00:00 GMT" },
	{ INT64_MIN, "Sat, 01 Jan 0000 00:00:00 GMT" },
};

struct etag_row {
	uint64_t ino, size;
	int64_t sec;
	uint32_t nsec;
	const char *out;
};

static const struct etag_row etags[] = {
	{ 0, 0, 0, 0, "\"0-0-000000000\"" },
	{ 0x1234, 100, 784111777, 5, "\"1234-64-2ebc98a100000005\"" },
	{ 1, 2, 3, 999999999, "\"1-2-33b9ac9ff\"" },
	{ UINT64_MAX, UINT64_MAX, -1, UINT32_MAX,
	  "\"ffffffffffffffff-ffffffffffffffff-ffffffffffffffffffffffff\"" },
};

/* Validators for the precondition rows unless a row names its own ETag. */
#define ETAG    "\"abc\""
#define MTIME   784111777
#define D       "Sun, 06 Nov 1994 08:49:37 GMT"   /* == MTIME */
#define DBEFORE "Sun, 06 Nov 1994 08:49:36 GMT"
#define DAFTER  "Sun, 06 Nov 1994 08:49:38 GMT"

#define GO   COND_PROCEED
#define N304 COND_NOT_MODIFIED
#define F412 COND_PRECONDITION_FAILED

struct cond_row {
	const char *im, *ius, *inm, *ims; /* NULL: field absent */
	enum http_method method;
	const char *etag;                 /* NULL: ETAG */
	enum cond_result want;
};

static const struct cond_row conds[] = {
	{ NULL, NULL, NULL, NULL, HTTP_GET, NULL, GO },
	/* If-Match: strong comparison, garbage never matches */
	{ ETAG, NULL, NULL, NULL, HTTP_GET, NULL, GO },
	{ "*", NULL, NULL, NULL, HTTP_GET, NULL, GO },
	{ " * ", NULL, NULL, NULL, HTTP_GET, NULL, GO },
	{ "\"xyz\"", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "\"xyz\", \"abc\"", NULL, NULL, NULL, HTTP_GET, NULL, GO },
	{ "\"xyz\",\t\"abc\" ,", NULL, NULL, NULL, HTTP_GET, NULL, GO },
	{ "W/\"abc\"", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "\"ABC\"", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "abc", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "garbage, \"abc\"", NULL, NULL, NULL, HTTP_GET, NULL, GO },
	{ "\"abc", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "\"abc\"x", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "x\"abc\"", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "\"ab c\"", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "*, \"xyz\"", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ ",", NULL, NULL, NULL, HTTP_GET, NULL, F412 },
	{ "\"abc\"", NULL, NULL, NULL, HTTP_GET, "W/\"abc\"", F412 },
	{ "*", NULL, NULL, NULL, HTTP_GET, "", GO },
	{ "\"abc\"", NULL, NULL, NULL, HTTP_GET, "", F412 },
	/* If-Unmodified-Since, only without If-Match */
	{ NULL, DBEFORE, NULL, NULL, HTTP_GET, NULL, F412 },
	{ NULL, D, NULL, NULL, HTTP_GET, NULL, GO },
	{ NULL, DAFTER, NULL, NULL, HTTP_GET, NULL, GO },
	{ NULL, "yesterday", NULL, NULL, HTTP_GET, NULL, GO },
	{ ETAG, DBEFORE, NULL, NULL, HTTP_GET, NULL, GO },
	/* If-None-Match: weak comparison */
	{ NULL, NULL, ETAG, NULL, HTTP_GET, NULL, N304 },
	{ NULL, NULL, "W/\"abc\"", NULL, HTTP_GET, NULL, N304 },
	{ NULL, NULL, ETAG, NULL, HTTP_GET, "W/\"abc\"", N304 },
	{ NULL, NULL, "*", NULL, HTTP_GET, NULL, N304 },
	{ NULL, NULL, "\"x\", W/\"abc\"", NULL, HTTP_HEAD, NULL, N304 },
	{ NULL, NULL, "\"x\"", NULL, HTTP_GET, NULL, GO },
	{ NULL, NULL, "w/\"abc\"", NULL, HTTP_GET, NULL, GO },  /* W/ is case-sensitive */
	{ NULL, NULL, "\"a,bc\"", NULL, HTTP_GET, NULL, GO },
	{ NULL, NULL, "\"a,b\"", NULL, HTTP_GET, "\"a,b\"", N304 },  /* comma inside a tag */
	{ NULL, NULL, "\"a\", \"b\"", NULL, HTTP_GET, "\"a,b\"", GO },
	{ NULL, NULL, ETAG, NULL, HTTP_OTHER, NULL, F412 },
	{ NULL, NULL, "*", NULL, HTTP_GET, "", N304 },
	/* If-Modified-Since, only without If-None-Match and only for GET/HEAD */
	{ NULL, NULL, NULL, D, HTTP_GET, NULL, N304 },
	{ NULL, NULL, NULL, DAFTER, HTTP_GET, NULL, N304 },
	{ NULL, NULL, NULL, DBEFORE, HTTP_GET, NULL, GO },
	{ NULL, NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT", HTTP_GET, NULL, N304 },
	{ NULL, NULL, NULL, "Sun Nov  6 08:49:37 1994", HTTP_HEAD, NULL, N304 },
	{ NULL, NULL, NULL, D "; length=12", HTTP_GET, NULL, GO },
	{ NULL, NULL, NULL, D, HTTP_OTHER, NULL, GO },
	{ NULL, NULL, "\"x\"", D, HTTP_GET, NULL, GO },
	/* order between the four */
	{ "\"xyz\"", NULL, ETAG, NULL, HTTP_GET, NULL, F412 },
	{ ETAG, NULL, ETAG, NULL, HTTP_GET, NULL, N304 },
	{ NULL, DBEFORE, ETAG, NULL, HTTP_GET, NULL, F412 },
	{ NULL, D, NULL, D, HTTP_GET, NULL, N304 },
	{ NULL, DBEFORE, NULL, D, HTTP_GET, NULL, F412 },
};

struct ifrange_row {
	const char *in;
	const char *etag;   /* NULL: ETAG */
	bool want;
};

static const struct ifrange_row ifranges[] = {
	{ "", NULL, true },
	{ ETAG, NULL, true },
	{ " " ETAG "\t", NULL, true },
	{ "W/\"abc\"", NULL, false },
	{ "W/\"abc\"", "W/\"abc\"", false },
	{ ETAG, "W/\"abc\"", false },
	{ "\"abd\"", NULL, false },
	{ ETAG ", " ETAG, NULL, false },
	{ "\"abc", NULL, false },
	{ D, NULL, true },
	{ "Sunday, 06-Nov-94 08:49:37 GMT", NULL, true },
	{ DBEFORE, NULL, false },
	{ DAFTER, NULL, false },
	{ "Wed, 31 Dec 1969 23:59:59 GMT", NULL, false },
	{ "Wed", NULL, false },
	{ "W/", NULL, false },
	{ "garbage", NULL, false },
	{ ETAG, "", false },
};

static void ok(bool cond, const char *what, const char *detail)
{
	tap_ok(cond, "%s %s", what, detail);
}

/* A field value in its own exact-size allocation, so ASan sees any over-read. */
static struct span field(const char *s)
{
	struct span v = { NULL, 0 };
	if (s) {
		size_t n = strlen(s);
		char *p = malloc(n ? n : 1);
		memcpy(p, s, n);
		v = (struct span){ p, (uint32_t)n };
	}
	return v;
}

static void unfield(struct span v)
{
	free((void *)v.p);
}

static struct validators validators(const char *etag)
{
	struct span e = field(etag ? etag : ETAG);
	return (struct validators){ .etag = e.p, .etag_len = e.len, .mtime = MTIME };
}

static bool check_date(const struct date_row *t)
{
	struct span v = field(t->in);
	time_t got = 12345;
	int rc = http_date_parse(v.p, v.len, &got);
	bool good = rc == t->rc && (rc != 0 || (int64_t)got == t->t);

	if (!good)
		printf("# rc %d t %" PRId64 "\n", rc, (int64_t)got);
	unfield(v);
	return good;
}

static bool check_fmt(const struct fmt_row *t, char *detail, size_t dlen)
{
	char out[RINGD_HTTP_DATE_LEN + 1];
	size_t n = http_date_format((time_t)t->t, out);

	snprintf(detail, dlen, "%" PRId64 " -> %s", t->t, t->out);
	if (n != RINGD_HTTP_DATE_LEN || strcmp(out, t->out) != 0) {
		printf("# got %zu \"%s\"\n", n, out);
		return false;
	}
	return true;
}

static bool check_etag(const struct etag_row *t)
{
	char out[RINGD_ETAG_MAX];
	size_t n;

	memset(out, 'x', sizeof out);
	n = etag_format(out, t->ino, t->size, t->sec, t->nsec);
	if (n != strlen(t->out) || n >= RINGD_ETAG_MAX || strcmp(out, t->out) != 0) {
		printf("# got %zu %s\n", n, out);
		return false;
	}
	return true;
}

static bool check_cond(const struct cond_row *t)
{
	struct http_request req;
	struct validators v = validators(t->etag);
	enum cond_result got;

	memset(&req, 0, sizeof req);
	req.method = t->method;
	req.if_match = field(t->im);
	req.if_unmodified_since = field(t->ius);
	req.if_none_match = field(t->inm);
	req.if_modified_since = field(t->ims);
	got = cond_evaluate(&req, &v);
	unfield(req.if_match);
	unfield(req.if_unmodified_since);
	unfield(req.if_none_match);
	unfield(req.if_modified_since);
	free((void *)v.etag);
	if (got != t->want)
		printf("# got %d want %d\n", got, t->want);
	return got == t->want;
}

static bool check_ifrange(const struct ifrange_row *t)
{
	struct validators v = validators(t->etag);
	struct span r = field(t->in);
	bool got = cond_if_range(r, &v);

	unfield(r);
	free((void *)v.etag);
	return got == t->want;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *s_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

int main(void)
{
	char detail[512];

	printf("1..%zu\n", N(dates) + N(fmts) + 1 + N(etags) + N(conds) + N(ifranges));
	for (size_t k = 0; k < N(dates); k++)
		ok(check_date(&dates[k]), "date", dates[k].in);
	for (size_t k = 0; k < N(fmts); k++) {
		bool good = check_fmt(&fmts[k], detail, sizeof detail);
		ok(good, "format", detail);
	}

	/* Every formatted date parses back to itself: a sweep, not a table, across
	 * leap days and century boundaries in the four-digit range. */
	bool round = true;
	for (int64_t t = -62167219200LL; t <= 253402300799LL; t += 86400LL * 7 + 3607) {
		char out[RINGD_HTTP_DATE_LEN + 1];
		time_t back;
		http_date_format((time_t)t, out);
		if (http_date_parse(out, RINGD_HTTP_DATE_LEN, &back) != 0 || back != t) {
			printf("# round trip %" PRId64 " %s\n", t, out);
			round = false;
			break;
		}
	}
	ok(round, "format/parse round trip", "over years 0000-9999");

	for (size_t k = 0; k < N(etags); k++)
		ok(check_etag(&etags[k]), "etag", etags[k].out);
	for (size_t k = 0; k < N(conds); k++) {
		const struct cond_row *t = &conds[k];
		snprintf(detail, sizeof detail, "IM[%s] IUS[%s] INM[%s] IMS[%s] m%d etag %s",
			 s_or(t->im, "-"), s_or(t->ius, "-"), s_or(t->inm, "-"), s_or(t->ims, "-"),
			 t->method, s_or(t->etag, ETAG));
		ok(check_cond(t), "cond", detail);
	}
	for (size_t k = 0; k < N(ifranges); k++) {
		snprintf(detail, sizeof detail, "[%s] etag %s", ifranges[k].in,
			 s_or(ifranges[k].etag, ETAG));
		ok(check_ifrange(&ifranges[k]), "if-range", detail);
	}
	return tap_exit();
}
