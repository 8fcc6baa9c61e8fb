/* http_parse.c — the request-head parser: bytes in, struct http_request out (RFC 9112).
 * Pure and single-pass (no I/O, no allocation, no globals), so it is table-tested and
 * fuzzed alone. It is strict on purpose: whatever two HTTP implementations might frame
 * differently (bare CR or LF, obs-fold, Content-Length beside Transfer-Encoding, odd
 * Content-Length values) is a 400, because a lenient front server and a strict one
 * behind it disagreeing about where a request ends is how requests get smuggled. */
#include <stddef.h>
#include <string.h>

#include "ringd.h"

/* Byte classes, one bit each, so the scan tests a byte with one load. */
enum {
	C_TCHAR = 1 << 0, /* token (RFC 9110 §5.6.2): methods, field names */
	C_VCHAR = 1 << 1, /* visible ASCII 0x21-0x7E: the request-target */
	C_FIELD = 1 << 2, /* field-value bytes: HTAB, SP, VCHAR, obs-text */
	C_HOST  = 1 << 3, /* reg-name, IP-literal and port (RFC 3986 §3.2.2, §3.2.3) */
};
#define TVFH (C_TCHAR | C_VCHAR | C_FIELD | C_HOST)
#define TVF  (C_TCHAR | C_VCHAR | C_FIELD)
#define VFH  (C_VCHAR | C_FIELD | C_HOST)
#define VF   (C_VCHAR | C_FIELD)

/* Every byte is listed once with all its classes; unlisted bytes (controls, DEL) are in
 * no class and so are rejected everywhere. */
static const uint8_t cclass[256] = {
	['\t'] = C_FIELD, [' '] = C_FIELD,
	['!'] = TVFH, ['"'] = VF, ['#'] = TVF, ['$'] = TVFH, ['%'] = TVFH, ['&'] = TVFH,
	['\''] = TVFH, ['('] = VFH, [')'] = VFH, ['*'] = TVFH, ['+'] = TVFH, [','] = VFH,
	['-'] = TVFH, ['.'] = TVFH, ['/'] = VF, ['0' ... '9'] = TVFH, [':'] = VFH,
	[';'] = VFH, ['<'] = VF, ['='] = VFH, ['>'] = VF, ['?'] = VF, ['@'] = VF,
	['A' ... 'Z'] = TVFH, ['['] = VFH, ['\\'] = VF, [']'] = VFH, ['^'] = TVF,
	['_'] = TVFH, ['`'] = TVF, ['a' ... 'z'] = TVFH, ['{'] = VF, ['|'] = TVF,
	['}'] = VF, ['~'] = TVFH,
	[0x80 ... 0xff] = C_FIELD,
};

static inline bool in_class(char c, unsigned cls)
{
	return cclass[(unsigned char)c] & cls;
}

static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

#define MAX_LEADING_CRLF 8                  /* RFC 9112 §2.2 tolerance, bounded */
#define CL_MAX           (UINT64_C(1) << 62) /* larger Content-Length → 400 */
#define HEAD_CAP         (1u << 30)          /* head_len must fit in the int we return */

/* ASCII-only case folding on both sides, so no locale can change an answer. */
static bool eq_ci(const char *p, size_t n, const char *lit, size_t litlen)
{
	if (n != litlen)
		return false;
	for (size_t k = 0; k < n; k++) {
		unsigned char a = p[k], b = lit[k];
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return false;
	}
	return true;
}
#define EQ_CI(p, n, lit) eq_ci((p), (n), (lit), sizeof(lit) - 1)

static struct span trim(const char *p, uint32_t n)
{
	while (n && is_ows(p[n - 1]))
		n--;
	while (n && is_ows(*p))
		p++, n--;
	return (struct span){ p, n };
}

/* Index of the first `stop` at or after i that is not inside a quoted-string, or n.
 * An unterminated quote runs to the end; the backslash skip never passes n. */
static uint32_t skip_to(const char *p, uint32_t n, uint32_t i, char stop)
{
	bool quoted = false;

	for (; i < n; i++) {
		char c = p[i];
		if (quoted) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == stop) {
			break;
		}
	}
	return i;
}

/* Next non-empty element of a comma-separated list (RFC 9110 §5.6.1: recipients skip
 * empty elements), OWS-trimmed. *pos starts at 0. */
static bool list_next(struct span list, uint32_t *pos, struct span *elem)
{
	uint32_t i = *pos;

	while (i < list.len) {
		uint32_t e = skip_to(list.p, list.len, i, ',');
		*elem = trim(list.p + i, e - i);
		i = e + (e < list.len);
		if (elem->len) {
			*pos = i;
			return true;
		}
	}
	*pos = i;
	return false;
}

/* ---- header fields ---- */

enum field_id {
	F_STORE,              /* keep the value as a span in struct http_request */
	F_HOST,
	F_CONNECTION,
	F_CONTENT_LENGTH,
	F_TRANSFER_ENCODING,
};

/* What a second occurrence of a stored field means. The list-valued fields could be
 * joined (RFC 9110 §5.3) but spans cannot join two lines without copying, so we keep the
 * first: at worst a conditional is evaluated against part of its list. A second Range or
 * If-Range is ambiguous, so it is rejected. */
enum dup_rule { DUP_KEEP_FIRST, DUP_REJECT };

static const struct known_field {
	const char *name;       /* lower case */
	uint8_t len;
	uint8_t id;             /* enum field_id */
	uint8_t dup;            /* enum dup_rule, for F_STORE */
	uint16_t off;           /* offsetof the span in struct http_request, for F_STORE */
} known_fields[] = {
#define KF(n, id) { n, sizeof(n) - 1, id, DUP_REJECT, 0 }
#define KS(n, dup, member) { n, sizeof(n) - 1, F_STORE, dup, offsetof(struct http_request, member) }
	KF("host", F_HOST),
	KF("connection", F_CONNECTION),
	KF("content-length", F_CONTENT_LENGTH),
	KF("transfer-encoding", F_TRANSFER_ENCODING),
	KS("if-match", DUP_KEEP_FIRST, if_match),
	KS("if-none-match", DUP_KEEP_FIRST, if_none_match),
	KS("if-modified-since", DUP_KEEP_FIRST, if_modified_since),
	KS("if-unmodified-since", DUP_KEEP_FIRST, if_unmodified_since),
	KS("range", DUP_REJECT, range),
	KS("if-range", DUP_REJECT, if_range),
	KS("accept-encoding", DUP_KEEP_FIRST, accept_encoding),
	KS("referer", DUP_KEEP_FIRST, referer),        /* for the access log only */
	KS("user-agent", DUP_KEEP_FIRST, user_agent),
#undef KS
#undef KF
};

/* What the scan learns that the caller does not see. */
struct parse_state {
	struct span host_field; /* the Host field; .p == NULL when absent */
	bool conn_close, conn_keep_alive;
	bool te_seen;
	bool line_done;         /* request line complete: tells 431 from 414 at max_head */
};

/* 1*DIGIT, or a list of them that all agree (RFC 9112 §6.3 item 5); no sign, no
 * spaces inside. Repeated fields must agree with each other too. */
static int on_content_length(struct http_request *req, struct span v)
{
	uint32_t pos = 0;
	struct span e;
	int n = 0;

	while (list_next(v, &pos, &e)) {
		uint64_t cl = 0;
		for (uint32_t k = 0; k < e.len; k++) {
			if (!is_digit(e.p[k]))
				return -400;
			unsigned d = e.p[k] - '0';
			if (cl > (CL_MAX - d) / 10)
				return -400;
			cl = cl * 10 + d;
		}
		if (req->has_content_length && cl != req->content_length)
			return -400;
		req->has_content_length = true;
		req->content_length = cl;
		n++;
	}
	return n ? 0 : -400;
}

/* Codings accumulate across fields in order; only a final "chunked" frames the body
 * (RFC 9112 §6.3 item 4), and chunked must not be applied twice. req->chunked tracks
 * "the last coding seen was chunked"; whether TE is allowed at all is decided at the end. */
static int on_transfer_encoding(struct http_request *req, struct parse_state *st, struct span v)
{
	uint32_t pos = 0;
	struct span e;

	st->te_seen = true;
	while (list_next(v, &pos, &e)) {
		if (req->chunked)
			return -400;
		req->chunked = EQ_CI(e.p, e.len, "chunked");
	}
	return 0;
}

static int on_field(struct http_request *req, struct parse_state *st,
		    struct span name, struct span value)
{
	const struct known_field *f = NULL;
	uint32_t pos = 0;
	struct span e;

	for (size_t k = 0; k < sizeof known_fields / sizeof known_fields[0]; k++) {
		if (eq_ci(name.p, name.len, known_fields[k].name, known_fields[k].len)) {
			f = &known_fields[k];
			break;
		}
	}
	if (!f)
		return 0;

	switch (f->id) {
	case F_HOST:
		/* RFC 9112 §3.2: a second Host or an invalid one is a 400. Empty is allowed. */
		if (st->host_field.p)
			return -400;
		for (uint32_t k = 0; k < value.len; k++)
			if (!in_class(value.p[k], C_HOST))
				return -400;
		st->host_field = value;
		return 0;
	case F_CONNECTION:
		while (list_next(value, &pos, &e)) {
			if (EQ_CI(e.p, e.len, "close"))
				st->conn_close = true;
			else if (EQ_CI(e.p, e.len, "keep-alive"))
				st->conn_keep_alive = true;
		}
		return 0;
	case F_CONTENT_LENGTH:
		return on_content_length(req, value);
	case F_TRANSFER_ENCODING:
		return on_transfer_encoding(req, st, value);
	default: {
		struct span *s = (struct span *)((char *)req + f->off);
		if (s->p)
			return f->dup == DUP_REJECT ? -400 : 0;
		*s = value;
		return 0;
	}
	}
}

/* ---- request line ---- */

static enum http_method method_of(const char *p, size_t n)
{
	/* Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method. */
	if (n == 3 && !memcmp(p, "GET", 3))
		return HTTP_GET;
	if (n == 4 && !memcmp(p, "HEAD", 4))
		return HTTP_HEAD;
	if (n == 7 && !memcmp(p, "OPTIONS", 7))
		return HTTP_OPTIONS;
	return HTTP_OTHER;
}

/* path / query from target[from..]; from indexes a '/'. */
static void split_query(struct http_request *req, uint32_t from)
{
	const char *t = req->target.p;
	uint32_t n = req->target.len;
	const char *q = memchr(t + from, '?', n - from);

	if (q) {
		req->path = (struct span){ t + from, (uint32_t)(q - t) - from };
		req->query = (struct span){ q + 1, (uint32_t)(t + n - q - 1) };
	} else {
		req->path = (struct span){ t + from, n - from };
	}
}

/* origin-form, absolute-form (http/https only) or asterisk-form (RFC 9112 §3.2).
 * authority-form is only for CONNECT, which a file server does not do: 400. */
static int classify_target(struct http_request *req)
{
	const char *t = req->target.p;
	uint32_t n = req->target.len, a0, i;

	if (t[0] == '/') {
		split_query(req, 0);
		return 0;
	}
	if (n == 1 && t[0] == '*') {
		req->path = req->target;
		return 0;
	}
	if (n >= 7 && EQ_CI(t, 7, "http://"))
		a0 = 7;
	else if (n >= 8 && EQ_CI(t, 8, "https://"))
		a0 = 8;
	else
		return -400;
	/* The authority ends at the path or query. Userinfo ('@') is rejected along with
	 * any other byte a host cannot hold (RFC 9110 §4.2.4); an empty host is invalid
	 * for http(s) URIs (§4.2.1). */
	for (i = a0; i < n && t[i] != '/' && t[i] != '?'; i++)
		if (!in_class(t[i], C_HOST))
			return -400;
	if (i == a0)
		return -400;
	req->host = (struct span){ t + a0, i - a0 };
	if (i < n && t[i] == '/') {
		split_query(req, i);
		return 0;
	}
	/* Empty path means "/" (RFC 9110 §4.2.3). Point at the second slash of "://" so
	 * the span still lies inside the caller's buffer like every other span. */
	req->path = (struct span){ t + a0 - 1, 1 };
	if (i < n)
		req->query = (struct span){ t + i + 1, n - i - 1 };
	return 0;
}

/* "HTTP/" DIGIT "." DIGIT CRLF, checked byte by byte so a bad byte is reported as soon
 * as it arrives; 'D' in the pattern stands for a digit. */
static int parse_version(const char *buf, size_t end, size_t *pos, struct http_request *req)
{
	static const char pat[] = "HTTP/D.D\r\n";
	size_t i = *pos;

	for (size_t k = 0; k < sizeof pat - 1; k++) {
		if (i + k >= end)
			return 1;
		char c = buf[i + k];
		if (pat[k] == 'D' ? !is_digit(c) : c != pat[k])
			return -400;
	}
	if (buf[i + 5] != '1')
		return -505;
	/* 1.x for x > 1 is some later 1.x we answer as 1.1 (RFC 9110 §2.5). */
	req->version_minor = buf[i + 7] != '0';
	*pos = i + sizeof pat - 1;
	return 0;
}

/* The scan proper over buf[0..end). Returns head_len, -status, or 0 when it ran out. */
static int parse_head(const char *buf, size_t end, struct http_request *req, struct parse_state *st)
{
	size_t i = 0, start;
	unsigned nfields = 0;
	int r;

	/* Leading empty lines are tolerated (RFC 9112 §2.2), but only a few. */
	for (int n = 0;; n++) {
		if (i >= end)
			return 0;
		if (buf[i] != '\r')
			break;
		if (i + 1 >= end)
			return 0;
		if (buf[i + 1] != '\n' || n == MAX_LEADING_CRLF)
			return -400;
		i += 2;
	}

	/* method SP; a bare LF here fails the tchar test like any other byte */
	start = i;
	while (i < end && in_class(buf[i], C_TCHAR))
		i++;
	if (i >= end)
		return 0;
	if (buf[i] != ' ' || i == start)
		return -400;
	req->method_name = (struct span){ buf + start, (uint32_t)(i - start) };
	req->method = method_of(buf + start, i - start);
	i++;

	/* request-target SP: visible ASCII only, so raw UTF-8, controls, and the CR of an
	 * HTTP/0.9 line all fail here. A fragment is never sent (RFC 9112 §3.2). */
	start = i;
	while (i < end && in_class(buf[i], C_VCHAR)) {
		if (buf[i] == '#')
			return -400;
		if (i - start >= RINGD_MAX_TARGET)
			return -414;
		i++;
	}
	if (i >= end)
		return 0;
	if (buf[i] != ' ' || i == start)
		return -400;
	req->target = (struct span){ buf + start, (uint32_t)(i - start) };
	r = classify_target(req);
	if (r)
		return r;
	i++;

	r = parse_version(buf, end, &i, req);
	if (r)
		return r > 0 ? 0 : r;
	st->line_done = true;

	/* field lines, up to the empty line */
	for (;;) {
		struct span name, value;
		size_t vend;

		if (i >= end)
			return 0;
		if (buf[i] == '\r') {
			if (i + 1 >= end)
				return 0;
			if (buf[i + 1] != '\n')
				return -400;
			i += 2;
			break;
		}
		/* A line starting with whitespace is obs-fold (or whitespace before the first
		 * field, RFC 9112 §2.2); both are rejected rather than unfolded. */
		if (is_ows(buf[i]))
			return -400;
		if (++nfields > RINGD_MAX_HEADERS)
			return -431;

		/* field-name ":" with nothing between (RFC 9112 §5.1) */
		start = i;
		while (i < end && in_class(buf[i], C_TCHAR))
			i++;
		if (i >= end)
			return 0;
		if (buf[i] != ':' || i == start)
			return -400;
		name = (struct span){ buf + start, (uint32_t)(i - start) };
		i++;

		/* OWS field-value OWS CRLF; a bare LF or any control but HTAB fails the class */
		while (i < end && is_ows(buf[i]))
			i++;
		start = vend = i;
		for (;;) {
			if (i >= end)
				return 0;
			char c = buf[i];
			if (c == '\r')
				break;
			if (!in_class(c, C_FIELD))
				return -400;
			i++;
			if (!is_ows(c))
				vend = i;
		}
		if (i + 1 >= end)
			return 0;
		if (buf[i + 1] != '\n')
			return -400;
		i += 2;
		value = (struct span){ buf + start, (uint32_t)(vend - start) };
		r = on_field(req, st, name, value);
		if (r)
			return r;
	}

	/* Framing decisions need the whole head (RFC 9112 §6.1, §6.3). */
	if (st->te_seen) {
		/* TE did not exist in 1.0: treat the framing as faulty. */
		if (req->version_minor == 0)
			return -400;
		if (req->has_content_length || !req->chunked)
			return -400;
	}
	/* 1.1 needs Host even with an absolute-form target (RFC 9112 §3.2). */
	if (req->version_minor == 1 && !st->host_field.p)
		return -400;
	/* With an absolute-form target the authority wins over Host (RFC 9112 §3.2.2). */
	if (!req->host.p)
		req->host = st->host_field;
	if (req->version_minor == 1)
		req->keep_alive = !st->conn_close;
	else
		req->keep_alive = st->conn_keep_alive && !st->conn_close;
	req->head_len = (uint32_t)i;
	return (int)i;
}

int http_parse_request(const char *buf, size_t len, size_t max_head, struct http_request *req)
{
	struct parse_state st = { 0 };
	int r;

	if (max_head > HEAD_CAP)
		max_head = HEAD_CAP;
	memset(req, 0, sizeof *req);
	/* Never look past max_head: a head that does not end within it is too large
	 * whatever follows, and this bounds the work per call. */
	r = parse_head(buf, len < max_head ? len : max_head, req, &st);
	if (r != 0 || len < max_head)
		return r;
	/* Out of room. A request line that has not ended is (almost always) a huge
	 * target, so 414; otherwise the fields are too large. */
	return st.line_done ? -431 : -414;
}

/* qvalue (RFC 9110 §12.4.2) in thousandths, or -1 when malformed. */
static int qvalue(const char *p, uint32_t n)
{
	int q, scale = 100;

	if (n == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	q = (p[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (p[1] != '.' || n > 5)
		return -1;
	for (uint32_t k = 2; k < n; k++, scale /= 10) {
		if (!is_digit(p[k]))
			return -1;
		q += (p[k] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

/* The weight of one list element from its parameters (p points at the first ';' or the
 * end): 1000 unless a "q=" parameter says otherwise, -1 when that is malformed. */
static int element_weight(const char *p, uint32_t n)
{
	uint32_t i = 0;
	int q = 1000;

	while (i < n) {
		uint32_t e = skip_to(p, n, i + 1, ';');
		struct span prm = trim(p + i + 1, e - i - 1);
		if (prm.len >= 2 && (prm.p[0] == 'q' || prm.p[0] == 'Q') && prm.p[1] == '=')
			q = qvalue(prm.p + 2, prm.len - 2);
		if (q < 0)
			return -1;
		i = e;
	}
	return q;
}

bool http_list_accepts(struct span list, const char *token)
{
	size_t tlen = token ? strlen(token) : 0;
	int exact = -1, star = -1;
	uint32_t pos = 0;
	struct span e;

	if (tlen == 0)
		return false;
	while (list_next(list, &pos, &e)) {
		uint32_t k = skip_to(e.p, e.len, 0, ';');
		struct span coding = trim(e.p, k);
		int q = element_weight(e.p + k, e.len - k);
		/* A malformed weight drops the element: better not to send a coding the
		 * client may have meant to refuse. A repeated coding keeps its first weight. */
		if (q < 0)
			continue;
		if (eq_ci(coding.p, coding.len, token, tlen)) {
			if (exact < 0)
				exact = q;
		} else if (coding.len == 1 && coding.p[0] == '*') {
			if (star < 0)
				star = q;
		}
	}
	/* An explicit entry beats "*", so "*, gzip;q=0" refuses gzip. */
	if (exact >= 0)
		return exact > 0;
	return star > 0;
}
