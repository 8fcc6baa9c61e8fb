/* send.c — the response on the wire: conditionals and ranges decide what is sent,
 * the head leaves with a small body in one send, and larger bodies go by one of two
 * swappable methods ([http] body):
 *   splice  file → pipe → socket, linked SQE pairs; no copy through user space.
 *   read    file → 256 KiB buffer → send, linked READ+SEND pairs.
 * The socket is non-blocking, so a spliced write to a full socket returns EAGAIN
 * instead of parking an io-wq thread; we then poll for POLLOUT and retry.
 * With read, chunks go into registered buffers while any are free (READ_FIXED +
 * SEND_ZC: the socket takes the buffer's pages instead of a copy); the buffer is
 * reused only after the kernel's notification CQE says it let go of them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <liburing.h>

#include "ringd.h"

enum { PHASE_HEAD = 0, PHASE_BODY = 1 };

struct pipe_ent {
	int rfd, wfd;
};
static struct pipe_ent pipes[RINGD_PIPES];
static int pipe_free[RINGD_PIPES];
static int n_pipes, n_pipe_free;
static uint32_t pipe_size;         /* every pipe's capacity, at least 4 KiB */
static struct pool chunk_pool;
static uint32_t pool_chunks_out;   /* chunks of chunk_pool in use */
static char drain_scratch[65536];  /* what aborted pipes held; contents never read */

/* Registered chunk buffers for zero-copy sends. Pinned memory counts against
 * RLIMIT_MEMLOCK (8 MiB by default), so there are few: when all are busy a
 * response uses a pool chunk and plain sends. */
#define ZC_RING_RESERVE (1u << 20)   /* per worker, for its ring (about 0.55 MiB) */
#define ZC_BUFS_MAX 32
static char *zc_mem;
static int zc_free[ZC_BUFS_MAX], n_zc_free;
/* A buffer whose connection ended before the kernel's notification came: the
 * socket may still hold its pages (a client that stopped reading). It is free
 * again when that notification arrives, found by the slot it was sent from. */
static int32_t zc_orphan_slot[ZC_BUFS_MAX];   /* -1: not an orphan */

static bool slot_has_orphan(uint32_t slot)
{
	for (int i = 0; i < ZC_BUFS_MAX; i++)
		if (zc_orphan_slot[i] == (int32_t)slot)
			return true;
	return false;
}

void send_zc_orphan_notified(uint32_t slot)
{
	for (int i = 0; i < ZC_BUFS_MAX; i++)
		if (zc_orphan_slot[i] == (int32_t)slot) {
			zc_orphan_slot[i] = -1;
			zc_free[n_zc_free++] = i;
			return;
		}
}

static void zc_init(void)
{
	/* The kernel charges rings and registered buffers to the user, not the process:
	 * all workers (and whatever else runs as this user) share one RLIMIT_MEMLOCK.
	 * Each worker takes at most a quarter of its share of what is left after every
	 * worker's ring, leaving the rest to rings and to the user's other processes;
	 * a registration that fails anyway only means plain sends. */
	struct rlimit rl;
	int n = ZC_BUFS_MAX;
	rlim_t workers = (rlim_t)srv.n_workers;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		rlim_t rings = workers * ZC_RING_RESERVE;
		rlim_t share = rl.rlim_cur > rings ? (rl.rlim_cur - rings) / 4 / workers : 0;
		if (share / RINGD_CHUNK_SIZE < (rlim_t)n)
			n = (int)(share / RINGD_CHUNK_SIZE);
	}
	for (int i = 0; i < ZC_BUFS_MAX; i++)
		zc_orphan_slot[i] = -1;
	if (n <= 0)
		return;
	zc_mem = mmap(NULL, (size_t)n * RINGD_CHUNK_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zc_mem == MAP_FAILED) {
		zc_mem = NULL;
		return;
	}
	struct iovec iov[ZC_BUFS_MAX];
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ zc_mem + (size_t)i * RINGD_CHUNK_SIZE, RINGD_CHUNK_SIZE };
	int r = loop_register_buffers(iov, (unsigned)n);
	if (r < 0) {
		log_msg(LOGL_INFO, "no registered buffers (%s): large bodies use plain sends",
			strerror(-r));
		munmap(zc_mem, (size_t)n * RINGD_CHUNK_SIZE);
		zc_mem = NULL;
		return;
	}
	for (int i = n - 1; i >= 0; i--)
		zc_free[n_zc_free++] = i;
}

/* A whole number from a /proc/sys file, or -1. Start-up only. */
static long read_sysctl(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int send_pipes_init(void)
{
	if (pool_init(&chunk_pool, RINGD_CHUNK_SIZE, srv.max_conns))
		return -1;
	if (srv.cfg.body != BODY_SPLICE) {
		zc_init();
		return 0;
	}
	/* Pipes are made here because making one in the loop would be a syscall. When
	 * all are busy, a response falls back to body=read.
	 *
	 * Two limits bound them. Each pipe costs two descriptors: leave most of
	 * RLIMIT_NOFILE to connections. And the kernel counts pipe pages per user
	 * (fs.pipe-user-pages-soft, 64 MiB by default, shared by all workers and the
	 * user's other processes): past it, a new pipe gets 2 pages and cannot grow.
	 * Such a pipe would make every splice short, so a pipe that does not reach
	 * pipe_size is not used at all, and we take at most half the soft limit. */
	pipe_size = RINGD_PIPE_SIZE;
	long max = read_sysctl("/proc/sys/fs/pipe-max-size");
	if (max > 0 && max < (long)pipe_size)
		pipe_size = (uint32_t)max & ~4095u;
	int want = RINGD_PIPES;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 16 < (rlim_t)want)
		want = (int)(rl.rlim_cur / 16);
	long soft = read_sysctl("/proc/sys/fs/pipe-user-pages-soft");   /* 0: no limit */
	long workers = srv.n_workers;
	if (soft > 0 && soft * 4096 / 2 / workers / pipe_size < want)
		want = (int)(soft * 4096 / 2 / workers / pipe_size);
	for (int i = 0; i < want && pipe_size >= 4096; i++) {
		int fds[2];
		if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
			break;
		int got = fcntl(fds[1], F_SETPIPE_SZ, pipe_size);
		if (got < (int)pipe_size) {
			close(fds[0]);
			close(fds[1]);
			break;
		}
		pipes[i] = (struct pipe_ent){ fds[0], fds[1] };
		pipe_free[n_pipe_free++] = i;
		n_pipes++;
	}
	if (n_pipes == 0)
		log_msg(LOGL_WARN, "no pipes for body=splice (descriptor or pipe-page limit); bodies use body=read");
	else
		log_msg(LOGL_DEBUG, "body=splice: %d pipes of %u KiB", n_pipes, pipe_size / 1024);
	return 0;
}

static void drain_pipe(int p)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_read(sqe, pipes[p].rfd, drain_scratch, sizeof drain_scratch, 0);
	io_uring_sqe_set_data64(sqe, ud_pack(OP_PIPE_DRAIN, (uint32_t)p, 0));
}

void send_trim_pools(void)
{
	pool_trim(&chunk_pool);
}

void send_pipe_drained(uint32_t p, int res)
{
	if (res > 0)
		drain_pipe((int)p);          /* more may be left */
	else
		pipe_free[n_pipe_free++] = (int)p;  /* EAGAIN: empty, reusable */
}

void send_release(struct conn *c, struct exchange *ex)
{
	if (ex->pipe >= 0) {
		/* A finished response leaves the pipe empty; an aborted one may not, and
		 * the next user must not send someone else's bytes. */
		if (ex->pipe_fill || ex->body_left)
			drain_pipe(ex->pipe);
		else
			pipe_free[n_pipe_free++] = ex->pipe;
		ex->pipe = -1;
		srv.n_streaming--;
	}
	if (ex->chunk) {
		if (ex->zc >= 0 && ex->zc_wait)
			zc_orphan_slot[ex->zc] = (int32_t)conn_slot(c);
		else if (ex->zc >= 0)
			zc_free[n_zc_free++] = ex->zc;
		else if (ex->chunk != ex->tx) {
			pool_put(&chunk_pool, ex->chunk);
			pool_chunks_out--;
		}
		ex->chunk = NULL;
		ex->zc = -1;
		srv.n_streaming--;
	}
}

/* ---- body=read ---- */

/* Send len bytes of the chunk from buf: zero-copy from a registered buffer. */
static void send_from_chunk(struct conn *c, const char *buf, uint32_t len, bool more)
{
	struct exchange *ex = c->ex;
	if (ex->zc >= 0)
		c->tp->send_fixed(c, buf, len, ex->zc, more);
	else
		c->tp->send(c, buf, len, more);
}

static void next_chunk(struct conn *c)
{
	struct exchange *ex = c->ex;
	uint32_t len = ex->body_left < ex->chunk_cap ? (uint32_t)ex->body_left : ex->chunk_cap;
	struct io_uring_sqe *sqe = loop_sqe();
	if (ex->zc >= 0)
		io_uring_prep_read_fixed(sqe, ex->file_fd, ex->chunk, len, ex->body_off, ex->zc);
	else
		io_uring_prep_read(sqe, ex->file_fd, ex->chunk, len, ex->body_off);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_READ));
	/* A short read (the file shrank) cancels the send: no garbage is ever sent. */
	sqe->flags |= IOSQE_IO_LINK;
	c->inflight++;
	ex->chunk_len = len;
	ex->chunk_sent = 0;
	ex->piece = ex->chunk;
	send_from_chunk(c, ex->chunk, len, ex->body_left > len);
}

/* The body is in the cache entry's memory: one send of all of it. */
static void send_memory(struct conn *c)
{
	struct exchange *ex = c->ex;
	ex->piece = ex->body_mem + ex->body_off;
	ex->chunk_len = (uint32_t)ex->body_left;
	ex->chunk_sent = 0;
	c->tp->send(c, ex->piece, ex->chunk_len, false);
}

/* ---- body=splice ---- */

static void next_splice(struct conn *c)
{
	struct exchange *ex = c->ex;
	struct pipe_ent *p = &pipes[ex->pipe];
	/* A pipe holds pipe_size/4096 pages: from an unaligned offset a full-size
	 * chunk would span one page more and come back short. End chunks on a page. */
	uint32_t room = pipe_size - (uint32_t)(ex->body_off & 4095);
	uint32_t len = ex->body_left < room ? (uint32_t)ex->body_left : room;
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_splice(sqe, ex->file_fd, (int64_t)ex->body_off, p->wfd, -1, len, 0);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_SPLICE_IN));
	sqe->flags |= IOSQE_IO_LINK;
	c->inflight++;
	sqe = loop_sqe();
	io_uring_prep_splice(sqe, p->rfd, -1, c->fd, -1, len, SPLICE_F_MOVE);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_SPLICE_OUT));
	c->inflight++;
	ex->chunk_len = len;
}

/* Move what the pipe still holds; when the socket was full, wait for room first. */
static void retry_splice_out(struct conn *c, bool poll_first)
{
	struct exchange *ex = c->ex;
	struct io_uring_sqe *sqe;
	if (poll_first) {
		sqe = loop_sqe();
		io_uring_prep_poll_add(sqe, c->fd, POLLOUT);
		io_uring_sqe_set_data64(sqe, conn_ud(c, OP_POLL_OUT));
		sqe->flags |= IOSQE_IO_LINK;
		c->inflight++;
	}
	sqe = loop_sqe();
	io_uring_prep_splice(sqe, pipes[ex->pipe].rfd, -1, c->fd, -1, ex->pipe_fill, SPLICE_F_MOVE);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_SPLICE_OUT));
	c->inflight++;
}

static void start_body(struct conn *c)
{
	struct exchange *ex = c->ex;
	if (ex->body_mem) {
		send_memory(c);
		return;
	}
	/* A file small enough for the cache is read whole (which fills the cache, so
	 * the next request is a send from memory) rather than spliced: a splice always
	 * runs on an io-wq thread, and the hand-off costs more than copying 64 KiB. */
	bool fill_cache = cache_wants_body(ex->entry) && ex->body_off == 0 && ex->body_left == ex->size;
	if (!fill_cache && srv.cfg.body == BODY_SPLICE && c->tp->can_splice && n_pipe_free > 0) {
		ex->pipe = pipe_free[--n_pipe_free];
		srv.n_streaming++;
		next_splice(c);
		return;
	}
	/* One notification per slot may be outstanding: a slot whose last connection
	 * left one behind uses a pool chunk (see send_zc_orphan_notified). */
	ex->chunk_cap = RINGD_CHUNK_SIZE;
	if (!fill_cache && n_zc_free > 0 && c->tp->send_fixed && !slot_has_orphan(conn_slot(c))) {
		ex->zc = zc_free[--n_zc_free];
		ex->chunk = zc_mem + (size_t)ex->zc * RINGD_CHUNK_SIZE;
	} else if ((uint64_t)(pool_chunks_out + 1) * RINGD_CHUNK_SIZE <= (uint64_t)srv.cfg.body_memory_mb << 20) {
		ex->chunk = pool_get(&chunk_pool);   /* one per slot: cannot run out */
		pool_chunks_out++;
	} else {
		/* Thousands of large downloads at once (slow readers, or an attack made
		 * of them) would each hold a chunk for as long as send_timeout allows.
		 * Past [http] body_memory the rest stream through their tx buffer, which
		 * the head no longer needs: more sends per byte, no more memory. */
		ex->chunk = ex->tx;
		ex->chunk_cap = sizeof ex->tx;
	}
	srv.n_streaming++;
	next_chunk(c);
}

/* ---- the response ---- */

void send_response(struct conn *c)
{
	struct exchange *ex = c->ex;
	ex->etag_len = (uint8_t)etag_format(ex->etag, ex->ino, ex->size, (int64_t)ex->mtime, ex->mtime_nsec);
	struct validators v = { ex->etag, ex->etag_len, (time_t)ex->mtime };

	ex->status = 200;
	switch (cond_evaluate(&ex->req, &v)) {
	case COND_NOT_MODIFIED:
		ex->status = 304;
		break;
	case COND_PRECONDITION_FAILED:
		resp_error(c, 412);
		return;
	case COND_PROCEED:
		break;
	}
	ex->body_off = 0;
	ex->body_len = ex->size;
	/* If-Range with a date needs a strong Last-Modified: one at least a second older
	 * than now (RFC 9110 §8.8.2.2). A newer file answers in full. */
	bool if_range_ok = cond_if_range(ex->req.if_range, &v);
	if (if_range_ok && ex->req.if_range.len && ex->req.if_range.p[0] != '"' &&
	    (time_t)ex->mtime >= srv.wall - 1)
		if_range_ok = false;
	if (ex->status == 200 && ex->req.range.len && if_range_ok) {
		struct byte_range r;
		int n = range_parse(ex->req.range.p, ex->req.range.len, ex->size, &r, 1);
		if (n == -1) {
			resp_error(c, 416);
			return;
		}
		/* n > 1: several ranges; we answer with the whole representation (200),
		 * which RFC 9110 §14.2 allows, rather than multipart/byteranges. */
		if (n == 1) {
			ex->status = 206;
			ex->body_off = r.first;
			ex->body_len = r.last - r.first + 1;
		}
	}
	size_t hl = resp_head(c, ex, ex->tx, sizeof ex->tx);
	ex->body_left = (ex->status == 304 || ex->head_only) ? 0 : ex->body_len;
	ex->tx_len = (uint32_t)hl;
	ex->tx_sent = 0;
	ex->chunk_len = 0;
	c->state = CONN_SENDING;
	timer_set(c, (uint32_t)srv.cfg.send_timeout);

	ex->body_mem = ex->entry ? ex->entry->body : NULL;
	if ((!ex->body_left || ex->body_mem) &&
	    conn_cork(c, ex->tx, (uint32_t)hl, ex->body_left ? ex->body_mem + ex->body_off : NULL,
		      (uint32_t)ex->body_left))
		return;   /* pipelined: leaves with the next response */
	if (ex->body_left && ex->body_mem && ex->body_left <= sizeof ex->tx - hl) {
		/* Cached small body: head and body from memory in one send, no file I/O. */
		memcpy(ex->tx + hl, ex->body_mem + ex->body_off, ex->body_left);
		ex->tx_len += (uint32_t)ex->body_left;
		ex->chunk_len = (uint32_t)ex->body_left;
		ex->body_left = 0;
	} else if (ex->body_left && !ex->body_mem && ex->body_left <= sizeof ex->tx - hl) {
		/* Small body: read it behind the head and send both at once. */
		struct io_uring_sqe *sqe = loop_sqe();
		io_uring_prep_read(sqe, ex->file_fd, ex->tx + hl, (unsigned)ex->body_left, ex->body_off);
		io_uring_sqe_set_data64(sqe, conn_ud(c, OP_READ));
		sqe->flags |= IOSQE_IO_LINK;
		c->inflight++;
		ex->tx_len += (uint32_t)ex->body_left;
		ex->chunk_len = (uint32_t)ex->body_left;  /* what the READ must return */
		ex->body_left = 0;
	}
	if (ex->body_left && ex->body_mem) {
		/* Cached body too big to copy behind the head: both in one sendmsg. */
		ex->vec = true;
		ex->iov[0] = (struct iovec){ ex->tx, ex->tx_len };
		ex->iov[1] = (struct iovec){ (void *)(ex->body_mem + ex->body_off), ex->body_left };
		ex->msg = (struct msghdr){ .msg_iov = ex->iov, .msg_iovlen = 2 };
		c->tp->sendmsg(c, &ex->msg);
		return;
	}
	c->tp->send(c, ex->tx, ex->tx_len, ex->body_left > 0);
}

static void body_progress(struct conn *c, uint32_t n)
{
	c->ex->body_sent += n;
	timer_set(c, (uint32_t)srv.cfg.send_timeout);
}

/* A send of the current piece (chunk or cached body) completed: send the rest of
 * it (short only if the connection failed mid-way), or the next chunk, or finish. */
static void chunk_continue(struct conn *c)
{
	struct exchange *ex = c->ex;
	if (ex->chunk_sent < ex->chunk_len) {
		send_from_chunk(c, ex->piece + ex->chunk_sent, ex->chunk_len - ex->chunk_sent, true);
		return;
	}
	ex->body_left -= ex->chunk_len;
	if (ex->body_left)
		next_chunk(c);   /* never after send_memory, which sends all at once */
	else
		conn_response_done(c);
}

void send_complete(struct conn *c, enum op op, int res)
{
	struct exchange *ex = c->ex;
	bool head_phase = ex->tx_sent < ex->tx_len;

	switch (op) {
	case OP_READ:
		/* Inline body or a body=read chunk; either way the linked send follows. */
		if (res != (int)ex->chunk_len) {
			conn_abort(c, res < 0 ? strerror(-res) : "file shrank while being sent");
			return;
		}
		/* A read of the whole file fills the cache's copy for the next requests. */
		if (ex->body_off == 0 && (uint64_t)res == ex->size && cache_wants_body(ex->entry))
			cache_set_body(ex->entry, head_phase ? ex->tx + ex->tx_len - res : ex->chunk);
		if (!head_phase)
			ex->body_off += (uint32_t)res;
		return;

	case OP_SEND:
		if (res < 0) {
			conn_abort(c, strerror(-res));
			return;
		}
		timer_set(c, (uint32_t)srv.cfg.send_timeout);
		if (ex->vec) {
			/* Head and body went together; a short send (rare with MSG_WAITALL)
			 * continues with plain sends from where it stopped. */
			ex->vec = false;
			uint32_t head = ex->tx_len - ex->tx_sent, n = (uint32_t)res;
			if (n < head) {
				ex->tx_sent += n;
				c->tp->send(c, ex->tx + ex->tx_sent, ex->tx_len - ex->tx_sent, true);
				return;
			}
			ex->tx_sent = ex->tx_len;
			n -= head;
			ex->body_off += n;
			ex->body_left -= n;
			body_progress(c, n);
			if (ex->body_left)
				send_memory(c);
			else
				conn_response_done(c);
			return;
		}
		if (head_phase) {
			ex->tx_sent += (uint32_t)res;
			if (ex->tx_sent < ex->tx_len) {
				c->tp->send(c, ex->tx + ex->tx_sent, ex->tx_len - ex->tx_sent, ex->body_left > 0);
				return;
			}
			if (ex->chunk_len && ex->status != 304 && !ex->head_only)
				ex->body_sent = ex->chunk_len;   /* the inline body */
			if (ex->body_left == 0) {
				conn_response_done(c);
				return;
			}
			start_body(c);
			return;
		}
		ex->chunk_sent += (uint32_t)res;
		body_progress(c, (uint32_t)res);
		chunk_continue(c);
		return;

	case OP_SPLICE_IN:
		/* Short is allowed (the linked splice-out is then cancelled and we move what
		 * the pipe holds); nothing at all means the file ended before its size. */
		if (res <= 0) {
			conn_abort(c, res < 0 ? strerror(-res) : "file shrank while being sent");
			return;
		}
		ex->pipe_fill += (uint32_t)res;
		ex->body_off += (uint32_t)res;
		ex->body_left -= (uint32_t)res;
		return;

	case OP_POLL_OUT:
		return;   /* the linked splice reports */

	case OP_SPLICE_OUT:
		if (res > 0) {
			ex->pipe_fill -= (uint32_t)res;
			body_progress(c, (uint32_t)res);
		} else if (res != -EAGAIN && res != -ECANCELED) {
			/* ECANCELED here: the splice-in before it was short (we are not closing,
			 * or this would not be called). */
			conn_abort(c, res == 0 ? "splice made no progress" : strerror(-res));
			return;
		}
		if (ex->pipe_fill)
			retry_splice_out(c, res != -ECANCELED);
		else if (ex->body_left)
			next_splice(c);
		else
			conn_response_done(c);
		return;

	default:
		return;
	}
}

/* A zero-copy chunk: first the send's own CQE (with F_MORE when a notification
 * follows), then the notification, after which the buffer may be written again. */
void send_zc_complete(struct conn *c, int res, unsigned flags)
{
	struct exchange *ex = c->ex;
	if (ex && (flags & IORING_CQE_F_NOTIF))
		ex->zc_wait = false;          /* the kernel let go of the buffer */
	else if (ex && (flags & IORING_CQE_F_MORE))
		ex->zc_wait = true;           /* ... and will say so later */
	if (c->state != CONN_SENDING)
		return;                       /* closing: the release sees zc_wait */
	if (!(flags & IORING_CQE_F_NOTIF)) {
		if (res < 0) {
			conn_abort(c, strerror(-res));
			return;
		}
		ex->chunk_sent += (uint32_t)res;
		body_progress(c, (uint32_t)res);
		if (ex->zc_wait)
			return;
	}
	chunk_continue(c);
}
