/* balie-loadpeer: see loadpeer.h and docs/benchmarks.md.
 *
 *   balie-loadpeer --mode balie --url http://localhost:8080 --calls 50 --hold 10
 *   balie-loadpeer --mode janus --url ws://127.0.0.1:8188 --calls 50 --hold 10 --server-pid PID
 *
 * Exit code 0 when every call carried media both ways within the limits asked for. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loadpeer.h"
#include "peer_internal.h"
#include "report.h"

struct dtls_identity *lp_identity;

static void usage(void)
{
    fprintf(stderr,
            "usage: balie-loadpeer [--mode balie|janus] --url URL [--calls N] [--hold S]\n"
            "  [--warmup S] [--setup-timeout S] [--threads N] [--pace-ms MS] [--service ID]\n"
            "  [--video-kbps K] [--size WxH] [--fps F] [--video-frames N]\n"
            "  [--server-pid PID] [--csv FILE] [--label TEXT] [--quiet]\n"
            "  [--max-loss-pct P] [--max-p99-ms M] [--media-cache FILE]\n"
            "  [--accept-rate CALLS_PER_S]\n");
}

static int parse(int argc, char **argv, struct lp_options *o)
{
    *o = (struct lp_options){.mode = "balie",
                             .service = "algemeen",
                             .label = "",
                             .calls = 2,
                             .threads = 1,
                             .pace_ms = 1,
                             .hold_s = 5,
                             .warmup_s = 1,
                             .setup_timeout_s = 30,
                             .video_kbps = 2000,
                             .width = 1280,
                             .height = 720,
                             .fps = 30,
                             .video_frames = 90};
    static const struct option opts[] = {{"mode", 1, 0, 'm'},
                                         {"url", 1, 0, 'u'},
                                         {"calls", 1, 0, 'n'},
                                         {"hold", 1, 0, 'h'},
                                         {"warmup", 1, 0, 'w'},
                                         {"setup-timeout", 1, 0, 'T'},
                                         {"threads", 1, 0, 't'},
                                         {"service", 1, 0, 's'},
                                         {"video-kbps", 1, 0, 'k'},
                                         {"size", 1, 0, 'z'},
                                         {"fps", 1, 0, 'f'},
                                         {"video-frames", 1, 0, 'F'},
                                         {"server-pid", 1, 0, 'p'},
                                         {"csv", 1, 0, 'c'},
                                         {"label", 1, 0, 'l'},
                                         {"quiet", 0, 0, 'q'},
                                         {"max-loss-pct", 1, 0, 'L'},
                                         {"max-p99-ms", 1, 0, 'P'},
                                         {"media-cache", 1, 0, 'C'},
                                         {"accept-rate", 1, 0, 'R'},
                                         {"pace-ms", 1, 0, 'M'},
                                         {"help", 0, 0, '?'},
                                         {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            o->mode = optarg;
            break;
        case 'u':
            o->url = optarg;
            break;
        case 'n':
            o->calls = (unsigned)atoi(optarg);
            break;
        case 'h':
            o->hold_s = atof(optarg);
            break;
        case 'w':
            o->warmup_s = atof(optarg);
            break;
        case 'T':
            o->setup_timeout_s = atof(optarg);
            break;
        case 't':
            o->threads = (unsigned)atoi(optarg);
            break;
        case 'M':
            o->pace_ms = (unsigned)atoi(optarg);
            break;
        case 's':
            o->service = optarg;
            break;
        case 'k':
            o->video_kbps = (unsigned)atoi(optarg);
            break;
        case 'z':
            if (sscanf(optarg, "%ux%u", &o->width, &o->height) != 2)
                return -1;
            break;
        case 'f':
            o->fps = (unsigned)atoi(optarg);
            break;
        case 'F':
            o->video_frames = (unsigned)atoi(optarg);
            break;
        case 'p':
            o->server_pid = atoi(optarg);
            break;
        case 'c':
            o->csv = optarg;
            break;
        case 'l':
            o->label = optarg;
            break;
        case 'R':
            o->accept_rate = atof(optarg);
            break;
        case 'C':
            o->media_cache = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'L':
            o->max_loss_pct = atof(optarg);
            break;
        case 'P':
            o->max_p99_ms = atof(optarg);
            break;
        default:
            return -1;
        }
    }
    if (!o->url || o->calls < 1 || o->calls > LP_MAX_CALLS || o->threads < 1 || o->threads > 16 ||
        o->pace_ms < 1 || o->pace_ms > 20 || o->fps < 1 || o->fps > 60 || o->width < 16 ||
        o->height < 16 || o->video_frames < 1 ||
        (strcmp(o->mode, "balie") != 0 && strcmp(o->mode, "janus") != 0))
        return -1;
    return 0;
}

static int setup_calls(struct lp_run *r)
{
    r->ncalls = r->opt.calls;
    r->calls = calloc(r->ncalls, sizeof(*r->calls));
    if (!r->calls)
        return -1;
    for (unsigned i = 0; i < r->ncalls; i++) {
        struct lp_call *c = &r->calls[i];
        c->index = i;
        for (int k = 0; k < 2; k++) {
            struct lp_peer *p = &c->peer[k];
            p->call = c;
            p->role = (enum lp_role)k;
            lp_peer_credentials(p);
            if (lp_peer_socket(p) != 0) {
                perror("loadpeer: UDP socket");
                return -1;
            }
        }
    }
    return 0;
}

static void free_calls(struct lp_run *r)
{
    for (unsigned i = 0; i < r->ncalls; i++)
        for (int k = 0; k < 2; k++) {
            struct lp_peer *p = &r->calls[i].peer[k];
            if (p->dtls)
                dtls_conn_free(p->dtls);
            if (p->srtp_ready)
                srtp_session_free(&p->srtp);
            if (p->fd >= 0)
                close(p->fd);
            free(p->rxbuf);
        }
    free(r->calls);
    free(r->threads);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    static struct lp_run run;
    if (parse(argc, argv, &run.opt) != 0) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    lp_clock_init();
    raise_fd_limit();
    if (dtls_identity_create(&lp_identity) != 0) {
        fprintf(stderr, "loadpeer: no DTLS identity\n");
        return 1;
    }
    if (lp_media_encode(&run.media, &run.opt) != 0)
        return 1;
    if (!run.opt.quiet)
        fprintf(stderr, "loadpeer: %zu Opus frames, %zu VP8 frames %ux%u at %u fps, %.0f kbit/s\n",
                run.media.audio_count, run.media.video_count, run.opt.width, run.opt.height,
                run.opt.fps, run.media.video_kbps);
    if (setup_calls(&run) != 0)
        return 1;
    if (run.opt.server_pid > 0)
        run.rss_base_kb = lp_proc_rss_kb(run.opt.server_pid);
    atomic_store(&run.sending, 1);
    if (lp_threads_start(&run) != 0) {
        fprintf(stderr, "loadpeer: media threads did not start\n");
        return 1;
    }
    int rc = strcmp(run.opt.mode, "janus") == 0 ? lp_janus_run(&run) : lp_balie_run(&run);
    lp_threads_join(&run);
    struct lp_report rep;
    lp_report_compute(&run, &rep);
    lp_report_print(&run, &rep, stdout);
    if (run.opt.csv)
        lp_report_csv(&run, &rep, run.opt.csv);
    int verdict = lp_report_verdict(&run, &rep, stderr);
    free_calls(&run);
    lp_media_free(&run.media);
    dtls_identity_free(lp_identity);
    return rc != 0 ? 1 : verdict;
}
