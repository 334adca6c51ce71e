/* balie-loadpeer: N concurrent 1:1 calls with real Opus and VP8 media through a media server
 * (Balie's protocol v1, or Janus's videocall plugin), measuring what each receiving side sees.
 *
 * Threads: the main thread owns signaling (one libwebsockets context for every WebSocket) and
 * the run's phases; media threads own the UDP side of their peers (ICE as the controlling agent,
 * DTLS, SRTP, sending and receiving). The only hand-over is a peer's `phase`: the main thread
 * fills the remote parameters and then publishes PEER_START with release order; after that the
 * media thread alone writes the peer's media fields until the run ends. */
#ifndef BALIE_LOADPEER_H
#define BALIE_LOADPEER_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/dtls.h"
#include "balie/srtp_session.h"

#define LP_MAX_CALLS 2000
#define LP_UFRAG_MAX 64
#define LP_PWD_MAX 128
#define LP_PKT_MAX 1500
#define LP_RTP_PAYLOAD_MAX 1100 /* VP8 fragments are cut to this before the trailer */

/* The trailer each payload carries at its end: magic, call, kind, sequence and send time. Both
 * servers forward RTP payloads unchanged, so the bytes survive the relay. */
#define LP_TRAILER_MAGIC 0xB41E7EA1u
#define LP_TRAILER_LEN 24

enum lp_kind { LP_AUDIO = 0, LP_VIDEO = 1 };
enum lp_role { LP_CITIZEN = 0, LP_AGENT = 1 };

enum lp_phase {
    PEER_IDLE = 0,
    PEER_START,  /* remote parameters are set: the media thread may begin ICE */
    PEER_ICE,    /* checks sent, waiting for a success response */
    PEER_DTLS,   /* nominated; DTLS handshake running */
    PEER_MEDIA,  /* SRTP keyed: sending and receiving */
    PEER_FAILED, /* see `fail` */
};

/* One pre-encoded frame: its payload (for video a whole frame, cut into packets when sent). */
struct lp_frame {
    uint8_t *data;
    size_t len;
    bool key;
};

struct lp_media {
    struct lp_frame *audio;
    size_t audio_count;
    struct lp_frame *video;
    size_t video_count;
    unsigned fps;
    double video_kbps; /* measured over the encoded frames */
};

/* Receive statistics of one stream (one kind from the other peer of the call). */
struct lp_rx {
    uint64_t packets;
    uint64_t bytes;
    uint32_t first_seq;
    uint32_t max_seq;
    bool started;
    double jitter_ns; /* RFC 3550 A.8 with the send timestamp as the media clock */
    int64_t last_transit_ns;
};

struct lp_call;

struct lp_peer {
    struct lp_call *call;
    enum lp_role role;
    unsigned thread; /* media thread index */

    /* Signaling (main thread only). */
    struct lws *wsi;
    char cookie[256];
    char out[8][4096]; /* text frames waiting for LWS_CALLBACK_CLIENT_WRITEABLE */
    size_t out_len[8];
    unsigned out_head, out_count;
    char *rxbuf; /* a text message being reassembled from fragments */
    size_t rx_len;
    uint64_t accept_sent_ns;
    bool ws_open, ws_closed, accepted, ended, answered;
    uint64_t session_id, handle_id; /* Janus */
    int next_id;

    /* Handed over to the media thread with `phase`. */
    _Atomic int phase;
    struct sockaddr_in remote;
    char local_ufrag[LP_UFRAG_MAX], local_pwd[LP_PWD_MAX];
    char remote_ufrag[LP_UFRAG_MAX], remote_pwd[LP_PWD_MAX];
    uint8_t remote_fp[DTLS_FINGERPRINT_LEN];
    bool dtls_server;
    uint32_t audio_ssrc, video_ssrc;
    uint8_t audio_pt, video_pt;

    /* Media thread only. */
    int fd;
    uint16_t local_port;
    const char *fail;
    struct dtls_conn *dtls;
    struct srtp_session srtp;
    bool srtp_ready;
    int srtp_profile;
    uint8_t ice_txid[12];
    uint64_t next_check_us, next_consent_us;
    unsigned checks_sent;
    uint64_t media_start_ns;
    uint64_t next_audio_ns, next_video_ns;
    size_t audio_idx, video_idx;
    const struct lp_frame *frame; /* the video frame being paced out, NULL when done */
    size_t frame_off;
    uint16_t frame_pid;
    uint16_t audio_seq, video_seq, picture_id;
    uint32_t audio_ts, video_ts;
    uint32_t sent_seq[2];
    uint64_t sent_packets, sent_bytes, send_errors;
    uint64_t plis;
    struct lp_rx rx[2];
    uint64_t first_media_ns, first_key_ns;
    /* Where the time to first media goes: the server's description arrived (main thread,
     * before PEER_START), ICE answered, SRTP keyed. */
    uint64_t offer_ns, ice_ns, keyed_ns;
    uint64_t srtp_errors, foreign;
    /* Handshake datagrams: more than a handshake needs means a retransmission; `dtls_early`
     * came before our ICE check was answered and were dropped. */
    unsigned dtls_out, dtls_in, dtls_early;
};

struct lp_call {
    unsigned index;
    char id[72]; /* the server's call id (Balie) or the callee's name (Janus) */
    struct lp_peer peer[2];
    uint64_t accept_ns; /* when the agent accepted (Balie) or the callee answered (Janus) */
    bool matched;
};

/* Latency histogram: 1 µs buckets below 10 ms, 100 µs buckets to 1 s, then one overflow. */
#define LP_HIST_FINE 10000
#define LP_HIST_COARSE 9900
#define LP_HIST_BUCKETS (LP_HIST_FINE + LP_HIST_COARSE + 1)

struct lp_hist {
    uint64_t count;
    uint64_t bucket[LP_HIST_BUCKETS];
    uint64_t max_ns;
};

void lp_hist_add(struct lp_hist *h, uint64_t ns);
void lp_hist_merge(struct lp_hist *into, const struct lp_hist *from);
/* The value at quantile q (0..1) in microseconds, or -1 when empty. */
double lp_hist_quantile_us(const struct lp_hist *h, double q);

struct lp_options {
    const char *mode; /* "balie" or "janus" */
    const char *url;  /* http://host:port for Balie, ws://host:port for Janus */
    const char *service;
    const char *csv;
    const char *label;
    const char *media_cache; /* file with the encoded frames, made when missing */
    unsigned calls;
    unsigned threads;
    unsigned pace_ms; /* the media threads' tick: what is due goes out every pace_ms */
    double hold_s;
    double warmup_s;
    double setup_timeout_s;
    double accept_rate; /* calls accepted per second; 0 = all at once */
    unsigned video_kbps;
    unsigned width, height, fps;
    unsigned video_frames;
    int server_pid;
    bool quiet;
    /* Failure thresholds for a smoke run (0 = not checked). */
    double max_loss_pct;
    double max_p99_ms;
};

struct lp_run {
    struct lp_options opt;
    struct lp_media media;
    struct lp_call *calls;
    unsigned ncalls;
    struct dtls_identity *identity;
    struct sockaddr_in media_addr; /* filled from the offers */
    _Atomic int sending;           /* 0 before media may start and after the hold */
    _Atomic int quit;
    _Atomic int measuring; /* latency is recorded while set */
    struct lp_thread *threads;
    /* Filled by lp_hold(). */
    uint64_t window_ns;
    double server_cpu_s; /* user + system CPU of the server during the window */
    double self_cpu_s;   /* and of the load peer itself */
    long rss_base_kb;    /* the server's RSS before the first call */
    long rss_kb;         /* and at the end of the window */
    double setup_s;      /* from the first accept until every peer received media */
};

/* /proc/<pid>: CPU seconds (user + system) and resident memory; -1 when unreadable. */
double lp_proc_cpu_s(int pid);
long lp_proc_rss_kb(int pid);

/* The load peer's own DTLS certificate, made once in main(). */
extern struct dtls_identity *lp_identity;

/* Clocks. */
uint64_t lp_now_ns(void);

/* media.c: encodes the Opus and VP8 frames once. Returns 0 or -1 (with a message on stderr). */
int lp_media_encode(struct lp_media *m, const struct lp_options *o);
void lp_media_free(struct lp_media *m);

/* peer.c: the media threads. */
int lp_threads_start(struct lp_run *r);
void lp_threads_join(struct lp_run *r);
/* Merged latency histogram and counters of every thread (call after join or while running). */
void lp_threads_hist(struct lp_run *r, struct lp_hist *out);
/* Opens and binds a peer's UDP socket on 127.0.0.1. Returns 0 or -1. */
int lp_peer_socket(struct lp_peer *p);
/* Makes fresh random ICE credentials and SSRCs for a peer. */
void lp_peer_credentials(struct lp_peer *p);

/* sdp.c: reads what a peer needs from the server's SDP; writes our answer or offer. */
int lp_sdp_read_remote(struct lp_peer *p, const char *sdp, struct sockaddr_in *addr);
int lp_sdp_write(const struct lp_peer *p, const struct lp_run *r, bool offer, char *out,
                 size_t cap);

/* sig_balie.c and sig_janus.c: run the signaling until every call is up, hold, hang up. */
int lp_balie_run(struct lp_run *r);
int lp_janus_run(struct lp_run *r);

/* Shared by both signaling modules (sig_common.c). */
/* `on_message` gets every whole text message of a peer's WebSocket, NUL-terminated. */
typedef void (*lp_on_message)(struct lp_run *r, struct lp_peer *p, char *text, size_t len);
struct lws_context *lp_ws_context(struct lp_run *r, const char *protocol, lp_on_message on_message);
struct lws *lp_ws_connect(struct lws_context *ctx, const char *host, int port, const char *path,
                          const char *origin, const char *protocol, struct lp_peer *p);
void lp_ws_queue(struct lp_peer *p, const char *text);
void lp_ws_flush(struct lp_peer *p);
/* How many calls may have been accepted `elapsed_ns` after the first (all when no rate). */
unsigned lp_accept_allowance(const struct lp_run *r, uint64_t elapsed_ns);
/* Services the WebSockets for up to `ms` milliseconds. */
void lp_ws_service(struct lws_context *ctx, unsigned ms);
/* Peers that have received media from the other side. */
unsigned lp_count_flowing(const struct lp_run *r);
unsigned lp_count_failed(const struct lp_run *r);
/* One progress line on stderr (overwritten in place when stderr is a terminal). */
void lp_progress(const struct lp_run *r, const char *what, unsigned done, unsigned total);
/* Waits until every peer receives media or the setup timeout passes, then holds the calls
 * with measurement on (server CPU and memory read around the window). */
void lp_hold(struct lp_run *r, struct lws_context *ctx);

#endif
