/* The outgoing HTTP client (identity/httpc.c) against a small HTTP server on 127.0.0.1 that runs
 * in a thread of the test. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "balie/httpc.h"

/* ---- the server ---- */

#define HELD_MAX 32

static struct {
    int fd;
    unsigned port;
    pthread_t thread;
    atomic_bool stop;
    int held[HELD_MAX]; /* connections of /silent, never answered */
    size_t held_count;
} srv;

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the client gave up (e.g. over the size limit) */
        data += n;
        len -= (size_t)n;
    }
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, len);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

/* Sends `len` bytes of 'x', announced with Content-Length or (without) ended by closing. */
static void respond_large(int fd, size_t len, bool announce)
{
    char head[160];
    int n = announce ? snprintf(head, sizeof(head),
                                "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                                "Connection: close\r\n\r\n",
                                len)
                     : snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    send_all(fd, head, (size_t)n);
    char *body = malloc(len);
    memset(body, 'x', len);
    send_all(fd, body, len);
    free(body);
}

/* Reads one request (headers and a Content-Length body) into `buf`; returns its length. */
static size_t read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0, want = 0;
    while (len < cap - 1) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        if (!want) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            want = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (len >= want)
            break;
    }
    buf[len] = '\0';
    return len;
}

static void serve(int fd)
{
    static char req[128 * 1024];
    size_t len = read_request(fd, req, sizeof(req));
    char path[256] = "";
    sscanf(req, "%*s %255s", path);
    if (strncmp(path, "/echo", 5) == 0) {
        respond(fd, "200 OK", "text/plain; charset=utf-8", req, len);
    } else if (strncmp(path, "/status/", 8) == 0) {
        char status[32];
        snprintf(status, sizeof(status), "%.3s Whatever", path + 8);
        respond(fd, status, "text/plain", path + 8, strcmp(path + 8, "204") ? 3 : 0);
    } else if (strcmp(path, "/big") == 0) {
        respond_large(fd, HTTPC_RESPONSE_MAX + 1, true);
    } else if (strcmp(path, "/big-close") == 0) {
        respond_large(fd, HTTPC_RESPONSE_MAX + 4096, false);
    } else if (strcmp(path, "/exact") == 0) {
        respond_large(fd, HTTPC_RESPONSE_MAX, false);
    } else if (strcmp(path, "/silent") == 0 && srv.held_count < HELD_MAX) {
        srv.held[srv.held_count++] = fd;
        return;
    } else if (strcmp(path, "/slow") == 0) {
        usleep(300 * 1000);
        respond(fd, "200 OK", "text/plain", "slow", 4);
    } else {
        respond(fd, "404 Not Found", "text/plain", "", 0);
    }
    close(fd);
}

static void *server_main(void *unused)
{
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = {.fd = srv.fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(srv.fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        serve(fd);
    }
    return NULL;
}

static void server_start(void)
{
    memset(&srv, 0, sizeof(srv));
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(srv.fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(srv.fd, 128), 0);
    cr_assert_eq(getsockname(srv.fd, (struct sockaddr *)&a, &alen), 0);
    srv.port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&srv.thread, NULL, server_main, NULL), 0);
}

static void server_stop(void)
{
    atomic_store(&srv.stop, true);
    pthread_join(srv.thread, NULL);
    for (size_t i = 0; i < srv.held_count; i++)
        close(srv.held[i]);
    close(srv.fd);
}

TestSuite(httpc, .init = server_start, .fini = server_stop, .timeout = 30);

/* ---- the client side ---- */

struct result {
    int calls;
    long status;
    char error[160];
    char content_type[96];
    char *body;
    size_t body_len;
};

static void on_done(void *arg, const struct httpc_response *r)
{
    struct result *res = arg;
    res->calls++;
    res->status = r->status;
    snprintf(res->error, sizeof(res->error), "%s", r->error);
    snprintf(res->content_type, sizeof(res->content_type), "%s", r->content_type);
    cr_assert_not_null(r->body);
    cr_assert_eq(r->body[r->body_len], '\0', "NUL-terminated");
    free(res->body);
    res->body = malloc(r->body_len + 1);
    memcpy(res->body, r->body, r->body_len + 1);
    res->body_len = r->body_len;
}

static void on_wake(void *arg)
{
    uint64_t one = 1; /* on the worker thread: no assertion here */
    if (write(*(int *)arg, &one, sizeof(one)) != (ssize_t)sizeof(one))
        abort();
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits on the wake descriptor and collects results until `*done` reaches `want` or `ms` pass.
 * Returns the time waited. */
static long collect(struct httpc *hc, int efd, const int *done, int want, long ms)
{
    long start = now_ms();
    while (*done < want && now_ms() - start < ms) {
        struct pollfd p = {.fd = efd, .events = POLLIN};
        if (poll(&p, 1, (int)(ms - (now_ms() - start))) > 0) {
            uint64_t n;
            cr_assert_eq(read(efd, &n, sizeof(n)), (ssize_t)sizeof(n));
        }
        httpc_poll(hc);
    }
    return now_ms() - start;
}

static int efd = -1;

static struct httpc *client(void)
{
    efd = eventfd(0, EFD_CLOEXEC);
    cr_assert(efd >= 0);
    struct httpc *hc = httpc_new(on_wake, &efd);
    cr_assert_not_null(hc);
    return hc;
}

static void client_free(struct httpc *hc)
{
    httpc_free(hc);
    close(efd);
}

static const char *url(const char *path)
{
    static char buf[8][128];
    static int next;
    char *u = buf[next++ % 8];
    snprintf(u, 128, "http://127.0.0.1:%u%s", srv.port, path);
    return u;
}

static void one(struct httpc *hc, const struct httpc_request *req, struct result *res)
{
    memset(res, 0, sizeof(*res));
    cr_assert(httpc_submit(hc, req, on_done, res) > 0);
    collect(hc, efd, &res->calls, 1, 5000);
    cr_assert_eq(res->calls, 1);
}

Test(httpc, get_with_headers)
{
    struct httpc *hc = client();
    struct httpc_request req = {.method = "GET",
                                .url = url("/echo?x=1"),
                                .headers = {"X-Balie-Test: één", "Accept: application/json"}};
    struct result r;
    one(hc, &req, &r);
    cr_assert_eq(r.status, 200, "%s", r.error);
    cr_assert_str_empty(r.error);
    cr_assert_str_eq(r.content_type, "text/plain; charset=utf-8");
    cr_assert(strncmp(r.body, "GET /echo?x=1 HTTP/1.1\r\n", 24) == 0, "%s", r.body);
    cr_assert_not_null(strstr(r.body, "\r\nX-Balie-Test: één\r\n"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "\r\nAccept: application/json\r\n"));
    cr_assert_not_null(strstr(r.body, "\r\nUser-Agent: balie/"));
    cr_assert_null(strstr(r.body, "Authorization"));
    free(r.body);
    client_free(hc);
}

Test(httpc, post_body_and_basic_auth)
{
    struct httpc *hc = client();
    static const char body[] = "grant_type=authorization_code&code=a\0b";
    struct httpc_request req = {.method = "POST",
                                .url = url("/echo"),
                                .headers = {"Content-Type: application/x-www-form-urlencoded"},
                                .body = body,
                                .body_len = sizeof(body) - 1,
                                .basic_user = "user",
                                .basic_password = "pass"};
    struct result r;
    one(hc, &req, &r);
    cr_assert_eq(r.status, 200, "%s", r.error);
    cr_assert(strncmp(r.body, "POST /echo HTTP/1.1\r\n", 21) == 0);
    /* RFC 7617 §2: base64 of "user:pass". */
    cr_assert_not_null(strstr(r.body, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "\r\nContent-Length: 38\r\n"), "%s", r.body);
    cr_assert_null(strstr(r.body, "Expect:"), "no 100-continue round trip");
    /* The body arrives byte for byte, the NUL included. */
    cr_assert(r.body_len > sizeof(body) - 1);
    cr_assert_eq(memcmp(r.body + r.body_len - (sizeof(body) - 1), body, sizeof(body) - 1), 0);
    free(r.body);
    /* POST without a body sends an empty one. */
    struct httpc_request empty = {.method = "POST", .url = url("/echo")};
    one(hc, &empty, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "\r\nContent-Length: 0\r\n"), "%s", r.body);
    free(r.body);
    client_free(hc);
}

Test(httpc, status_codes)
{
    struct httpc *hc = client();
    const char *paths[] = {"/status/418", "/status/500", "/status/204", "/nothing"};
    long want[] = {418, 500, 204, 404};
    for (size_t i = 0; i < 4; i++) {
        struct httpc_request req = {.method = "GET", .url = url(paths[i])};
        struct result r;
        one(hc, &req, &r);
        cr_assert_eq(r.status, want[i], "%s: %ld %s", paths[i], r.status, r.error);
        cr_assert_str_empty(r.error);
        if (want[i] == 204 || want[i] == 404)
            cr_assert_eq(r.body_len, 0);
        else
            cr_assert_eq(r.body_len, 3);
        free(r.body);
    }
    client_free(hc);
}

Test(httpc, response_size_limit)
{
    struct httpc *hc = client();
    const char *over[] = {"/big", "/big-close"};
    for (size_t i = 0; i < 2; i++) {
        struct httpc_request req = {.method = "GET", .url = url(over[i])};
        struct result r;
        one(hc, &req, &r);
        cr_assert_eq(r.status, 0, "%s", over[i]);
        cr_assert_not_null(strstr(r.error, "larger than"), "%s: %s", over[i], r.error);
        cr_assert_eq(r.body_len, 0);
        free(r.body);
    }
    struct httpc_request exact = {.method = "GET", .url = url("/exact")};
    struct result r;
    one(hc, &exact, &r);
    cr_assert_eq(r.status, 200, "exactly the limit is fine: %s", r.error);
    cr_assert_eq(r.body_len, HTTPC_RESPONSE_MAX);
    free(r.body);
    client_free(hc);
}

Test(httpc, silent_server_times_out)
{
    struct httpc *hc = client();
    struct httpc_request req = {.method = "GET", .url = url("/silent"), .timeout_ms = 300};
    struct result r = {0};
    cr_assert(httpc_submit(hc, &req, on_done, &r) > 0);
    long waited = collect(hc, efd, &r.calls, 1, 5000);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.status, 0);
    cr_assert_not_null(strstr(r.error, "300 ms"), "%s", r.error);
    cr_assert(waited >= 250 && waited < 2000, "waited %ld ms", waited);
    free(r.body);
    client_free(hc);
}

Test(httpc, transport_failures)
{
    struct httpc *hc = client();
    /* A port nobody listens on: bind one and close it again. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    char closed[64];
    snprintf(closed, sizeof(closed), "http://127.0.0.1:%u/", ntohs(a.sin_port));
    const char *urls[] = {closed, "file:///etc/passwd", "ftp://127.0.0.1/", "not a url"};
    for (size_t i = 0; i < 4; i++) {
        struct httpc_request req = {.method = "GET", .url = urls[i], .timeout_ms = 2000};
        struct result r;
        one(hc, &req, &r);
        cr_assert_eq(r.status, 0, "%s", urls[i]);
        cr_assert_str_not_empty(r.error, "%s", urls[i]);
        cr_assert_eq(r.body_len, 0);
        free(r.body);
    }
    client_free(hc);
}

Test(httpc, refused_at_submit)
{
    struct httpc *hc = client();
    struct result r = {0};
    struct httpc_request ok = {.method = "GET", .url = url("/echo")};
    struct httpc_request bad[] = {
        {.method = "PUT", .url = url("/echo")},
        {.method = "GET", .url = NULL},
        {.method = NULL, .url = url("/echo")},
        {.method = "GET", .url = url("/echo"), .headers = {"X-A: 1\r\nX-Injected: 2"}},
        {.method = "GET", .url = url("/echo"), .headers = {"X-A: 1\n"}},
        {.method = "GET", .url = url("/echo"), .headers = {""}},
        {.method = "POST", .url = url("/echo"), .body = "x", .body_len = HTTPC_REQUEST_MAX + 1},
        {.method = "POST", .url = url("/echo"), .body = NULL, .body_len = 3},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(httpc_submit(hc, &bad[i], on_done, &r), -1, "case %zu", i);
    char *long_url = malloc(HTTPC_URL_MAX + 2);
    memset(long_url, 'a', HTTPC_URL_MAX + 1);
    long_url[HTTPC_URL_MAX + 1] = '\0';
    memcpy(long_url, "http://", 7);
    struct httpc_request too_long = {.method = "GET", .url = long_url};
    cr_assert_eq(httpc_submit(hc, &too_long, on_done, &r), -1);
    free(long_url);
    cr_assert_eq(httpc_submit(hc, &ok, NULL, &r), -1, "a callback is required");
    cr_assert_eq(httpc_submit(NULL, &ok, on_done, &r), -1);
    cr_assert_eq(httpc_submit(hc, NULL, on_done, &r), -1);
    cr_assert_eq(httpc_poll(hc), 0);
    cr_assert_eq(r.calls, 0);
    client_free(hc);
}

Test(httpc, cancel_means_no_callback)
{
    struct httpc *hc = client();
    struct result slow = {0}, after = {0}, finished = {0};
    struct httpc_request req = {.method = "GET", .url = url("/slow")};
    long id = httpc_submit(hc, &req, on_done, &slow);
    cr_assert(id > 0);
    httpc_cancel(hc, id);
    httpc_cancel(hc, id);     /* twice is harmless */
    httpc_cancel(hc, 987654); /* and an unknown id */
    /* A request that has finished but is not collected yet: the race cancel must win. */
    struct httpc_request echo = {.method = "GET", .url = url("/echo")};
    id = httpc_submit(hc, &echo, on_done, &finished);
    cr_assert(id > 0);
    struct pollfd p = {.fd = efd, .events = POLLIN};
    long start = now_ms();
    int woken = 0;
    while (woken < 2 && now_ms() - start < 3000) { /* the /slow abort and the /echo answer */
        uint64_t n = 0;
        if (poll(&p, 1, 100) > 0 && read(efd, &n, sizeof(n)) == (ssize_t)sizeof(n))
            woken += (int)n;
    }
    cr_assert_eq(woken, 2, "both requests ended");
    httpc_cancel(hc, id);
    cr_assert_eq(httpc_poll(hc), 0, "neither callback runs");
    cr_assert_eq(finished.calls, 0);
    cr_assert_eq(slow.calls, 0);
    /* The client carries on. */
    one(hc, &echo, &after);
    cr_assert_eq(after.status, 200);
    free(after.body);
    usleep(400 * 1000);
    httpc_poll(hc);
    cr_assert_eq(slow.calls, 0);
    client_free(hc);
}

/* A callback that cancels the request collected after it in the same httpc_poll(). */
struct canceller {
    struct result r;
    struct httpc *hc;
    long victim;
};

static void cancel_victim(void *arg, const struct httpc_response *resp)
{
    struct canceller *c = arg;
    on_done(&c->r, resp);
    httpc_cancel(c->hc, c->victim);
}

static void wait_wake(void)
{
    struct pollfd p = {.fd = efd, .events = POLLIN};
    uint64_t n;
    cr_assert(poll(&p, 1, 3000) > 0, "woken");
    cr_assert_eq(read(efd, &n, sizeof(n)), (ssize_t)sizeof(n));
}

Test(httpc, cancel_from_a_callback)
{
    struct httpc *hc = client();
    struct canceller first = {.hc = hc};
    struct result second = {0};
    struct httpc_request echo = {.method = "GET", .url = url("/echo")};
    /* Both finish before the control thread collects them, in this order. */
    cr_assert(httpc_submit(hc, &echo, cancel_victim, &first) > 0);
    wait_wake();
    first.victim = httpc_submit(hc, &echo, on_done, &second);
    cr_assert(first.victim > 0);
    wait_wake();
    cr_assert_eq(httpc_poll(hc), 1, "the first ran, the victim was cancelled by it");
    cr_assert_eq(first.r.calls, 1);
    cr_assert_eq(second.calls, 0);
    free(first.r.body);
    client_free(hc);
}

Test(httpc, many_concurrent_requests_all_complete)
{
    struct httpc *hc = client();
    enum { N = 60 };
    static struct result res[N];
    memset(res, 0, sizeof(res));
    int done = 0;
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/echo?n=%d", i);
        struct httpc_request req = {.method = i % 2 ? "POST" : "GET", .url = url(path)};
        cr_assert(httpc_submit(hc, &req, on_done, &res[i]) > 0, "request %d", i);
    }
    long start = now_ms();
    while (done < N && now_ms() - start < 20000) {
        collect(hc, efd, &done, N, 100);
        done = 0;
        for (int i = 0; i < N; i++)
            done += res[i].calls;
    }
    for (int i = 0; i < N; i++) {
        char want[48];
        snprintf(want, sizeof(want), "%s /echo?n=%d HTTP/1.1", i % 2 ? "POST" : "GET", i);
        cr_assert_eq(res[i].calls, 1, "request %d", i);
        cr_assert_eq(res[i].status, 200, "request %d: %s", i, res[i].error);
        cr_assert(strncmp(res[i].body, want, strlen(want)) == 0, "request %d: %.40s", i,
                  res[i].body);
        free(res[i].body);
    }
    client_free(hc);
}

Test(httpc, queue_is_bounded_until_polled)
{
    struct httpc *hc = client();
    static struct result res[HTTPC_QUEUE_MAX + 1];
    memset(res, 0, sizeof(res));
    struct httpc_request req = {.method = "GET", .url = url("/echo")};
    long last = 0;
    for (int i = 0; i < HTTPC_QUEUE_MAX; i++) {
        long id = httpc_submit(hc, &req, on_done, &res[i]);
        cr_assert(id > last, "ids grow: %ld after %ld", id, last);
        last = id;
    }
    cr_assert_eq(httpc_submit(hc, &req, on_done, &res[HTTPC_QUEUE_MAX]), -1, "full");
    int done = 0;
    long start = now_ms();
    while (done < HTTPC_QUEUE_MAX && now_ms() - start < 20000) {
        collect(hc, efd, &done, HTTPC_QUEUE_MAX, 100);
        done = 0;
        for (int i = 0; i < HTTPC_QUEUE_MAX; i++)
            done += res[i].calls;
    }
    cr_assert_eq(done, HTTPC_QUEUE_MAX);
    cr_assert_eq(res[HTTPC_QUEUE_MAX].calls, 0);
    one(hc, &req, &res[HTTPC_QUEUE_MAX]);
    for (int i = 0; i <= HTTPC_QUEUE_MAX; i++)
        free(res[i].body);
    client_free(hc);
}

Test(httpc, free_with_requests_in_flight)
{
    struct httpc *hc = client();
    static struct result res[8];
    memset(res, 0, sizeof(res));
    const char *paths[] = {"/silent", "/silent", "/slow", "/slow",
                           "/echo",   "/echo",   "/big",  "/silent"};
    for (int i = 0; i < 8; i++) {
        struct httpc_request req = {.method = "GET", .url = url(paths[i])};
        cr_assert(httpc_submit(hc, &req, on_done, &res[i]) > 0);
    }
    usleep(50 * 1000); /* some are sent, some answered, some still queued */
    long start = now_ms();
    client_free(hc);
    cr_assert(now_ms() - start < 1000, "free does not wait for slow servers");
    for (int i = 0; i < 8; i++)
        cr_assert_eq(res[i].calls, 0, "no callback after free (%s)", paths[i]);
    httpc_free(NULL);
}

Test(httpc, without_wake_by_polling)
{
    struct httpc *hc = httpc_new(NULL, NULL);
    cr_assert_not_null(hc);
    struct result r = {0};
    struct httpc_request req = {.method = "GET", .url = url("/status/418")};
    cr_assert(httpc_submit(hc, &req, on_done, &r) > 0);
    long start = now_ms();
    while (r.calls == 0 && now_ms() - start < 5000) {
        usleep(10 * 1000);
        httpc_poll(hc);
    }
    cr_assert_eq(r.status, 418);
    free(r.body);
    httpc_free(hc);
}
