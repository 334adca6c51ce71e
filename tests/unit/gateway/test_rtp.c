#include <criterion/criterion.h>

#include <string.h>

#include "balie/rtp.h"

/* A version 2 packet with no CSRC, extension or padding, and `payload_len` bytes of 0xAB. */
static size_t make_packet(uint8_t *buf, uint16_t seq, uint32_t ts, uint32_t ssrc,
                          size_t payload_len)
{
    buf[0] = 0x80;
    buf[1] = 111;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    buf[4] = (uint8_t)(ts >> 24);
    buf[5] = (uint8_t)(ts >> 16);
    buf[6] = (uint8_t)(ts >> 8);
    buf[7] = (uint8_t)ts;
    buf[8] = (uint8_t)(ssrc >> 24);
    buf[9] = (uint8_t)(ssrc >> 16);
    buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
    memset(buf + 12, 0xAB, payload_len);
    return 12 + payload_len;
}

/* ---- Demultiplexing ----------------------------------------------------------------------- */

Test(rtp_demux, rtcp_range_is_192_to_223)
{
    uint8_t b[2] = {0x80, 191};
    cr_assert_not(rtp_is_rtcp(b, 2));
    b[1] = 192;
    cr_assert(rtp_is_rtcp(b, 2));
    b[1] = 200; /* SR */
    cr_assert(rtp_is_rtcp(b, 2));
    b[1] = 223;
    cr_assert(rtp_is_rtcp(b, 2));
    b[1] = 224;
    cr_assert_not(rtp_is_rtcp(b, 2));
    b[1] = 200;
    cr_assert_not(rtp_is_rtcp(b, 1), "one byte is too short to tell");
}

Test(rtp_demux, rfc7983_first_byte_range)
{
    uint8_t b[1] = {127};
    cr_assert_not(rtp_looks_like(b, 1));
    b[0] = 128;
    cr_assert(rtp_looks_like(b, 1));
    b[0] = 191;
    cr_assert(rtp_looks_like(b, 1));
    b[0] = 192;
    cr_assert_not(rtp_looks_like(b, 1));
    b[0] = 22; /* DTLS handshake */
    cr_assert_not(rtp_looks_like(b, 1));
    b[0] = 0; /* STUN */
    cr_assert_not(rtp_looks_like(b, 1));
    cr_assert_not(rtp_looks_like(b, 0));
}

/* ---- Parsing ------------------------------------------------------------------------------ */

Test(rtp_parse, fixed_header_fields)
{
    uint8_t buf[64];
    size_t len = make_packet(buf, 0x1234, 0xDEADBEEF, 0x01020304, 20);
    buf[1] = 0x80 | 96; /* marker, PT 96 */
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    cr_assert_eq(h.version, 2);
    cr_assert(h.marker);
    cr_assert_eq(h.payload_type, 96);
    cr_assert_eq(h.seq, 0x1234);
    cr_assert_eq(h.timestamp, 0xDEADBEEF);
    cr_assert_eq(h.ssrc, 0x01020304);
    cr_assert_eq(h.header_len, 12);
    cr_assert_eq(h.payload, buf + 12);
    cr_assert_eq(h.payload_len, 20);
    cr_assert_not(h.padding);
    cr_assert_not(h.extension);
}

Test(rtp_parse, too_short_and_bad_version)
{
    uint8_t buf[64];
    size_t len = make_packet(buf, 1, 2, 3, 0);
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0, "a header with no payload is valid");
    cr_assert_eq(rtp_parse(buf, 11, &h), RTP_ERR_SHORT);
    cr_assert_eq(rtp_parse(buf, 0, &h), RTP_ERR_SHORT);
    buf[0] = 0x40; /* version 1 */
    cr_assert_eq(rtp_parse(buf, len, &h), RTP_ERR_VERSION);
    buf[0] = 0xC0; /* version 3 */
    cr_assert_eq(rtp_parse(buf, len, &h), RTP_ERR_VERSION);
}

Test(rtp_parse, csrc_list)
{
    uint8_t buf[64];
    make_packet(buf, 1, 2, 3, 0);
    buf[0] = 0x82; /* CC = 2 */
    const uint8_t csrcs[8] = {0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22};
    memcpy(buf + 12, csrcs, 8);
    memset(buf + 20, 0xAB, 4);
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, 24, &h), 0);
    cr_assert_eq(h.csrc_count, 2);
    cr_assert_eq(h.csrc[0], 0x11111111);
    cr_assert_eq(h.csrc[1], 0x22222222);
    cr_assert_eq(h.header_len, 20);
    cr_assert_eq(h.payload_len, 4);
    /* CC = 15 needs 60 bytes of CSRCs; the packet has 12. */
    buf[0] = 0x8F;
    cr_assert_eq(rtp_parse(buf, 24, &h), RTP_ERR_SHORT);
    buf[0] = 0x83;
    cr_assert_eq(rtp_parse(buf, 23, &h), RTP_ERR_SHORT);
}

Test(rtp_parse, one_byte_extension)
{
    /* RFC 8285 §4.2: 0xBEDE, 2 words: id 1 (1 byte), a padding byte, id 3 (3 bytes), pad. */
    uint8_t buf[64];
    make_packet(buf, 1, 2, 3, 0);
    buf[0] = 0x90;
    const uint8_t ext[] = {0xBE, 0xDE, 0x00, 0x02, 0x10, 0xAA, 0x00, 0x32,
                           0x01, 0x02, 0x03, 0x00, 'p',  'a',  'y'};
    memcpy(buf + 12, ext, sizeof(ext));
    size_t len = 12 + sizeof(ext);
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    cr_assert(h.extension);
    cr_assert_eq(h.ext_profile, 0xBEDE);
    cr_assert_eq(h.ext_len, 8);
    cr_assert_eq(h.header_len, 24);
    cr_assert_eq(h.payload_len, 3);

    const uint8_t *d;
    size_t dl;
    cr_assert_eq(rtp_ext_find(&h, 1, &d, &dl), 0);
    cr_assert_eq(dl, 1);
    cr_assert_eq(d[0], 0xAA);
    cr_assert_eq(rtp_ext_find(&h, 3, &d, &dl), 0);
    cr_assert_eq(dl, 3);
    cr_assert_eq(d[0], 0x01);
    cr_assert_eq(d[2], 0x03);
    cr_assert_eq(rtp_ext_find(&h, 2, &d, &dl), RTP_ERR_NOT_FOUND);

    struct rtp_ext_iter it = {0};
    uint8_t id;
    int n = 0;
    while (rtp_ext_next(&h, &it, &id, &d, &dl) > 0)
        n++;
    cr_assert_eq(n, 2);
}

Test(rtp_parse, one_byte_extension_id15_stops)
{
    uint8_t buf[64];
    make_packet(buf, 1, 2, 3, 0);
    buf[0] = 0x90;
    /* id 15 with a length that would overrun: RFC 8285 says stop, so this is not an error. */
    const uint8_t ext[] = {0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAA, 0xFF, 0x20};
    memcpy(buf + 12, ext, sizeof(ext));
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, 12 + sizeof(ext), &h), 0);
    const uint8_t *d;
    size_t dl;
    cr_assert_eq(rtp_ext_find(&h, 1, &d, &dl), 0);
    cr_assert_eq(rtp_ext_find(&h, 2, &d, &dl), RTP_ERR_NOT_FOUND);
}

Test(rtp_parse, two_byte_extension)
{
    /* RFC 8285 §4.3: 0x1000 + appbits; id 1 with length 0, padding, id 20 with 3 bytes. */
    uint8_t buf[64];
    make_packet(buf, 1, 2, 3, 0);
    buf[0] = 0x90;
    const uint8_t ext[] = {0x10, 0x07, 0x00, 0x02, 0x01, 0x00, 0x00, 0x14, 0x03, 0x0A, 0x0B, 0x0C};
    memcpy(buf + 12, ext, sizeof(ext));
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, 12 + sizeof(ext), &h), 0);
    cr_assert_eq(h.ext_profile, 0x1007);
    const uint8_t *d;
    size_t dl;
    cr_assert_eq(rtp_ext_find(&h, 1, &d, &dl), 0);
    cr_assert_eq(dl, 0);
    cr_assert_eq(rtp_ext_find(&h, 20, &d, &dl), 0);
    cr_assert_eq(dl, 3);
    cr_assert_eq(d[0], 0x0A);
    cr_assert_eq(d[2], 0x0C);
    cr_assert_eq(h.payload_len, 0);
}

Test(rtp_parse, extension_malformed)
{
    uint8_t buf[64];
    make_packet(buf, 1, 2, 3, 0);
    buf[0] = 0x90;
    /* One-byte element claiming 16 bytes in a 4-byte block. */
    const uint8_t bad1[] = {0xBE, 0xDE, 0x00, 0x01, 0x1F, 0x00, 0x00, 0x00};
    memcpy(buf + 12, bad1, sizeof(bad1));
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, 12 + sizeof(bad1), &h), RTP_ERR_EXTENSION);
    /* Two-byte element claiming 200 bytes. */
    const uint8_t bad2[] = {0x10, 0x00, 0x00, 0x01, 0x05, 0xC8, 0x00, 0x00};
    memcpy(buf + 12, bad2, sizeof(bad2));
    cr_assert_eq(rtp_parse(buf, 12 + sizeof(bad2), &h), RTP_ERR_EXTENSION);
    /* Two-byte form: an id as the block's last byte has no room for its length. */
    const uint8_t bad3[] = {0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05};
    memcpy(buf + 12, bad3, sizeof(bad3));
    cr_assert_eq(rtp_parse(buf, 12 + sizeof(bad3), &h), RTP_ERR_EXTENSION);
    /* The extension length field runs past the packet. */
    const uint8_t bad4[] = {0xBE, 0xDE, 0x00, 0x04, 0x10, 0xAA, 0x00, 0x00};
    memcpy(buf + 12, bad4, sizeof(bad4));
    cr_assert_eq(rtp_parse(buf, 12 + sizeof(bad4), &h), RTP_ERR_SHORT);
    /* No room for the extension header at all. */
    cr_assert_eq(rtp_parse(buf, 14, &h), RTP_ERR_SHORT);
}

Test(rtp_parse, unknown_extension_profile_is_opaque)
{
    uint8_t buf[64];
    make_packet(buf, 1, 2, 3, 0);
    buf[0] = 0x90;
    const uint8_t ext[] = {0x12, 0x34, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF};
    memcpy(buf + 12, ext, sizeof(ext));
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, 12 + sizeof(ext), &h), 0);
    cr_assert_eq(h.ext_len, 4);
    const uint8_t *d;
    size_t dl;
    cr_assert_eq(rtp_ext_find(&h, 1, &d, &dl), RTP_ERR_NOT_FOUND);
}

Test(rtp_parse, padding)
{
    uint8_t buf[64];
    size_t len = make_packet(buf, 1, 2, 3, 10);
    buf[0] = 0xA0; /* P */
    buf[len - 1] = 4;
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    cr_assert(h.padding);
    cr_assert_eq(h.padding_len, 4);
    cr_assert_eq(h.payload_len, 6);
    /* Padding that is the whole payload is valid (RTP keepalive/probing). */
    buf[len - 1] = 10;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    cr_assert_eq(h.payload_len, 0);
    /* RFC 3550 §5.1: the count includes itself, so 0 is invalid; more than the payload too. */
    buf[len - 1] = 0;
    cr_assert_eq(rtp_parse(buf, len, &h), RTP_ERR_PADDING);
    buf[len - 1] = 11;
    cr_assert_eq(rtp_parse(buf, len, &h), RTP_ERR_PADDING);
    /* The padding bit on a packet with no payload: the count would be a header byte. */
    len = make_packet(buf, 1, 2, 3, 0);
    buf[0] = 0xA0;
    cr_assert_eq(rtp_parse(buf, len, &h), RTP_ERR_PADDING);
}

/* ---- Rewriting ---------------------------------------------------------------------------- */

struct rewrite_result {
    bool sent;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
};

static struct rewrite_result feed(struct rtp_rewriter *rw, uint32_t ssrc, uint16_t seq, uint32_t ts,
                                  uint64_t now_us, uint32_t rate)
{
    uint8_t buf[64];
    size_t len = make_packet(buf, seq, ts, ssrc, 8);
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    struct rewrite_result r = {0};
    r.sent = rtp_rewrite(rw, buf, &h, now_us, rate);
    cr_assert_eq(rtp_parse(buf, len, &h), 0, "the rewritten packet still parses");
    r.seq = h.seq;
    r.ts = h.timestamp;
    r.ssrc = h.ssrc;
    cr_assert_eq(h.payload_len, 8);
    cr_assert_eq(h.payload[0], 0xAB, "the payload is untouched");
    return r;
}

Test(rtp_rewrite, first_source_passes_through)
{
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xCAFE);
    struct rewrite_result r = feed(&rw, 0xA, 1000, 50000, 0, 48000);
    cr_assert(r.sent);
    cr_assert_eq(r.ssrc, 0xCAFE);
    cr_assert_eq(r.seq, 1000);
    cr_assert_eq(r.ts, 50000);
}

Test(rtp_rewrite, continuity_across_source_switch_and_back)
{
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xCAFE);
    uint64_t t = 1000000;
    /* Live audio: 10 packets of 20 ms (960 ticks at 48 kHz). */
    for (int i = 0; i < 10; i++, t += 20000)
        feed(&rw, 0xA, (uint16_t)(100 + i), 7000 + 960u * i, t, 48000);
    /* last sent: seq 109, ts 7000 + 8640 = 15640, at t - 20000 */
    uint64_t last_t = t - 20000;

    /* Hold media 5 ms later: elapsed (240 ticks) is less than a packet, so one packet on. */
    struct rewrite_result r = feed(&rw, 0xB, 40000, 123456, last_t + 5000, 48000);
    cr_assert_eq(r.seq, 110);
    cr_assert_eq(r.ts, 15640 + 960);
    r = feed(&rw, 0xB, 40001, 123456 + 960, last_t + 25000, 48000);
    cr_assert_eq(r.seq, 111);
    cr_assert_eq(r.ts, 15640 + 1920, "the new source keeps its own spacing");

    /* Back to live after a pause: 500 ms since the last hold packet = 24000 ticks. */
    r = feed(&rw, 0xA, 150, 999999, last_t + 25000 + 500000, 48000);
    cr_assert_eq(r.seq, 112);
    cr_assert_eq(r.ts, 15640 + 1920 + 24000);
    cr_assert_eq(r.ssrc, 0xCAFE);
    r = feed(&rw, 0xA, 151, 999999 + 960, last_t + 545000, 48000);
    cr_assert_eq(r.seq, 113);
    cr_assert_eq(r.ts, 15640 + 1920 + 24000 + 960);
}

Test(rtp_rewrite, video_switch_at_same_instant_moves_one_frame)
{
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xCAFE);
    /* 30 fps: 3000 ticks a frame, two packets per frame. */
    feed(&rw, 0xA, 1, 0, 0, 90000);
    feed(&rw, 0xA, 2, 0, 100, 90000);
    feed(&rw, 0xA, 3, 3000, 33333, 90000);
    feed(&rw, 0xA, 4, 3000, 33433, 90000);
    struct rewrite_result r = feed(&rw, 0xB, 9, 777, 33433, 90000);
    cr_assert_eq(r.seq, 5);
    cr_assert_eq(r.ts, 6000, "a new frame, never merged into the last one");
}

Test(rtp_rewrite, reordering_and_retransmission_keep_offsets)
{
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xCAFE);
    feed(&rw, 0xA, 10, 0, 0, 48000);
    feed(&rw, 0xB, 500, 90000, 20000, 48000); /* out seq 11, ts 960 */
    struct rewrite_result r = feed(&rw, 0xB, 502, 90000 + 1920, 40000, 48000);
    cr_assert_eq(r.seq, 13);
    cr_assert_eq(r.ts, 960 + 1920);
    /* 501 arrives late: it fills the gap, not the end. */
    r = feed(&rw, 0xB, 501, 90000 + 960, 45000, 48000);
    cr_assert(r.sent);
    cr_assert_eq(r.seq, 12);
    cr_assert_eq(r.ts, 960 + 960);
    /* A retransmission of 500 gets the same numbers as the original. */
    r = feed(&rw, 0xB, 500, 90000, 50000, 48000);
    cr_assert(r.sent);
    cr_assert_eq(r.seq, 11);
    cr_assert_eq(r.ts, 960);
    /* The next new packet still continues from 13. */
    r = feed(&rw, 0xB, 503, 90000 + 2880, 60000, 48000);
    cr_assert_eq(r.seq, 14);
}

Test(rtp_rewrite, packet_older_than_source_start_is_refused)
{
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xCAFE);
    feed(&rw, 0xA, 10, 0, 0, 48000);
    feed(&rw, 0xB, 500, 0, 20000, 48000); /* out 11 */
    uint8_t buf[64];
    size_t len = make_packet(buf, 499, 0, 0xB, 8);
    uint8_t copy[64];
    memcpy(copy, buf, len);
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    cr_assert_not(rtp_rewrite(&rw, buf, &h, 30000, 48000),
                  "out seq 10 would collide with source A's last packet");
    cr_assert_eq(memcmp(buf, copy, len), 0, "a refused packet is left as it was");
}

Test(rtp_rewrite, sequence_wrap)
{
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xCAFE);
    /* Input wraps within one source. */
    feed(&rw, 0xA, 65534, 4294967000u, 0, 48000);
    feed(&rw, 0xA, 65535, 4294967000u + 960, 20000, 48000);
    struct rewrite_result r = feed(&rw, 0xA, 0, 4294967000u + 1920, 40000, 48000);
    cr_assert_eq(r.seq, 0);
    cr_assert_eq(r.ts, (uint32_t)(4294967000u + 1920), "timestamps wrap modulo 2^32");
    r = feed(&rw, 0xA, 1, 4294967000u + 2880, 60000, 48000);
    cr_assert_eq(r.seq, 1);

    /* Output wraps across a switch: the last output is 65535, so the next is 0. */
    rtp_rewriter_init(&rw, 0xCAFE);
    feed(&rw, 0xA, 65535, 0, 0, 48000);
    r = feed(&rw, 0xB, 300, 0, 20000, 48000);
    cr_assert_eq(r.seq, 0);
    r = feed(&rw, 0xB, 301, 960, 40000, 48000);
    cr_assert_eq(r.seq, 1);
    /* A reordered packet just before the wrap point within source B is still refused
     * (it predates B), while B's own reordering across the wrap works. */
    r = feed(&rw, 0xB, 299, 0, 45000, 48000);
    cr_assert_not(r.sent);
    r = feed(&rw, 0xB, 303, 2880, 60000, 48000);
    cr_assert_eq(r.seq, 3);
    r = feed(&rw, 0xB, 302, 1920, 61000, 48000);
    cr_assert(r.sent);
    cr_assert_eq(r.seq, 2);
}

Test(rtp_rewrite, map_seq_back_only_for_current_source)
{
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xCAFE);
    uint16_t in;
    cr_assert_not(rtp_rewriter_map_seq_back(&rw, 0, &in), "nothing sent yet");
    for (int i = 0; i < 5; i++)
        feed(&rw, 0xA, (uint16_t)(65533 + i), 0, 20000u * i, 48000); /* out 65533..1 */
    cr_assert(rtp_rewriter_map_seq_back(&rw, 65535, &in));
    cr_assert_eq(in, 65535);
    for (int i = 0; i < 3; i++)
        feed(&rw, 0xB, (uint16_t)(7000 + i), 0, 200000 + 20000u * i, 48000); /* out 2..4 */
    cr_assert(rtp_rewriter_map_seq_back(&rw, 3, &in));
    cr_assert_eq(in, 7001);
    cr_assert(rtp_rewriter_map_seq_back(&rw, 2, &in));
    cr_assert_eq(in, 7000);
    cr_assert(rtp_rewriter_map_seq_back(&rw, 4, &in));
    cr_assert_eq(in, 7002);
    cr_assert_not(rtp_rewriter_map_seq_back(&rw, 1, &in), "sent from source A");
    cr_assert_not(rtp_rewriter_map_seq_back(&rw, 65535, &in), "sent from source A");
    cr_assert_not(rtp_rewriter_map_seq_back(&rw, 5, &in), "not sent yet");
}

Test(rtp_rewrite, long_running_source_maps_half_the_space)
{
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xCAFE);
    feed(&rw, 0xA, 0, 0, 0, 48000);
    feed(&rw, 0xB, 0, 0, 20000, 48000); /* out 1 */
    for (uint32_t i = 1; i <= 40000; i++)
        feed(&rw, 0xB, (uint16_t)i, 960 * i, 20000 + 20000ull * i, 48000);
    uint16_t in;
    /* After 40000 packets, 30000 back is still this source; so is 32767 back. */
    cr_assert(rtp_rewriter_map_seq_back(&rw, (uint16_t)(40001 - 30000), &in));
    cr_assert_eq(in, 10000);
    cr_assert(rtp_rewriter_map_seq_back(&rw, (uint16_t)(40001 - 32767), &in));
    cr_assert_not(rtp_rewriter_map_seq_back(&rw, (uint16_t)(40001 - 32768), &in));
}

/* ---- Receive statistics ------------------------------------------------------------------- */

static void stats_feed(struct rtp_recv_stats *st, uint16_t seq, uint32_t ts, uint32_t arrival)
{
    uint8_t buf[64];
    size_t len = make_packet(buf, seq, ts, 0x5555, 20);
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    rtp_stats_update(st, &h, arrival);
}

Test(rtp_stats, hand_computed_loss_and_jitter)
{
    struct rtp_recv_stats st;
    rtp_stats_init(&st);
    /* 8 kHz clock, 160 ticks a packet, seq 3 lost. Transit times 840, 850, 840, 860:
     * |D| = 10, 10, 20. A.8 integer form, J16 += |D| - ((J16 + 8) >> 4):
     * 0 + 10 - 0 = 10; 10 + 10 - 1 = 19; 19 + 20 - 1 = 38; jitter = 38 >> 4 = 2.
     * (The floating form gives 0.625, 1.211, 2.385: also 2.) */
    stats_feed(&st, 1, 160, 1000);
    stats_feed(&st, 2, 320, 1170);
    stats_feed(&st, 4, 640, 1480);
    stats_feed(&st, 5, 800, 1660);
    cr_assert_eq(st.jitter, 38);
    struct rtp_loss_report r;
    rtp_stats_report(&st, &r);
    cr_assert_eq(r.ext_max_seq, 5);
    cr_assert_eq(r.expected, 5);
    cr_assert_eq(r.cumulative_lost, 1);
    cr_assert_eq(r.fraction_lost, 51, "1 of 5 lost: 256 / 5 = 51");
    cr_assert_eq(r.jitter, 2);
    cr_assert_eq(st.packets, 4);
    cr_assert_eq(st.bytes, 4 * 32);
    cr_assert_eq(st.payload_bytes, 4 * 20);

    /* Next interval: 6, 7, 9 received, 8 lost: 1 of 4 = 64/256. */
    stats_feed(&st, 6, 960, 1820);
    stats_feed(&st, 7, 1120, 1980);
    stats_feed(&st, 9, 1440, 2300);
    rtp_stats_report(&st, &r);
    cr_assert_eq(r.expected, 9);
    cr_assert_eq(r.cumulative_lost, 2);
    cr_assert_eq(r.fraction_lost, 64);

    /* A duplicate of 9 and then 10: more received than expected in the interval, so the
     * fraction is 0 (A.3), and the duplicate hides one loss in the cumulative count. */
    stats_feed(&st, 9, 1440, 2310);
    stats_feed(&st, 10, 1600, 2460);
    rtp_stats_report(&st, &r);
    cr_assert_eq(r.expected, 10);
    cr_assert_eq(r.cumulative_lost, 1);
    cr_assert_eq(r.fraction_lost, 0);
}

Test(rtp_stats, sequence_wrap_counts_cycles)
{
    struct rtp_recv_stats st;
    rtp_stats_init(&st);
    stats_feed(&st, 65534, 0, 0);
    stats_feed(&st, 65535, 160, 160);
    stats_feed(&st, 1, 480, 480); /* 0 lost */
    struct rtp_loss_report r;
    rtp_stats_report(&st, &r);
    cr_assert_eq(r.ext_max_seq, 0x10001);
    cr_assert_eq(r.expected, 4);
    cr_assert_eq(r.cumulative_lost, 1);
    cr_assert_eq(r.fraction_lost, 64);
    cr_assert_eq(r.jitter, 0, "constant transit: no jitter");
    /* A late packet from before the wrap must not count another cycle. */
    stats_feed(&st, 65535, 160, 600);
    stats_feed(&st, 0, 320, 620);
    rtp_stats_report(&st, &r);
    cr_assert_eq(r.ext_max_seq, 0x10001);
}

Test(rtp_stats, large_jump_needs_confirmation)
{
    struct rtp_recv_stats st;
    rtp_stats_init(&st);
    stats_feed(&st, 10, 0, 0);
    stats_feed(&st, 11, 0, 0);
    uint8_t buf[64];
    size_t len = make_packet(buf, 20000, 0, 0x5555, 20);
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    cr_assert_not(rtp_stats_update(&st, &h, 0), "a lone jump is set aside");
    struct rtp_loss_report r;
    rtp_stats_report(&st, &r);
    cr_assert_eq(r.ext_max_seq, 11);
    /* The next one confirms: the sender restarted, statistics start over (A.1). */
    len = make_packet(buf, 20001, 0, 0x5555, 20);
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    cr_assert(rtp_stats_update(&st, &h, 0));
    rtp_stats_report(&st, &r);
    cr_assert_eq(r.ext_max_seq, 20001);
    cr_assert_eq(r.expected, 1);
    cr_assert_eq(r.cumulative_lost, 0);
}

Test(rtp_stats, new_ssrc_restarts)
{
    struct rtp_recv_stats st;
    rtp_stats_init(&st);
    struct rtp_loss_report r;
    rtp_stats_report(&st, &r);
    cr_assert_eq(r.expected, 0, "no packets: an empty report");
    cr_assert_eq(r.fraction_lost, 0);
    stats_feed(&st, 10, 0, 0);
    stats_feed(&st, 20, 0, 0);
    uint8_t buf[64];
    size_t len = make_packet(buf, 500, 0, 0x7777, 20);
    struct rtp_header h;
    cr_assert_eq(rtp_parse(buf, len, &h), 0);
    rtp_stats_update(&st, &h, 0);
    rtp_stats_report(&st, &r);
    cr_assert_eq(st.ssrc, 0x7777);
    cr_assert_eq(r.expected, 1);
    cr_assert_eq(r.cumulative_lost, 0);
}
