/* test_config.c — config.c against tables: every key with good and bad values,
 * the exact "FILE:LINE: KEY: problem" messages, INI syntax traps, -o overrides,
 * listen address parsing, validation, and the shipped config/ringd.ini (found
 * through RINGD_SRCDIR). TAP. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ringd.h"
#include "tap.h"

static void ok(bool cond, const char *what, const char *in)
{
	tap_ok_input(cond, what, in, strlen(in));
}

/* A field of struct config as text, so one table column can check any key. */
static void field(const struct config *c, const char *key, char *out, size_t n)
{
	static const char *const dot[] = { "deny", "allow" };
	static const char *const sym[] = { "within-root", "follow", "deny" };
	static const char *const body[] = { "splice", "read" };
	static const char *const fmt[] = { "combined", "common", "json" };
	static const char *const lvl[] = { "error", "warn", "info", "debug" };

	out[0] = '\0';
	if (strcmp(key, "listen") == 0) {
		for (int i = 0; i < c->n_listen; i++) {
			size_t l = strlen(out);

			snprintf(out + l, n - l, "%s%s", i ? "," : "", c->listen[i].text);
		}
	} else if (strcmp(key, "precompressed") == 0) {
		for (int i = 0; i < c->n_precompressed; i++) {
			size_t l = strlen(out);

			snprintf(out + l, n - l, "%s%s", i ? "," : "", encoding_name(c->precompressed[i]));
		}
	} else if (strcmp(key, "root") == 0) {
		snprintf(out, n, "%s", c->root);
	} else if (strcmp(key, "index") == 0) {
		snprintf(out, n, "%s", c->index);
	} else if (strcmp(key, "user") == 0) {
		snprintf(out, n, "%s", c->user);
	} else if (strcmp(key, "workers") == 0) {
		snprintf(out, n, "%d", c->workers);
	} else if (strcmp(key, "max_connections") == 0) {
		snprintf(out, n, "%d", c->max_connections);
	} else if (strcmp(key, "shutdown_timeout") == 0) {
		snprintf(out, n, "%d", c->shutdown_timeout);
	} else if (strcmp(key, "batch_wait") == 0) {
		snprintf(out, n, "%d", c->batch_wait);
	} else if (strcmp(key, "keepalive_timeout") == 0) {
		snprintf(out, n, "%d", c->keepalive_timeout);
	} else if (strcmp(key, "header_timeout") == 0) {
		snprintf(out, n, "%d", c->header_timeout);
	} else if (strcmp(key, "send_timeout") == 0) {
		snprintf(out, n, "%d", c->send_timeout);
	} else if (strcmp(key, "max_header_bytes") == 0) {
		snprintf(out, n, "%d", c->max_header_bytes);
	} else if (strcmp(key, "dotfiles") == 0) {
		snprintf(out, n, "%s", dot[c->dotfiles]);
	} else if (strcmp(key, "symlinks") == 0) {
		snprintf(out, n, "%s", sym[c->symlinks]);
	} else if (strcmp(key, "cache_control") == 0) {
		snprintf(out, n, "%s", c->cache_control);
	} else if (strcmp(key, "body") == 0) {
		snprintf(out, n, "%s", body[c->body]);
	} else if (strcmp(key, "body_memory") == 0) {
		snprintf(out, n, "%d", c->body_memory_mb);
	} else if (strcmp(key, "access") == 0) {
		snprintf(out, n, "%s", c->access_log);
	} else if (strcmp(key, "format") == 0) {
		snprintf(out, n, "%s", fmt[c->log_format]);
	} else if (strcmp(key, "error") == 0) {
		snprintf(out, n, "%s", c->error_log);
	} else if (strcmp(key, "level") == 0) {
		snprintf(out, n, "%s", lvl[c->log_level]);
	} else {
		snprintf(out, n, "?");
	}
}

/* config_set on a default config: want is the field afterwards (OK rows) or the
 * exact message (rows with err set). */
struct set_row {
	const char *section, *key, *value;
	bool err;
	const char *want;
};

static const struct set_row sets[] = {
	/* [server] */
	{ "server", "listen", "127.0.0.1:80", false, "127.0.0.1:80" },
	{ "server", "listen", "[::1]:8080, 127.0.0.1:8080", false, "[::1]:8080,127.0.0.1:8080" },
	{ "server", "listen", " *:443 ", false, "*:443" },
	{ "server", "listen", "127.0.0.1:99999", true, "listen: port 99999 out of range" },
	{ "server", "listen", "127.0.0.1:1,[::1]:0", true, "listen: [::1]:0: port 0 out of range" },
	{ "server", "listen", "localhost:8080", true, "listen: use a numeric address, not \"localhost\"" },
	{ "server", "listen", "", true, "listen: at least one address is required" },
	{ "server", "listen", "127.0.0.1:80,", true, "listen: empty item in list" },
	{ "server", "listen", "127.0.0.1:80,127.0.0.1:80", true, "listen: 127.0.0.1:80 listed twice" },
	{ "server", "listen", "1.1.1.1:1,1.1.1.1:2,1.1.1.1:3,1.1.1.1:4,1.1.1.1:5,1.1.1.1:6,"
	  "1.1.1.1:7,1.1.1.1:8,1.1.1.1:9,1.1.1.1:10,1.1.1.1:11,1.1.1.1:12,1.1.1.1:13,"
	  "1.1.1.1:14,1.1.1.1:15,1.1.1.1:16,1.1.1.1:17", true, "listen: more than 16 addresses" },
	{ "server", "root", "/srv/www", false, "/srv/www" },
	{ "server", "root", "www", false, "www" },
	{ "server", "root", "", true, "root: must not be empty" },
	{ "server", "root", "/a\tb", true, "root: contains a control character" },
	{ "server", "index", "home.htm", false, "home.htm" },
	{ "server", "index", "a/index.html", true, "index: must be a plain file name such as index.html" },
	{ "server", "index", "", true, "index: must be a plain file name such as index.html" },
	{ "server", "index", "..", true, "index: must be a plain file name such as index.html" },
	{ "server", "user", "www-data", false, "www-data" },
	{ "server", "user", "", false, "" },
	{ "server", "user", "a-very-long-user-name-that-goes-on-and-on-and-on-and-on-and-on-xx", true,
	  "user: too long (max 63 bytes)" },
	{ "server", "workers", "auto", false, "0" },
	{ "server", "workers", "4", false, "4" },
	{ "server", "workers", "256", false, "256" },
	{ "server", "workers", "0", true, "workers: must be auto or between 1 and 256, not 0" },
	{ "server", "workers", "257", true, "workers: must be auto or between 1 and 256, not 257" },
	{ "server", "workers", "AUTO", true, "workers: must be auto or between 1 and 256, not AUTO" },
	{ "server", "max_connections", "16", false, "16" },
	{ "server", "max_connections", "1048576", false, "1048576" },
	{ "server", "max_connections", "15", true, "max_connections: must be between 16 and 1048576, not 15" },
	{ "server", "max_connections", "99999999999999999999", true,
	  "max_connections: must be between 16 and 1048576, not 99999999999999999999" },
	{ "server", "shutdown_timeout", "0", false, "0" },
	{ "server", "shutdown_timeout", "-1", true, "shutdown_timeout: must be between 0 and 3600, not -1" },
	{ "server", "batch_wait", "0", false, "0" },
	{ "server", "batch_wait", "10000", false, "10000" },
	{ "server", "batch_wait", "10001", true, "batch_wait: must be between 0 and 10000, not 10001" },
	{ "server", "batch_wait", "-5", true, "batch_wait: must be between 0 and 10000, not -5" },
	{ "server", "batch_wait", "1ms", true, "batch_wait: \"1ms\" is not a whole number" },
	/* [http] */
	{ "http", "keepalive_timeout", "0", false, "0" },
	{ "http", "keepalive_timeout", "3600", false, "3600" },
	{ "http", "keepalive_timeout", "3601", true, "keepalive_timeout: must be between 0 and 3600, not 3601" },
	{ "http", "keepalive_timeout", "10s", true, "keepalive_timeout: \"10s\" is not a whole number" },
	{ "http", "keepalive_timeout", "", true, "keepalive_timeout: \"\" is not a whole number" },
	{ "http", "keepalive_timeout", "+5", true, "keepalive_timeout: \"+5\" is not a whole number" },
	{ "http", "keepalive_timeout", "1 0", true, "keepalive_timeout: \"1 0\" is not a whole number" },
	{ "http", "header_timeout", "1", false, "1" },
	{ "http", "header_timeout", "0", true, "header_timeout: must be between 1 and 3600, not 0" },
	{ "http", "send_timeout", "120", false, "120" },
	{ "http", "send_timeout", "0x10", true, "send_timeout: \"0x10\" is not a whole number" },
	{ "http", "max_header_bytes", "1024", false, "1024" },
	{ "http", "max_header_bytes", "65536", false, "65536" },
	{ "http", "max_header_bytes", "65537", true, "max_header_bytes: must be between 1024 and 65536, not 65537" },
	{ "http", "max_header_bytes", "1023", true, "max_header_bytes: must be between 1024 and 65536, not 1023" },
	{ "http", "dotfiles", "allow", false, "allow" },
	{ "http", "dotfiles", "yes", true, "dotfiles: expected deny or allow, not \"yes\"" },
	{ "http", "symlinks", "follow", false, "follow" },
	{ "http", "symlinks", "deny", false, "deny" },
	{ "http", "symlinks", "within-root", false, "within-root" },
	{ "http", "symlinks", "within_root", true,
	  "symlinks: expected within-root, follow or deny, not \"within_root\"" },
	{ "http", "precompressed", "gzip", false, "gzip" },
	{ "http", "precompressed", "zstd,br", false, "zstd,br" },
	{ "http", "precompressed", "off", false, "" },
	{ "http", "precompressed", "", false, "" },
	{ "http", "precompressed", "gzip, br, gzip", true, "precompressed: gzip listed twice" },
	{ "http", "precompressed", "deflate", true,
	  "precompressed: unknown encoding \"deflate\" (expected br, zstd, gzip or off)" },
	{ "http", "precompressed", "br,,gzip", true, "precompressed: empty item in list" },
	{ "http", "cache_control", "public, max-age=3600", false, "public, max-age=3600" },
	{ "http", "cache_control", "", false, "" },
	{ "http", "cache_control", "a\r\nSet-Cookie: x", true, "cache_control: must be printable ASCII" },
	{ "http", "cache_control", "caf\xc3\xa9", true, "cache_control: must be printable ASCII" },
	{ "http", "body", "read", false, "read" },
	{ "http", "body", "sendfile", true, "body: expected splice or read, not \"sendfile\"" },
	{ "http", "body_memory", "1", false, "1" },
	{ "http", "body_memory", "65536", false, "65536" },
	{ "http", "body_memory", "0", true, "body_memory: must be between 1 and 65536, not 0" },
	{ "http", "body_memory", "65537", true, "body_memory: must be between 1 and 65536, not 65537" },
	/* [log] */
	{ "log", "access", "off", false, "off" },
	{ "log", "access", "/var/log/ringd/access.log", false, "/var/log/ringd/access.log" },
	{ "log", "access", "", true, "access: must not be empty (use off to disable the access log)" },
	{ "log", "format", "json", false, "json" },
	{ "log", "format", "common", false, "common" },
	{ "log", "format", "xml", true, "format: expected combined, common or json, not \"xml\"" },
	{ "log", "error", "/var/log/ringd/error.log", false, "/var/log/ringd/error.log" },
	{ "log", "error", "off", true, "error: must be stderr or a path" },
	{ "log", "level", "debug", false, "debug" },
	{ "log", "level", "warn", false, "warn" },
	{ "log", "level", "warning", true, "level: expected error, warn, info or debug, not \"warning\"" },
	/* unknown keys and sections */
	{ "http", "colour", "red", true, "colour: unknown key in [http]" },
	{ "server", "keepalive_timeout", "5", true,
	  "keepalive_timeout: unknown key in [server] (it belongs in [http])" },
	{ "htp", "listen", "*:80", true, "[htp]: unknown section" },
	{ "Server", "listen", "*:80", true, "[Server]: unknown section" },
};

/* config_load_string named "ringd.ini": want is the exact message, or for OK rows
 * "KEY=FIELD" checked afterwards ("" to check nothing). */
struct load_row {
	const char *text;
	bool err;
	const char *want;
};

static const struct load_row loads[] = {
	{ "", false, "" },
	{ "# only a comment\n; another\n\n", false, "" },
	{ "[server]\nlisten = [::1]:8081\n", false, "listen=[::1]:8081" },
	{ "[server]\r\nroot = /srv\r\n", false, "root=/srv" },
	{ "\xef\xbb\xbf[http]\nbody = read\n", false, "body=read" },
	{ "[http]\n  keepalive_timeout = 5\n  header_timeout = 7\n", false, "header_timeout=7" },
	{ "[http]\n  keepalive_timeout = 5\n  header_timeout = 7\n", false, "keepalive_timeout=5" },
	{ "[ http ]\nbody=read\n", false, "body=read" },
	{ "[http]\ncache_control = no-cache ; why\n", false, "cache_control=no-cache" },
	{ "[http]\ncache_control = public;max-age=60\n", false, "cache_control=public;max-age=60" },
	{ "[server]\nlisten = 127.0.0.1:80\nlisten = 127.0.0.1:81\n", false, "listen=127.0.0.1:81" },
	{ "[server]\n[http]\n[log]\nlevel = error\n", false, "level=error" },
	{ "[server]\nworkers=2\n[server]\nroot=/x\n", false, "workers=2" },
	/* the message format */
	{ "[server]\nlisten = 127.0.0.1:8080\n\n[http]\nbody = read\n[server]\nlisten = 127.0.0.1:99999\n", true,
	  "ringd.ini:7: listen: port 99999 out of range" },
	{ "[server]\nroot = /x\n[http]\ncolour = red\n", true, "ringd.ini:4: colour: unknown key in [http]" },
	{ "\n[htp]\n", true, "ringd.ini:2: [htp]: unknown section" },
	{ "[htp]\nlisten = *:80\n", true, "ringd.ini:1: [htp]: unknown section" },
	{ "listen = *:80\n", true,
	  "ringd.ini:1: listen: key outside any section (start with [server], [http] or [log])" },
	{ "[server]\nlisten\n", true,
	  "ringd.ini:2: syntax error (expected [section], KEY = VALUE or a comment)" },
	{ "[server\nroot=/x\n", true,
	  "ringd.ini:1: syntax error (expected [section], KEY = VALUE or a comment)" },
	{ "[server]\n= x\n", true, "ringd.ini:2: missing key name before '='" },
	{ "[http]\nheader_timeout = 0\ncolour = red\n", true,
	  "ringd.ini:2: header_timeout: must be between 1 and 3600, not 0" },
	/* a syntax error before a bad value is the one reported */
	{ "[http]\nnonsense\nheader_timeout = 0\n", true,
	  "ringd.ini:2: syntax error (expected [section], KEY = VALUE or a comment)" },
	/* and a bad value before a syntax error */
	{ "[http]\nheader_timeout = 0\nnonsense\n", true,
	  "ringd.ini:2: header_timeout: must be between 1 and 3600, not 0" },
	{ "[log]\nlevel = loud\n", true, "ringd.ini:2: level: expected error, warn, info or debug, not \"loud\"" },
	{ "[server]\nwrkers = 2\n", true, "ringd.ini:2: wrkers: unknown key in [server]" },
	{ "[server]\nlisten = \n", true, "ringd.ini:2: listen: at least one address is required" },
};

static const char *rows_name = "ringd.ini";

static void check_set(const struct set_row *r)
{
	struct config c;
	char err[512] = "", got[4200];
	int rc;
	bool good;

	config_defaults(&c);
	rc = config_set(&c, r->section, r->key, r->value, err, sizeof err);
	if (r->err) {
		good = rc == -1 && strcmp(err, r->want) == 0;
		if (!good)
			printf("# rc %d, got \"%s\"\n#   want \"%s\"\n", rc, err, r->want);
	} else {
		field(&c, r->key, got, sizeof got);
		good = rc == 0 && strcmp(got, r->want) == 0;
		if (!good)
			printf("# rc %d err \"%s\", field \"%s\", want \"%s\"\n", rc, err, got, r->want);
	}
	char what[128];

	snprintf(what, sizeof what, "set %s.%s", r->section, r->key);
	ok(good, what, r->value);
}

static void check_load(const struct load_row *r)
{
	struct config c;
	char err[512] = "", got[4200];
	int rc;
	bool good;

	config_defaults(&c);
	rc = config_load_string(&c, r->text, rows_name, err, sizeof err);
	if (r->err) {
		good = rc == -1 && strcmp(err, r->want) == 0;
		if (!good)
			printf("# rc %d, got \"%s\"\n#   want \"%s\"\n", rc, err, r->want);
	} else if (r->want[0]) {
		const char *eq = strchr(r->want, '=');
		char key[64];

		snprintf(key, sizeof key, "%.*s", (int)(eq - r->want), r->want);
		field(&c, key, got, sizeof got);
		good = rc == 0 && strcmp(got, eq + 1) == 0;
		if (!good)
			printf("# rc %d err \"%s\", field \"%s\", want \"%s\"\n", rc, err, got, eq + 1);
	} else {
		good = rc == 0;
		if (!good)
			printf("# rc %d err \"%s\"\n", rc, err);
	}
	ok(good, "load", r->text);
}

/* -o: want is the exact message, or "KEY=FIELD". */
struct override_row {
	const char *arg;
	bool err;
	const char *want;
};

static const struct override_row overrides[] = {
	{ "server.listen=[::1]:9000", false, "listen=[::1]:9000" },
	{ "server.listen=127.0.0.1:1,127.0.0.2:1", false, "listen=127.0.0.1:1,127.0.0.2:1" },
	{ " http.keepalive_timeout = 0 ", false, "keepalive_timeout=0" },
	{ "http.cache_control=max-age=60", false, "cache_control=max-age=60" },
	{ "http.precompressed=", false, "precompressed=" },
	{ "log.level=debug", false, "level=debug" },
	{ "server.listen=127.0.0.1:99999", true, "-o server.listen: port 99999 out of range" },
	{ "http.colour=red", true, "-o http.colour: unknown key in [http]" },
	{ "htp.body=read", true, "-o htp.body: unknown section" },
	{ "http.body=", true, "-o http.body: expected splice or read, not \"\"" },
	{ "listen=*:80", true, "-o listen=*:80: expected SECTION.KEY=VALUE" },
	{ "server.listen", true, "-o server.listen: expected SECTION.KEY=VALUE" },
	{ ".listen=*:80", true, "-o .listen=*:80: expected SECTION.KEY=VALUE" },
	{ "server.=*:80", true, "-o server.=*:80: expected SECTION.KEY=VALUE" },
	{ "", true, "-o : expected SECTION.KEY=VALUE" },
};

static void check_override(const struct override_row *r)
{
	struct config c;
	char err[512] = "", got[4200];
	int rc;
	bool good;

	config_defaults(&c);
	rc = config_override(&c, r->arg, err, sizeof err);
	if (r->err) {
		good = rc == -1 && strcmp(err, r->want) == 0;
		if (!good)
			printf("# rc %d, got \"%s\"\n#   want \"%s\"\n", rc, err, r->want);
	} else {
		const char *eq = strchr(r->want, '=');
		char key[64];

		snprintf(key, sizeof key, "%.*s", (int)(eq - r->want), r->want);
		field(&c, key, got, sizeof got);
		good = rc == 0 && strcmp(got, eq + 1) == 0;
		if (!good)
			printf("# rc %d err \"%s\", field \"%s\", want \"%s\"\n", rc, err, got, eq + 1);
	}
	ok(good, "-o", r->arg);
}

/* listen_addr_parse: family 0 means an error, whose message is want. */
struct addr_row {
	const char *in;
	int family;
	unsigned port;
	bool any;
	const char *want; /* address as inet_ntop prints it, or the error */
};

static const struct addr_row addrs[] = {
	{ "127.0.0.1:8080", AF_INET, 8080, false, "127.0.0.1" },
	{ "0.0.0.0:1", AF_INET, 1, false, "0.0.0.0" },
	{ "10.1.2.3:65535", AF_INET, 65535, false, "10.1.2.3" },
	{ "[::1]:8080", AF_INET6, 8080, false, "::1" },
	{ "[::]:80", AF_INET6, 80, false, "::" },
	{ "[2001:db8::1]:443", AF_INET6, 443, false, "2001:db8::1" },
	{ "[::ffff:127.0.0.1]:80", AF_INET6, 80, false, "::ffff:127.0.0.1" },
	{ "*:8080", AF_INET6, 8080, true, "::" },
	{ "127.0.0.1:99999", 0, 0, false, "port 99999 out of range" },
	{ "127.0.0.1:0", 0, 0, false, "port 0 out of range" },
	{ "127.0.0.1:65536", 0, 0, false, "port 65536 out of range" },
	{ "127.0.0.1:123456789012345678901234567890", 0, 0, false,
	  "port 123456789012345678901234567890 out of range" },
	{ "127.0.0.1", 0, 0, false, "port missing" },
	{ "127.0.0.1:", 0, 0, false, "port missing" },
	{ "[::1]", 0, 0, false, "port missing" },
	{ "[::1]:", 0, 0, false, "port missing" },
	{ "*", 0, 0, false, "port missing" },
	{ "127.0.0.1:http", 0, 0, false, "bad port \"http\"" },
	{ "127.0.0.1:-1", 0, 0, false, "bad port \"-1\"" },
	{ "127.0.0.1: 80", 0, 0, false, "bad port \" 80\"" },
	{ "localhost:8080", 0, 0, false, "use a numeric address, not \"localhost\"" },
	{ "example.com:80", 0, 0, false, "use a numeric address, not \"example.com\"" },
	{ "1.2.3:80", 0, 0, false, "bad IPv4 address \"1.2.3\"" },
	{ "256.1.1.1:80", 0, 0, false, "bad IPv4 address \"256.1.1.1\"" },
	{ ":80", 0, 0, false, "address missing (use *:80 for all addresses)" },
	{ "::1:8080", 0, 0, false, "IPv6 addresses need brackets, e.g. [::1]:8080" },
	{ "[::1:8080", 0, 0, false, "missing ']' in \"[::1:8080\"" },
	{ "[::1]8080", 0, 0, false, "expected ':' after ']' in \"[::1]8080\"" },
	{ "[::g]:80", 0, 0, false, "bad IPv6 address \"::g\"" },
	{ "[127.0.0.1]:80", 0, 0, false, "bad IPv6 address \"127.0.0.1\"" },
	{ "[fe80::1%eth0]:80", 0, 0, false, "IPv6 zone ids are not supported (\"[fe80::1%eth0]:80\")" },
	{ "", 0, 0, false, "empty address" },
	{ "[0000:0000:0000:0000:0000:0000:0000:0001]:8080123456789012345678", 0, 0, false,
	  "address too long" },
};

static void check_addr(const struct addr_row *r)
{
	struct listen_addr a;
	char err[256] = "", got[INET6_ADDRSTRLEN] = "";
	int rc = listen_addr_parse(r->in, &a, err, sizeof err);
	bool good;

	if (!r->family) {
		good = rc == -1 && strcmp(err, r->want) == 0;
		if (!good)
			printf("# rc %d, got \"%s\", want \"%s\"\n", rc, err, r->want);
	} else if (rc != 0) {
		good = false;
		printf("# rc %d: %s\n", rc, err);
	} else if (r->family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&a.ss;

		inet_ntop(AF_INET, &s->sin_addr, got, sizeof got);
		good = s->sin_family == AF_INET && ntohs(s->sin_port) == r->port &&
		       a.len == sizeof *s && !a.any_addr && strcmp(got, r->want) == 0 &&
		       strcmp(a.text, r->in) == 0;
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a.ss;

		inet_ntop(AF_INET6, &s->sin6_addr, got, sizeof got);
		good = s->sin6_family == AF_INET6 && ntohs(s->sin6_port) == r->port &&
		       a.len == sizeof *s && a.any_addr == r->any && strcmp(got, r->want) == 0 &&
		       strcmp(a.text, r->in) == 0;
	}
	ok(good, "listen_addr_parse", r->in);
}

static void check_defaults(void)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	ok(c.n_listen == 1 && c.listen[0].any_addr && strcmp(c.listen[0].text, "*:8080") == 0,
	   "default listen", "*:8080");
	ok(strcmp(c.root, "/usr/share/ringd/www") == 0 && strcmp(c.index, "index.html") == 0 &&
	   c.user[0] == '\0', "default root, index, user", "");
	ok(c.workers == 1 && c.max_connections == 16384 && c.shutdown_timeout == 30 && c.batch_wait == 250 &&
	   c.keepalive_timeout == 60 && c.header_timeout == 15 && c.send_timeout == 60 &&
	   c.max_header_bytes == 8192, "default numbers", "");
	ok(c.dotfiles == DOTFILES_DENY && c.symlinks == SYMLINKS_WITHIN_ROOT &&
	   c.body == BODY_READ && c.body_memory_mb == 64 && c.cache_control[0] == '\0',
	   "default policies", "");
	ok(c.n_precompressed == 3 && c.precompressed[0] == ENC_BR &&
	   c.precompressed[1] == ENC_ZSTD && c.precompressed[2] == ENC_GZIP,
	   "default precompressed", "br, zstd, gzip");
	ok(strcmp(c.access_log, "stderr") == 0 && c.log_format == LOG_COMBINED &&
	   strcmp(c.error_log, "stderr") == 0 && c.log_level == LOGL_INFO, "default log", "");
	ok(config_validate(&c, err, sizeof err) == 0, "defaults validate", err);
}

static void check_validate(void)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	c.n_listen = 0;
	ok(config_validate(&c, err, sizeof err) == -1 &&
	   strcmp(err, "listen: at least one address is required") == 0, "validate no listen", err);
	config_defaults(&c);
	c.root[0] = '\0';
	ok(config_validate(&c, err, sizeof err) == -1 && strcmp(err, "root: must not be empty") == 0,
	   "validate no root", err);
	config_defaults(&c);
	config_set(&c, "server", "listen", "127.0.0.1:8080, *:8080", NULL, 0);
	ok(config_validate(&c, err, sizeof err) == -1 &&
	   strcmp(err, "listen: *:8080 already covers 127.0.0.1:8080") == 0,
	   "validate any-address overlap", err);
	config_defaults(&c);
	config_set(&c, "server", "listen", "127.0.0.1:8080, *:8081, [::1]:8080", NULL, 0);
	ok(config_validate(&c, err, sizeof err) == 0 && c.n_listen == 3, "validate distinct ports",
	   "127.0.0.1:8080, *:8081, [::1]:8080");
}

static void check_encodings(void)
{
	ok(strcmp(encoding_name(ENC_BR), "br") == 0 && strcmp(encoding_suffix(ENC_BR), ".br") == 0,
	   "encoding br", "");
	ok(strcmp(encoding_name(ENC_ZSTD), "zstd") == 0 &&
	   strcmp(encoding_suffix(ENC_ZSTD), ".zst") == 0, "encoding zstd", "");
	ok(strcmp(encoding_name(ENC_GZIP), "gzip") == 0 &&
	   strcmp(encoding_suffix(ENC_GZIP), ".gz") == 0, "encoding gzip", "");
	ok(strcmp(encoding_name(ENC_NONE), "identity") == 0 &&
	   strcmp(encoding_suffix(ENC_NONE), "") == 0, "encoding none", "");
}

/* A bad value must leave the previous one in place (the daemon may report and
 * go on with -o in some future reload path; the tests pin the behaviour). */
static void check_atomic(void)
{
	struct config c;

	config_defaults(&c);
	config_set(&c, "server", "listen", "127.0.0.1:1, 127.0.0.1:99999", NULL, 0);
	ok(c.n_listen == 1 && strcmp(c.listen[0].text, "*:8080") == 0, "bad listen keeps old", "");
	config_set(&c, "http", "precompressed", "gzip, nope", NULL, 0);
	ok(c.n_precompressed == 3, "bad precompressed keeps old", "");
}

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(data, 1, len, f) == len ? 0 : -1;
	fclose(f);
	return rc;
}

static void check_files(void)
{
	const char *src = getenv("RINGD_SRCDIR");
	char path[4096], tmp[] = "/tmp/ringd-test-config-XXXXXX", err[512] = "";
	struct config c;
	int fd;

	if (src) {
		snprintf(path, sizeof path, "%s/config/ringd.ini", src);
		config_defaults(&c);
		int rc = config_load_file(&c, path, err, sizeof err);

		if (rc)
			printf("# %s\n", err);
		ok(rc == 0, "load config/ringd.ini", path);
		ok(config_validate(&c, err, sizeof err) == 0, "validate config/ringd.ini", err);
		ok(c.n_listen == 1 && strcmp(c.listen[0].text, "127.0.0.1:8080") == 0 &&
		   strcmp(c.root, "www") == 0, "config/ringd.ini listen and root", "");
		/* Every other key in the shipped file has its default value. */
		struct config d;

		config_defaults(&d);
		memcpy(d.listen, c.listen, sizeof d.listen);
		memcpy(d.root, c.root, sizeof d.root);
		ok(memcmp(&c, &d, sizeof c) == 0, "config/ringd.ini otherwise defaults", "");
	} else {
		tap_skip("RINGD_SRCDIR not set");
	}

	config_defaults(&c);
	ok(config_load_file(&c, "/nonexistent/ringd.ini", err, sizeof err) == -1 &&
	   strcmp(err, "/nonexistent/ringd.ini: cannot open: No such file or directory") == 0,
	   "missing file", err);
	ok(config_load_file(&c, "/", err, sizeof err) == -1 &&
	   strcmp(err, "/: cannot read: Is a directory") == 0, "directory", err);

	fd = mkstemp(tmp);
	if (fd < 0) {
		tap_ok(false, "mkstemp");
		return;
	}
	close(fd);

	/* A NUL byte cannot come through a string, only through a file. */
	static const char nul[] = "[http]\nbody = re\0ad\n";

	write_file(tmp, nul, sizeof nul - 1);
	snprintf(path, sizeof path, "%s:2: NUL byte in line", tmp);
	config_defaults(&c);
	ok(config_load_file(&c, tmp, err, sizeof err) == -1 && strcmp(err, path) == 0,
	   "NUL in file", err);

	/* inih's line buffer is 200 bytes; longer lines are errors, not split. */
	char longline[400];

	memset(longline, 'a', sizeof longline);
	memcpy(longline, "[server]\nroot = /", 17);
	longline[sizeof longline - 1] = '\n';
	write_file(tmp, longline, sizeof longline);
	snprintf(path, sizeof path, "%s:2: line too long (max 198 bytes)", tmp);
	config_defaults(&c);
	ok(config_load_file(&c, tmp, err, sizeof err) == -1 && strcmp(err, path) == 0,
	   "long line", err);

	/* ... except comments, which are simply dropped. */
	longline[9] = '#';
	write_file(tmp, longline, sizeof longline);
	config_defaults(&c);
	ok(config_load_file(&c, tmp, err, sizeof err) == 0, "long comment", err);

	/* Exactly at the limit. */
	char edge[9 + 198 + 1];

	memcpy(edge, "[server]\n", 9);
	memcpy(edge + 9, "root=/", 6);
	memset(edge + 15, 'b', 198 - 6);
	edge[9 + 198] = '\n';
	write_file(tmp, edge, sizeof edge);
	config_defaults(&c);
	ok(config_load_file(&c, tmp, err, sizeof err) == 0 && strlen(c.root) == 198 - 5,
	   "line at the limit", err);
	unlink(tmp);
}

int main(void)
{
	for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
		check_set(&sets[k]);
	for (size_t k = 0; k < sizeof loads / sizeof loads[0]; k++)
		check_load(&loads[k]);
	for (size_t k = 0; k < sizeof overrides / sizeof overrides[0]; k++)
		check_override(&overrides[k]);
	for (size_t k = 0; k < sizeof addrs / sizeof addrs[0]; k++)
		check_addr(&addrs[k]);
	check_defaults();
	check_validate();
	check_encodings();
	check_atomic();
	check_files();
	tap_plan(tap_n);
	return tap_exit();
}
