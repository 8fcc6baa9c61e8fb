/* cond.c — conditional requests (RFC 9110 §13): entity-tag lists, HTTP-dates and
 * the order in which the preconditions are checked. Pure: dates are converted by
 * our own civil-calendar arithmetic because timegm()/gmtime() may consult TZ and
 * take locks, and a date parser should not depend on the environment. */
#include "ringd.h"

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim OWS on both sides of a field value. */
static struct span trim(struct span v)
{
	if (!v.p)
		return (struct span){ "", 0 };
	while (v.len && is_ows(v.p[0])) {
		v.p++;
		v.len--;
	}
	while (v.len && is_ows(v.p[v.len - 1]))
		v.len--;
	return v;
}

/* ---- entity-tags ---- */

/* etagc = %x21 / %x23-7E / obs-text: no space, no DQUOTE, no controls. */
static bool is_etagc(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

struct etag {
	const char *opaque;  /* points at the opening DQUOTE */
	size_t len;          /* including both quotes */
	bool weak;
};

/* Parse one entity-tag at s[i]. Returns the index after it, or 0 when s[i..]
 * does not start with one (0 is never a valid end: a tag is at least 2 bytes). */
static size_t parse_etag(const char *s, size_t len, size_t i, struct etag *t)
{
	size_t start;

	t->weak = false;
	if (len - i >= 2 && s[i] == 'W' && s[i + 1] == '/') {
		t->weak = true;
		i += 2;
	}
	if (i >= len || s[i] != '"')
		return 0;
	start = i++;
	while (i < len && is_etagc((unsigned char)s[i]))
		i++;
	if (i >= len || s[i] != '"')
		return 0;
	i++;
	t->opaque = s + start;
	t->len = i - start;
	return i;
}

/* The current representation's tag; a validators struct holding a weak tag (or
 * none) can only ever match weakly (or never). */
static bool current_etag(const struct validators *v, struct etag *t)
{
	if (!v->etag || v->etag_len == 0)
		return false;
	return parse_etag(v->etag, v->etag_len, 0, t) == v->etag_len;
}

static bool etag_eq(const struct etag *a, const struct etag *b)
{
	if (a->len != b->len)
		return false;
	for (size_t k = 0; k < a->len; k++)
		if (a->opaque[k] != b->opaque[k])
			return false;
	return true;
}

/* §8.8.3.2: strong comparison needs both tags strong; weak ignores W/. */
static bool etag_match(const struct etag *a, const struct etag *b, bool strong)
{
	if (strong && (a->weak || b->weak))
		return false;
	return etag_eq(a, b);
}

/* Does the list value (already known not to be "*") name the current tag?
 * Members are separated by commas; a member that is not exactly one entity-tag
 * (OWS aside) is skipped up to the next comma and never matches. Opaque tags may
 * themselves contain commas, which is why members are parsed, not split. */
static bool etag_list_match(struct span list, const struct validators *v, bool strong)
{
	struct etag cur, t;
	const char *s = list.p;
	size_t len = list.len, i = 0;

	if (!current_etag(v, &cur))
		return false;
	while (i < len) {
		size_t end;

		while (i < len && (is_ows(s[i]) || s[i] == ','))
			i++;
		if (i == len)
			break;
		end = parse_etag(s, len, i, &t);
		if (end) {
			i = end;
			while (i < len && is_ows(s[i]))
				i++;
			if ((i == len || s[i] == ',') && etag_match(&t, &cur, strong))
				return true;
		} else {
			i++;
		}
		while (i < len && s[i] != ',')
			i++;
	}
	return false;
}

static bool is_star(struct span v)
{
	return v.len == 1 && v.p[0] == '*';
}

/* ---- dates ---- */

static const char month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char day_names[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const day_names_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};

/* The grammar spells names case-sensitively; §5.6.7 encourages robust parsing,
 * and accepting "nov" cannot change a well-formed date's meaning. */
static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

static bool name_eq(const char *s, const char *name, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (lower(s[k]) != lower(name[k]))
			return false;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): exact for any year, no tables, no overflow for 4-digit years. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return dim[m - 1] + (m == 2 && is_leap(y));
}

/* A tiny cursor over the date so each format reads like its grammar. */
struct cur {
	const char *s;
	size_t len, i;
	bool ok;
};

/* Once a step fails, c->ok stays false and c->i stops moving; later steps are
 * no-ops, so a format reads as a straight line with one check at the end. */
static void lit(struct cur *c, const char *l)
{
	for (; *l && c->ok; l++) {
		c->ok = c->i < c->len && lower(c->s[c->i]) == lower(*l);
		c->i += c->ok;
	}
}

static unsigned digits(struct cur *c, unsigned n)
{
	unsigned v = 0;

	for (; n && c->ok; n--) {
		c->ok = c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9';
		if (c->ok)
			v = v * 10 + (unsigned)(c->s[c->i++] - '0');
	}
	return c->ok ? v : 0;
}

/* Month name → 1..12, 0 when unknown. */
static unsigned month(struct cur *c)
{
	if (!c->ok || c->len - c->i < 3)
		return c->ok = false, 0;
	for (unsigned k = 0; k < 12; k++) {
		if (name_eq(c->s + c->i, month_names[k], 3)) {
			c->i += 3;
			return k + 1;
		}
	}
	return c->ok = false, 0;
}

/* time-of-day = hour ":" minute ":" second, second may be 60 (leap). */
static void time_of_day(struct cur *c, unsigned *h, unsigned *mi, unsigned *s)
{
	*h = digits(c, 2);
	lit(c, ":");
	*mi = digits(c, 2);
	lit(c, ":");
	*s = digits(c, 2);
}

/* Short or long day name at the start; which forms follow depends on which. */
static int day_name(const char *s, size_t len, size_t *after, bool *is_long)
{
	for (unsigned k = 0; k < 7; k++) {
		size_t n = 0;
		while (day_names_long[k][n])
			n++;
		if (len >= n && name_eq(s, day_names_long[k], n)) {
			*after = n;
			*is_long = true;
			return (int)k;
		}
	}
	for (unsigned k = 0; k < 7; k++) {
		if (len >= 3 && name_eq(s, day_names[k], 3)) {
			*after = 3;
			*is_long = false;
			return (int)k;
		}
	}
	return -1;
}

int http_date_parse(const char *s, size_t len, time_t *out)
{
	struct cur c;
	unsigned day, mon, hour, min, sec;
	int64_t year;
	size_t after;
	bool is_long;

	while (len && is_ows(s[0])) {
		s++;
		len--;
	}
	while (len && is_ows(s[len - 1]))
		len--;
	if (day_name(s, len, &after, &is_long) < 0)
		return -1;
	c = (struct cur){ s, len, after, true };

	if (is_long) {
		/* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
		lit(&c, ", ");
		day = digits(&c, 2);
		lit(&c, "-");
		mon = month(&c);
		lit(&c, "-");
		year = digits(&c, 2);
		/* §5.6.7 wants "more than 50 years in the future" resolved against
		 * the clock; a pure function uses a fixed pivot instead. */
		year += year < 70 ? 2000 : 1900;
		lit(&c, " ");
		time_of_day(&c, &hour, &min, &sec);
		lit(&c, " GMT");
	} else if (c.i < c.len && c.s[c.i] == ',') {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		lit(&c, ", ");
		day = digits(&c, 2);
		lit(&c, " ");
		mon = month(&c);
		lit(&c, " ");
		year = digits(&c, 4);
		lit(&c, " ");
		time_of_day(&c, &hour, &min, &sec);
		lit(&c, " GMT");
	} else {
		/* asctime-date: Sun Nov  6 08:49:37 1994 (day is 2DIGIT or SP DIGIT) */
		lit(&c, " ");
		mon = month(&c);
		lit(&c, " ");
		if (c.ok && c.i < c.len && c.s[c.i] == ' ') {
			c.i++;
			day = digits(&c, 1);
		} else {
			day = digits(&c, 2);
		}
		lit(&c, " ");
		time_of_day(&c, &hour, &min, &sec);
		lit(&c, " ");
		year = digits(&c, 4);
	}

	if (!c.ok || c.i != c.len)
		return -1;
	if (day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 60)
		return -1;

	int64_t t = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
	if ((time_t)t != t)
		return -1;  /* year 2038+ or pre-1902 with a 32-bit time_t */
	/* A leap second on the last second of 9999 lands in year 10000, which no
	 * HTTP-date can name (found by fuzz-cond): refuse it rather than clamp. */
	if (t > 253402300799)
		return -1;
	*out = (time_t)t;
	return 0;
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* Times outside years 0000..9999 cannot be written as a 4-digit year; they are
 * clamped to the nearest representable second rather than produce a longer or
 * garbled field. Only a corrupt file system would give us such an mtime. */
#define DATE_MIN (-62167219200LL)   /* 0000-01-01T00:00:00Z */
#define DATE_MAX (253402300799LL)   /* 9999-12-31T23:59:59Z */

size_t http_date_format(time_t t, char out[RINGD_HTTP_DATE_LEN + 1])
{
	int64_t s = (int64_t)t, days, y;
	unsigned m, d, rem;

	if (s < DATE_MIN)
		s = DATE_MIN;
	if (s > DATE_MAX)
		s = DATE_MAX;
	/* Floor division, so times before 1970 land on the right day. */
	days = s / 86400 - (s % 86400 < 0);
	rem = (unsigned)(s - days * 86400);
	civil_from_days(days, &y, &m, &d);

	/* 1970-01-01 was a Thursday (index 4). */
	const char *wd = day_names[((days % 7) + 7 + 4) % 7];
	out[0] = wd[0];
	out[1] = wd[1];
	out[2] = wd[2];
	out[3] = ',';
	out[4] = ' ';
	put2(out + 5, d);
	out[7] = ' ';
	out[8] = month_names[m - 1][0];
	out[9] = month_names[m - 1][1];
	out[10] = month_names[m - 1][2];
	out[11] = ' ';
	put2(out + 12, (unsigned)(y / 100));
	put2(out + 14, (unsigned)(y % 100));
	out[16] = ' ';
	put2(out + 17, rem / 3600);
	out[19] = ':';
	put2(out + 20, rem / 60 % 60);
	out[22] = ':';
	put2(out + 23, rem % 60);
	out[25] = ' ';
	out[26] = 'G';
	out[27] = 'M';
	out[28] = 'T';
	out[29] = '\0';
	return RINGD_HTTP_DATE_LEN;
}

/* ---- ETag generation ---- */

static size_t put_hex(char *p, uint64_t v, unsigned min_digits)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	unsigned n = 0;

	do {
		tmp[n++] = hex[v & 15];
		v >>= 4;
	} while (v || n < min_digits);
	for (unsigned k = 0; k < n; k++)
		p[k] = tmp[n - 1 - k];
	return n;
}

/* "<ino>-<size>-<sec><nsec as 8 digits>": at most 1+16+1+16+1+16+8+1 = 60 bytes
 * plus NUL. The nanoseconds are fixed-width so sec and nsec cannot run together
 * ambiguously; a file rewritten within the same second still gets a new tag on
 * file systems with fine timestamps. */
size_t etag_format(char out[RINGD_ETAG_MAX], uint64_t ino, uint64_t size, int64_t mtime_sec, uint32_t mtime_nsec)
{
	size_t n = 0;

	_Static_assert(RINGD_ETAG_MAX >= 61, "ETag buffer too small");
	out[n++] = '"';
	n += put_hex(out + n, ino, 1);
	out[n++] = '-';
	n += put_hex(out + n, size, 1);
	out[n++] = '-';
	n += put_hex(out + n, (uint64_t)mtime_sec, 1);
	n += put_hex(out + n, mtime_nsec, 8);
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

/* ---- preconditions ---- */

static bool date_field(struct span f, time_t *t)
{
	return f.p && f.len && http_date_parse(f.p, f.len, t) == 0;
}

/*
 * RFC 9110 §13.2.2, steps 1-4 (step 5, If-Range, is cond_if_range()). A field is
 * "present" when its span is non-empty: an empty If-Match lists no tags, and
 * reading it as "match nothing → 412" would punish a broken client for sending
 * nothing. Methods other than GET/HEAD get 412 where GET would get 304, as the
 * RFC says, although ringd only calls this for GET and HEAD.
 */
enum cond_result cond_evaluate(const struct http_request *req, const struct validators *v)
{
	struct span im = trim(req->if_match);
	struct span inm = trim(req->if_none_match);
	bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
	time_t t;

	if (im.len) {
		if (!is_star(im) && !etag_list_match(im, v, true))
			return COND_PRECONDITION_FAILED;
	} else if (date_field(req->if_unmodified_since, &t) && v->mtime > t) {
		return COND_PRECONDITION_FAILED;
	}

	if (inm.len) {
		if (is_star(inm) || etag_list_match(inm, v, false))
			return get ? COND_NOT_MODIFIED : COND_PRECONDITION_FAILED;
	} else if (get && date_field(req->if_modified_since, &t) && v->mtime <= t) {
		return COND_NOT_MODIFIED;
	}
	return COND_PROCEED;
}

/*
 * §13.1.5: an entity-tag must match strongly; a date must equal Last-Modified
 * exactly. Whether that Last-Modified is itself strong (at least a second older
 * than the response's Date) needs the clock, so it is the caller's check.
 */
bool cond_if_range(struct span if_range, const struct validators *v)
{
	struct span r = trim(if_range);
	struct etag t, cur;
	time_t when;

	if (r.len == 0)
		return true;
	/* A date starts with a day name, never with a quote or "W/". */
	if (r.p[0] == '"' || (r.len >= 2 && r.p[0] == 'W' && r.p[1] == '/')) {
		if (parse_etag(r.p, r.len, 0, &t) != r.len)
			return false;
		return current_etag(v, &cur) && etag_match(&t, &cur, true);
	}
	return http_date_parse(r.p, r.len, &when) == 0 && when == v->mtime;
}
