/* loop.c — the ring: set-up, the provided-buffer ring, signals, the one-second tick,
 * and the single completion dispatcher. Nothing here blocks once loop_run() starts:
 * the only system call the loop makes is io_uring_enter. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <liburing.h>

#include "ringd.h"

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)   /* Linux 6.12: getevents_arg.pad is min_wait_usec */
#endif

#define RING_ENTRIES 4096
#define BUF_GROUP    0

/* Batched waiting. Each io_uring_enter asks for up to WAIT_BATCH completions but is
 * content with one once batch_wait µs have passed since it began (the kernel's
 * min-wait, 6.12+). Under load a request's completions then share a syscall with
 * dozens of others; when the server is quiet the first completion after the short
 * window returns at once, so an idle server adds no latency. While any response
 * streams a body chunk by chunk the loop does not batch: its next chunk would wait
 * for the window each time (measured: a 1 GiB download at half the speed). */
#define WAIT_BATCH   64

static struct io_uring ring;
static struct io_uring_buf_ring *bufring;
static char *bufmem;
static int sig_fd = -1;
static struct signalfd_siginfo sig_info;
static struct __kernel_timespec tick_ts = { .tv_sec = 1 };
static struct timespec start_mono;
static uint32_t bufs_out;        /* provided buffers handed to us and not yet recycled */
static bool have_min_wait;       /* the kernel honours getevents_arg.min_wait_usec */
static bool ring_registered;     /* enter_ring_fd is a registered-ring index */
const char *loop_features = "";

struct io_uring_sqe *loop_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (!sqe) {
		/* SQ full: hand what we have to the kernel and take a fresh entry. */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

const char *loop_buf(uint16_t bid)
{
	return bufmem + (size_t)bid * RINGD_RECV_BUF_SIZE;
}

uint32_t loop_bufs_free(void)
{
	return RINGD_RECV_BUFS - bufs_out;
}

void loop_recycle_buf(uint16_t bid)
{
	bufs_out--;
	io_uring_buf_ring_add(bufring, bufmem + (size_t)bid * RINGD_RECV_BUF_SIZE,
			      RINGD_RECV_BUF_SIZE, bid, io_uring_buf_ring_mask(RINGD_RECV_BUFS), 0);
	io_uring_buf_ring_advance(bufring, 1);
}

int loop_register_buffers(const struct iovec *iov, unsigned n)
{
	return io_uring_register_buffers(&ring, iov, n);
}

void loop_submit_close(int fd)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_close(sqe, fd);
	io_uring_sqe_set_data64(sqe, ud_pack(OP_CLOSE, 0, 0));
}

/* The signals the server acts on; blocked from the start of main, read from a
 * signalfd in the loop (or with sigtimedwait in the supervisor). */
void loop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

static int setup_ring(void)
{
	/* Best flags first; older kernels refuse the newer ones with EINVAL. */
	static const struct {
		unsigned flags;
		const char *name;
	} tries[] = {
		{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single-issuer+defer-taskrun" },
		{ IORING_SETUP_COOP_TASKRUN, "coop-taskrun" },
		{ 0, "plain" },
	};
	for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		struct io_uring_params p = { .flags = tries[i].flags | IORING_SETUP_SUBMIT_ALL };
		p.flags |= IORING_SETUP_CQSIZE;
		p.cq_entries = RING_ENTRIES * 4;
		int r = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
		if (r == 0) {
			loop_features = tries[i].name;
			have_min_wait = (p.features & IORING_FEAT_MIN_TIMEOUT) &&
					(p.features & IORING_FEAT_EXT_ARG);
			/* Saves the fd lookup on every io_uring_enter; optional. */
			ring_registered = io_uring_register_ring_fd(&ring) == 1;
			if (i > 0)
				log_msg(LOGL_WARN, "kernel lacks %s; using %s ring", tries[0].name,
					tries[i].name);
			return 0;
		}
		if (r != -EINVAL)
			return r;
	}
	return -EINVAL;
}

static int setup_bufring(void)
{
	size_t ring_bytes = sizeof(struct io_uring_buf) * RINGD_RECV_BUFS;
	void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	bufring = mem;
	io_uring_buf_ring_init(bufring);
	struct io_uring_buf_reg reg = {
		.ring_addr = (unsigned long)bufring,
		.ring_entries = RINGD_RECV_BUFS,
		.bgid = BUF_GROUP,
	};
	int r = io_uring_register_buf_ring(&ring, &reg, 0);
	if (r)
		return r;
	/* Reserved, touched as the kernel fills them. */
	bufmem = mmap(NULL, (size_t)RINGD_RECV_BUFS * RINGD_RECV_BUF_SIZE, PROT_READ | PROT_WRITE,
		      MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
	if (bufmem == MAP_FAILED)
		return -errno;
	bufs_out = RINGD_RECV_BUFS;
	for (unsigned i = 0; i < RINGD_RECV_BUFS; i++)
		loop_recycle_buf((uint16_t)i);
	return 0;
}

static void arm_signal(void)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_read(sqe, sig_fd, &sig_info, sizeof sig_info, 0);
	io_uring_sqe_set_data64(sqe, ud_pack(OP_SIGNAL, 0, 0));
}

static void arm_tick(void)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_timeout(sqe, &tick_ts, 0, 0);
	io_uring_sqe_set_data64(sqe, ud_pack(OP_TIMER, 0, 0));
}

/* Read the clocks once per iteration; the Date header changes at most once a second. */
static void update_clock(void)
{
	struct timespec m, w;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &m);
	clock_gettime(CLOCK_REALTIME_COARSE, &w);
	srv.now = (uint32_t)(m.tv_sec - start_mono.tv_sec) + 1;
	if (w.tv_sec != srv.wall) {
		srv.wall = w.tv_sec;
		http_date_format(srv.wall, srv.date);
	}
}

int loop_init(void)
{
	int r = setup_ring();
	if (r < 0) {
		log_msg(LOGL_ERROR, "io_uring_setup: %s", strerror(-r));
		return -1;
	}
	r = setup_bufring();
	if (r < 0) {
		log_msg(LOGL_ERROR, "provided-buffer ring: %s", strerror(-r));
		return -1;
	}
	sigset_t set;
	loop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		log_msg(LOGL_ERROR, "signalfd: %s", strerror(errno));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &start_mono);
	update_clock();
	return 0;
}

static void on_signal(int res)
{
	if (res == (int)sizeof sig_info) {
		switch (sig_info.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!srv.stopping) {
				log_msg(LOGL_INFO, "signal %d: stopping after in-flight responses",
					(int)sig_info.ssi_signo);
				srv.stopping = true;
				sd_notify("STOPPING=1", true);
				srv.stop_deadline = srv.now + (uint32_t)srv.cfg.shutdown_timeout;
				listen_stop();
				conn_drain_all(false);
			}
			break;
		case SIGUSR1:
			log_reopen();
			break;
		case SIGHUP:
			if (!srv.stopping) {
				sd_notify("RELOADING=1", true);
				server_reload();
				sd_notify("READY=1", true);
			}
			break;
		}
	}
	/* Keep reading while draining too: USR1 may still come, a second TERM is harmless. */
	arm_signal();
}

/* The one completion dispatcher. */
static void dispatch(struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	enum op op = ud_op(ud);
	uint32_t slot = ud_slot(ud);

	if (cqe->flags & IORING_CQE_F_BUFFER)
		bufs_out++;

	switch (op) {
	case OP_ACCEPT:
		listen_on_accept((int)slot, ud_gen(ud), cqe->res, cqe->flags);
		return;
	case OP_TIMER:
		arm_tick();
		conn_trim_pools();
		send_trim_pools();
		cache_trim_pools();
		return;
	case OP_SIGNAL:
		on_signal(cqe->res);
		return;
	case OP_LOG_WRITE:
		log_write_done(slot, cqe->res);
		return;
	case OP_POOL_TRIM:
		pool_trimmed(slot);
		return;
	case OP_LOG_REOPEN:
		log_reopened(slot, cqe->res);
		return;
	case OP_PIPE_DRAIN:
		send_pipe_drained(slot, cqe->res);
		return;
	case OP_CLOSE:
	case OP_NONE:
		return;
	default:
		break;
	}

	if (slot >= srv.max_conns)
		return;
	struct conn *c = &srv.conns[slot];
	if (c->gen != ud_gen(ud) || c->state == CONN_FREE) {
		/* The slot's connection is gone; a provided buffer still has to go back,
		 * and so does a zero-copy send's buffer once the kernel lets go of it. */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			loop_recycle_buf((uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
		if (op == OP_SEND_ZC && (cqe->flags & IORING_CQE_F_NOTIF))
			send_zc_orphan_notified(slot);
		return;
	}
	conn_complete(op, c, cqe->res, cqe->flags);
}

/* Submit what is queued and wait for completions: one io_uring_enter. liburing 2.3
 * has no call that passes min_wait_usec, so the SQ tail is published here the way
 * its submit does (the SQ array is the identity map liburing set up) and the
 * extended argument is passed by hand. Without the kernel feature: wait for one. */
static int submit_and_wait(void)
{
	unsigned batch_us = (unsigned)srv.cfg.batch_wait;
	if (!have_min_wait || batch_us == 0 || srv.n_streaming)
		return io_uring_submit_and_wait(&ring, 1);
	struct io_uring_sq *sq = &ring.sq;
	if (sq->sqe_head != sq->sqe_tail) {
		sq->sqe_head = sq->sqe_tail;
		io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
	}
	unsigned to_submit = sq->sqe_tail - *sq->khead;
	struct io_uring_getevents_arg arg = { .pad = batch_us };  /* pad = min_wait_usec */
	unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
	if (ring_registered)
		flags |= IORING_ENTER_REGISTERED_RING;
	return io_uring_enter2((unsigned)ring.enter_ring_fd, to_submit, WAIT_BATCH, flags,
			       (sigset_t *)&arg, sizeof arg);
}

int loop_run(void)
{
	for (unsigned i = 0; i < (unsigned)srv.n_listen; i++)
		listen_arm((int)i);
	arm_signal();
	arm_tick();
	log_loop_started();

	for (;;) {
		if (srv.stopping && srv.n_active == 0 && log_idle())
			break;
		log_flush();
		int r = submit_and_wait();
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY && r != -ETIME) {
			log_msg(LOGL_ERROR, "io_uring_enter: %s", strerror(-r));
			return 1;
		}
		update_clock();
		unsigned head, n = 0;
		struct io_uring_cqe *cqe;
		io_uring_for_each_cqe(&ring, head, cqe) {
			dispatch(cqe);
			n++;
		}
		io_uring_cq_advance(&ring, n);
		conn_after_batch();
		timer_tick();
		if (srv.stopping && srv.n_active && srv.now >= srv.stop_deadline) {
			log_msg(LOGL_WARN, "shutdown_timeout: closing %u connections still busy", srv.n_active);
			conn_drain_all(true);
			srv.stop_deadline = UINT32_MAX;
		}
	}
	/* Blocking is fine from here on: we are leaving. Flush what the log still holds. */
	io_uring_submit_and_wait(&ring, 0);
	return 0;
}
