/* A whole call through a real worker over loopback UDP: the control side sends LEG_CREATE,
 * LEG_ANSWER and BRIDGE through worker_send(), two in-test browsers talk to the worker's port,
 * and the events (ICE, DTLS, FLOWING, stats, CLOSED) and the media that crosses are checked.
 * The only waiting is poll() on the sockets and the notify eventfd. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "balie/media.h"
#include "balie/worker.h"
#include "media_peer.h"

#define A_ID 101
#define B_ID 102

struct net_peer {
    struct media_peer p;
    int fd;
    struct sockaddr_in gw;
};

struct control {
    int notify_fd;
    unsigned states[3][MEDIA_LEG_CLOSED + 1];
    enum media_fail_stage last_stage[3];
    unsigned stats[3];
    struct media_leg_stats last_stats[3];
    unsigned pongs;
};

static void notify(void *arg)
{
    struct control *c = arg;
    uint64_t one = 1;
    ssize_t r = write(c->notify_fd, &one, sizeof(one));
    (void)r;
}

static int slot(uint64_t id)
{
    return id == A_ID ? 1 : id == B_ID ? 2 : 0;
}

static void on_event(const struct worker_event *evt, void *arg)
{
    struct control *c = arg;
    int s = slot(evt->id);
    if (evt->type == WORKER_EVT_PONG) {
        c->pongs++;
    } else if (evt->type == WORKER_EVT_LEG_STATE) {
        enum media_leg_state st = media_state_of(evt->arg);
        cr_assert(st >= MEDIA_LEG_ICE_CONNECTED && st <= MEDIA_LEG_CLOSED);
        c->states[s][st]++;
        c->last_stage[s] = media_stage_of(evt->arg);
    } else if (evt->type == WORKER_EVT_LEG_STATS) {
        cr_assert_not_null(evt->ptr);
        const struct media_leg_stats *st = evt->ptr;
        cr_assert_eq(st->leg_id, evt->id);
        c->stats[s]++;
        c->last_stats[s] = *st;
        free(evt->ptr);
    }
}

static void net_send(struct media_peer *p, const uint8_t *buf, size_t len)
{
    struct net_peer *np = p->ctx;
    ssize_t n = sendto(np->fd, buf, len, 0, (struct sockaddr *)&np->gw, sizeof(np->gw));
    cr_assert_eq(n, (ssize_t)len, "sendto: %s", strerror(errno));
}

static void net_peer_init(struct net_peer *np, int gw_port, uint32_t audio, uint32_t video,
                          bool dtls_client)
{
    np->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    cr_assert_geq(np->fd, 0);
    struct sockaddr_in self = {.sin_family = AF_INET};
    self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(np->fd, (struct sockaddr *)&self, sizeof(self)), 0);
    socklen_t len = sizeof(self);
    cr_assert_eq(getsockname(np->fd, (struct sockaddr *)&self, &len), 0);
    peer_init(&np->p, ntohs(self.sin_port), false, audio, video, dtls_client);
    np->p.send = net_send;
    np->p.ctx = np;
    np->gw = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)gw_port)};
    np->gw.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads whatever arrived (for at most `ms`): datagrams go to their browser, events to `c`. */
static void pump(struct worker_pool *pool, struct control *c, struct net_peer *peers, int ms)
{
    struct pollfd fds[3] = {{.fd = c->notify_fd, .events = POLLIN},
                            {.fd = peers[0].fd, .events = POLLIN},
                            {.fd = peers[1].fd, .events = POLLIN}};
    if (poll(fds, 3, ms) <= 0)
        return;
    if (fds[0].revents) {
        uint64_t v;
        ssize_t r = read(c->notify_fd, &v, sizeof(v));
        (void)r;
        worker_pool_drain(pool, on_event, c);
    }
    for (int i = 0; i < 2; i++) {
        uint8_t buf[PEER_DG_MAX];
        ssize_t n;
        while ((n = recv(peers[i].fd, buf, sizeof(buf), 0)) > 0) {
            peers[i].p.now_us = mono_ms() * 1000u;
            peer_receive(&peers[i].p, buf, (size_t)n);
        }
    }
}

#define WAIT_FOR(cond, what)                                                                       \
    do {                                                                                           \
        uint64_t deadline_ = mono_ms() + 10000;                                                    \
        while (!(cond) && mono_ms() < deadline_)                                                   \
            pump(pool, &c, peers, 50);                                                             \
        cr_assert(cond, "timed out waiting for %s", what);                                         \
    } while (0)

static void send_cmd(struct worker_pool *pool, uint32_t type, uint64_t id, uint64_t arg, void *ptr)
{
    struct worker_cmd cmd = {.type = type, .id = id, .arg = arg, .ptr = ptr};
    cr_assert_eq(worker_send(pool, 0, &cmd), 0);
}

static struct media_leg_params *params(uint64_t id, uint32_t audio, uint32_t video)
{
    struct media_leg_params *p = calloc(1, sizeof(*p));
    p->leg_id = id;
    snprintf(p->ice_ufrag, sizeof(p->ice_ufrag), "wk%uuf", (unsigned)id);
    snprintf(p->ice_pwd, sizeof(p->ice_pwd), "workerpassword%06u++++", (unsigned)id);
    p->audio_ssrc = audio;
    p->video_ssrc = video;
    return p;
}

Test(worker_call, two_browsers_through_one_worker, .timeout = 60)
{
    struct dtls_identity *id;
    cr_assert_eq(dtls_identity_create(&id), 0);
    struct control c = {.notify_fd = eventfd(0, EFD_NONBLOCK)};
    struct worker_pool *pool = NULL;
    struct holdmedia *hold = NULL;
    cr_assert_eq(holdmedia_create(&hold), 0);
    struct worker_pool_config cfg = {.count = 1,
                                     .bind = "127.0.0.1",
                                     .dtls_identity = id,
                                     .hold_media = hold,
                                     .notify = notify,
                                     .notify_arg = &c};
    cr_assert_eq(worker_pool_start(&pool, &cfg), 0);
    cr_assert_eq(worker_pool_dtls_identity(pool), id);
    int port = worker_pool_port(pool, 0);
    struct net_peer peers[2];
    net_peer_init(&peers[0], port, 0xA1, 0xA2, true);  /* answers active: we are the server */
    net_peer_init(&peers[1], port, 0xB1, 0xB2, false); /* answers passive: we connect */

    struct media_leg_params *pa = params(A_ID, 0xCA1, 0xCA2), *pb = params(B_ID, 0xCB1, 0xCB2);
    peer_offer(&peers[0].p, pa, dtls_identity_fingerprint_bytes(id));
    peer_offer(&peers[1].p, pb, dtls_identity_fingerprint_bytes(id));
    send_cmd(pool, WORKER_CMD_LEG_CREATE, 0, 0, pa);
    send_cmd(pool, WORKER_CMD_LEG_CREATE, 0, 0, pb);
    for (int i = 0; i < 2; i++) {
        struct media_answer *a = malloc(sizeof(*a));
        peer_answer(&peers[i].p, i == 0 ? A_ID : B_ID, a);
        send_cmd(pool, WORKER_CMD_LEG_ANSWER, 0, 0, a);
    }
    send_cmd(pool, WORKER_CMD_BRIDGE, A_ID, B_ID, NULL);
    send_cmd(pool, WORKER_CMD_PING, 0, 0, NULL);
    WAIT_FOR(c.pongs == 1, "the commands");

    peer_check(&peers[0].p, true);
    peer_check(&peers[1].p, true);
    WAIT_FOR(peers[0].p.stun_success && peers[1].p.stun_success, "check responses");
    peer_flush_dtls(&peers[0].p); /* A's ClientHello; B gets ours */
    WAIT_FOR(peers[0].p.srtp_ready && peers[1].p.srtp_ready, "both DTLS handshakes");
    WAIT_FOR(c.states[1][MEDIA_LEG_DTLS_CONNECTED] && c.states[2][MEDIA_LEG_DTLS_CONNECTED],
             "DTLS_CONNECTED events");
    cr_assert_eq(c.states[1][MEDIA_LEG_ICE_CONNECTED], 1);
    cr_assert_eq(c.states[2][MEDIA_LEG_ICE_CONNECTED], 1);
    /* The second leg up asked the first one's browser for a keyframe. */
    WAIT_FOR(peers[0].p.pli + peers[1].p.pli >= 1, "a keyframe request");

    for (int i = 0; i < 10; i++) {
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(peer_send_rtp(&peers[k].p, LEG_AUDIO, false, 0), 0);
            cr_assert_eq(peer_send_rtp(&peers[k].p, LEG_VIDEO, i == 0, 0), 0);
        }
    }
    WAIT_FOR(peer_count_ssrc(&peers[1].p, 0xCB2, NULL) == 10 &&
                 peer_count_ssrc(&peers[0].p, 0xCA2, NULL) == 10,
             "video across");
    WAIT_FOR(peer_count_ssrc(&peers[1].p, 0xCB1, NULL) == 10 &&
                 peer_count_ssrc(&peers[0].p, 0xCA1, NULL) == 10,
             "audio across");
    WAIT_FOR(c.states[1][MEDIA_LEG_FLOWING] && c.states[2][MEDIA_LEG_FLOWING], "FLOWING");
    WAIT_FOR(c.stats[1] >= 1 && c.stats[2] >= 1 && c.last_stats[1].audio_packets_in == 10 &&
                 c.last_stats[2].video_packets_out == 10,
             "LEG_STATS");
    /* The receiver report of the first second reached both browsers. */
    WAIT_FOR(peers[0].p.rr >= 1 && peers[1].p.rr >= 1, "receiver reports");

    /* Hold B: the worker's timer plays the hold media to B in real time, A gets nothing. */
    size_t b_audio = peer_count_ssrc(&peers[1].p, 0xCB1, NULL);
    size_t a_seen = peers[0].p.rtp_count;
    send_cmd(pool, WORKER_CMD_HOLD, B_ID, 0, NULL);
    uint64_t held_at = mono_ms();
    WAIT_FOR(peer_count_ssrc(&peers[1].p, 0xCB1, NULL) >= b_audio + 50, "a second of hold audio");
    uint64_t took = mono_ms() - held_at;
    cr_assert_geq(took, 900, "50 packets of 20 ms are paced, not burst: %llu ms",
                  (unsigned long long)took);
    cr_assert_gt(peer_count_ssrc(&peers[1].p, 0xCB2, NULL), 10, "hold video too");
    cr_assert_eq(peer_send_rtp(&peers[1].p, LEG_AUDIO, false, 0), 0);
    pump(pool, &c, peers, 100);
    cr_assert_eq(peers[0].p.rtp_count, a_seen, "nothing from B reaches A while on hold");
    send_cmd(pool, WORKER_CMD_RESUME, B_ID, 0, NULL);
    send_cmd(pool, WORKER_CMD_PING, 0, 0, NULL);
    WAIT_FOR(c.pongs == 2, "the resume");
    cr_assert_eq(peer_send_rtp(&peers[0].p, LEG_AUDIO, false, 0), 0);
    cr_assert_eq(peer_send_rtp(&peers[1].p, LEG_AUDIO, false, 0), 0);
    WAIT_FOR(peer_count_ssrc(&peers[0].p, 0xCA1, NULL) == 11, "B's audio again at A");
    bool consecutive = false;
    size_t n = peer_count_ssrc(&peers[1].p, 0xCB1, &consecutive);
    cr_assert(consecutive, "B's audio: one continuous stream through hold and resume (%zu)", n);
    (void)peer_count_ssrc(&peers[0].p, 0xCA1, &consecutive);
    cr_assert(consecutive, "A's audio: continuous after the hold");

    struct worker_totals t;
    worker_pool_totals(pool, 0, &t);
    cr_assert_eq(t.legs, 2);
    cr_assert_eq(t.legs_created, 2);
    cr_assert_eq(t.legs_failed, 0);
    cr_assert_gt(t.datagrams_sent, 40);

    send_cmd(pool, WORKER_CMD_LEG_CLOSE, A_ID, 0, NULL);
    send_cmd(pool, WORKER_CMD_LEG_CLOSE, B_ID, 0, NULL);
    send_cmd(pool, WORKER_CMD_LEG_CLOSE, 999, 0, NULL); /* unknown: ignored */
    WAIT_FOR(c.states[1][MEDIA_LEG_CLOSED] && c.states[2][MEDIA_LEG_CLOSED], "CLOSED events");
    cr_assert_eq(c.last_stage[1], MEDIA_FAIL_NONE);
    cr_assert_eq(c.states[0][MEDIA_LEG_CLOSED], 0);
    WAIT_FOR(dtls_conn_state(peers[0].p.dtls) == DTLS_CLOSED &&
                 dtls_conn_state(peers[1].p.dtls) == DTLS_CLOSED,
             "close_notify at both browsers");
    cr_assert_eq(peers[0].p.srtp_failed + peers[1].p.srtp_failed, 0);

    worker_pool_stop(pool);
    for (int i = 0; i < 2; i++) {
        close(peers[i].fd);
        peer_free(&peers[i].p);
    }
    close(c.notify_fd);
    dtls_identity_free(id);
    holdmedia_free(hold);
}

/* A leg whose credentials do not fit fails at once, and commands with payloads left in the
 * queue at stop are freed (the sanitizer build checks that). */
Test(worker_call, bad_leg_fails_and_queued_payloads_are_freed, .timeout = 30)
{
    struct dtls_identity *id;
    cr_assert_eq(dtls_identity_create(&id), 0);
    struct control c = {.notify_fd = eventfd(0, EFD_NONBLOCK)};
    struct worker_pool *pool = NULL;
    struct worker_pool_config cfg = {
        .count = 1, .bind = "127.0.0.1", .dtls_identity = id, .notify = notify, .notify_arg = &c};
    cr_assert_eq(worker_pool_start(&pool, &cfg), 0);
    struct net_peer peers[2];
    net_peer_init(&peers[0], worker_pool_port(pool, 0), 1, 2, true);
    net_peer_init(&peers[1], worker_pool_port(pool, 0), 3, 4, true);
    struct media_leg_params *bad = params(A_ID, 1, 2);
    strcpy(bad->ice_pwd, "short");
    send_cmd(pool, WORKER_CMD_LEG_CREATE, 0, 0, bad);
    WAIT_FOR(c.states[1][MEDIA_LEG_FAILED] == 1, "the failure");
    cr_assert_eq(c.last_stage[1], MEDIA_FAIL_ICE);
    for (int i = 0; i < 50; i++)
        send_cmd(pool, WORKER_CMD_LEG_CREATE, 0, 0, params(200 + (uint64_t)i, 1, 2));
    worker_pool_stop(pool);
    for (int i = 0; i < 2; i++) {
        close(peers[i].fd);
        peer_free(&peers[i].p);
    }
    close(c.notify_fd);
    dtls_identity_free(id);
}
