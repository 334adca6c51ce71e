/* Turning the peers' counters and the latency histogram into the run's numbers. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile of `n` values, sorted in place; -1 when there are none. */
static double quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof(*v), cmp_double);
    size_t i = (size_t)(q * (double)n);
    return v[i < n ? i : n - 1];
}

static void peer_counts(const struct lp_peer *p, struct lp_report *o, double *jit, size_t *njit)
{
    o->sent += p->sent_packets;
    o->plis += p->plis;
    o->srtp_errors += p->srtp_errors;
    o->send_errors += p->send_errors;
    o->dtls_out += p->dtls_out;
    o->dtls_in += p->dtls_in;
    o->dtls_early += p->dtls_early;
    if (p->srtp_profile)
        o->srtp_profile = p->srtp_profile;
    for (int k = 0; k < 2; k++) {
        const struct lp_rx *rx = &p->rx[k];
        if (!rx->started)
            continue;
        uint64_t exp = (uint64_t)(rx->max_seq - rx->first_seq) + 1;
        o->received += rx->packets;
        o->expected += exp;
        o->lost += exp > rx->packets ? exp - rx->packets : 0;
        if (k == LP_AUDIO)
            jit[(*njit)++] = rx->jitter_ns / 1e6;
    }
    if (atomic_load(&p->phase) == PEER_FAILED) {
        o->peers_failed++;
        if (!o->first_failure)
            o->first_failure = p->fail;
    }
}

static bool own_port(const struct lp_run *r, unsigned port)
{
    for (unsigned c = 0; c < r->ncalls; c++)
        for (int k = 0; k < 2; k++)
            if (r->calls[c].peer[k].local_port == port)
                return true;
    return false;
}

/* Sums the `drops` column of /proc/net/udp (the last field of each socket's line). */
static void udp_drops(const struct lp_run *r, struct lp_report *o)
{
    FILE *f = fopen("/proc/net/udp", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        unsigned port;
        if (sscanf(line, " %*u: %*x:%x", &port) != 1)
            continue;
        /* The drops column is the last field; lines may end in spaces. */
        unsigned long long drops = 0;
        char *save = NULL;
        for (char *tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
            drops = strtoull(tok, NULL, 10);
        if (own_port(r, port))
            o->drops_self += drops;
        else
            o->drops_other += drops;
    }
    fclose(f);
}

/* The q-quantile over every peer of (its timestamp at `field` - the call's accept), in ms;
 * -1 when no peer got there. */
static double since_accept(const struct lp_run *r, size_t field, double q)
{
    double *v = calloc(2 * (size_t)r->ncalls, sizeof(double));
    size_t n = 0;
    for (unsigned c = 0; c < r->ncalls && v; c++) {
        const struct lp_call *call = &r->calls[c];
        for (int k = 0; k < 2; k++) {
            uint64_t t;
            memcpy(&t, (const char *)&call->peer[k] + field, sizeof(t));
            if (t && call->accept_ns && t >= call->accept_ns)
                v[n++] = (double)(t - call->accept_ns) / 1e6;
        }
    }
    double out = v ? quantile(v, n, q) : -1;
    free(v);
    return out;
}

void lp_report_compute(struct lp_run *r, struct lp_report *o)
{
    memset(o, 0, sizeof(*o));
    size_t n = 2 * (size_t)r->ncalls, nj = 0;
    double *jit = calloc(n, sizeof(double));
    for (unsigned c = 0; c < r->ncalls && jit; c++) {
        bool up = true;
        for (int k = 0; k < 2; k++) {
            const struct lp_peer *p = &r->calls[c].peer[k];
            peer_counts(p, o, jit, &nj);
            up = up && p->first_media_ns;
        }
        o->calls_up += up;
    }
    o->loss_pct = o->expected ? 100.0 * (double)o->lost / (double)o->expected : 0;
    o->first_media_p50_ms = since_accept(r, offsetof(struct lp_peer, first_media_ns), 0.5);
    o->first_media_p95_ms = since_accept(r, offsetof(struct lp_peer, first_media_ns), 0.95);
    o->first_key_p50_ms = since_accept(r, offsetof(struct lp_peer, first_key_ns), 0.5);
    o->first_key_p95_ms = since_accept(r, offsetof(struct lp_peer, first_key_ns), 0.95);
    o->offer_p50_ms = since_accept(r, offsetof(struct lp_peer, offer_ns), 0.5);
    o->ice_p50_ms = since_accept(r, offsetof(struct lp_peer, ice_ns), 0.5);
    o->keyed_p50_ms = since_accept(r, offsetof(struct lp_peer, keyed_ns), 0.5);
    o->jitter_ms = quantile(jit, nj, 0.5);
    free(jit);
    struct lp_hist *h = calloc(1, sizeof(*h));
    if (h) {
        lp_threads_hist(r, h);
        o->window_packets = h->count;
        o->lat_p50_us = lp_hist_quantile_us(h, 0.5);
        o->lat_p99_us = lp_hist_quantile_us(h, 0.99);
        o->lat_p999_us = lp_hist_quantile_us(h, 0.999);
        o->lat_max_us = h->count ? (double)h->max_ns / 1000.0 : -1;
        free(h);
    }
    o->window_s = (double)r->window_ns / 1e9;
    o->fwd_pps = o->window_s > 0 ? (double)o->window_packets / o->window_s : 0;
    o->pps_per_core = r->server_cpu_s > 0 ? (double)o->window_packets / r->server_cpu_s : -1;
    o->server_cores = o->window_s > 0 ? r->server_cpu_s / o->window_s : 0;
    udp_drops(r, o);
    o->rss_per_call_kb =
        r->rss_kb > 0 && r->rss_base_kb > 0 ? (double)(r->rss_kb - r->rss_base_kb) / r->ncalls : -1;
}

static const char *profile_name(int p)
{
    return p == SRTP_SESSION_PROFILE_AEAD_AES_128_GCM    ? "AEAD_AES_128_GCM"
           : p == SRTP_SESSION_PROFILE_AES128_CM_SHA1_80 ? "AES128_CM_SHA1_80"
                                                         : "none";
}

void lp_report_print(const struct lp_run *r, const struct lp_report *o, FILE *f)
{
    fprintf(f, "mode %s, %u calls (%u with media both ways, %u peers failed%s%s), SRTP %s\n",
            r->opt.mode, r->ncalls, o->calls_up, o->peers_failed, o->first_failure ? ": " : "",
            o->first_failure ? o->first_failure : "", profile_name(o->srtp_profile));
    fprintf(f,
            "  packets: sent %llu, received %llu, lost %llu (%.3f %%), %.0f forwarded/s in "
            "%.1f s window\n",
            (unsigned long long)o->sent, (unsigned long long)o->received,
            (unsigned long long)o->lost, o->loss_pct, o->fwd_pps, o->window_s);
    fprintf(f,
            "  one-way latency µs: p50 %.0f p99 %.0f p99.9 %.0f max %.0f; audio jitter p50 "
            "%.3f ms\n",
            o->lat_p50_us, o->lat_p99_us, o->lat_p999_us, o->lat_max_us, o->jitter_ms);
    fprintf(f, "  accept → first media ms: p50 %.1f p95 %.1f; → first keyframe p50 %.1f p95 %.1f\n",
            o->first_media_p50_ms, o->first_media_p95_ms, o->first_key_p50_ms, o->first_key_p95_ms);
    fprintf(
        f,
        "  of which, p50 ms after accept: description %.1f, ICE answered %.1f, SRTP keyed %.1f\n",
        o->offer_p50_ms, o->ice_p50_ms, o->keyed_p50_ms);
    if (r->opt.server_pid > 0)
        fprintf(f,
                "  server: %.2f CPU s in window (%.2f cores), %.0f pkt per CPU s, RSS %ld kB "
                "(%.1f kB per call)\n",
                r->server_cpu_s, o->server_cores, o->pps_per_core, r->rss_kb, o->rss_per_call_kb);
    fprintf(f, "  DTLS datagrams per peer: %.1f sent, %.1f received, %.2f before ICE (dropped)\n",
            (double)o->dtls_out / (2.0 * r->ncalls), (double)o->dtls_in / (2.0 * r->ncalls),
            (double)o->dtls_early / (2.0 * r->ncalls));
    fprintf(f, "  receive-buffer drops: %llu at the load peer's sockets, %llu at the server's\n",
            (unsigned long long)o->drops_self, (unsigned long long)o->drops_other);
    fprintf(f,
            "  keyframe requests %llu, SRTP errors %llu, send errors %llu, setup %.2f s, load "
            "peer %.2f cores\n",
            (unsigned long long)o->plis, (unsigned long long)o->srtp_errors,
            (unsigned long long)o->send_errors, r->setup_s,
            o->window_s > 0 ? r->self_cpu_s / o->window_s : 0);
}

void lp_report_csv(const struct lp_run *r, const struct lp_report *o, const char *path)
{
    struct stat st;
    bool fresh = stat(path, &st) != 0 || st.st_size == 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        perror(path);
        return;
    }
    if (fresh)
        fprintf(
            f, "label,mode,calls,calls_up,window_s,sent,received,lost,loss_pct,fwd_pps,"
               "server_cpu_s,server_cores,pps_per_core,lat_p50_us,lat_p99_us,lat_p999_us,"
               "lat_max_us,jitter_ms,rss_kb,rss_per_call_kb,first_media_p50_ms,"
               "first_media_p95_ms,first_key_p50_ms,first_key_p95_ms,setup_s,video_kbps,"
               "loadpeer_cores,drops_loadpeer,drops_server,offer_p50_ms,ice_p50_ms,keyed_p50_ms\n");
    fprintf(f,
            "%s,%s,%u,%u,%.2f,%llu,%llu,%llu,%.4f,%.0f,%.2f,%.3f,%.0f,%.1f,%.1f,%.1f,%.1f,"
            "%.3f,%ld,%.1f,%.1f,%.1f,%.1f,%.1f,%.2f,%.0f,%.3f,%llu,%llu,%.1f,%.1f,%.1f\n",
            r->opt.label, r->opt.mode, r->ncalls, o->calls_up, o->window_s,
            (unsigned long long)o->sent, (unsigned long long)o->received,
            (unsigned long long)o->lost, o->loss_pct, o->fwd_pps, r->server_cpu_s, o->server_cores,
            o->pps_per_core, o->lat_p50_us, o->lat_p99_us, o->lat_p999_us, o->lat_max_us,
            o->jitter_ms, r->rss_kb, o->rss_per_call_kb, o->first_media_p50_ms,
            o->first_media_p95_ms, o->first_key_p50_ms, o->first_key_p95_ms, r->setup_s,
            r->media.video_kbps, o->window_s > 0 ? r->self_cpu_s / o->window_s : 0,
            (unsigned long long)o->drops_self, (unsigned long long)o->drops_other, o->offer_p50_ms,
            o->ice_p50_ms, o->keyed_p50_ms);
    fclose(f);
}

int lp_report_verdict(const struct lp_run *r, const struct lp_report *o, FILE *f)
{
    int bad = 0;
    if (o->calls_up < r->ncalls) {
        fprintf(f, "FAIL: %u of %u calls carried media both ways\n", o->calls_up, r->ncalls);
        bad = 1;
    }
    if (o->window_packets == 0) {
        fprintf(f, "FAIL: no packet arrived while measuring\n");
        bad = 1;
    }
    if (r->opt.max_loss_pct > 0 && o->loss_pct > r->opt.max_loss_pct) {
        fprintf(f, "FAIL: loss %.3f %% over %.3f %%\n", o->loss_pct, r->opt.max_loss_pct);
        bad = 1;
    }
    if (r->opt.max_p99_ms > 0 && o->lat_p99_us > r->opt.max_p99_ms * 1000) {
        fprintf(f, "FAIL: p99 latency %.0f µs over %.1f ms\n", o->lat_p99_us, r->opt.max_p99_ms);
        bad = 1;
    }
    return bad;
}
