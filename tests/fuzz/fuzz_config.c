/* fuzz_config.c — config_load_string() over arbitrary INI text, and each of its
 * first lines as a -o argument and as a listen address. Whatever the input, the
 * loaders must not crash or leak, must fill err on failure, and on success must
 * leave a config whose strings are terminated and whose numbers are in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringd.h"

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void sane(const struct config *c)
{
	if (c->n_listen < 0 || c->n_listen > RINGD_MAX_LISTEN ||
	    c->n_precompressed < 0 || c->n_precompressed > RINGD_MAX_PRECOMP)
		abort();
	for (int i = 0; i < c->n_listen; i++)
		if (!TERMINATED(c->listen[i].text) || c->listen[i].len == 0)
			abort();
	if (!TERMINATED(c->root) || !TERMINATED(c->index) || !TERMINATED(c->user) ||
	    !TERMINATED(c->cache_control) || !TERMINATED(c->access_log) ||
	    !TERMINATED(c->error_log))
		abort();
	if (c->workers < 0 || c->workers > 256 || c->max_header_bytes < 1024 ||
	    c->max_header_bytes > 65536 || c->header_timeout < 1 || c->send_timeout < 1)
		abort();
	/* Sent as a header value: must never carry a line break. */
	if (strpbrk(c->cache_control, "\r\n"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512];
	struct config c;
	struct listen_addr a;
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	config_defaults(&c);
	err[0] = '\0';
	rc = config_load_string(&c, text, "fuzz.ini", err, sizeof err);
	if (rc != 0 && rc != -1)
		abort();
	if (rc == -1 && err[0] == '\0')
		abort();
	sane(&c);
	if (rc == 0)
		config_validate(&c, err, sizeof err);

	/* The first three lines (up to a NUL) as -o arguments and addresses. */
	char *line = text;

	for (int n = 0; n < 3 && line; n++) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		err[0] = '\0';
		if (config_override(&c, line, err, sizeof err) != 0 && err[0] == '\0')
			abort();
		sane(&c);
		if (listen_addr_parse(line, &a, err, sizeof err) == 0 && !TERMINATED(a.text))
			abort();
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	return 0;
}
