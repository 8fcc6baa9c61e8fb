/* timer.c — per-connection deadlines on a hashed timing wheel of one-second slots,
 * driven by the loop's one-second timeout SQE: no syscall and no SQE per request.
 * Deadlines are lazy: extending one is a store; the connection is moved to its new
 * slot only when its old slot comes round. Shortening one relinks at once. */
#include <stdlib.h>

#include "ringd.h"

#define WHEEL_SLOTS 64          /* power of two; longer timeouts go round again */
#define NIL UINT32_MAX

static uint32_t wheel[WHEEL_SLOTS];
static uint32_t last_tick;       /* last second whose slot was processed */

static void unlink_conn(struct conn *c)
{
	if (c->tw_prev != NIL)
		srv.conns[c->tw_prev].tw_next = c->tw_next;
	else
		wheel[c->scheduled % WHEEL_SLOTS] = c->tw_next;
	if (c->tw_next != NIL)
		srv.conns[c->tw_next].tw_prev = c->tw_prev;
	c->tw_prev = c->tw_next = NIL;
	c->scheduled = 0;
}

static void link_conn(struct conn *c, uint32_t at)
{
	uint32_t self = conn_slot(c);
	uint32_t *head = &wheel[at % WHEEL_SLOTS];
	c->scheduled = at;
	c->tw_prev = NIL;
	c->tw_next = *head;
	if (*head != NIL)
		srv.conns[*head].tw_prev = self;
	*head = self;
}

int timer_init(uint32_t max_conns)
{
	for (int i = 0; i < WHEEL_SLOTS; i++)
		wheel[i] = NIL;
	for (uint32_t i = 0; i < max_conns; i++) {
		srv.conns[i].tw_prev = srv.conns[i].tw_next = NIL;
		srv.conns[i].scheduled = 0;
	}
	last_tick = srv.now;
	return 0;
}

void timer_set(struct conn *c, uint32_t secs)
{
	if (secs == 0) {
		c->deadline = 0;
		if (c->scheduled)
			unlink_conn(c);
		return;
	}
	/* srv.now counts whole seconds and part of this one is gone already: round up,
	 * so a timer fires between secs and secs+1 seconds from now, never early. */
	c->deadline = srv.now + secs + 1;
	if (!c->scheduled) {
		link_conn(c, c->deadline);
	} else if (c->deadline < c->scheduled) {
		unlink_conn(c);
		link_conn(c, c->deadline);
	}
	/* else: later than scheduled; found and moved when the old slot comes round. */
}

void timer_tick(void)
{
	while (last_tick < srv.now) {
		uint32_t t = ++last_tick;
		uint32_t i = wheel[t % WHEEL_SLOTS];
		while (i != NIL) {
			struct conn *c = &srv.conns[i];
			uint32_t next = c->tw_next;
			if (c->scheduled == t) {
				unlink_conn(c);
				if (c->deadline && c->deadline <= t)
					conn_timeout(c);
				else if (c->deadline)
					link_conn(c, c->deadline);
			}
			i = next;
		}
		/* Paused accept (out of fds) is retried once a second even if nothing closes. */
		if (srv.accept_paused)
			listen_resume();
	}
}
