/* conn.c — the connection table and the one connection state machine: input
 * (multishot recv into provided buffers, copied into a per-connection head buffer),
 * request framing, keep-alive and pipelining, lingering close, and the single place
 * where a connection ends (conn_close → conn_free). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <liburing.h>

#include "ringd.h"

#ifndef SOCKET_URING_OP_GETSOCKOPT
#define SOCKET_URING_OP_GETSOCKOPT 2
#endif

static struct pool rx_pool;      /* head buffers: rx_cap bytes */
static struct pool ex_pool;      /* struct exchange */
static struct pool cork_pool;    /* struct cork, while a pipelined batch is queued */
static uint32_t rx_cap;
static uint32_t *free_slots;     /* stack of FREE slot indices */
static uint32_t n_free;
static uint32_t *starved;        /* slots waiting for provided buffers to re-arm recv */
static uint32_t n_starved;
/* Provided buffers a busy connection could not take yet, chained per connection
 * (conn.held_head/held_tail) in arrival order. Stored as bid+1; 0 ends a chain. */
static uint16_t held_next[RINGD_RECV_BUFS];
static uint16_t held_len[RINGD_RECV_BUFS];

uint32_t conn_slot(const struct conn *c)
{
	return (uint32_t)(c - srv.conns);
}

int conn_table_init(uint32_t max)
{
	srv.max_conns = max;
	srv.conns = calloc(max, sizeof *srv.conns);
	free_slots = malloc(sizeof(uint32_t) * max);
	starved = malloc(sizeof(uint32_t) * max);
	if (!srv.conns || !free_slots || !starved)
		return -1;
	for (uint32_t i = 0; i < max; i++) {
		srv.conns[i].fd = -1;
		free_slots[n_free++] = max - 1 - i;
	}
	/* A head may take max_header_bytes; the rest holds what follows it (pipelined
	 * requests, the start of a body) without a second buffer. */
	rx_cap = (uint32_t)srv.cfg.max_header_bytes + RINGD_RECV_BUF_SIZE;
	if (pool_init(&rx_pool, rx_cap, max) || pool_init(&ex_pool, sizeof(struct exchange), max) ||
	    pool_init(&cork_pool, sizeof(struct cork), max))
		return -1;
	return timer_init(max);
}

/* ---- plain TCP transport ---- */

static void plain_arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 0;
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_RECV));
	c->inflight++;
	c->recv_armed = true;
}

/* Queued pipelined responses go out in front of the next send: the caller's iovecs
 * are appended to the cork's and the whole lot becomes one sendmsg. */
static const struct msghdr *uncork(struct conn *c, const struct iovec *iov, int n)
{
	struct cork *k = c->cork;
	memcpy(&k->iov[k->niov], iov, sizeof *iov * (size_t)n);
	k->msg = (struct msghdr){ .msg_iov = k->iov, .msg_iovlen = (size_t)k->niov + (size_t)n };
	k->inflight = true;
	return &k->msg;
}

static void plain_sendmsg(struct conn *c, const struct msghdr *msg);

static void plain_send(struct conn *c, const void *buf, size_t len, bool more)
{
	if (c->cork && !c->cork->inflight) {
		struct iovec one = { (void *)buf, len };
		plain_sendmsg(c, uncork(c, &one, 1));
		return;
	}
	struct io_uring_sqe *sqe = loop_sqe();
	/* MSG_WAITALL: the kernel retries a short send itself, so a CQE means all of it
	 * went or the connection failed. MSG_NOSIGNAL: a reset peer is an error, not SIGPIPE. */
	io_uring_prep_send(sqe, c->fd, buf, len, MSG_NOSIGNAL | MSG_WAITALL | (more ? MSG_MORE : 0));
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_SEND));
	c->inflight++;
}

static void plain_sendmsg(struct conn *c, const struct msghdr *msg)
{
	if (c->cork && !c->cork->inflight)
		msg = uncork(c, msg->msg_iov, (int)msg->msg_iovlen);
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_sendmsg(sqe, c->fd, msg, MSG_NOSIGNAL | MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_SEND));
	c->inflight++;
}

static void plain_send_fixed(struct conn *c, const void *buf, size_t len, int buf_index, bool more)
{
	assert(!c->cork);   /* body chunks follow a head send, which took the cork */
	struct io_uring_sqe *sqe = loop_sqe();
	/* No MSG_MORE: it would hold the chunk's last segment back until the next send,
	 * which waits for the notification that waits for that segment. */
	(void)more;
	io_uring_prep_send_zc_fixed(sqe, c->fd, buf, len, MSG_NOSIGNAL | MSG_WAITALL, 0,
				    (unsigned)buf_index);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_SEND_ZC));
	c->inflight++;
}

const struct transport plain_transport = {
	.name = "tcp",
	.arm_recv = plain_arm_recv,
	.send = plain_send,
	.sendmsg = plain_sendmsg,
	.send_fixed = plain_send_fixed,
	.can_splice = true,
};

/* Peer address for the access log: multishot accept cannot return one per
 * connection, so ask with getsockopt(SO_PEERNAME) through the ring (Linux 6.7+).
 * On older kernels the CQE fails and the log shows "-". */
static void fetch_peer(struct conn *c)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, c->fd, NULL, 0, 0);
	sqe->off = SOCKET_URING_OP_GETSOCKOPT;          /* cmd_op */
	sqe->addr = (uint64_t)SOL_SOCKET | ((uint64_t)SO_PEERNAME << 32); /* level, optname */
	/* SO_PEERNAME wants optlen no larger than the address: the listener's family. */
	sqe->splice_fd_in = c->family == AF_INET ?
		(int)sizeof(struct sockaddr_in) : (int)sizeof(struct sockaddr_in6);
	sqe->addr3 = (uint64_t)(uintptr_t)&c->peer;      /* optval */
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_PEERNAME));
	c->inflight++;
}

void conn_start(int fd, int family)
{
	if (n_free == 0) {
		/* Table full: refuse politely by closing; accept keeps running so the
		 * backlog does not hide the overload from the client. */
		loop_submit_close(fd);
		return;
	}
	struct conn *c = &srv.conns[free_slots[--n_free]];
	uint32_t gen = c->gen;
	memset(c, 0, offsetof(struct conn, tw_prev));
	c->gen = gen;
	c->fd = fd;
	c->family = (uint8_t)family;
	c->state = CONN_IDLE;
	c->tp = &plain_transport;
	c->rx = NULL;
	c->rx_len = 0;
	c->held_head = c->held_tail = 0;
	c->held_off = 0;
	c->discard = 0;
	c->ex = NULL;
	c->cork = NULL;
	c->fresh = true;
	srv.n_active++;
	fetch_peer(c);
	c->tp->arm_recv(c);
	/* The first request must arrive within header_timeout, like any later one;
	 * while stopping, within a second or two (it is answered, then closed). */
	timer_set(c, srv.stopping ? 1 : (uint32_t)srv.cfg.header_timeout);
}

/* ---- ending a connection ---- */

static void release_input(struct conn *c)
{
	while (c->held_head) {
		uint16_t bid = c->held_head - 1;
		c->held_head = held_next[bid];
		loop_recycle_buf(bid);
	}
	c->held_tail = 0;
	if (c->rx) {
		pool_put(&rx_pool, c->rx);
		c->rx = NULL;
	}
	c->rx_len = 0;
}

static void release_exchange(struct conn *c)
{
	struct exchange *ex = c->ex;
	if (!ex)
		return;
	send_release(c, ex);
	if (ex->entry)
		cache_unref(ex->entry);     /* the fd is the cache entry's */
	else if (ex->file_fd >= 0)
		loop_submit_close(ex->file_fd);
	if (ex->var_fd >= 0)
		loop_submit_close(ex->var_fd);
	pool_put(&ex_pool, ex);
	c->ex = NULL;
}

static void release_cork(struct conn *c)
{
	struct cork *k = c->cork;
	if (!k)
		return;
	for (uint16_t i = 0; i < k->nref; i++)
		cache_unref(k->ref[i]);
	pool_put(&cork_pool, k);
	c->cork = NULL;
}

static void conn_free(struct conn *c)
{
	assert(c->state == CONN_CLOSING && c->inflight == 0);
	release_cork(c);
	release_exchange(c);
	release_input(c);
	loop_submit_close(c->fd);
	c->fd = -1;
	c->state = CONN_FREE;
	c->gen++;
	free_slots[n_free++] = conn_slot(c);
	srv.n_active--;
	listen_resume();
}

void conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSING || c->state == CONN_FREE)
		return;
	c->state = CONN_CLOSING;
	timer_set(c, 0);
	if (c->inflight) {
		/* Everything still queued on the socket (and the file) must complete before
		 * the slot, its buffers and the fds are released: cancel it all. */
		struct io_uring_sqe *sqe = loop_sqe();
		io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, conn_ud(c, OP_CANCEL));
		c->inflight++;
		if (c->ex && c->ex->file_fd >= 0) {
			sqe = loop_sqe();
			io_uring_prep_cancel_fd(sqe, c->ex->file_fd, IORING_ASYNC_CANCEL_ALL);
			io_uring_sqe_set_data64(sqe, conn_ud(c, OP_CANCEL));
			c->inflight++;
		}
		return;
	}
	conn_free(c);
}

void conn_abort(struct conn *c, const char *why)
{
	if (c->ex) {
		log_msg(LOGL_WARN, "%s: response aborted after %llu of %llu body bytes: %s",
			c->ex->path, (unsigned long long)c->ex->body_sent,
			(unsigned long long)c->ex->body_len, why);
		log_access(c, c->ex);
	}
	conn_close(c);
}

/* After the last response on a connection: shut our write side and read until the
 * client closes (or a few seconds pass), so that unread input (a rejected body, a
 * pipelined request) does not make the kernel answer with a reset that could
 * destroy the response before the client reads it. */
static void start_linger(struct conn *c)
{
	c->state = CONN_LINGER;
	release_exchange(c);
	release_input(c);
	if (c->eof) {
		conn_close(c);
		return;
	}
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_SHUTDOWN));
	c->inflight++;
	if (!c->recv_armed)
		c->tp->arm_recv(c);
	timer_set(c, RINGD_LINGER_SECS);
}

/* ---- input ---- */

static void hold_buf(struct conn *c, uint16_t bid, uint32_t len)
{
	held_next[bid] = 0;
	held_len[bid] = (uint16_t)len;
	if (c->held_tail)
		held_next[c->held_tail - 1] = bid + 1;
	else
		c->held_head = bid + 1;
	c->held_tail = bid + 1;
}

/* Move held data into rx while it fits, oldest first. */
static void pull_held(struct conn *c)
{
	while (c->held_head && c->rx_len < rx_cap) {
		uint16_t bid = c->held_head - 1;
		uint32_t avail = held_len[bid] - c->held_off;
		uint32_t n = rx_cap - c->rx_len < avail ? rx_cap - c->rx_len : avail;
		if (!c->rx && !(c->rx = pool_get(&rx_pool)))
			return;
		memcpy(c->rx + c->rx_len, loop_buf(bid) + c->held_off, n);
		c->rx_len += n;
		c->held_off += n;
		if (c->held_off == held_len[bid]) {
			c->held_head = held_next[bid];
			if (!c->held_head)
				c->held_tail = 0;
			c->held_off = 0;
			loop_recycle_buf(bid);
		}
	}
}

static void drop_front(struct conn *c, uint32_t n)
{
	memmove(c->rx, c->rx + n, c->rx_len - n);
	c->rx_len -= n;
	if (c->rx_len == 0) {
		pool_put(&rx_pool, c->rx);
		c->rx = NULL;
	}
}

static bool busy(const struct conn *c)
{
	return c->state == CONN_RESOLVING || c->state == CONN_SENDING ||
	       (c->cork && c->cork->inflight);
}

static struct exchange *new_exchange(struct conn *c)
{
	struct exchange *ex = pool_get(&ex_pool); /* one per slot: cannot run out */
	memset(ex, 0, offsetof(struct exchange, path));
	ex->file_fd = ex->var_fd = -1;
	ex->pipe = -1;
	ex->zc = -1;
	ex->path[0] = 0;
	c->ex = ex;
	return ex;
}

/* Parse and start as many requests as the state allows. Called when input arrives
 * and when a response completes (pipelining). */
static void process_input(struct conn *c)
{
	for (;;) {
		if (c->state == CONN_LINGER || c->state == CONN_CLOSING)
			return;
		pull_held(c);
		if (busy(c))
			return;
		if (c->discard && c->rx_len) {
			uint32_t n = c->discard < c->rx_len ? (uint32_t)c->discard : c->rx_len;
			drop_front(c, n);
			c->discard -= n;
			continue;
		}
		if (c->discard || c->rx_len == 0)
			break;

		struct http_request req;
		int r = http_parse_request(c->rx, c->rx_len, (size_t)srv.cfg.max_header_bytes, &req);
		if (r == 0) {
			if (c->state == CONN_IDLE) {
				c->state = CONN_READING;
				timer_set(c, (uint32_t)srv.cfg.header_timeout);
			}
			break;
		}
		c->fresh = false;
		struct exchange *ex = new_exchange(c);
		if (r < 0) {
			c->closing_after = true;
			c->state = CONN_SENDING;
			resp_error(c, -r);
			return;
		}
		ex->req = req;
		ex->head_only = req.method == HTTP_HEAD;
		ex->keep_alive = req.keep_alive && !srv.stopping;
		srv.requests++;
		if (req.chunked) {
			/* We never need a request body; without decoding the chunks we cannot
			 * find the next request, so this is the last one on the connection. */
			ex->keep_alive = false;
			c->closing_after = true;
		} else if (req.has_content_length && req.content_length > RINGD_MAX_BODY_DISCARD) {
			c->closing_after = true;
			c->state = CONN_SENDING;
			resp_error(c, 413);
			return;
		}
		c->state = CONN_RESOLVING;
		timer_set(c, (uint32_t)srv.cfg.send_timeout);
		file_begin(c);
		if (c->state == CONN_IDLE)
			continue;   /* answered from memory into the cork: on to the next one */
		return;
	}
	if (c->state == CONN_READING && c->rx_len == 0 && !c->discard) {
		c->state = CONN_IDLE;
	}
	if (c->cork && !c->cork->inflight) {
		/* What followed the corked responses was not a request after all (blank
		 * lines): send them on their own; busy() holds the next one back. */
		struct msghdr none = { 0 };
		c->tp->sendmsg(c, &none);
	}
	if (!c->recv_armed && !c->held_head && !c->eof && !c->starved)
		c->tp->arm_recv(c);
	if (c->cork)
		return;   /* its send completes first */
	if (c->eof && c->state == CONN_IDLE)
		conn_close(c);
	else if (c->eof && c->state == CONN_READING)
		conn_close(c); /* the client will never finish this head */
}

static void on_recv(struct conn *c, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		uint16_t bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);
		if (c->state == CONN_LINGER || c->state == CONN_CLOSING) {
			loop_recycle_buf(bid);
			if (c->state == CONN_LINGER && !c->recv_armed)
				c->tp->arm_recv(c);
			return;
		}
		hold_buf(c, bid, (uint32_t)res);
		pull_held(c);
		if (c->held_head && busy(c) && c->recv_armed) {
			/* Back-pressure: a pipelining client got ahead of us. Stop reading; the
			 * kernel's socket buffer (and TCP) hold the rest until we catch up. */
			struct io_uring_sqe *sqe = loop_sqe();
			io_uring_prep_cancel64(sqe, conn_ud(c, OP_RECV), 0);
			io_uring_sqe_set_data64(sqe, conn_ud(c, OP_CANCEL));
			c->inflight++;
		}
		/* Not busy with rx full: the parser sees max_header_bytes and answers 431. */
		process_input(c);
		return;
	}
	if (res == 0) {
		c->eof = true;
		/* With a cork in flight, process_input closes once it has gone. */
		if (c->state == CONN_LINGER ||
		    (!c->cork && (c->state == CONN_IDLE || c->state == CONN_READING)))
			conn_close(c);
		/* Busy: the client half-closed but may still read; finish, then close. */
		return;
	}
	if (res == -ENOBUFS) {
		if (!c->starved && c->state != CONN_CLOSING) {
			c->starved = true;
			starved[n_starved++] = conn_slot(c);
		}
		return;
	}
	if (res == -ECANCELED) {
		/* Our back-pressure cancel: read again once the held input is used up. */
		if (!c->recv_armed && !c->held_head && !c->eof &&
		    c->state != CONN_CLOSING && c->state != CONN_FREE)
			c->tp->arm_recv(c);
		return;
	}
	if (res < 0) {
		log_msg(LOGL_DEBUG, "recv: %s (state %d)", strerror(-res), c->state);
		if (c->state == CONN_SENDING || c->state == CONN_RESOLVING)
			conn_abort(c, strerror(-res));
		else
			conn_close(c);
		return;
	}
	/* Multishot ended without error (e.g. CQ overflow): read on. */
	if (!c->recv_armed && c->state != CONN_CLOSING)
		c->tp->arm_recv(c);
}

void conn_after_batch(void)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < n_starved; i++) {
		struct conn *c = &srv.conns[starved[i]];
		if (!c->starved)
			continue;
		if (c->state == CONN_CLOSING || c->state == CONN_FREE) {
			c->starved = false;
			continue;
		}
		if (loop_bufs_free() == 0) {
			starved[n++] = starved[i];   /* still none: wait for a recycle */
			continue;
		}
		c->starved = false;
		if (!c->recv_armed && !c->held_head)
			c->tp->arm_recv(c);
	}
	n_starved = n;
}

void conn_trim_pools(void)
{
	pool_trim(&rx_pool);
	pool_trim(&ex_pool);
	pool_trim(&cork_pool);
}

/* ---- responses finishing, timeouts, graceful stop ---- */

void conn_response_done(struct conn *c)
{
	struct exchange *ex = c->ex;
	assert(c->state == CONN_SENDING);
	log_access(c, ex);
	/* A client that half-closed still gets answers to the requests it sent before
	 * (process_input closes once no complete request is left). */
	bool keep = ex->keep_alive && !c->closing_after && !srv.stopping &&
		    srv.cfg.keepalive_timeout > 0;
	if (ex->req.head_len && c->rx) {
		/* The head stayed in rx until now so the spans in ex->req stayed valid. */
		drop_front(c, ex->req.head_len);
		if (ex->req.has_content_length)
			c->discard = ex->req.content_length;
	}
	release_exchange(c);
	if (!keep) {
		start_linger(c);
		return;
	}
	c->state = CONN_IDLE;
	timer_set(c, (uint32_t)srv.cfg.keepalive_timeout);
	process_input(c);
}

bool conn_cork(struct conn *c, const char *head, uint32_t hlen, const char *body, uint32_t blen)
{
	struct exchange *ex = c->ex;
	const struct http_request *req = &ex->req;
	if (!ex->keep_alive || c->closing_after || srv.stopping || srv.cfg.keepalive_timeout <= 0 ||
	    req->has_content_length || req->chunked || !c->rx)
		return false;
	/* Only when the next head is already whole: its response will carry this one. */
	if (!memmem(c->rx + req->head_len, c->rx_len - req->head_len, "\r\n\r\n", 4))
		return false;
	struct cork *k = c->cork;
	if (k && (k->inflight || k->nref == RINGD_CORK_RESPONSES ||
		  k->niov + 2 > 2 * RINGD_CORK_RESPONSES || k->heads_len + hlen > sizeof k->heads))
		return false;
	if (!k) {
		if (hlen > sizeof k->heads || !(k = pool_get(&cork_pool)))
			return false;
		k->bytes = k->heads_len = 0;
		k->niov = k->nref = 0;
		k->inflight = false;
		c->cork = k;
	}
	memcpy(k->heads + k->heads_len, head, hlen);
	/* Adjacent heads (no body between them) share one iovec. */
	struct iovec *last = k->niov ? &k->iov[k->niov - 1] : NULL;
	if (last && (char *)last->iov_base + last->iov_len == k->heads + k->heads_len)
		last->iov_len += hlen;
	else
		k->iov[k->niov++] = (struct iovec){ k->heads + k->heads_len, hlen };
	k->heads_len += hlen;
	k->bytes += hlen;
	if (blen) {
		k->iov[k->niov++] = (struct iovec){ (void *)body, blen };
		k->bytes += blen;
		cache_ref(ex->entry);
		k->ref[k->nref++] = ex->entry;
		ex->body_sent = blen;
	}
	/* The response is done as far as this connection is concerned. */
	log_access(c, ex);
	drop_front(c, req->head_len);
	release_exchange(c);
	c->state = CONN_IDLE;
	return true;
}

/* A send completed that carried the cork in front: take the cork's bytes off the
 * count. MSG_WAITALL makes a short send mean the connection failed. */
static int corked_sent(struct conn *c, int res)
{
	uint32_t bytes = c->cork->bytes;
	release_cork(c);
	if (res >= 0 && (uint32_t)res < bytes) {
		conn_abort(c, "connection failed during a pipelined send");
		return -EPIPE;
	}
	return res < 0 ? res : res - (int)bytes;
}

void conn_timeout(struct conn *c)
{
	switch (c->state) {
	case CONN_READING:
		if (c->cork) {
			conn_close(c);   /* its send never finished: no 408 behind it */
			break;
		}
		/* A head that never finished (slowloris): say so, then close. */
		c->closing_after = true;
		new_exchange(c);
		c->state = CONN_SENDING;
		timer_set(c, (uint32_t)srv.cfg.send_timeout);
		resp_error(c, 408);
		break;
	case CONN_RESOLVING:
	case CONN_SENDING:
		conn_abort(c, "send timeout");
		break;
	case CONN_IDLE:
	case CONN_LINGER:
		conn_close(c);
		break;
	default:
		break;
	}
}

void conn_drain_all(bool force)
{
	for (uint32_t i = 0; i < srv.max_conns; i++) {
		struct conn *c = &srv.conns[i];
		if (!force && c->fresh && (c->state == CONN_IDLE || c->state == CONN_READING))
			timer_set(c, 1);   /* just connected: its request is likely on the way */
		else if (c->state == CONN_IDLE || c->state == CONN_READING || c->state == CONN_LINGER)
			conn_close(c);
		else if (force && (c->state == CONN_RESOLVING || c->state == CONN_SENDING))
			conn_abort(c, "shutdown_timeout reached");
		/* Otherwise busy ones see srv.stopping when their response ends and close then. */
	}
}

void conn_complete(enum op op, struct conn *c, int res, unsigned flags)
{
	/* A zero-copy send is done for the connection at its own CQE; the notification
	 * after it only frees the buffer, and may come after the connection is gone
	 * (send_zc_orphan_notified), so it is not waited for here. */
	if (op == OP_SEND_ZC ? !(flags & IORING_CQE_F_NOTIF) : !(flags & IORING_CQE_F_MORE))
		c->inflight--;
	switch (op) {
	case OP_RECV:
		on_recv(c, res, flags);
		break;
	case OP_PEERNAME:
		c->peer_ok = res > 0;
		break;
	case OP_OPEN:
	case OP_STATX:
		if (c->state == CONN_RESOLVING) {
			file_complete(c, op, res);
			if (c->state == CONN_IDLE)
				process_input(c);   /* corked: the next request is waiting */
		} else if (op == OP_OPEN && res >= 0)
			loop_submit_close(res);   /* the connection died while the open ran */
		break;
	case OP_SEND:
		if (c->cork && c->cork->inflight) {
			res = corked_sent(c, res);
			if (c->state == CONN_IDLE || c->state == CONN_READING) {
				/* The cork went alone; go on reading. */
				if (res < 0)
					conn_close(c);
				else
					process_input(c);
				break;
			}
		}
		if (c->state == CONN_SENDING)
			send_complete(c, op, res);
		break;
	case OP_SEND_ZC:
		send_zc_complete(c, res, flags);
		break;
	case OP_READ:
	case OP_SPLICE_IN:
	case OP_SPLICE_OUT:
	case OP_POLL_OUT:
		if (c->state == CONN_SENDING)
			send_complete(c, op, res);
		break;
	default:
		break;
	}
	if (c->state == CONN_CLOSING && c->inflight == 0)
		conn_free(c);
}
