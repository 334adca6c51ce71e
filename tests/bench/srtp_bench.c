/* balie-srtp-bench: ns per packet to protect and unprotect SRTP, for
 *   (a) libsrtp2 AEAD_AES_128_GCM (the system's libsrtp2: Debian's is built on NSS),
 *   (b) libsrtp2 AES128_CM_HMAC_SHA1_80,
 *   (c) Balie's AEAD_AES_128_GCM on OpenSSL EVP (gateway/srtp_gcm.c, through srtp_session.h),
 * with 1200-byte (video) and 100-byte (audio) RTP packets. The three run interleaved, round
 * after round, so that a busy machine disturbs them alike; the medians are printed.
 *
 *   balie-srtp-bench [rounds] [packets per round]      (defaults 15 and 2000)
 *
 * Not run in CI: numbers depend on the machine (docs/benchmarks.md, "SRTP"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

#include "balie/srtp_session.h"

#define MAX_ROUNDS 101
#define MAX_BATCH 20000
#define SLOT 1400

enum backend { LIBSRTP_GCM, LIBSRTP_CM, BALIE_GCM, N_BACKENDS };

static const char *const backend_name[N_BACKENDS] = {
    "libsrtp2 AEAD_AES_128_GCM",
    "libsrtp2 AES128_CM_SHA1_80",
    "Balie    AEAD_AES_128_GCM",
};

/* One sender and one receiver of a backend, with their own sequence numbers. */
struct endpoint {
    srtp_t lib_tx, lib_rx;
    struct srtp_session ours_tx, ours_rx;
    uint16_t seq;
};

static uint8_t (*batch)[SLOT];
static size_t batch_len[MAX_BATCH];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "srtp-bench: %s\n", what);
    exit(1);
}

static srtp_t lib_context(bool gcm, const uint8_t *key, const uint8_t *salt, bool outbound)
{
    uint8_t master[30];
    memcpy(master, key, 16);
    memcpy(master + 16, salt, gcm ? 12 : 14);
    srtp_policy_t p;
    memset(&p, 0, sizeof(p));
    if (gcm) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    }
    p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = master;
    p.window_size = 1024; /* as srtp_session.c sets it */
    srtp_t ctx = NULL;
    if (srtp_create(&ctx, &p) != srtp_err_status_ok)
        die("srtp_create failed");
    return ctx;
}

static void endpoint_init(struct endpoint *e, enum backend b)
{
    memset(e, 0, sizeof(*e));
    uint8_t key[16], salt[14];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 11 + b);
    for (size_t i = 0; i < sizeof(salt); i++)
        salt[i] = (uint8_t)(i * 5 + 1);
    if (b != BALIE_GCM) {
        e->lib_tx = lib_context(b == LIBSRTP_GCM, key, salt, true);
        e->lib_rx = lib_context(b == LIBSRTP_GCM, key, salt, false);
        return;
    }
    struct srtp_keys k;
    memset(&k, 0, sizeof(k));
    k.profile = SRTP_SESSION_PROFILE_AEAD_AES_128_GCM;
    k.key_len = 16;
    k.salt_len = 12;
    memcpy(k.local_key, key, 16);
    memcpy(k.remote_key, key, 16);
    memcpy(k.local_salt, salt, 12);
    memcpy(k.remote_salt, salt, 12);
    if (srtp_session_init(&e->ours_tx, &k) != 0 || srtp_session_init(&e->ours_rx, &k) != 0)
        die("srtp_session_init failed");
}

static void fill_rtp(uint8_t *b, uint16_t seq, size_t len)
{
    memset(b, 0x5a, len);
    b[0] = 0x80;
    b[1] = 96;
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    memset(b + 4, 0, 4);
    b[8] = 0x12, b[9] = 0x34, b[10] = 0x56, b[11] = 0x78;
}

static void protect_one(struct endpoint *e, enum backend b, size_t i)
{
    int rc;
    if (b == BALIE_GCM) {
        rc = srtp_session_protect_rtp(&e->ours_tx, batch[i], &batch_len[i], SLOT);
    } else {
        int n = (int)batch_len[i];
        rc = srtp_protect(e->lib_tx, batch[i], &n) == srtp_err_status_ok ? 0 : -EPROTO;
        batch_len[i] = (size_t)n;
    }
    if (rc != 0)
        die("protect failed");
}

static void unprotect_one(struct endpoint *e, enum backend b, size_t i)
{
    int rc;
    if (b == BALIE_GCM) {
        rc = srtp_session_unprotect_rtp(&e->ours_rx, batch[i], &batch_len[i]);
    } else {
        int n = (int)batch_len[i];
        rc = srtp_unprotect(e->lib_rx, batch[i], &n) == srtp_err_status_ok ? 0 : -EPROTO;
        batch_len[i] = (size_t)n;
    }
    if (rc != 0)
        die("unprotect failed");
}

/* Protects `count` fresh packets, then unprotects them; ns per packet for each half. */
static void run_batch(struct endpoint *e, enum backend b, size_t size, size_t count,
                      double *protect_ns, double *unprotect_ns)
{
    for (size_t i = 0; i < count; i++) {
        fill_rtp(batch[i], e->seq++, size);
        batch_len[i] = size;
    }
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < count; i++)
        protect_one(e, b, i);
    uint64_t t1 = now_ns();
    for (size_t i = 0; i < count; i++)
        unprotect_one(e, b, i);
    uint64_t t2 = now_ns();
    for (size_t i = 0; i < count; i++)
        if (batch_len[i] != size)
            die("length changed in the round trip");
    *protect_ns = (double)(t1 - t0) / (double)count;
    *unprotect_ns = (double)(t2 - t1) / (double)count;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bench_size(size_t size, size_t rounds, size_t count)
{
    struct endpoint e[N_BACKENDS];
    for (int b = 0; b < N_BACKENDS; b++)
        endpoint_init(&e[b], (enum backend)b);
    static double prot[N_BACKENDS][MAX_ROUNDS], unprot[N_BACKENDS][MAX_ROUNDS];
    static double total[N_BACKENDS][MAX_ROUNDS];
    for (int b = 0; b < N_BACKENDS; b++) /* warm-up: caches, lazy library set-up */
        run_batch(&e[b], (enum backend)b, size, count, &prot[b][0], &unprot[b][0]);
    for (size_t r = 0; r < rounds; r++) {
        for (int k = 0; k < N_BACKENDS; k++) {
            int b = (int)((k + r) % N_BACKENDS); /* rotate who goes first */
            run_batch(&e[b], (enum backend)b, size, count, &prot[b][r], &unprot[b][r]);
            total[b][r] = prot[b][r] + unprot[b][r];
        }
    }
    double med[N_BACKENDS];
    printf("%zu-byte RTP packets, %zu rounds of %zu (median ns per packet):\n", size, rounds,
           count);
    printf("  %-28s %9s %11s %9s\n", "backend", "protect", "unprotect", "both");
    for (int b = 0; b < N_BACKENDS; b++) {
        med[b] = median(total[b], rounds);
        printf("  %-28s %9.0f %11.0f %9.0f\n", backend_name[b], median(prot[b], rounds),
               median(unprot[b], rounds), med[b]);
    }
    printf("  libsrtp2 GCM / Balie GCM: %.1fx;  libsrtp2 CM / Balie GCM: %.1fx\n\n",
           med[LIBSRTP_GCM] / med[BALIE_GCM], med[LIBSRTP_CM] / med[BALIE_GCM]);
    for (int b = 0; b < N_BACKENDS; b++) {
        if (e[b].lib_tx) {
            srtp_dealloc(e[b].lib_tx);
            srtp_dealloc(e[b].lib_rx);
        }
        srtp_session_free(&e[b].ours_tx);
        srtp_session_free(&e[b].ours_rx);
    }
}

int main(int argc, char **argv)
{
    size_t rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 15;
    size_t count = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
    if (rounds < 1 || rounds > MAX_ROUNDS || count < 1 || count > MAX_BATCH)
        die("usage: balie-srtp-bench [rounds 1..101] [packets per round 1..20000]");
    if (srtp_init() != srtp_err_status_ok)
        die("srtp_init failed");
    batch = calloc(MAX_BATCH, SLOT);
    if (!batch)
        die("out of memory");
    bench_size(1200, rounds, count);
    bench_size(100, rounds, count);
    free(batch);
    return 0;
}
