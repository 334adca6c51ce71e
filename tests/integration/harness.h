/* Starts the real balie-gateway binary for integration tests and talks to it over HTTP. */
#ifndef BALIE_TEST_HARNESS_H
#define BALIE_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon {
    pid_t pid;
    int out_fd;     /* the daemon's stdout+stderr */
    int port;       /* HTTP port read from its log */
    char base[128]; /* http(s)://127.0.0.1:PORT */
    char config_path[64];
    char log[65536]; /* everything it printed so far */
    size_t log_len;
};

/* Writes `config` (may be NULL) to a temp file and starts the daemon with it and `env`
 * (NULL-terminated extra variables, may be NULL). Waits until it prints its URLs.
 * Returns 0, or -1 when it exited or timed out first (its output is in d->log). */
int daemon_start(struct daemon *d, const char *config, char *const *env);

/* Sends `sig` and waits up to `timeout_ms`. Returns the exit status (0..255), 128+signal
 * when killed by a signal, or -1 on timeout (then it is killed). Sets *elapsed_ms. */
int daemon_stop(struct daemon *d, int sig, int timeout_ms, long *elapsed_ms);

/* Reads whatever the daemon printed since the last call into d->log. */
void daemon_collect_output(struct daemon *d, int wait_ms);

/* Runs the binary with `args` (NULL-terminated, argv[0] excluded) and captures stdout+stderr.
 * Returns the exit status. */
int run_gateway(char *const *args, char *const *env, char *out, size_t out_len);

struct http_response {
    long status;
    char *body;
    size_t body_len;
    char headers[8192];
};

/* GET (or another method) with libcurl. Returns 0 on transport success. */
int http_request(const char *method, const char *url, struct http_response *r);
void http_response_free(struct http_response *r);

/* Case-insensitive header lookup; returns the value (until end of line) copied into out. */
bool http_header(const struct http_response *r, const char *name, char *out, size_t out_len);

#endif
