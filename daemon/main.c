/* main.c — command line, configuration, start-up (which may block) and, with
 * workers > 1, the small supervisor that forks one single-threaded loop per worker. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ringd.h"

#define DEFAULT_CONFIG "/etc/ringd/ringd.ini"
#define MIME_TYPES     "/etc/mime.types"
#define MAX_WORKERS    256

struct server srv;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringd [-c FILE] [-r DIR] [-l ADDR:PORT]... [-o SECTION.KEY=VALUE]... [-t] [-V] [-h]\n"
		"  -c FILE     configuration file (default " DEFAULT_CONFIG "; built-in defaults\n"
		"              when it does not exist and -c is not given)\n"
		"  -r DIR      document root (overrides [server] root)\n"
		"  -l ADDR     listen address, repeatable: 127.0.0.1:8080, [::1]:8080, *:8080\n"
		"              (replaces [server] listen)\n"
		"  -o S.K=V    set any configuration key, e.g. -o http.keepalive_timeout=5\n"
		"  -t          check the configuration, the root and the listen addresses; print ok\n"
		"  -V          print the version\n"
		"  -h          this help\n");
}

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1))) {
		ssize_t n = read(fd, buf, (size_t)st.st_size);
		*len = n > 0 ? (size_t)n : 0;
		buf[*len] = 0;
	}
	close(fd);
	return buf;
}

static int load_mime(void)
{
	srv.mime = mime_table_new();
	if (!srv.mime)
		return -1;
	size_t len = 0;
	char *text = read_file(MIME_TYPES, &len);
	if (text) {
		mime_table_load(srv.mime, text, len);
		free(text);
	} else {
		fprintf(stderr, "ringd: warning: %s: %s; using built-in types only\n", MIME_TYPES,
			strerror(errno));
	}
	return 0;
}

/* Started as root: bind and open logs first (done), then become `user` (default
 * www-data). Serving as root happens only when the configuration says user = root. */
static const char *run_as(const char *user)
{
	return user[0] ? user : "www-data";
}

static int drop_privileges(const char *user)
{
	if (geteuid() != 0 || !strcmp(user, "root"))
		return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "ringd: user %s: no such user (set [server] user)\n", user);
		return -1;
	}
	/* Log files were opened as root; the user must be able to reopen them on USR1. */
	log_chown(pw->pw_uid, pw->pw_gid);
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "ringd: dropping to %s: %s\n", user, strerror(errno));
		return -1;
	}
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Each worker's ring (about 1 MiB) and its zero-copy buffers (send.c, at most
 * 8 MiB) are pinned memory the kernel charges to the user, against
 * RLIMIT_MEMLOCK, shared by all of that user's processes (every worker, other
 * ringd instances, anything else using io_uring as www-data). Debian's default
 * of 8 MiB fits about seven rings; started as root we raise it, generously,
 * before dropping privileges. */
#define MEMLOCK_PER_WORKER (64u << 20)

static void raise_memlock_limit(int workers)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)workers * MEMLOCK_PER_WORKER;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return;
	struct rlimit up = { want, rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? want : rl.rlim_max };
	if (setrlimit(RLIMIT_MEMLOCK, &up) == 0)
		return;
	/* Not root: as far as the hard limit allows. */
	up = (struct rlimit){ rl.rlim_max, rl.rlim_max };
	setrlimit(RLIMIT_MEMLOCK, &up);
}

static int build_config(struct config *cfg, char *err, size_t errlen);

/* One worker: its own ring, connection table and pools. */
static int serve(const int *fds)
{
	for (int i = 0; i < srv.n_listen; i++)
		srv.listen_fd[i] = fds[i];
	/* The ring first: under a tight descriptor limit it must not lose to the pipes. */
	if (loop_init())
		return 1;
	if (conn_table_init((uint32_t)srv.cfg.max_connections) || send_pipes_init()) {
		log_msg(LOGL_ERROR, "out of memory setting up %d connections", srv.cfg.max_connections);
		return 1;
	}
	file_init();
	if (cache_init()) {
		log_msg(LOGL_ERROR, "out of memory for the file cache");
		return 1;
	}
	return loop_run();
}

static bool socket_activated;

/* workers > 1: fork them, pass signals on, restart one that dies abnormally.
 * Signals stay blocked here (and so in the children, whose loops read them from a
 * signalfd); the supervisor takes them synchronously with sigtimedwait.
 *
 * The supervisor keeps each worker's sockets, so a restarted worker takes over the
 * same socket and its backlog. A worker held back after failing to start has its
 * sockets detached from the group meanwhile (listen_detach). SIGHUP is the nginx
 * model: build the new configuration, open sockets for new addresses (unchanged
 * ones are kept, so no connection is ever refused), start new workers, and let
 * the old ones drain. */
static int (*wfds)[RINGD_MAX_LISTEN];
static int wn_fds;

static void close_set(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static pid_t start_worker(int w)
{
	pid_t pid = fork();
	if (pid == 0) {
		sd_notify_forget();   /* systemd hears from the supervisor only */
		/* Keep only our own sockets: a sibling's socket held open here would stay
		 * in the SO_REUSEPORT group after its owner stopped accepting. */
		for (int v = 0; v < srv.n_workers && !socket_activated; v++)
			if (v != w)
				close_set(wfds[v], wn_fds);
		srv.n_listen = wn_fds;
		_exit(serve(wfds[w]));
	}
	if (pid < 0)
		fprintf(stderr, "ringd: fork: %s\n", strerror(errno));
	return pid;
}

/* Reload: the new configuration and socket sets, or the old ones on any error. */
static bool supervisor_reload(void)
{
	static struct config next;
	static int nfds[MAX_WORKERS][RINGD_MAX_LISTEN];
	char err[1024];
	int n = 0;
	if (build_config(&next, err, sizeof err)) {
		fprintf(stderr, "ringd: reload: %s; keeping the running configuration\n", err);
		return false;
	}
	if (socket_activated) {
		memcpy(next.listen, srv.cfg.listen, sizeof next.listen);
		next.n_listen = srv.cfg.n_listen;
	}
	/* Addresses we already listen on keep their sockets; new ones are opened. */
	for (int w = 0; w < srv.n_workers; w++) {
		n = 0;
		for (int i = 0; i < next.n_listen; i++) {
			int have = -1;
			for (int j = 0; j < srv.cfg.n_listen; j++)
				if (!strcmp(srv.cfg.listen[j].text, next.listen[i].text))
					have = j;
			if (have >= 0 || socket_activated) {
				nfds[w][n++] = dup(wfds[w][have >= 0 ? have : i]);
				continue;
			}
			struct config one = next;
			one.listen[0] = next.listen[i];
			one.n_listen = 1;
			if (listen_open_all(&one, &nfds[w][n], 1, w == 0, NULL, err, sizeof err) != 1) {
				fprintf(stderr, "ringd: reload: listen %s; keeping the running configuration\n", err);
				for (int v = 0; v <= w; v++)
					close_set(nfds[v], v == w ? n : next.n_listen);
				return false;
			}
			n++;
		}
	}
	for (int w = 0; w < srv.n_workers; w++) {
		close_set(wfds[w], wn_fds);
		memcpy(wfds[w], nfds[w], sizeof nfds[w]);
	}
	wn_fds = next.n_listen;
	srv.cfg = next;
	for (int i = 0; i < wn_fds; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		getsockname(wfds[0][i], (struct sockaddr *)&ss, &len);
		srv.listen_family[i] = ss.ss_family;
	}
	return true;
}

static int supervise(int workers, int (*fds)[RINGD_MAX_LISTEN])
{
	pid_t pids[MAX_WORKERS] = { 0 };
	time_t started[MAX_WORKERS] = { 0 }, hold[MAX_WORKERS] = { 0 };
	bool detached[MAX_WORKERS] = { false };
	int alive = 0;   /* current workers, plus old ones still draining */
	bool stopping = false, ready = false;
	sigset_t set;
	loop_signals(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	wfds = fds;
	wn_fds = srv.n_listen;

	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (int w = 0; w < workers && !stopping; w++) {
			if (pids[w] > 0 || now.tv_sec < hold[w])
				continue;
			if (detached[w] && listen_reattach(wfds[w], wn_fds) < 0) {
				fprintf(stderr, "ringd: worker %d: listen: %s; retrying in 5 s\n", w, strerror(errno));
				hold[w] = now.tv_sec + 5;
				continue;
			}
			detached[w] = false;
			pid_t pid = start_worker(w);
			if (pid < 0)
				break;
			pids[w] = pid;
			started[w] = now.tv_sec;
			alive++;
		}
		if (alive == 0 && stopping)
			return 0;
		if (alive == 0) {
			fprintf(stderr, "ringd: every worker exits right after starting; giving up\n");
			return 1;
		}
		if (!ready) {
			sd_notify("READY=1", false);
			ready = true;
		}
		struct timespec one = { .tv_sec = 1 };
		int sig = sigtimedwait(&set, NULL, &one);
		if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping) {
				stopping = true;
				sd_notify("STOPPING=1", false);
				/* Our copies must not keep the ports open while workers drain. */
				for (int w = 0; w < workers; w++)
					close_set(fds[w], wn_fds);
				wn_fds = 0;
			}
			for (int w = 0; w < workers; w++)
				if (pids[w] > 0)
					kill(pids[w], sig);
			continue;
		}
		if (sig == SIGHUP && !stopping) {
			sd_notify("RELOADING=1", false);
			if (supervisor_reload()) {
				/* Old workers drain and exit; they are no longer ours to restart. */
				for (int w = 0; w < workers; w++) {
					if (pids[w] > 0)
						kill(pids[w], SIGTERM);
					pids[w] = 0;
				}
				fprintf(stderr, "ringd: configuration reloaded; new workers started\n");
			}
			sd_notify("READY=1", false);
			continue;
		}
		if (sig == SIGUSR1) {
			for (int w = 0; w < workers; w++)
				if (pids[w] > 0)
					kill(pids[w], sig);
			continue;
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			alive--;
			for (int w = 0; w < workers; w++) {
				if (pids[w] != pid)
					continue;   /* an old worker done draining */
				pids[w] = 0;
				bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
				/* One that fails within a second of starting (its ring or memory
				 * could not be set up) is restarted after a pause, not in a tight
				 * loop; one that was killed is replaced at once. */
				struct timespec t;
				clock_gettime(CLOCK_MONOTONIC, &t);
				if (WIFEXITED(status) && !clean && t.tv_sec - started[w] < 1) {
					hold[w] = t.tv_sec + 5;
					/* Under socket activation the workers share one socket. */
					if (!stopping && !socket_activated) {
						listen_detach(wfds[w], wn_fds);
						detached[w] = true;
					}
				}
				if (!stopping && !clean)
					fprintf(stderr, "ringd: worker %d (pid %d) died (status %d); restarting%s\n",
						w, (int)pid, status, hold[w] > t.tv_sec ? " in 5 s" : "");
				else if (!stopping)
					stopping = true; /* a worker that exits cleanly was told to */
			}
		}
	}
}


/* What the command line said, kept so a reload assembles the configuration the
 * same way start-up did: defaults, the file, each -o in order, then -r and -l. */
static struct {
	const char *config_path;
	const char *root;
	const char *overrides[64];
	int n_over;
	const char *listens[RINGD_MAX_LISTEN];
	int n_lis;
} args;

static int build_config(struct config *cfg, char *err, size_t errlen)
{
	config_defaults(cfg);
	if (args.config_path && config_load_file(cfg, args.config_path, err, errlen))
		return -1;
	for (int i = 0; i < args.n_over; i++)
		if (config_override(cfg, args.overrides[i], err, errlen))
			return -1;
	char why[512];
	if (args.root && config_set(cfg, "server", "root", args.root, why, sizeof why)) {
		snprintf(err, errlen, "-r: %s", why);
		return -1;
	}
	if (args.n_lis) {
		char joined[RINGD_MAX_LISTEN * 72] = "";
		for (int i = 0; i < args.n_lis; i++) {
			if (i)
				strcat(joined, ",");
			strncat(joined, args.listens[i], 70);
		}
		if (config_set(cfg, "server", "listen", joined, why, sizeof why)) {
			snprintf(err, errlen, "-l: %s", why);
			return -1;
		}
	}
	if (config_validate(cfg, why, sizeof why)) {
		snprintf(err, errlen, "%s: %s", args.config_path ? args.config_path : "configuration", why);
		return -1;
	}
	return 0;
}

static bool same_listen(const struct config *a, const struct config *b)
{
	if (a->n_listen != b->n_listen)
		return false;
	for (int i = 0; i < a->n_listen; i++)
		if (strcmp(a->listen[i].text, b->listen[i].text))
			return false;
	return true;
}

/* SIGHUP in a worker's loop. Loading configuration may block (the brief allows it
 * for config loading); the loop pauses for the time it takes to read a small file.
 * Everything is prepared first; on any error the running configuration stays. */
void server_reload(void)
{
	static struct config next;
	char err[1024];
	int root_fd = -1, fds[RINGD_MAX_LISTEN], n_fds = -1;

	if (build_config(&next, err, sizeof err)) {
		log_msg(LOGL_ERROR, "reload: %s; keeping the running configuration", err);
		return;
	}
	if (strcmp(next.root, srv.cfg.root)) {
		root_fd = open(next.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root_fd < 0) {
			log_msg(LOGL_ERROR, "reload: root %s: %s; keeping the running configuration",
				next.root, strerror(errno));
			return;
		}
	}
	if (!socket_activated && !same_listen(&next, &srv.cfg)) {
		n_fds = listen_open_all(&next, fds, RINGD_MAX_LISTEN, true, &srv.cfg, err, sizeof err);
		if (n_fds < 0) {
			log_msg(LOGL_ERROR, "reload: listen %s; keeping the running configuration", err);
			if (root_fd >= 0)
				close(root_fd);
			return;
		}
	}
	if (log_reconfigure(&next, err, sizeof err)) {
		log_msg(LOGL_ERROR, "reload: log %s; keeping the running configuration", err);
		if (root_fd >= 0)
			close(root_fd);
		for (int i = 0; i < n_fds; i++)
			close(fds[i]);
		return;
	}
	/* Sizes fixed at start-up (pools, tables, processes, identity) need a restart. */
	if (next.max_connections != srv.cfg.max_connections || next.max_header_bytes != srv.cfg.max_header_bytes ||
	    next.workers != srv.cfg.workers || strcmp(next.user, srv.cfg.user) ||
	    next.cache_entries != srv.cfg.cache_entries || next.cache_memory_mb != srv.cfg.cache_memory_mb ||
	    next.cache_max_file != srv.cfg.cache_max_file)
		log_msg(LOGL_WARN, "reload: max_connections, max_header_bytes, workers, user and the "
			"[cache] sizes take effect at the next restart");
	next.max_connections = srv.cfg.max_connections;
	next.max_header_bytes = srv.cfg.max_header_bytes;
	next.workers = srv.cfg.workers;
	strcpy(next.user, srv.cfg.user);
	next.cache_entries = srv.cfg.cache_entries;
	next.cache_memory_mb = srv.cfg.cache_memory_mb;
	next.cache_max_file = srv.cfg.cache_max_file;
	if (socket_activated) {
		memcpy(next.listen, srv.cfg.listen, sizeof next.listen);
		next.n_listen = srv.cfg.n_listen;
	}

	/* Commit. Requests in flight keep their open files; new ones see the new root. */
	if (root_fd >= 0) {
		loop_submit_close(srv.root_fd);
		srv.root_fd = root_fd;
	}
	cache_flush();
	if (n_fds >= 0)
		listen_replace(fds, n_fds);
	struct mime_table *old = srv.mime;
	srv.cfg = next;
	if (load_mime() == 0)
		mime_table_free(old);
	else
		srv.mime = old;
	log_msg(LOGL_INFO, "configuration reloaded");
}

int main(int argc, char **argv)
{
	struct config *cfg = &srv.cfg;
	int opt;
	bool check_only = false;
	char err[1024];

	while ((opt = getopt(argc, argv, "c:r:l:o:tVh")) != -1) {
		switch (opt) {
		case 'c': args.config_path = optarg; break;
		case 'r': args.root = optarg; break;
		case 'l':
			if (args.n_lis == RINGD_MAX_LISTEN) {
				fprintf(stderr, "ringd: at most %d -l options\n", RINGD_MAX_LISTEN);
				return 2;
			}
			args.listens[args.n_lis++] = optarg;
			break;
		case 'o':
			if (args.n_over == 64) {
				fprintf(stderr, "ringd: at most 64 -o options\n");
				return 2;
			}
			args.overrides[args.n_over++] = optarg;
			break;
		case 't': check_only = true; break;
		case 'V': printf("ringd %s\n", RINGD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	/* From here on TERM/INT/HUP/USR1 wait in the mask until the loop reads them
	 * from its signalfd: a signal during start-up is not lost or fatal. */
	sigset_t sigs;
	loop_signals(&sigs);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	if (!args.config_path && access(DEFAULT_CONFIG, F_OK) == 0)
		args.config_path = DEFAULT_CONFIG;
	/* A relative config path must still name the same file after a reload. */
	static char config_abs[4096];
	if (args.config_path && args.config_path[0] != '/' && realpath(args.config_path, config_abs))
		args.config_path = config_abs;
	if (build_config(cfg, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	srv.root_fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (srv.root_fd < 0) {
		fprintf(stderr, "ringd: root %s: %s\n", cfg->root, strerror(errno));
		return 1;
	}
	raise_fd_limit();
	int workers = cfg->workers;
	if (workers == 0)
		workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (workers < 1)
		workers = 1;
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	raise_memlock_limit(workers);
	if (check_only)
		workers = 1;

	/* Each worker gets its own socket per address (SO_REUSEPORT), bound here while
	 * we may still be root; or, under socket activation, all share systemd's. */
	static int fds[MAX_WORKERS][RINGD_MAX_LISTEN];
	int n = check_only ? 0 : sd_listen_fds(fds[0], RINGD_MAX_LISTEN);
	if (n < 0) {
		fprintf(stderr, "ringd: LISTEN_FDS: inherited descriptors are not usable\n");
		return 1;
	}
	if (n > 0) {
		socket_activated = true;
		srv.n_listen = n;
		for (int w = 1; w < workers; w++)
			memcpy(fds[w], fds[0], sizeof fds[0]);
	} else {
		for (int w = 0; w < workers; w++) {
			n = listen_open_all(cfg, fds[w], RINGD_MAX_LISTEN, w == 0, NULL, err, sizeof err);
			if (n < 0) {
				fprintf(stderr, "ringd: listen %s\n", err);
				return 1;
			}
			srv.n_listen = n;
		}
	}
	for (int i = 0; i < srv.n_listen; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		getsockname(fds[0][i], (struct sockaddr *)&ss, &len);
		srv.listen_family[i] = ss.ss_family;
	}
	if (check_only) {
		printf("ok\n");
		return 0;
	}
	/* glibc reads /etc/localtime on first use of the time functions; do it now, not
	 * in the loop at the first access-log line. */
	tzset();
	if (load_mime())
		return 1;
	if (log_open(cfg, err, sizeof err)) {
		fprintf(stderr, "ringd: log %s\n", err);
		return 1;
	}
	if (drop_privileges(run_as(cfg->user)))
		return 1;

	char addrs[RINGD_MAX_LISTEN * 72] = "";
	if (socket_activated)
		snprintf(addrs, sizeof addrs, "%d socket(s) from systemd", srv.n_listen);
	for (int i = 0; !socket_activated && i < cfg->n_listen; i++) {
		if (i)
			strcat(addrs, " ");
		strncat(addrs, cfg->listen[i].text, 70);
	}
	log_msg(LOGL_INFO, "ringd %s serving %s on %s (%d worker%s, body=%s)", RINGD_VERSION, cfg->root,
		addrs, workers, workers > 1 ? "s" : "", cfg->body == BODY_SPLICE ? "splice" : "read");
	sd_notify_init();
	srv.n_workers = workers;
	if (workers == 1) {
		sd_notify("READY=1", false);
		return serve(fds[0]);
	}
	return supervise(workers, fds);
}
