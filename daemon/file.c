/* file.c — from a parsed request to an open file: method and path checks, openat2
 * beneath the root directory fd, statx, directory index and redirect, and the
 * precompressed variants (file.br, file.zst, file.gz). Every step is an SQE. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>

#include <liburing.h>

#include "ringd.h"

#define STATX_WANT (STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MTIME | STATX_INO)

/* Indexed by enum symlinks_policy. The kernel copies it when the SQE is submitted,
 * so one constant copy serves every request. */
static struct open_how how_for[3];

void file_init(void)
{
	/* O_NOCTTY: a device node in the root never becomes our terminal. No O_NONBLOCK:
	 * io_uring would then return EAGAIN for uncached reads instead of waiting. A FIFO
	 * does not hang the open: io_uring's first attempt is non-blocking. */
	uint64_t flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	how_for[SYMLINKS_WITHIN_ROOT] = (struct open_how){ .flags = flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	/* follow: symlinks anywhere, but the normalised path itself never climbs. */
	how_for[SYMLINKS_FOLLOW] = (struct open_how){ .flags = flags,
		.resolve = RESOLVE_NO_MAGICLINKS };
	how_for[SYMLINKS_DENY] = (struct open_how){ .flags = flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
}

static void submit_open(struct conn *c)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_openat2(sqe, srv.root_fd, c->ex->path, &how_for[srv.cfg.symlinks]);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_OPEN));
	c->inflight++;
}

static void on_dir(struct conn *c);
static void adopt(struct conn *c, struct centry *e);
static void try_next_variant(struct conn *c);

/* The path in ex->path (base, index, or base+suffix when a variant is being tried):
 * from the open-file cache when it knows it, else through openat2 + statx. */
static void resolve(struct conn *c)
{
	struct exchange *ex = c->ex;
	struct centry *e = cache_get(ex->path, strlen(ex->path));
	if (!e) {
		submit_open(c);
		return;
	}
	if (ex->enc_trying != ENC_NONE) {
		if (e->kind == CE_FILE)
			adopt(c, e);
		else
			try_next_variant(c);
		return;
	}
	switch (e->kind) {
	case CE_ERROR:
		resp_error(c, e->status);
		return;
	case CE_DIR:
		on_dir(c);
		return;
	default:
		adopt(c, e);
		return;
	}
}

static void submit_statx(struct conn *c, int fd)
{
	struct io_uring_sqe *sqe = loop_sqe();
	io_uring_prep_statx(sqe, fd, "", AT_EMPTY_PATH, STATX_WANT, &c->ex->stx);
	io_uring_sqe_set_data64(sqe, conn_ud(c, OP_STATX));
	c->inflight++;
}

void file_begin(struct conn *c)
{
	struct exchange *ex = c->ex;
	const struct http_request *req = &ex->req;

	if (req->method == HTTP_OPTIONS) {
		resp_error(c, 204);
		return;
	}
	if (req->method == HTTP_OTHER) {
		resp_error(c, 405);
		return;
	}
	if (req->path.len == 1 && req->path.p[0] == '*') {
		resp_error(c, 400);
		return;
	}
	int n = path_normalize(req->path.p, req->path.len, ex->path, sizeof ex->path - 16);
	if (n < 0) {
		resp_error(c, -n);
		return;
	}
	if (srv.cfg.dotfiles == DOTFILES_DENY && path_is_hidden(ex->path, (size_t)n)) {
		resp_error(c, 403);
		return;
	}
	/* openat2 wants a path relative to the root fd: "/a/b" → "a/b", "/" → ".". */
	if (n == 1) {
		ex->path[0] = '.';
	} else {
		memmove(ex->path, ex->path + 1, (size_t)n);
		n--;
	}
	ex->path_len = (uint32_t)n;
	resolve(c);
}

/* Precompressed variants in the configured order; when none fits, the base file. */
static void try_next_variant(struct conn *c)
{
	struct exchange *ex = c->ex;
	struct span ae = ex->req.accept_encoding;
	while (ae.len && ex->enc_next < srv.cfg.n_precompressed) {
		enum encoding e = srv.cfg.precompressed[ex->enc_next++];
		if (!http_list_accepts(ae, encoding_name(e)))
			continue;
		const char *suffix = encoding_suffix(e);
		strcpy(ex->path + ex->path_len, suffix);
		ex->enc_trying = e;
		resolve(c);
		return;
	}
	ex->path[ex->path_len] = 0;
	ex->enc_trying = ENC_NONE;
	send_response(c);
}

static void take_facts(struct exchange *ex)
{
	ex->size = ex->stx.stx_size;
	ex->mtime = (uint64_t)ex->stx.stx_mtime.tv_sec;
	ex->mtime_nsec = ex->stx.stx_mtime.tv_nsec;
	ex->ino = ex->stx.stx_ino;
}

/* Let go of the base file when a variant replaces it. */
static void drop_base(struct exchange *ex)
{
	if (ex->entry) {
		cache_unref(ex->entry);
		ex->entry = NULL;
	} else if (ex->file_fd >= 0) {
		loop_submit_close(ex->file_fd);
	}
	ex->file_fd = -1;
}

/* Serve the file a cache entry describes: base file, or the variant being tried. */
static void adopt(struct conn *c, struct centry *e)
{
	struct exchange *ex = c->ex;
	bool variant = ex->enc_trying != ENC_NONE;
	if (variant)
		drop_base(ex);
	cache_ref(e);
	ex->entry = e;
	ex->file_fd = e->fd;
	ex->size = e->size;
	ex->mtime = e->mtime;
	ex->mtime_nsec = e->mtime_nsec;
	ex->ino = e->ino;
	if (variant) {
		ex->enc = ex->enc_trying;
		ex->enc_trying = ENC_NONE;
		ex->path[ex->path_len] = 0;
		send_response(c);
	} else {
		try_next_variant(c);
	}
}

/* The fd just opened and statted: into the cache (which then owns it) if it can. */
static void opened_file(struct conn *c, int fd)
{
	struct exchange *ex = c->ex;
	take_facts(ex);
	struct centry *e = cache_put_file(ex->path, strlen(ex->path), fd, ex);
	if (e) {
		adopt(c, e);
		return;
	}
	/* No cache: the exchange owns the fd. */
	if (ex->enc_trying != ENC_NONE) {
		drop_base(ex);
		ex->file_fd = fd;
		ex->var_fd = -1;
		ex->enc = ex->enc_trying;
		ex->enc_trying = ENC_NONE;
		ex->path[ex->path_len] = 0;
		send_response(c);
	} else {
		ex->file_fd = fd;
		try_next_variant(c);
	}
}

static void on_dir(struct conn *c)
{
	struct exchange *ex = c->ex;
	bool is_root = ex->path_len == 1 && ex->path[0] == '.';

	if (ex->is_index) {
		resp_error(c, 404);      /* "index.html" is itself a directory */
		return;
	}
	if (!is_root && ex->path[ex->path_len - 1] != '/') {
		resp_error(c, 301);
		return;
	}
	uint32_t at = is_root ? 0 : ex->path_len;
	size_t ilen = strlen(srv.cfg.index);
	if (at + ilen + 8 >= sizeof ex->path) {
		resp_error(c, 414);
		return;
	}
	memcpy(ex->path + at, srv.cfg.index, ilen + 1);
	ex->path_len = at + (uint32_t)ilen;
	ex->is_index = true;
	resolve(c);
}

static void on_base_stat(struct conn *c)
{
	struct exchange *ex = c->ex;
	mode_t mode = ex->stx.stx_mode;
	int fd = ex->file_fd;

	ex->file_fd = -1;
	if (S_ISDIR(mode)) {
		loop_submit_close(fd);
		cache_put_status(ex->path, strlen(ex->path), CE_DIR, 0);
		on_dir(c);
		return;
	}
	if (!S_ISREG(mode)) {
		loop_submit_close(fd);
		cache_put_status(ex->path, strlen(ex->path), CE_ERROR, 403);
		resp_error(c, 403);        /* FIFOs, sockets, devices are never served */
		return;
	}
	opened_file(c, fd);
}

void file_complete(struct conn *c, enum op op, int res)
{
	struct exchange *ex = c->ex;
	bool variant = ex->enc_trying != ENC_NONE;

	if (op == OP_OPEN) {
		if (res < 0) {
			int status = errno_to_status(-res);
			/* Remember misses (a missing file.br is asked for on every request);
			 * not 5xx, which may pass. */
			if (status == 404 || status == 403)
				cache_put_status(ex->path, strlen(ex->path), CE_ERROR, status);
			if (variant)
				try_next_variant(c);  /* no such variant: quietly the next one */
			else
				resp_error(c, status);
			return;
		}
		if (variant)
			ex->var_fd = res;
		else
			ex->file_fd = res;
		submit_statx(c, res);
		return;
	}

	/* OP_STATX */
	if (!variant) {
		if (res < 0) {
			resp_error(c, errno_to_status(-res));
			return;
		}
		on_base_stat(c);
		return;
	}
	if (res == 0 && S_ISREG(ex->stx.stx_mode)) {
		int fd = ex->var_fd;
		ex->var_fd = -1;
		opened_file(c, fd);
		return;
	}
	cache_put_status(ex->path, strlen(ex->path), CE_ERROR, 404);
	loop_submit_close(ex->var_fd);
	ex->var_fd = -1;
	try_next_variant(c);
}
