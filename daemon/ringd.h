/* ringd.h — the one private header: limits, shared types, and every cross-file
 * function under a heading naming its file. Read it as the table of contents.
 * The pure modules (http_parse, range, path, cond, mime, config) depend on
 * nothing but libc, so tests and fuzzers link them alone. */
#ifndef RINGD_H
#define RINGD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define RINGD_NAME    "ringd"
#ifndef RINGD_VERSION
#define RINGD_VERSION "0.1.0"
#endif

/* ---- limits (named once, here) ---- */
#define RINGD_MAX_LISTEN        16      /* listen addresses per config */
#define RINGD_MAX_TARGET        4096    /* request-target bytes; longer → 414 */
#define RINGD_MAX_HEADERS       100     /* header fields per request; more → 431 */
#define RINGD_MAX_BODY_DISCARD  (1u << 20) /* request body we read and drop; more → 413 */
#define RINGD_ETAG_MAX          64
#define RINGD_HTTP_DATE_LEN     29      /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define RINGD_MAX_PRECOMP       3
#define RINGD_CHUNK_SIZE        262144  /* body chunk for body=read. Measured against 256 KiB:
                                         * 64 KiB chunks cost 1.4x the CPU per GiB, 128 KiB
                                         * about 1.15x; 1 MiB about 1.15x too, at 20% less
                                         * MB/s (fewer zero-copy buffers fit the memlock
                                         * budget, and a chunk no longer stays in L2) */
#define RINGD_CACHE_MAX_FILE    65536   /* largest body the cache keeps in memory */

/* A byte span inside a buffer we own; not NUL-terminated. */
struct span {
	const char *p;
	uint32_t len;
};

/* ------------------------------------------------------------------ */
/* http_parse.c — pure HTTP/1.x request-head parser (RFC 9112)          */
/* ------------------------------------------------------------------ */
enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OPTIONS, HTTP_OTHER };

struct http_request {
	enum http_method method;
	struct span method_name;
	struct span target;      /* request-target exactly as received */
	struct span path;        /* still percent-encoded; "/..." (origin or absolute form), or "*" */
	struct span query;       /* after '?', without it; len 0 when absent */
	uint8_t version_minor;   /* 0 or 1 (HTTP/1.x with x>1 reported as 1) */
	bool keep_alive;         /* from version + Connection: close/keep-alive */
	bool has_content_length;
	bool chunked;            /* Transfer-Encoding present, final coding chunked */
	uint64_t content_length;
	struct span host;        /* Host field, or the authority of an absolute-form target */
	struct span if_match, if_none_match, if_modified_since, if_unmodified_since;
	struct span range, if_range, accept_encoding;
	struct span referer, user_agent; /* for the access log */
	uint32_t head_len;       /* bytes of the head incl. the final CRLFCRLF and any leading CRLFs */
};

/* Parse one request head from buf[0..len).
 * Returns head_len (>0) when a whole head was parsed (req filled, spans point into buf),
 *         0 when more bytes are needed (and len < max_head),
 *         -status on error: -400 malformed, -414 target too long, -431 head too large
 *         (len >= max_head with no complete head, or too many fields), -505 bad version. */
int http_parse_request(const char *buf, size_t len, size_t max_head, struct http_request *req);
/* Case-insensitive search of a comma-separated token list (e.g. Accept-Encoding) for
 * token with q != 0. Pure; used for Accept-Encoding. */
bool http_list_accepts(struct span list, const char *token);

/* ------------------------------------------------------------------ */
/* range.c — pure Range header parser (RFC 9110 §14)                     */
/* ------------------------------------------------------------------ */
struct byte_range {
	uint64_t first, last; /* inclusive, already clamped to the representation */
};
/* Parse a Range value against a representation of `size` bytes.
 * Returns n >= 1: number of satisfiable ranges (first min(n,max) stored in out),
 *         0: header is not a valid bytes range-set → ignore it (serve 200),
 *        -1: valid but nothing satisfiable → 416. */
int range_parse(const char *s, size_t len, uint64_t size, struct byte_range *out, int max);

/* ------------------------------------------------------------------ */
/* path.c — pure request-path decoding and normalisation                 */
/* ------------------------------------------------------------------ */
/* Percent-decode and normalise the path of a request target into out (NUL-terminated).
 * The result starts with '/', has no empty, "." or ".." segments, keeps a trailing '/'.
 * Returns its length, or -400 (bad escape, NUL, control byte, backslash, invalid or
 * overlong UTF-8, ".." above the root), or -414 (does not fit in outcap). */
int path_normalize(const char *in, size_t len, char *out, size_t outcap);
/* True when a segment starts with '.', except a leading "/.well-known/" segment. */
bool path_is_hidden(const char *path, size_t len);

/* ------------------------------------------------------------------ */
/* cond.c — pure conditional-request logic, HTTP dates, ETags (RFC 9110 §13) */
/* ------------------------------------------------------------------ */
struct validators {
	const char *etag;  /* strong ETag incl. quotes */
	size_t etag_len;
	time_t mtime;      /* Last-Modified, seconds */
};
enum cond_result { COND_PROCEED, COND_NOT_MODIFIED, COND_PRECONDITION_FAILED };
/* RFC 9110 §13.2.2 evaluation order for a GET/HEAD request. */
enum cond_result cond_evaluate(const struct http_request *req, const struct validators *v);
/* If-Range: true when the Range header should be honoured. */
bool cond_if_range(struct span if_range, const struct validators *v);
/* IMF-fixdate, RFC 850 and asctime forms. 0 on success, -1 if invalid. */
int http_date_parse(const char *s, size_t len, time_t *out);
/* Writes the 29-byte IMF-fixdate plus NUL; returns 29. */
size_t http_date_format(time_t t, char out[RINGD_HTTP_DATE_LEN + 1]);
/* Strong ETag from inode, size and mtime: "\"<hex>-<hex>-<hex>\"". Returns length. */
size_t etag_format(char out[RINGD_ETAG_MAX], uint64_t ino, uint64_t size, int64_t mtime_sec, uint32_t mtime_nsec);

/* ------------------------------------------------------------------ */
/* mime.c — extension → Content-Type                                     */
/* ------------------------------------------------------------------ */
struct mime_table;
/* A table holding the built-in fallback types (wasm, mjs, webp, avif, woff2, ...). */
struct mime_table *mime_table_new(void);
void mime_table_free(struct mime_table *t);
/* Add the entries of a mime.types file (its text); they override the built-ins.
 * Returns the number of extensions added, or -1 on allocation failure. */
int mime_table_load(struct mime_table *t, const char *text, size_t len);
/* Full Content-Type value for path (by its last extension, case-insensitive):
 * text types get "; charset=utf-8"; unknown → "application/octet-stream". Pure. */
const char *mime_lookup(const struct mime_table *t, const char *path, size_t len);

/* ------------------------------------------------------------------ */
/* config.c — INI configuration (inih) and -o overrides                  */
/* ------------------------------------------------------------------ */
enum dotfiles_policy { DOTFILES_DENY, DOTFILES_ALLOW };
enum symlinks_policy { SYMLINKS_WITHIN_ROOT, SYMLINKS_FOLLOW, SYMLINKS_DENY };
enum log_format { LOG_COMBINED, LOG_COMMON, LOG_JSON };
enum log_level { LOGL_ERROR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };
enum body_method { BODY_SPLICE, BODY_READ };
enum encoding { ENC_NONE = 0, ENC_BR, ENC_ZSTD, ENC_GZIP };

struct listen_addr {
	struct sockaddr_storage ss; /* port filled; for any_addr the family is AF_INET6 "::" */
	socklen_t len;
	bool any_addr;              /* "*:PORT": all addresses (dual-stack, IPv4 fallback) */
	char text[64];              /* as written, for messages */
};

struct config {
	/* [server] */
	struct listen_addr listen[RINGD_MAX_LISTEN];
	int n_listen;
	char root[4096];
	char index[256];
	char user[64];              /* empty: keep the current user */
	int workers;                /* 0 = auto (number of CPUs) */
	int max_connections;
	int shutdown_timeout;       /* s */
	int batch_wait;             /* µs the loop may wait to gather completions (loop.c) */
	/* [http] */
	int keepalive_timeout;      /* s */
	int header_timeout;         /* s */
	int send_timeout;           /* s without progress */
	int max_header_bytes;
	enum dotfiles_policy dotfiles;
	enum symlinks_policy symlinks;
	enum encoding precompressed[RINGD_MAX_PRECOMP]; /* preference order, ENC_NONE-terminated */
	int n_precompressed;
	char cache_control[256];    /* empty: no header */
	enum body_method body;
	int body_memory_mb;         /* MiB of body=read chunks in use at once, per worker (send.c) */
	/* [log] */
	char access_log[4096];      /* path, "stderr" or "off" */
	enum log_format log_format;
	char error_log[4096];       /* "stderr" or path */
	enum log_level log_level;
	/* [cache] */
	int cache_entries;          /* open-file cache entries; 0 = off */
	int cache_memory_mb;        /* MiB of small-file bodies kept in memory */
	int cache_max_file;         /* largest body kept in memory, bytes */
	int cache_revalidate;       /* s an entry is trusted before the path is resolved again */
};

void config_defaults(struct config *c);
/* Each returns 0, or -1 with err holding "FILE:LINE: KEY: problem". */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
int config_load_string(struct config *c, const char *text, const char *name, char *err, size_t errlen);
/* One key; used by the INI handler and by -o SECTION.KEY=VALUE. */
int config_set(struct config *c, const char *section, const char *key, const char *value,
	       char *err, size_t errlen);
/* -o argument "SECTION.KEY=VALUE". */
int config_override(struct config *c, const char *arg, char *err, size_t errlen);
/* Cross-key checks after loading (e.g. at least one listen address, root set). */
int config_validate(const struct config *c, char *err, size_t errlen);
/* "127.0.0.1:8080", "[::1]:8080", "*:8080". 0, or -1 with a reason in err. */
int listen_addr_parse(const char *s, struct listen_addr *out, char *err, size_t errlen);
const char *encoding_name(enum encoding e);        /* "br", "zstd", "gzip" */
const char *encoding_suffix(enum encoding e);      /* ".br", ".zst", ".gz" */


/* ================================================================== */
/* The daemon proper. Everything below runs inside one process's loop. */
/* ================================================================== */
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct io_uring_sqe;
struct io_uring_cqe;

/* Memory sizes, fixed at start-up. */
#define RINGD_RECV_BUF_SIZE   4096   /* one provided receive buffer */
#define RINGD_RECV_BUFS       1024   /* entries in the provided-buffer ring (power of 2) */
#define RINGD_TX_SIZE         16384  /* response head + small bodies sent inline */
#define RINGD_PIPE_SIZE       1048576 /* pipe capacity for body=splice (fs.pipe-max-size's default) */
#define RINGD_PIPES           64     /* at most this many pipes a worker; when all are busy, body=read */
#define RINGD_LINGER_SECS     5      /* drain time after a final response before close */
#define RINGD_LOG_BUF         65536  /* per log, per half of the double buffer */
#define RINGD_CORK_RESPONSES  32     /* pipelined responses gathered into one sendmsg */
#define RINGD_CORK_HEADS      12288  /* their heads, copied */

/* user_data layout, the one place it is defined:
 *   bits  0..7   enum op      what the completion is for
 *   bits  8..31  slot         connection slot (or listener / pipe index)
 *   bits 32..63  generation   the slot's generation when the SQE was queued
 * A CQE whose generation differs from its slot's current one belongs to a connection
 * that has since been closed and its slot reused: it is dropped. */
enum op {
	OP_NONE,
	OP_ACCEPT,      /* multishot accept; slot = listener index */
	OP_PEERNAME,    /* getsockopt(SO_PEERNAME) via URING_CMD, for the access log */
	OP_RECV,        /* multishot recv from the provided-buffer ring */
	OP_SEND,        /* response head (and inline body), or a body=read chunk */
	OP_SEND_ZC,     /* body=read chunk from a registered buffer; then a notification CQE */
	OP_OPEN,        /* openat2 beneath the root */
	OP_STATX,       /* statx of the opened file */
	OP_READ,        /* file read: inline small body or body=read chunk */
	OP_SPLICE_IN,   /* file → pipe */
	OP_SPLICE_OUT,  /* pipe → socket */
	OP_POLL_OUT,    /* wait for socket space before a retried splice */
	OP_SHUTDOWN,    /* half-close before lingering */
	OP_CANCEL,      /* cancellation of a connection's requests */
	OP_CLOSE,       /* close of any fd; nothing to do on completion */
	OP_PIPE_DRAIN,  /* emptying a pipe left full by an aborted response; slot = pipe */
	OP_TIMER,       /* the one-second tick */
	OP_SIGNAL,      /* signalfd read */
	OP_LOG_WRITE,   /* access/error log write; slot = log index */
	OP_LOG_REOPEN,  /* SIGUSR1: log file opened again; slot = log index */
	OP_POOL_TRIM,   /* madvise of a cold pool block; slot = pool id */
	OP__COUNT
};

static inline uint64_t ud_pack(enum op op, uint32_t slot, uint32_t gen)
{
	return (uint64_t)op | ((uint64_t)(slot & 0xffffff) << 8) | ((uint64_t)gen << 32);
}
static inline enum op ud_op(uint64_t ud) { return (enum op)(ud & 0xff); }
static inline uint32_t ud_slot(uint64_t ud) { return (uint32_t)(ud >> 8) & 0xffffff; }
static inline uint32_t ud_gen(uint64_t ud) { return (uint32_t)(ud >> 32); }

/* A connection's life. Every handler asserts the state it expects. */
enum conn_state {
	CONN_FREE,      /* slot unused */
	CONN_IDLE,      /* no request bytes yet; keep-alive timer runs */
	CONN_READING,   /* part of a request head is here; header timer runs */
	CONN_RESOLVING, /* openat2/statx chain in flight for the current request */
	CONN_SENDING,   /* response head and/or body on the way; send timer runs */
	CONN_LINGER,    /* final response sent, write side shut; draining input until EOF */
	CONN_CLOSING,   /* waiting for in-flight operations to finish before close */
};

/* Byte transport of a connection: plain TCP now; TLS (memory BIOs / kTLS) later
 * slots in here without touching the state machine. */
struct conn;
struct transport {
	const char *name;
	void (*arm_recv)(struct conn *c);                   /* multishot receive */
	void (*send)(struct conn *c, const void *buf, size_t len, bool more);
	void (*sendmsg)(struct conn *c, const struct msghdr *msg);        /* completes as OP_SEND */
	/* Zero-copy send from registered buffer buf_index (completes as OP_SEND_ZC),
	 * or NULL when the transport must see the bytes (TLS without kTLS). */
	void (*send_fixed)(struct conn *c, const void *buf, size_t len, int buf_index, bool more);
	bool can_splice;                                    /* file pages may go straight to the fd */
};

/* Per-request state, taken from a pool when a head is parsed, returned when the
 * response is done. Idle connections hold none. */
struct exchange {
	struct http_request req;   /* spans into conn->rx until the head is consumed */
	int status;
	int file_fd;               /* -1 when none */
	int var_fd;                /* precompressed variant being tried, -1 when none */
	enum encoding enc;         /* chosen precompressed variant */
	enum encoding enc_trying;  /* variant whose open/statx is in flight, ENC_NONE for the base */
	uint8_t enc_next;          /* next candidate in config.precompressed */
	bool head_only;            /* HEAD: headers only */
	bool keep_alive;
	bool is_index;             /* the path now names the directory's index file */
	struct statx stx;          /* base file, then the variant being tried */
	uint64_t size;             /* of the chosen representation */
	uint64_t mtime;
	uint32_t mtime_nsec;
	uint64_t ino;
	char etag[RINGD_ETAG_MAX]; /* of the chosen representation, made once in send_response */
	uint8_t etag_len;
	struct centry *entry;      /* cache entry whose fd/body we borrow (referenced), or NULL */
	const char *body_mem;      /* whole body in memory (entry->body), or NULL */
	uint64_t body_off;         /* next file offset to send */
	uint64_t body_left;        /* bytes still to send */
	uint64_t body_len;         /* promised Content-Length of the body */
	uint64_t body_sent;        /* for the log */
	int pipe;                  /* index into the pipe pool, -1 when none */
	uint32_t pipe_fill;        /* bytes sitting in the pipe */
	char *chunk;               /* body=read buffer (pool, registered or tx), NULL when none */
	uint32_t chunk_cap;        /* its size */
	int zc;                    /* registered buffer index of chunk, -1 when from the pool */
	bool zc_wait;              /* a zero-copy send's notification is still to come */
	const char *piece;         /* body bytes being sent: chunk, or the cached body */
	bool vec;                  /* head and cached body left together in one sendmsg */
	struct iovec iov[2];
	struct msghdr msg;
	uint32_t chunk_len, chunk_sent;
	uint32_t tx_len, tx_sent;  /* bytes of tx queued / already sent */
	uint32_t path_len;
	char path[RINGD_MAX_TARGET + 32]; /* normalised, relative to root ("." for "/") */
	char tx[RINGD_TX_SIZE];
};

/* Pipelining: responses made wholly from memory while another request already
 * waits behind them are not sent one by one. Their heads are copied here and their
 * cached bodies referenced, and all of it leaves in front of the next send the
 * connection makes, as one sendmsg (conn.c). Taken from a pool while in use. */
struct cork {
	struct msghdr msg;
	uint32_t bytes;            /* queued bytes, all iovecs */
	uint32_t heads_len;
	uint16_t niov, nref;
	bool inflight;             /* riding in front of the send in flight */
	struct iovec iov[2 * RINGD_CORK_RESPONSES + 2]; /* + the carrying send's own two */
	struct centry *ref[RINGD_CORK_RESPONSES];      /* cache entries whose bodies are queued */
	char heads[RINGD_CORK_HEADS];
};

struct conn {
	int fd;
	uint8_t state;             /* enum conn_state */
	uint8_t family;            /* AF_INET or AF_INET6: the listener's */
	bool recv_armed;           /* a multishot recv is in flight */
	bool closing_after;        /* close once the current response is sent */
	bool eof;                  /* the client shut its write side */
	bool starved;              /* recv ended for lack of provided buffers; re-armed later */
	bool peer_ok;
	bool fresh;                /* accepted, no request parsed yet */
	uint16_t inflight;         /* SQEs queued whose final CQE has not arrived */
	uint32_t gen;
	/* timer wheel links (timer.c) */
	uint32_t tw_prev, tw_next;
	uint32_t deadline;         /* loop seconds; 0 = none */
	uint32_t scheduled;        /* second whose wheel slot holds us */
	/* input */
	char *rx;                  /* pool buffer, NULL when empty */
	uint32_t rx_len;
	uint16_t held_head, held_tail; /* provided buffers kept while rx is full (bid+1; 0 = none) */
	uint32_t held_off;         /* bytes of the head buffer already used */
	uint64_t discard;          /* request body bytes still to drop */
	struct exchange *ex;
	struct cork *cork;         /* queued pipelined responses, NULL when none */
	const struct transport *tp;
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} peer;
};

/* Process-wide state of the loop (one per worker process). */
struct server {
	struct config cfg;
	struct mime_table *mime;
	int root_fd;               /* O_PATH directory fd of the document root */
	int listen_fd[RINGD_MAX_LISTEN];
	int n_listen;
	int listen_family[RINGD_MAX_LISTEN];
	uint32_t max_conns;
	struct conn *conns;        /* max_conns slots */
	uint32_t n_active;         /* slots not FREE */
	bool stopping;             /* SIGTERM/SIGINT seen: draining */
	uint32_t stop_deadline;    /* loop second at which draining gives up (shutdown_timeout) */
	bool accept_paused;        /* out of slots or fds: accept resumes when one frees */
	uint32_t now;              /* seconds since start, read once per loop iteration */
	time_t wall;               /* wall clock seconds, same moment */
	char date[RINGD_HTTP_DATE_LEN + 1]; /* Date: value for `wall` */
	uint64_t requests;
	uint32_t n_streaming;      /* responses sending a body chunk by chunk (send.c) */
	int n_workers;             /* worker processes in all (they share per-user limits) */
};
extern struct server srv;

/* user_data for an SQE queued on behalf of connection c. */
static inline uint64_t conn_ud(const struct conn *c, enum op op)
{
	return ud_pack(op, (uint32_t)(c - srv.conns), c->gen);
}

/* main.c */
void server_reload(void);                  /* SIGHUP: build, check, then swap the configuration */

/* systemd.c */
void sd_notify_init(void);
void sd_notify_forget(void);
void sd_notify(const char *msg, bool in_loop);  /* msg: a string literal */
int sd_listen_fds(int *fds, int max);

/* loop.c */
void loop_signals(sigset_t *set);           /* TERM, INT, HUP, USR1 */
int loop_init(void);
int loop_run(void);                        /* returns the exit code */
struct io_uring_sqe *loop_sqe(void);       /* never NULL: flushes when the SQ is full */
void loop_recycle_buf(uint16_t bid);       /* give a provided buffer back to the ring */
uint32_t loop_bufs_free(void);             /* provided buffers the kernel can still fill */
const char *loop_buf(uint16_t bid);
void loop_submit_close(int fd);
int loop_register_buffers(const struct iovec *iov, unsigned n);
extern const char *loop_features;          /* for the start-up line */

/* listen.c */
int listen_open_all(const struct config *cfg, int *fds, int max, bool probe, const struct config *held,
		    char *err, size_t errlen);
void listen_detach(const int *fds, int n);  /* out of the SO_REUSEPORT group, port kept */
int listen_reattach(const int *fds, int n); /* back in it */
void listen_arm(int idx);                  /* multishot accept on listener idx */
void listen_on_accept(int idx, uint32_t gen, int res, unsigned flags);
void listen_stop(void);                    /* graceful stop: cancel accepts, close sockets */
void listen_resume(void);                  /* a slot or fd freed: re-arm paused accepts */
void listen_replace(const int *fds, int n);  /* reload: new sockets in, old ones closed */

/* conn.c */
int conn_table_init(uint32_t max);
void conn_start(int fd, int family);
void conn_complete(enum op op, struct conn *c, int res, unsigned flags);
void conn_close(struct conn *c);           /* the one place a failing connection ends */
void conn_timeout(struct conn *c);
void conn_drain_all(bool force);           /* stop: close idle, finish busy (force: close all) */
void conn_after_batch(void);               /* re-arm receives starved of buffers */
void conn_trim_pools(void);                /* once a second */
void conn_response_done(struct conn *c);   /* send.c: the response is on the wire */
void conn_abort(struct conn *c, const char *why); /* response cannot be completed */
/* send.c: a response wholly in memory (head, and body or NULL). When another request
 * is already waiting behind it, queue it in the cork, finish the exchange and return
 * true; the caller then sends nothing. */
bool conn_cork(struct conn *c, const char *head, uint32_t hlen, const char *body, uint32_t blen);
uint32_t conn_slot(const struct conn *c);

/* cache.c — the open-file cache */
enum { CE_FILE, CE_DIR, CE_ERROR };
struct centry {
	struct centry *hnext, *lru_prev, *lru_next;
	uint32_t hash;
	uint16_t klen;
	uint8_t kind;              /* CE_FILE, CE_DIR, or CE_ERROR with status */
	bool dead;                 /* out of the table; freed at the last unref */
	int16_t status;
	int fd;                    /* CE_FILE: open O_RDONLY; owned by the entry */
	uint32_t refs;             /* exchanges using fd or body */
	uint32_t checked;          /* srv.now when resolved */
	uint64_t size, mtime, ino;
	uint32_t mtime_nsec;
	char *body;                /* whole file when small, else NULL */
	char key[];
};
int cache_init(void);
struct centry *cache_get(const char *key, size_t klen);   /* fresh entry or NULL */
struct centry *cache_put_file(const char *key, size_t klen, int fd, const struct exchange *ex);
void cache_put_status(const char *key, size_t klen, uint8_t kind, int status);
bool cache_wants_body(const struct centry *e);
void cache_set_body(struct centry *e, const char *data);
void cache_ref(struct centry *e);
void cache_unref(struct centry *e);
void cache_trim_pools(void);                   /* once a second */
void cache_flush(void);                         /* reload: forget everything */

/* http_resp.c */
size_t resp_head(struct conn *c, struct exchange *ex, char *out, size_t cap);
void resp_error(struct conn *c, int status);   /* queue an error page; closes if needed */
const char *resp_reason(int status);
int errno_to_status(int err);                  /* the one errno → HTTP status mapping */

/* file.c */
void file_init(void);
void file_begin(struct conn *c);               /* resolve the parsed request to a file */
void file_complete(struct conn *c, enum op op, int res);
extern const struct transport plain_transport;

/* send.c */
void send_response(struct conn *c);            /* head (+inline body), then body */
void send_complete(struct conn *c, enum op op, int res);
void send_zc_complete(struct conn *c, int res, unsigned flags);
int send_pipes_init(void);
void send_trim_pools(void);                    /* once a second */
void send_release(struct conn *c, struct exchange *ex); /* return pipe/chunk to their pools */
void send_zc_orphan_notified(uint32_t slot);   /* notification for a connection gone */
void send_pipe_drained(uint32_t pipe, int res);

/* timer.c */
int timer_init(uint32_t max_conns);
void timer_set(struct conn *c, uint32_t secs);  /* 0 = cancel */
void timer_tick(void);                          /* once per loop iteration */

/* log.c */
int log_open(const struct config *cfg, char *err, size_t errlen);
void log_access(const struct conn *c, const struct exchange *ex);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_flush(void);                           /* one write SQE per log per iteration */
void log_write_done(uint32_t which, int res);
void log_reopen(void);
int log_reconfigure(const struct config *next, char *err, size_t errlen); /* reload */
void log_reopened(uint32_t which, int res);
void log_chown(unsigned uid, unsigned gid);    /* start-up, before dropping root */
void log_loop_started(void);                    /* from now on, lines go through the ring */
bool log_idle(void);                            /* nothing buffered or in flight */

/* pool.c — fixed-size blocks carved from one mapping made at start-up */
struct pool {
	char *base;
	size_t size;
	uint32_t count, nfree;
	uint32_t clean;            /* free[0..clean) have no resident pages */
	uint32_t *free;
	uint32_t *trimming;        /* blocks out of the stack while their madvise runs */
	uint32_t n_trimming, trim_pending, id;
};
int pool_init(struct pool *p, size_t size, uint32_t count);
void *pool_get(struct pool *p);
void pool_put(struct pool *p, void *block);
void pool_trim(struct pool *p);                 /* once a second, through the ring */
void pool_trimmed(uint32_t id);                 /* a trim's madvise completed */

#endif
