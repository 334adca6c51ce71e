/* The HTTP client over TLS with a client certificate, as SAML artifact resolution needs it:
 * a test server on 127.0.0.1 (OpenSSL) that demands a certificate signed by the one it trusts.
 * Keys and self-signed certificates are made fresh with the openssl tool in a temporary folder. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "balie/httpc.h"

static struct {
    char dir[64];
    int fd;
    unsigned port;
    SSL_CTX *ctx;
    pthread_t thread;
    atomic_bool stop;
} tls;

static const char *file(const char *name)
{
    static char buf[4][128];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 128, "%s/%s", tls.dir, name);
    return p;
}

static void make_cert(const char *base, const char *cn, const char *san)
{
    char cmd[768];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=%s %s -keyout %s/%s.key -out %s/%s.pem 2>/dev/null",
             cn, san, tls.dir, base, tls.dir, base);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void serve_one(int fd)
{
    SSL *ssl = SSL_new(tls.ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        char req[4096];
        size_t len = 0;
        int n;
        while (len < sizeof(req) - 1 &&
               (n = SSL_read(ssl, req + len, (int)(sizeof(req) - 1 - len))) > 0) {
            len += (size_t)n;
            req[len] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: 9\r\nConnection: close\r\n\r\nclient-ok";
        SSL_write(ssl, reply, sizeof(reply) - 1);
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(fd);
}

static void *tls_server(void *unused)
{
    while (!atomic_load(&tls.stop)) {
        struct pollfd p = {.fd = tls.fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(tls.fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        serve_one(fd);
    }
    return NULL;
}

static void tls_start(void)
{
    memset(&tls, 0, sizeof(tls));
    strcpy(tls.dir, "/tmp/balie-httpc-tls-XXXXXX");
    cr_assert_not_null(mkdtemp(tls.dir));
    make_cert("server", "127.0.0.1", "-addext subjectAltName=IP:127.0.0.1");
    make_cert("client", "balie-sp", "");
    make_cert("stranger", "someone-else", "");
    tls.ctx = SSL_CTX_new(TLS_server_method());
    cr_assert_not_null(tls.ctx);
    cr_assert(SSL_CTX_use_certificate_file(tls.ctx, file("server.pem"), SSL_FILETYPE_PEM) == 1);
    cr_assert(SSL_CTX_use_PrivateKey_file(tls.ctx, file("server.key"), SSL_FILETYPE_PEM) == 1);
    cr_assert(SSL_CTX_load_verify_locations(tls.ctx, file("client.pem"), NULL) == 1);
    SSL_CTX_set_verify(tls.ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    tls.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    cr_assert_eq(bind(tls.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(tls.fd, 16), 0);
    cr_assert_eq(getsockname(tls.fd, (struct sockaddr *)&a, &alen), 0);
    tls.port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&tls.thread, NULL, tls_server, NULL), 0);
}

static void tls_stop(void)
{
    atomic_store(&tls.stop, true);
    pthread_join(tls.thread, NULL);
    close(tls.fd);
    SSL_CTX_free(tls.ctx);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tls.dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(httpc_tls, .init = tls_start, .fini = tls_stop, .timeout = 30);

struct result {
    int calls;
    long status;
    char error[160];
    char body[32];
};

static void on_done(void *arg, const struct httpc_response *r)
{
    struct result *res = arg;
    res->calls++;
    res->status = r->status;
    snprintf(res->error, sizeof(res->error), "%s", r->error);
    snprintf(res->body, sizeof(res->body), "%s", r->body);
}

/* Runs one request on a client polled on a timer (no wake function). */
static struct result run(const char *cert, const char *key, const char *ca)
{
    struct httpc *hc = httpc_new(NULL, NULL);
    cr_assert_not_null(hc);
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/resolve", tls.port);
    struct httpc_request req = {.method = "POST",
                                .url = url,
                                .headers = {"Content-Type: text/xml"},
                                .body = "<soap/>",
                                .body_len = 7,
                                .client_cert_pem = cert,
                                .client_key_pem = key,
                                .ca_file = ca,
                                .timeout_ms = 5000};
    struct result r = {0};
    cr_assert(httpc_submit(hc, &req, on_done, &r) > 0);
    for (int i = 0; i < 600 && r.calls == 0; i++) {
        usleep(10 * 1000);
        httpc_poll(hc);
    }
    httpc_free(hc);
    cr_assert_eq(r.calls, 1);
    return r;
}

Test(httpc_tls, client_certificate_is_presented)
{
    struct result r = run(file("client.pem"), file("client.key"), file("server.pem"));
    cr_assert_eq(r.status, 200, "%s", r.error);
    cr_assert_str_eq(r.body, "client-ok");
}

Test(httpc_tls, refused_without_the_right_certificate)
{
    struct result r = run(NULL, NULL, file("server.pem"));
    cr_assert_eq(r.status, 0, "no client certificate: %s", r.body);
    cr_assert_str_not_empty(r.error);
    r = run(file("stranger.pem"), file("stranger.key"), file("server.pem"));
    cr_assert_eq(r.status, 0, "a certificate the server does not trust");
    r = run(file("client.pem"), file("missing.key"), file("server.pem"));
    cr_assert_eq(r.status, 0, "a key file that is not there");
}

Test(httpc_tls, server_must_be_trusted)
{
    /* Without the test CA the self-signed server fails verification against the system store. */
    struct result r = run(file("client.pem"), file("client.key"), NULL);
    cr_assert_eq(r.status, 0);
    cr_assert_str_not_empty(r.error);
    r = run(file("client.pem"), file("client.key"), file("stranger.pem"));
    cr_assert_eq(r.status, 0);
}
