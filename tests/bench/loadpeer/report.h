/* The numbers a run produces: a summary on stdout, one CSV row, and a verdict. */
#ifndef BALIE_LOADPEER_REPORT_H
#define BALIE_LOADPEER_REPORT_H

#include <stdio.h>

#include "loadpeer.h"

struct lp_report {
    unsigned calls_up; /* both peers received media */
    unsigned peers_failed;
    uint64_t sent, received, expected, lost;
    double loss_pct;
    double window_s;
    uint64_t window_packets; /* received while measuring: what the server forwarded */
    double fwd_pps;
    double pps_per_core; /* forwarded packets per CPU second of the server; -1 unknown */
    double server_cores; /* server CPU seconds per second of window */
    double lat_p50_us, lat_p99_us, lat_p999_us, lat_max_us;
    double jitter_ms;
    double rss_per_call_kb;
    double first_media_p50_ms, first_media_p95_ms;
    double first_key_p50_ms, first_key_p95_ms;
    double offer_p50_ms, ice_p50_ms, keyed_p50_ms; /* from accept, the steps before media */
    uint64_t plis, srtp_errors, send_errors;
    const char *first_failure;
    int srtp_profile;
    /* Datagrams the kernel dropped for full receive buffers (/proc/net/udp), at the load
     * peer's sockets and at every other socket of the namespace (the server's). */
    uint64_t drops_self, drops_other;
    uint64_t dtls_out, dtls_in, dtls_early;
};

void lp_report_compute(struct lp_run *r, struct lp_report *out);
void lp_report_print(const struct lp_run *r, const struct lp_report *rep, FILE *f);
/* Appends one row (and the header when the file is new). */
void lp_report_csv(const struct lp_run *r, const struct lp_report *rep, const char *path);
/* 0 when every call carried media and the limits hold, 1 otherwise (reasons on `f`). */
int lp_report_verdict(const struct lp_run *r, const struct lp_report *rep, FILE *f);

#endif
