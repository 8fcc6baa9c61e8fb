/* log.c — access and error logs. Lines are formatted into a buffer and written with
 * one WRITE SQE per log per loop iteration (redis's before-sleep model); while a
 * write is in flight new lines go into the other half of a double buffer. Before
 * the loop runs (start-up), messages are written directly. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "ringd.h"

enum { LOG_ACCESS, LOG_ERROR, LOG_COUNT };

struct logbuf {
	int fd;                    /* -1: off */
	bool own_fd;               /* opened by us from a path (reopened on SIGUSR1) */
	char path[4096];
	char buf[2][RINGD_LOG_BUF];
	uint32_t len[2];
	int cur;                   /* half being filled */
	bool writing;              /* the other half is in flight */
	uint32_t wr_off;           /* bytes of the in-flight half already written */
	uint64_t dropped;
};

static struct logbuf logs[LOG_COUNT] = { { .fd = STDERR_FILENO }, { .fd = STDERR_FILENO } };
static bool in_loop;
static int my_pid;
static enum log_level min_level = LOGL_INFO;
static enum log_format access_format;
static char current_spec[LOG_COUNT][4096];  /* as configured, to see what a reload changes */

static int open_path(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

static int setup(struct logbuf *l, const char *spec, char *err, size_t errlen)
{
	l->own_fd = false;
	if (!strcmp(spec, "off")) {
		l->fd = -1;
	} else if (!strcmp(spec, "stderr") || !spec[0]) {
		l->fd = STDERR_FILENO;
	} else {
		snprintf(l->path, sizeof l->path, "%s", spec);
		l->fd = open_path(spec, err, errlen);
		if (l->fd < 0)
			return -1;
		l->own_fd = true;
	}
	return 0;
}

int log_open(const struct config *cfg, char *err, size_t errlen)
{
	min_level = cfg->log_level;
	access_format = cfg->log_format;
	if (setup(&logs[LOG_ACCESS], cfg->access_log, err, errlen) ||
	    setup(&logs[LOG_ERROR], cfg->error_log, err, errlen))
		return -1;
	snprintf(current_spec[LOG_ACCESS], sizeof current_spec[0], "%s", cfg->access_log);
	snprintf(current_spec[LOG_ERROR], sizeof current_spec[0], "%s", cfg->error_log);
	return 0;
}

/* Reload: open logs whose path changed (blocking, as configuration loading may),
 * and take the new format and level. Nothing changes unless every open worked. */
int log_reconfigure(const struct config *next, char *err, size_t errlen)
{
	const char *spec[LOG_COUNT] = { next->access_log, next->error_log };
	const char *cur[LOG_COUNT] = { current_spec[LOG_ACCESS], current_spec[LOG_ERROR] };
	int fd[LOG_COUNT] = { -2, -2 };   /* -2: unchanged */
	for (int i = 0; i < LOG_COUNT; i++) {
		if (!strcmp(spec[i], cur[i]))
			continue;
		if (!strcmp(spec[i], "off"))
			fd[i] = -1;
		else if (!strcmp(spec[i], "stderr") || !spec[i][0])
			fd[i] = STDERR_FILENO;
		else if ((fd[i] = open_path(spec[i], err, errlen)) < 0) {
			for (int j = 0; j < i; j++)
				if (fd[j] > STDERR_FILENO)
					close(fd[j]);
			return -1;
		}
	}
	for (int i = 0; i < LOG_COUNT; i++) {
		struct logbuf *l = &logs[i];
		if (fd[i] == -2)
			continue;
		if (l->own_fd)
			loop_submit_close(l->fd);   /* a write in flight keeps its own reference */
		l->own_fd = fd[i] > STDERR_FILENO;
		if (l->own_fd)
			snprintf(l->path, sizeof l->path, "%s", spec[i]);
		if (fd[i] < 0) {
			l->len[0] = l->len[1] = 0;   /* off: drop what was buffered */
			l->writing = false;
		}
		l->fd = fd[i];
		snprintf(current_spec[i], sizeof current_spec[i], "%s", spec[i]);
	}
	min_level = next->log_level;
	access_format = next->log_format;
	return 0;
}

void log_chown(unsigned uid, unsigned gid)
{
	for (int i = 0; i < LOG_COUNT; i++)
		if (logs[i].own_fd && fchown(logs[i].fd, uid, gid) < 0)
			log_msg(LOGL_WARN, "chown %s: %s", logs[i].path, strerror(errno));
}

void log_loop_started(void)
{
	my_pid = (int)getpid();
	in_loop = true;
}

static void append(int which, const char *s, size_t n)
{
	struct logbuf *l = &logs[which];
	if (l->fd < 0)
		return;
	if (!in_loop) {
		/* Start-up: blocking is allowed and the message must not wait. */
		if (write(l->fd, s, n) < 0) {
			/* nowhere left to report it */
		}
		return;
	}
	if (l->len[l->cur] + n > RINGD_LOG_BUF) {
		/* Both halves full: the disk is slower than the traffic. Count, don't block. */
		l->dropped++;
		return;
	}
	memcpy(l->buf[l->cur] + l->len[l->cur], s, n);
	l->len[l->cur] += (uint32_t)n;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	if (lvl > min_level)
		return;
	char line[1024];
	int n = snprintf(line, sizeof line, "ringd[%d]: %s: ", in_loop ? my_pid : (int)getpid(),
			 names[lvl]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : ((size_t)m < sizeof line - (size_t)n - 1 ? (size_t)m : sizeof line - (size_t)n - 2));
	line[len++] = '\n';
	append(LOG_ERROR, line, len);
}

/* Copy a request field into the log, escaping what could forge a line or break
 * the quoting (nginx escapes the same way). */
static size_t esc(char *out, size_t cap, const char *s, size_t n, bool json)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 6 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == '"' || ch == '\\' || ch >= 0x7f) {
			if (json && ch >= 0x7f) {
				out[o++] = (char)ch;   /* JSON strings carry UTF-8 as is */
				continue;
			}
			out[o++] = '\\';
			if (json) {
				if (ch == '"' || ch == '\\') {
					out[o++] = (char)ch;
					continue;
				}
				out[o++] = 'u';
				out[o++] = '0';
				out[o++] = '0';
			} else {
				out[o++] = 'x';
			}
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = 0;
	return o;
}

static void peer_text(const struct conn *c, char *out, size_t cap)
{
	if (!c->peer_ok) {
		snprintf(out, cap, "-");
		return;
	}
	if (c->peer.v4.sin_family == AF_INET) {
		inet_ntop(AF_INET, &c->peer.v4.sin_addr, out, (socklen_t)cap);
	} else {
		const struct in6_addr *a = &c->peer.v6.sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)cap);
	}
}

void log_access(const struct conn *c, const struct exchange *ex)
{
	if (logs[LOG_ACCESS].fd < 0)
		return;
	static time_t tcached = -1;
	static char tclf[32], tiso[32];
	if (tcached != srv.wall) {
		struct tm tm;
		gmtime_r(&srv.wall, &tm);
		strftime(tclf, sizeof tclf, "%d/%b/%Y:%H:%M:%S +0000", &tm);
		strftime(tiso, sizeof tiso, "%Y-%m-%dT%H:%M:%SZ", &tm);
		tcached = srv.wall;
	}
	const struct http_request *r = &ex->req;
	bool json = access_format == LOG_JSON;
	char peer[INET6_ADDRSTRLEN], method[64], target[1024], ref[512], ua[512];
	peer_text(c, peer, sizeof peer);
	esc(method, sizeof method, r->method_name.p, r->method_name.len, json);
	esc(target, sizeof target, r->target.p, r->target.len, json);
	esc(ref, sizeof ref, r->referer.p, r->referer.len, json);
	esc(ua, sizeof ua, r->user_agent.p, r->user_agent.len, json);
	char line[3072];
	int n;
	if (json) {
		n = snprintf(line, sizeof line,
			     "{\"time\":\"%s\",\"remote\":\"%s\",\"method\":\"%s\",\"path\":\"%s\","
			     "\"protocol\":\"HTTP/1.%d\",\"status\":%d,\"bytes\":%llu,"
			     "\"referer\":\"%s\",\"user_agent\":\"%s\"}\n",
			     tiso, peer, method, target, r->version_minor, ex->status,
			     (unsigned long long)ex->body_sent, ref, ua);
	} else {
		const char *req_line = r->method_name.len ? NULL : "-";
		char rl[1200];
		if (!req_line) {
			snprintf(rl, sizeof rl, "%s %s HTTP/1.%d", method, target, r->version_minor);
			req_line = rl;
		}
		n = snprintf(line, sizeof line, "%s - - [%s] \"%s\" %d %llu", peer, tclf, req_line,
			     ex->status, (unsigned long long)ex->body_sent);
		if (access_format == LOG_COMBINED && n > 0 && (size_t)n < sizeof line)
			n += snprintf(line + n, sizeof line - (size_t)n, " \"%s\" \"%s\"",
				      ref[0] ? ref : "-", ua[0] ? ua : "-");
		if (n > 0 && (size_t)n < sizeof line - 1)
			line[n++] = '\n';
	}
	if (n > 0 && (size_t)n < sizeof line)
		append(LOG_ACCESS, line, (size_t)n);
}

static void submit(int which)
{
	struct logbuf *l = &logs[which];
	int half = l->cur ^ 1;
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_write(sqe, l->fd, l->buf[half] + l->wr_off, l->len[half] - l->wr_off, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, ud_pack(OP_LOG_WRITE, (uint32_t)which, 0));
	l->writing = true;
}

void log_flush(void)
{
	for (int i = 0; i < LOG_COUNT; i++) {
		struct logbuf *l = &logs[i];
		if (l->fd < 0 || l->writing || l->len[l->cur] == 0)
			continue;
		l->cur ^= 1;          /* the filled half goes out; the empty one takes lines */
		l->len[l->cur] = 0;
		l->wr_off = 0;
		submit(i);
	}
}

void log_write_done(uint32_t which, int res)
{
	struct logbuf *l = &logs[which];
	int half = l->cur ^ 1;
	if (res > 0 && l->wr_off + (uint32_t)res < l->len[half]) {
		l->wr_off += (uint32_t)res;   /* short write: the rest */
		submit((int)which);
		return;
	}
	/* Done, or failed (disk full): either way this half is finished. */
	l->len[half] = 0;
	l->writing = false;
}

bool log_idle(void)
{
	for (int i = 0; i < LOG_COUNT; i++)
		if (logs[i].fd >= 0 && (logs[i].writing || logs[i].len[logs[i].cur]))
			return false;
	return true;
}

/* SIGUSR1, for logrotate: open each log file again by path, through the ring. */
void log_reopen(void)
{
	for (int i = 0; i < LOG_COUNT; i++) {
		struct logbuf *l = &logs[i];
		if (!l->own_fd)
			continue;
		struct io_uring_sqe *sqe = loop_sqe();
		io_uring_prep_openat(sqe, AT_FDCWD, l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		io_uring_sqe_set_data64(sqe, ud_pack(OP_LOG_REOPEN, (uint32_t)i, 0));
	}
}

void log_reopened(uint32_t which, int res)
{
	struct logbuf *l = &logs[which];
	if (res < 0) {
		log_msg(LOGL_ERROR, "reopen %s: %s", l->path, strerror(-res));
		return;
	}
	/* A write still in flight holds its own reference to the old file. */
	loop_submit_close(l->fd);
	l->fd = res;
	log_msg(LOGL_INFO, "reopened %s", l->path);
}
