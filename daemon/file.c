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
	submit_open(c);
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
		submit_open(c);
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

static void on_base_stat(struct conn *c)
{
	struct exchange *ex = c->ex;
	mode_t mode = ex->stx.stx_mode;

	if (S_ISDIR(mode)) {
		loop_submit_close(ex->file_fd);
		ex->file_fd = -1;
		if (ex->is_index) {
			resp_error(c, 404);      /* "index.html" is itself a directory */
			return;
		}
		if (ex->path[ex->path_len - 1] != '/' && !(ex->path_len == 1 && ex->path[0] == '.')) {
			resp_error(c, 301);
			return;
		}
		uint32_t at = ex->path_len == 1 && ex->path[0] == '.' ? 0 : ex->path_len;
		size_t ilen = strlen(srv.cfg.index);
		if (at + ilen + 8 >= sizeof ex->path) {
			resp_error(c, 414);
			return;
		}
		memcpy(ex->path + at, srv.cfg.index, ilen + 1);
		ex->path_len = at + (uint32_t)ilen;
		ex->is_index = true;
		submit_open(c);
		return;
	}
	if (!S_ISREG(mode)) {
		resp_error(c, 403);        /* FIFOs, sockets, devices are never served */
		return;
	}
	take_facts(ex);
	try_next_variant(c);
}

void file_complete(struct conn *c, enum op op, int res)
{
	struct exchange *ex = c->ex;
	bool variant = ex->enc_trying != ENC_NONE;

	if (op == OP_OPEN) {
		if (res < 0) {
			if (variant)
				try_next_variant(c);  /* no such variant: quietly the next one */
			else
				resp_error(c, errno_to_status(-res));
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
		loop_submit_close(ex->file_fd);
		ex->file_fd = ex->var_fd;
		ex->var_fd = -1;
		ex->enc = ex->enc_trying;
		ex->enc_trying = ENC_NONE;
		ex->path[ex->path_len] = 0;
		take_facts(ex);
		send_response(c);
		return;
	}
	loop_submit_close(ex->var_fd);
	ex->var_fd = -1;
	try_next_variant(c);
}
