/* libFuzzer harness for gateway/rtp.c.
 *
 * Every input is used twice:
 * 1. as one datagram: rtp_parse, extension iteration, and a rewrite of a copy, after which the
 *    copy must still parse with the same layout and the new SSRC;
 * 2. as a stream: a sequence of [length byte][packet] records fed through one rewriter and one
 *    receive-statistics state, so that source switches, wraps and reordering are reached.
 * Broken invariants trap. Each packet is copied into a buffer of its exact size so that
 * AddressSanitizer sees any read past the end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balie/rtp.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static void check_layout(const uint8_t *buf, size_t len, const struct rtp_header *h)
{
    CHECK(h->header_len >= RTP_HEADER_MIN);
    CHECK(h->header_len + h->payload_len + h->padding_len == len);
    CHECK(h->payload == buf + h->header_len);
    CHECK(h->csrc_count <= RTP_MAX_CSRC);
    if (h->extension)
        CHECK(h->ext_data >= buf && h->ext_data + h->ext_len <= buf + h->header_len);

    struct rtp_ext_iter it = {0};
    uint8_t id;
    const uint8_t *data;
    size_t dlen;
    int rc;
    unsigned n = 0;
    while ((rc = rtp_ext_next(h, &it, &id, &data, &dlen)) > 0) {
        CHECK(data >= h->ext_data && data + dlen <= h->ext_data + h->ext_len);
        CHECK(id != 0);
        /* The first element with this id is what rtp_ext_find returns. */
        const uint8_t *fdata;
        size_t flen;
        CHECK(rtp_ext_find(h, id, &fdata, &flen) == 0);
        CHECK(fdata <= data);
        n++;
        CHECK(n <= h->ext_len);
    }
    CHECK(rc == 0); /* rtp_parse validated the elements */
}

/* Rewrites one packet; returns false when it does not parse. */
static bool feed(struct rtp_rewriter *rw, struct rtp_recv_stats *st, const uint8_t *data,
                 size_t len, uint64_t now_us, uint32_t rate)
{
    uint8_t *pkt = malloc(len ? len : 1);
    if (!pkt)
        return false;
    memcpy(pkt, data, len);
    struct rtp_header h;
    bool ok = rtp_parse(pkt, len, &h) == 0;
    if (ok) {
        check_layout(pkt, len, &h);
        rtp_stats_update(st, &h, (uint32_t)(now_us / 1000));
        uint16_t in_seq = h.seq;
        uint32_t in_ssrc = h.ssrc;
        size_t payload_len = h.payload_len;
        if (rtp_rewrite(rw, pkt, &h, now_us, rate)) {
            struct rtp_header h2;
            CHECK(rtp_parse(pkt, len, &h2) == 0);
            CHECK(h2.ssrc == rw->out_ssrc);
            CHECK(h2.payload_len == payload_len);
            /* A packet just sent from the current source maps back to its own number. */
            uint16_t back;
            CHECK(rw->in_ssrc == in_ssrc);
            CHECK(rtp_rewriter_map_seq_back(rw, h2.seq, &back));
            CHECK(back == in_seq);
        } else {
            CHECK(memcmp(pkt, data, len) == 0);
        }
    }
    free(pkt);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rtp_rewriter rw;
    struct rtp_recv_stats st;
    (void)rtp_is_rtcp(data, size);
    (void)rtp_looks_like(data, size);

    rtp_rewriter_init(&rw, 0x0BA11E00);
    rtp_stats_init(&st);
    feed(&rw, &st, data, size, 0, 48000);

    /* Stream mode: the clock advances 20 ms a record, and the rate follows the first byte. */
    rtp_rewriter_init(&rw, 0x0BA11E01);
    rtp_stats_init(&st);
    uint32_t rate = size && (data[0] & 1) ? 90000 : 48000;
    uint64_t now = 1000000;
    size_t off = 1;
    while (off < size) {
        size_t len = data[off++];
        if (len > size - off)
            len = size - off;
        feed(&rw, &st, data + off, len, now, rate);
        off += len;
        now += 20000;
    }
    struct rtp_loss_report r;
    rtp_stats_report(&st, &r);
    CHECK(r.cumulative_lost <= 0x7FFFFF && r.cumulative_lost >= -0x800000);
    return 0;
}
