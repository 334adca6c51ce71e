/* What both signaling dialects share: one libwebsockets client context for every peer's
 * WebSocket, a small queue of outgoing text frames per peer, and the hold phase of a run. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadpeer.h"

#define RX_MAX 65536

static struct lp_run *g_run;
static lp_on_message g_on_message;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lp_peer *p = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (p && p->cookie[0]) {
            unsigned char **pos = in, *end = *pos + len;
            if (lws_add_http_header_by_name(
                    wsi, (const unsigned char *)"cookie:", (const unsigned char *)p->cookie,
                    (int)strlen(p->cookie), pos, end))
                return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        p->ws_open = true;
        if (p->out_count)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "loadpeer: WebSocket failed: %s\n", in ? (const char *)in : "?");
        p->ws_closed = true;
        p->wsi = NULL;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        p->ws_closed = true;
        p->wsi = NULL;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!p->rxbuf && !(p->rxbuf = malloc(RX_MAX)))
            return -1;
        if (p->rx_len + len >= RX_MAX)
            return -1; /* larger than any message either server sends */
        memcpy(p->rxbuf + p->rx_len, in, len);
        p->rx_len += len;
        if (lws_is_final_fragment(wsi)) {
            p->rxbuf[p->rx_len] = '\0';
            size_t n = p->rx_len;
            p->rx_len = 0;
            g_on_message(g_run, p, p->rxbuf, n);
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (!p->out_count)
            break;
        unsigned char buf[LWS_PRE + sizeof(p->out[0])];
        size_t n = p->out_len[p->out_head];
        memcpy(buf + LWS_PRE, p->out[p->out_head], n);
        p->out_head = (p->out_head + 1) % 8;
        p->out_count--;
        if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
            return -1;
        if (p->out_count)
            lws_callback_on_writable(wsi);
        break;
    }
    default:
        break;
    }
    return 0;
}

static struct lws_protocols protocols[2];

struct lws_context *lp_ws_context(struct lp_run *r, const char *protocol, lp_on_message on_message)
{
    g_run = r;
    g_on_message = on_message;
    protocols[0] =
        (struct lws_protocols){.name = protocol, .callback = callback, .rx_buffer_size = 16384};
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = 4 * LP_MAX_CALLS + 64;
    info.options = LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN; /* Origin exactly as given */
    return lws_create_context(&info);
}

struct lws *lp_ws_connect(struct lws_context *ctx, const char *host, int port, const char *path,
                          const char *origin, const char *protocol, struct lp_peer *p)
{
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof(i));
    i.context = ctx;
    i.address = host;
    i.port = port;
    i.path = path;
    /* The Host header carries the port, as a browser's does: Balie checks Origin against it. */
    static char hosts[2][300];
    static unsigned which;
    char *h = hosts[which++ % 2];
    snprintf(h, sizeof(hosts[0]), "%s:%d", host, port);
    i.host = h;
    i.origin = origin;
    i.protocol = protocol;
    i.userdata = p;
    i.pwsi = &p->wsi;
    return lws_client_connect_via_info(&i);
}

void lp_ws_queue(struct lp_peer *p, const char *text)
{
    size_t n = strlen(text);
    if (p->out_count == 8 || n >= sizeof(p->out[0])) {
        fprintf(stderr, "loadpeer: outgoing message dropped (%zu bytes)\n", n);
        return;
    }
    unsigned slot = (p->out_head + p->out_count) % 8;
    memcpy(p->out[slot], text, n);
    p->out_len[slot] = n;
    p->out_count++;
    if (p->wsi && p->ws_open)
        lws_callback_on_writable(p->wsi);
}

unsigned lp_accept_allowance(const struct lp_run *r, uint64_t elapsed_ns)
{
    if (r->opt.accept_rate <= 0)
        return r->ncalls;
    double n = 1.0 + (double)elapsed_ns / 1e9 * r->opt.accept_rate;
    return n >= r->ncalls ? r->ncalls : (unsigned)n;
}

void lp_ws_service(struct lws_context *ctx, unsigned ms)
{
    uint64_t end = lp_now_ns() + (uint64_t)ms * 1000000ull;
    do {
        lws_service(ctx, -1);
        usleep(1000);
    } while (lp_now_ns() < end);
}

unsigned lp_count_flowing(const struct lp_run *r)
{
    unsigned n = 0;
    for (unsigned c = 0; c < r->ncalls; c++)
        for (int k = 0; k < 2; k++)
            n += r->calls[c].peer[k].first_media_ns != 0;
    return n;
}

unsigned lp_count_failed(const struct lp_run *r)
{
    unsigned n = 0;
    for (unsigned c = 0; c < r->ncalls; c++)
        for (int k = 0; k < 2; k++)
            n += atomic_load(&r->calls[c].peer[k].phase) == PEER_FAILED;
    return n;
}

void lp_progress(const struct lp_run *r, const char *what, unsigned done, unsigned total)
{
    if (r->opt.quiet)
        return;
    bool tty = isatty(2);
    fprintf(stderr, "%s[%s %u calls] %-28s %u/%u%s", tty ? "\r" : "", r->opt.mode, r->ncalls, what,
            done, total, tty ? "   " : "\n");
    fflush(stderr);
}

double lp_proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!s)
        return -1;
    unsigned long ut = 0, st = 0;
    /* Fields 3..13 come before utime (14) and stime (15), proc(5). */
    if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long lp_proc_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

void lp_hold(struct lp_run *r, struct lws_context *ctx)
{
    unsigned want = 2 * r->ncalls;
    uint64_t start = lp_now_ns();
    uint64_t deadline = start + (uint64_t)(r->opt.setup_timeout_s * 1e9);
    unsigned flowing;
    while ((flowing = lp_count_flowing(r)) + lp_count_failed(r) < want && lp_now_ns() < deadline) {
        lp_ws_service(ctx, 100);
        lp_progress(r, "peers receiving media", flowing, want);
    }
    r->setup_s = (double)(lp_now_ns() - start) / 1e9;
    lp_progress(r, "peers receiving media", lp_count_flowing(r), want);
    lp_ws_service(ctx, (unsigned)(r->opt.warmup_s * 1000));
    double cpu0 = r->opt.server_pid > 0 ? lp_proc_cpu_s(r->opt.server_pid) : -1;
    double self0 = lp_proc_cpu_s(getpid());
    uint64_t t0 = lp_now_ns();
    atomic_store(&r->measuring, 1);
    uint64_t end = t0 + (uint64_t)(r->opt.hold_s * 1e9);
    while (lp_now_ns() < end) {
        lp_ws_service(ctx, 200);
        lp_progress(r, "holding (s)", (unsigned)((lp_now_ns() - t0) / 1000000000ull),
                    (unsigned)r->opt.hold_s);
    }
    atomic_store(&r->measuring, 0);
    r->window_ns = lp_now_ns() - t0;
    r->self_cpu_s = lp_proc_cpu_s(getpid()) - self0;
    if (r->opt.server_pid > 0) {
        r->server_cpu_s = lp_proc_cpu_s(r->opt.server_pid) - cpu0;
        r->rss_kb = lp_proc_rss_kb(r->opt.server_pid);
    }
    atomic_store(&r->sending, 0);
    lp_ws_service(ctx, 300); /* packets in flight arrive before anyone hangs up */
    if (!r->opt.quiet && isatty(2))
        fputc('\n', stderr);
}
