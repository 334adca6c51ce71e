/* The control thread: the libwebsockets HTTP(S)/WebSocket server and everything it owns. */
#ifndef BALIE_SERVER_H
#define BALIE_SERVER_H

#include <stdbool.h>

#include "balie/config.h"
#include "balie/worker.h"

struct server;

/* Creates the listening server. `cfg` must outlive it; `dtls_fingerprint` ("AB:CD:…", the
 * media workers' certificate) goes into every offer. Returns 0, or a negative errno with
 * the cause logged. */
int server_create(struct server **out, const struct balie_config *cfg,
                  const char *dtls_fingerprint);

/* Gives the server its media workers (started with server_wake as their notify callback).
 * The pool stays owned by the caller and must outlive the server's loop. */
void server_attach_pool(struct server *srv, struct worker_pool *pool);

/* Forgets the pool before it is stopped: from then on no command is sent to it. Shutdown is
 * server_detach_pool(), worker_pool_stop(), server_destroy(), in that order, because destroying
 * the server closes sockets, which ends calls. Safe with NULL. */
void server_detach_pool(struct server *srv);

/* Runs the event loop until a stop completes. Returns the process exit code. */
int server_run(struct server *srv);

/* Asks for a graceful stop: /readyz turns false, no new calls are taken, running calls may
 * finish for `grace_s` seconds. A second request stops at once. Async-signal-unsafe but
 * thread-safe: call it from the signal thread. */
void server_request_stop(struct server *srv, int grace_s);

void server_destroy(struct server *srv);

/* The callback a worker pool's notify uses to wake the server's loop. */
void server_wake(void *srv);

/* The actual TCP port (useful when the config asks for port 0). */
int server_port(const struct server *srv);

#endif
