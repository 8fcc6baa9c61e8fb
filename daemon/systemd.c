/* systemd.c — the two systemd protocols ringd speaks, without libsystemd:
 * readiness notification (datagrams to $NOTIFY_SOCKET: READY=1, RELOADING=1,
 * STOPPING=1) and socket activation ($LISTEN_PID/$LISTEN_FDS, fds from 3). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <liburing.h>

#include "ringd.h"

#define SD_LISTEN_FDS_START 3

static int notify_fd = -1;

/* Start-up: connect a datagram socket to $NOTIFY_SOCKET once, so that later
 * messages from the loop are a plain SEND through the ring. */
void sd_notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof sa.sun_path)
		return;
	strcpy(sa.sun_path, path);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;   /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path))) < 0) {
		close(fd);
		return;
	}
	notify_fd = fd;
	unsetenv("NOTIFY_SOCKET");  /* workers and anything we start must not reuse it */
}

/* Only the process systemd knows (the supervisor, or the single worker) talks. */
void sd_notify_forget(void)
{
	if (notify_fd >= 0)
		close(notify_fd);
	notify_fd = -1;
}

/* msg must be a string literal: the SEND may run after we return. */
void sd_notify(const char *msg, bool in_loop)
{
	if (notify_fd < 0)
		return;
	if (!in_loop) {
		if (send(notify_fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
			/* systemd gone: nothing to tell */
		}
		return;
	}
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_send(sqe, notify_fd, msg, strlen(msg), MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, ud_pack(OP_CLOSE, 0, 0)); /* nothing to do on completion */
}

/* Socket activation: returns the number of inherited listening sockets put in fds
 * (0 when not activated). They are made non-blocking like our own. */
int sd_listen_fds(int *fds, int max)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	if (!pid || !n || atol(pid) != (long)getpid())
		return 0;
	int count = atoi(n);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (count <= 0)
		return 0;
	if (count > max)
		count = max;
	for (int i = 0; i < count; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0)
			return -1;
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fds[i] = fd;
	}
	return count;
}
