/* An outgoing HTTP client that never blocks the event loop: requests run on one background
 * thread (libcurl), and their results come back to the control thread, which collects them
 * with httpc_poll() when woken.
 *
 * Used where Balie calls another server during a login or a delivery: the OpenID Provider's
 * discovery, JWKS and token endpoints, SAML artifact resolution (SOAP with a TLS client
 * certificate), webhooks. Every request has a deadline and a response size limit. */
#ifndef BALIE_HTTPC_H
#define BALIE_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#define HTTPC_HEADERS_MAX 8
#define HTTPC_RESPONSE_MAX (256u * 1024u) /* larger bodies fail with status 0 */
#define HTTPC_REQUEST_MAX (256u * 1024u)  /* request bodies beyond this are refused at submit */
#define HTTPC_URL_MAX 4096
#define HTTPC_QUEUE_MAX 64 /* requests submitted and not yet collected by httpc_poll() */

struct httpc_request {
    const char *method; /* "GET" or "POST" */
    const char *url;
    const char *headers[HTTPC_HEADERS_MAX]; /* "Name: value" without CR/LF; NULL ends early */
    const char *body;                       /* may be NULL */
    size_t body_len;
    const char *basic_user, *basic_password;      /* client_secret_basic; may be NULL */
    const char *client_cert_pem, *client_key_pem; /* file paths for TLS client auth; may be NULL */
    const char *ca_file;                          /* extra trust anchors; NULL: system store */
    unsigned timeout_ms;                          /* whole request; 0 means 10 000 */
};

struct httpc_response {
    long status;     /* HTTP status, or 0 when no response came (see `error`) */
    char error[160]; /* transport failure in words, empty on a response */
    char *body;      /* NUL-terminated; owned by the client, valid during the callback */
    size_t body_len;
    char content_type[96];
};

/* Called on the control thread, inside httpc_poll(). It may submit or cancel requests, but not
 * call httpc_poll() or httpc_free(). */
typedef void (*httpc_done_fn)(void *arg, const struct httpc_response *resp);

/* Every function below is called from one thread (the control thread); only `wake` runs on the
 * worker. Redirects are not followed; only http and https are spoken; the proxy environment
 * variables (https_proxy, no_proxy) are honoured as libcurl does. */
struct httpc;

/* Starts the worker thread. `wake` is called from the worker when a result is ready (e.g.
 * lws_cancel_service); it may be NULL when the caller polls on a timer. NULL on failure. */
struct httpc *httpc_new(void (*wake)(void *wake_arg), void *wake_arg);
/* Stops the worker; requests still running are abandoned and their callbacks never run. */
void httpc_free(struct httpc *hc);

/* Queues a request (everything in `req` is copied). Returns a positive request id, or -1 when
 * HTTPC_QUEUE_MAX requests are outstanding or the request is not acceptable (method other than
 * GET/POST, URL or body too long, a header with CR or LF); then the callback never runs. */
long httpc_submit(struct httpc *hc, const struct httpc_request *req, httpc_done_fn done, void *arg);
/* The callback of request `id` will not run (it may still be sent). Safe whatever the state of
 * the request, also when it finished a moment ago and waits for httpc_poll(); unknown ids are
 * ignored. */
void httpc_cancel(struct httpc *hc, long id);
/* Runs the callbacks of finished requests. Returns how many ran. */
size_t httpc_poll(struct httpc *hc);

#endif
