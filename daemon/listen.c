/* listen.c — listening sockets (made at start-up, blocking is fine there) and the
 * multishot accept that feeds new connections into conn.c. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <liburing.h>

#include "ringd.h"

#define LISTEN_BACKLOG 4096

static bool armed[RINGD_MAX_LISTEN];
/* A reload replaces the sockets; accepts still queued on the old ones carry the
 * old generation, and a connection they return is served, not dropped. */
static uint32_t gen;
static int old_family[RINGD_MAX_LISTEN];

static int open_one(const struct sockaddr *sa, socklen_t len, bool dual, bool reuseport,
		    char *err, size_t errlen, const char *text)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", text, strerror(errno));
		return -errno;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* Workers each bind their own socket to the same port (the nginx model). */
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof one);
	/* Replies are written whole; don't make a client wait out Nagle + delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(fd, sa, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", text, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static int open_addr(const struct listen_addr *la, bool reuseport, char *err, size_t errlen)
{
	int fd = open_one((const struct sockaddr *)&la->ss, la->len, la->any_addr, reuseport, err, errlen,
			  la->text);
	if (fd == -EAFNOSUPPORT && la->any_addr) {
		/* No IPv6 in this kernel: "*" means every IPv4 address then. */
		struct sockaddr_in sin = { .sin_family = AF_INET,
			.sin_port = ((const struct sockaddr_in6 *)&la->ss)->sin6_port };
		fd = open_one((const struct sockaddr *)&sin, sizeof sin, false, reuseport, err, errlen,
			      la->text);
	}
	return fd;
}

static bool holds(const struct config *held, const struct listen_addr *la)
{
	for (int i = 0; held && i < held->n_listen; i++)
		if (!strcmp(held->listen[i].text, la->text))
			return true;
	return false;
}

/* SO_REUSEPORT would let us share a port with another server (even another ringd)
 * without a word; a plain bind first tells whether the address is really free.
 * With probe, every address not already in `held` (ours) is checked that way. */
int listen_open_all(const struct config *cfg, int *fds, int max, bool probe, const struct config *held,
		    char *err, size_t errlen)
{
	int n = 0;
	for (int i = 0; i < cfg->n_listen && n < max; i++) {
		const struct listen_addr *la = &cfg->listen[i];
		if (probe && !holds(held, la)) {
			int p = open_addr(la, false, err, errlen);
			if (p < 0)
				goto fail;
			close(p);
		}
		int fd = open_addr(la, true, err, errlen);
		if (fd < 0)
			goto fail;
		fds[n++] = fd;
	}
	return n;
fail:
	for (int j = 0; j < n; j++)
		close(fds[j]);
	return -1;
}

/* A worker that cannot start (the supervisor retries it in a few seconds) must not
 * leave its SO_REUSEPORT socket in the group: the kernel would keep hashing new
 * connections to it, and they would wait in its backlog for a worker that may
 * never come. shutdown(SHUT_RD) on a listener takes it out of the group (and
 * resets what its queue holds) but keeps the bound port, so listen() puts it back
 * without a new bind, which after the privilege drop could be refused. Supervisor
 * only: these block. */
void listen_detach(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		shutdown(fds[i], SHUT_RD);
}

int listen_reattach(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (listen(fds[i], LISTEN_BACKLOG) < 0)
			return -1;
	return 0;
}

void listen_arm(int idx)
{
	if (srv.stopping || armed[idx])
		return;
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_multishot_accept(sqe, srv.listen_fd[idx], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ud_pack(OP_ACCEPT, (uint32_t)idx, gen));
	armed[idx] = true;
}

void listen_on_accept(int idx, uint32_t g, int res, unsigned flags)
{
	if (g != gen) {
		if (res >= 0)
			conn_start(res, old_family[idx]);
		return;
	}
	if (!(flags & IORING_CQE_F_MORE))
		armed[idx] = false;
	if (res >= 0) {
		/* Accepted before the stop took effect (the CQE may share a batch with the
		 * signal): the client is already connected, so it is served, not dropped;
		 * conn_start gives it a short time to send its request. */
		conn_start(res, srv.listen_family[idx]);
		if (srv.stopping)
			return;
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
		/* Out of descriptors or memory: stop accepting until a connection closes
		 * (listen_resume), or the next tick. The backlog holds the waiting clients. */
		if (!srv.accept_paused)
			log_msg(LOGL_WARN, "accept: %s; pausing accept", strerror(-res));
		srv.accept_paused = true;
		return;
	} else if (res != -ECANCELED && res != -EAGAIN && res != -EINTR && res != -ECONNABORTED) {
		log_msg(LOGL_ERROR, "accept: %s", strerror(-res));
	}
	if (!armed[idx] && !srv.accept_paused)
		listen_arm(idx);
}

void listen_resume(void)
{
	if (!srv.accept_paused || srv.stopping)
		return;
	srv.accept_paused = false;
	for (int i = 0; i < srv.n_listen; i++)
		listen_arm(i);
}

void listen_replace(const int *fds, int n)
{
	listen_stop();
	memcpy(old_family, srv.listen_family, sizeof old_family);
	gen++;
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		/* start-up code (reload may block): getsockname is fine here */
		getsockname(fds[i], (struct sockaddr *)&ss, &len);
		srv.listen_family[i] = ss.ss_family;
		srv.listen_fd[i] = fds[i];
		armed[i] = false;
	}
	srv.n_listen = n;
	for (int i = 0; i < n; i++)
		listen_arm(i);
}

void listen_stop(void)
{
	for (int i = 0; i < srv.n_listen; i++) {
		if (srv.listen_fd[i] < 0)
			continue;
		/* Cancel the accept (it holds the file), then close; hard-linked so the close
		 * runs even when there was nothing to cancel. */
		struct io_uring_sqe *sqe = loop_sqe();
		io_uring_prep_cancel_fd(sqe, srv.listen_fd[i], IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, ud_pack(OP_CLOSE, 0, 0));
		sqe->flags |= IOSQE_IO_HARDLINK;
		loop_submit_close(srv.listen_fd[i]);
		srv.listen_fd[i] = -1;
	}
}
