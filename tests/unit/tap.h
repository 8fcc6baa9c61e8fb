/* tap.h — TAP output for the table-driven unit tests (meson runs them with
 * protocol 'tap'): one "ok N - ..." or "not ok N - ..." line a check, a plan
 * line, and an exit status that says whether anything failed. Header-only: each
 * test is one .c file. */
#ifndef RINGD_TAP_H
#define RINGD_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_n, tap_failed;

/* "1..n": before the first check when the count is known, else after the last. */
static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
}

static inline void tap_begin(bool ok)
{
	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	tap_failed += !ok;
}

__attribute__((format(printf, 2, 3)))
static inline bool tap_ok(bool ok, const char *fmt, ...)
{
	va_list ap;
	tap_begin(ok);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return ok;
}

/* "what "input"", the input escaped so any byte (and TAP's '#') prints safely. */
static inline bool tap_ok_input(bool ok, const char *what, const char *in, size_t len)
{
	tap_begin(ok);
	printf("%s \"", what);
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)in[k];
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '#')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\"\n");
	return ok;
}

static inline void tap_skip(const char *why)
{
	printf("ok %d - # SKIP %s\n", ++tap_n, why);
}

__attribute__((format(printf, 1, 2)))
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline int tap_exit(void)
{
	return tap_failed ? 1 : 0;
}

#endif
