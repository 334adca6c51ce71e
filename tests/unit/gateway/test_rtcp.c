#include <criterion/criterion.h>

#include <string.h>

#include "balie/rtcp.h"

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Collects the packets of a compound packet. */
struct seen {
    int n;
    struct rtcp_packet p[16];
};

static int collect(const struct rtcp_packet *p, void *arg)
{
    struct seen *s = arg;
    if (s->n < 16)
        s->p[s->n] = *p;
    s->n++;
    return 0;
}

/* Walks a buffer that must hold exactly one packet and returns it. */
static struct rtcp_packet only_packet(const uint8_t *buf, size_t len)
{
    struct seen s = {0};
    cr_assert_eq(rtcp_walk(buf, len, collect, &s), 1);
    cr_assert_eq(s.n, 1);
    return s.p[0];
}

static const struct rtcp_report_block block_a = {
    .ssrc = 0x11223344,
    .fraction_lost = 25,
    .cumulative_lost = 1000,
    .ext_high_seq = 0x00012345,
    .jitter = 77,
    .lsr = 0xB7052000,
    .dlsr = 0x00054000,
};

static const struct rtcp_report_block block_b = {
    .ssrc = 0x55667788,
    .fraction_lost = 0,
    .cumulative_lost = -5, /* duplicates can make it negative (A.3) */
    .ext_high_seq = 9,
    .jitter = 0,
    .lsr = 0,
    .dlsr = 0,
};

static void assert_block_eq(const struct rtcp_report_block *a, const struct rtcp_report_block *b)
{
    cr_assert_eq(a->ssrc, b->ssrc);
    cr_assert_eq(a->fraction_lost, b->fraction_lost);
    cr_assert_eq(a->cumulative_lost, b->cumulative_lost);
    cr_assert_eq(a->ext_high_seq, b->ext_high_seq);
    cr_assert_eq(a->jitter, b->jitter);
    cr_assert_eq(a->lsr, b->lsr);
    cr_assert_eq(a->dlsr, b->dlsr);
}

/* ---- Common header checks (shared by every type) ------------------------------------------ */

Test(rtcp_header, bad_version_truncated_and_length)
{
    uint8_t pli[12] = {0x81, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    cr_assert_eq(rtcp_walk(pli, 12, NULL, NULL), 1);
    cr_assert_eq(rtcp_walk(pli, 0, NULL, NULL), RTCP_ERR_SHORT);
    cr_assert_eq(rtcp_walk(pli, 3, NULL, NULL), RTCP_ERR_SHORT);
    cr_assert_eq(rtcp_walk(pli, 11, NULL, NULL), RTCP_ERR_LENGTH, "truncated");
    pli[3] = 3;
    cr_assert_eq(rtcp_walk(pli, 12, NULL, NULL), RTCP_ERR_LENGTH, "length past the end");
    pli[3] = 1;
    /* A length one word short leaves 4 stray bytes that are not a version 2 header. */
    cr_assert_eq(rtcp_walk(pli, 12, NULL, NULL), RTCP_ERR_VERSION);
    pli[3] = 2;
    pli[0] = 0x41; /* version 1 */
    cr_assert_eq(rtcp_walk(pli, 12, NULL, NULL), RTCP_ERR_VERSION);
    pli[0] = 0x01; /* version 0 */
    cr_assert_eq(rtcp_walk(pli, 12, NULL, NULL), RTCP_ERR_VERSION);
}

Test(rtcp_header, padding_rules)
{
    /* RR (8 bytes) + BYE with 4 bytes of padding: valid, padding on the last packet. */
    uint8_t buf[24] = {0x80, 201, 0, 1, 0, 0, 0, 1, 0xA1, 203, 0, 2, 0, 0, 0, 9, 0, 0, 0, 4};
    cr_assert_eq(rtcp_walk(buf, 20, NULL, NULL), 2);
    struct seen s = {0};
    rtcp_walk(buf, 20, collect, &s);
    cr_assert(s.p[1].padding);
    cr_assert_eq(s.p[1].body_len, 4);
    cr_assert_eq(s.p[1].len, 12);
    /* A.2: the padding bit on a packet that is not last. */
    buf[0] = 0xA0;
    cr_assert_eq(rtcp_walk(buf, 20, NULL, NULL), RTCP_ERR_PADDING);
    buf[0] = 0x80;
    /* A padding count of 0, or one reaching into the header. */
    buf[19] = 0;
    cr_assert_eq(rtcp_walk(buf, 20, NULL, NULL), RTCP_ERR_PADDING);
    buf[19] = 9;
    cr_assert_eq(rtcp_walk(buf, 20, NULL, NULL), RTCP_ERR_PADDING);
    buf[19] = 8;
    cr_assert_eq(rtcp_walk(buf, 20, NULL, NULL), 2, "padding may fill the whole body");
    /* A header-only packet with the padding bit has no room for a count. */
    uint8_t lone[4] = {0xA0, 201, 0, 0};
    cr_assert_eq(rtcp_walk(lone, 4, NULL, NULL), RTCP_ERR_PADDING);
}

/* ---- Compound walking --------------------------------------------------------------------- */

static int stop_at_second(const struct rtcp_packet *p, void *arg)
{
    int *calls = arg;
    return ++*calls == 2 ? -42 : 0;
}

Test(rtcp_walk, compound_in_order)
{
    uint8_t buf[256];
    size_t len = 0;
    struct rtcp_sender_info si = {.ntp = 1, .rtp_ts = 2, .packet_count = 3, .octet_count = 4};
    len += (size_t)rtcp_build_sr(buf, sizeof(buf), 0xAAAA, &si, &block_a, 1);
    len += (size_t)rtcp_build_sdes_cname(buf + len, sizeof(buf) - len, 0xAAAA, "balie", 5);
    len += (size_t)rtcp_build_pli(buf + len, sizeof(buf) - len, 0xAAAA, 0xBBBB);
    struct seen s = {0};
    cr_assert_eq(rtcp_walk(buf, len, collect, &s), 3);
    cr_assert_eq(s.p[0].type, RTCP_SR);
    cr_assert_eq(s.p[1].type, RTCP_SDES);
    cr_assert_eq(s.p[2].type, RTCP_PSFB);
    cr_assert_eq(s.p[2].count, RTCP_PSFB_PLI);
    cr_assert_eq(s.p[0].data, buf);
    cr_assert_eq(s.p[0].len + s.p[1].len + s.p[2].len, len);

    int calls = 0;
    cr_assert_eq(rtcp_walk(buf, len, stop_at_second, &calls), -42);
    cr_assert_eq(calls, 2);
}

Test(rtcp_walk, malformed_tail_reaches_no_callback)
{
    uint8_t buf[64];
    size_t len = (size_t)rtcp_build_rr(buf, sizeof(buf), 1, NULL, 0);
    len += (size_t)rtcp_build_pli(buf + len, sizeof(buf) - len, 1, 2);
    buf[len++] = 0x80; /* two stray bytes */
    buf[len++] = 201;
    struct seen s = {0};
    cr_assert_eq(rtcp_walk(buf, len, collect, &s), RTCP_ERR_SHORT);
    cr_assert_eq(s.n, 0, "validation comes before any callback");
}

Test(rtcp_walk, reduced_size_lone_feedback)
{
    /* RFC 5506: a packet that does not start with SR or RR is acceptable. */
    uint8_t buf[12];
    cr_assert_eq(rtcp_build_pli(buf, sizeof(buf), 1, 2), 12);
    cr_assert_eq(rtcp_walk(buf, 12, NULL, NULL), 1);
}

/* ---- SR ----------------------------------------------------------------------------------- */

Test(rtcp_sr, build_parse_round_trip)
{
    uint8_t buf[128];
    struct rtcp_report_block blocks[2] = {block_a, block_b};
    struct rtcp_sender_info si = {.ntp = 0xB710800012345678ull,
                                  .rtp_ts = 0xCAFEBABE,
                                  .packet_count = 42,
                                  .octet_count = 9000};
    int len = rtcp_build_sr(buf, sizeof(buf), 0xDEADBEEF, &si, blocks, 2);
    cr_assert_eq(len, 4 + 24 + 48);
    cr_assert_eq(buf[0], 0x82);
    cr_assert_eq(buf[1], 200);
    cr_assert_eq(buf[3], 18, "length in words minus one");
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_sr sr;
    cr_assert_eq(rtcp_parse_sr(&p, &sr), 0);
    cr_assert_eq(sr.ssrc, 0xDEADBEEF);
    cr_assert_eq(sr.info.ntp, si.ntp);
    cr_assert_eq(sr.info.rtp_ts, si.rtp_ts);
    cr_assert_eq(sr.info.packet_count, 42);
    cr_assert_eq(sr.info.octet_count, 9000);
    cr_assert_eq(sr.block_count, 2);
    assert_block_eq(&sr.blocks[0], &block_a);
    assert_block_eq(&sr.blocks[1], &block_b);
    /* The negative loss is 24-bit two's complement on the wire. */
    cr_assert_eq(buf[28 + 24 + 5], 0xFF);
    cr_assert_eq(buf[28 + 24 + 7], 0xFB);
}

Test(rtcp_sr, malformed)
{
    uint8_t buf[128];
    struct rtcp_sender_info si = {0};
    int len = rtcp_build_sr(buf, sizeof(buf), 1, &si, &block_a, 1);
    cr_assert_eq(rtcp_walk(buf, (size_t)len - 4, NULL, NULL), RTCP_ERR_LENGTH, "truncated");
    cr_assert_eq(rtcp_build_sr(buf, 20, 1, &si, NULL, 0), RTCP_ERR_NOSPACE);
    cr_assert_eq(rtcp_build_sr(buf, sizeof(buf), 1, &si, NULL, 32), RTCP_ERR_INVALID);
    /* A report count of 2 with room for 1. */
    buf[0] = 0x82;
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_sr sr;
    cr_assert_eq(rtcp_parse_sr(&p, &sr), RTCP_ERR_FORMAT);
    /* Not an SR at all. */
    buf[0] = 0x81;
    buf[1] = RTCP_RR;
    p = only_packet(buf, (size_t)len);
    cr_assert_eq(rtcp_parse_sr(&p, &sr), RTCP_ERR_FORMAT);
}

Test(rtcp_sr, profile_extension_allowed)
{
    /* RFC 3550 §6.4.1: bytes after the report blocks are a profile-specific extension. */
    uint8_t buf[128];
    struct rtcp_sender_info si = {0};
    int len = rtcp_build_sr(buf, sizeof(buf), 1, &si, NULL, 0);
    memset(buf + len, 0x5A, 8);
    buf[3] += 2;
    struct rtcp_packet p = only_packet(buf, (size_t)len + 8);
    struct rtcp_sr sr;
    cr_assert_eq(rtcp_parse_sr(&p, &sr), 0);
    cr_assert_eq(sr.block_count, 0);
}

/* ---- RR ----------------------------------------------------------------------------------- */

Test(rtcp_rr, literal_bytes)
{
    /* Written by hand from RFC 3550 §6.4.2: RC=1, PT=201, length 7. */
    const uint8_t rr[] = {0x81, 0xC9, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04, /* reporter */
                          0x11, 0x22, 0x33, 0x44,                         /* source */
                          0x40, 0xFF, 0xFF, 0xFE,                         /* 1/4 lost, -2 */
                          0x00, 0x01, 0x00, 0x10,                         /* cycles 1, seq 16 */
                          0x00, 0x00, 0x00, 0x20,                         /* jitter 32 */
                          0xB7, 0x05, 0x20, 0x00,                         /* LSR */
                          0x00, 0x05, 0x40, 0x00};                        /* DLSR */
    struct rtcp_packet p = only_packet(rr, sizeof(rr));
    struct rtcp_rr out;
    cr_assert_eq(rtcp_parse_rr(&p, &out), 0);
    cr_assert_eq(out.ssrc, 0x01020304);
    cr_assert_eq(out.block_count, 1);
    cr_assert_eq(out.blocks[0].ssrc, 0x11223344);
    cr_assert_eq(out.blocks[0].fraction_lost, 64);
    cr_assert_eq(out.blocks[0].cumulative_lost, -2);
    cr_assert_eq(out.blocks[0].ext_high_seq, 0x10010);
    cr_assert_eq(out.blocks[0].jitter, 32);
    cr_assert_eq(out.blocks[0].lsr, 0xB7052000);
    cr_assert_eq(out.blocks[0].dlsr, 0x00054000);
}

Test(rtcp_rr, build_parse_round_trip)
{
    uint8_t buf[128];
    struct rtcp_report_block blocks[2] = {block_a, block_b};
    int len = rtcp_build_rr(buf, sizeof(buf), 0xFEEDF00D, blocks, 2);
    cr_assert_eq(len, 8 + 48);
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_rr rr;
    cr_assert_eq(rtcp_parse_rr(&p, &rr), 0);
    cr_assert_eq(rr.ssrc, 0xFEEDF00D);
    cr_assert_eq(rr.block_count, 2);
    assert_block_eq(&rr.blocks[0], &block_a);
    assert_block_eq(&rr.blocks[1], &block_b);
    /* An empty RR, as the relay sends first in a compound packet. */
    cr_assert_eq(rtcp_build_rr(buf, sizeof(buf), 7, NULL, 0), 8);
    p = only_packet(buf, 8);
    cr_assert_eq(rtcp_parse_rr(&p, &rr), 0);
    cr_assert_eq(rr.block_count, 0);
}

Test(rtcp_rr, cumulative_lost_clamped_to_24_bits)
{
    uint8_t buf[64];
    struct rtcp_report_block b = block_a;
    b.cumulative_lost = 0x01000000;
    int len = rtcp_build_rr(buf, sizeof(buf), 1, &b, 1);
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_rr rr;
    cr_assert_eq(rtcp_parse_rr(&p, &rr), 0);
    cr_assert_eq(rr.blocks[0].cumulative_lost, 0x7FFFFF);
    b.cumulative_lost = -0x01000000;
    rtcp_build_rr(buf, sizeof(buf), 1, &b, 1);
    p = only_packet(buf, (size_t)len);
    cr_assert_eq(rtcp_parse_rr(&p, &rr), 0);
    cr_assert_eq(rr.blocks[0].cumulative_lost, -0x800000);
}

Test(rtcp_rr, malformed)
{
    uint8_t buf[64];
    int len = rtcp_build_rr(buf, sizeof(buf), 1, &block_a, 1);
    cr_assert_eq(rtcp_walk(buf, (size_t)len - 1, NULL, NULL), RTCP_ERR_LENGTH);
    buf[0] = 0x83; /* 3 blocks claimed, 1 present */
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_rr rr;
    cr_assert_eq(rtcp_parse_rr(&p, &rr), RTCP_ERR_FORMAT);
    /* Padding bit with a count that eats into the block. */
    buf[0] = 0xA1;
    buf[len - 1] = 4;
    p = only_packet(buf, (size_t)len);
    cr_assert_eq(rtcp_parse_rr(&p, &rr), RTCP_ERR_FORMAT);
    cr_assert_eq(rtcp_build_rr(buf, 31, 1, &block_a, 1), RTCP_ERR_NOSPACE);
}

/* ---- SDES --------------------------------------------------------------------------------- */

Test(rtcp_sdes, build_parse_round_trip)
{
    uint8_t buf[64];
    int len = rtcp_build_sdes_cname(buf, sizeof(buf), 0xABCD, "user@host", 9);
    /* 4 header + 4 SSRC + 2 + 9 + 1 null = 20, already a multiple of 4. */
    cr_assert_eq(len, 20);
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_sdes sd;
    cr_assert_eq(rtcp_parse_sdes(&p, &sd), 0);
    cr_assert_eq(sd.chunk_count, 1);
    cr_assert_eq(sd.cname_ssrc, 0xABCD);
    cr_assert_eq(sd.cname_len, 9);
    cr_assert_eq(memcmp(sd.cname, "user@host", 9), 0);
    len = rtcp_build_sdes_cname(buf, sizeof(buf), 1, "ab", 2);
    cr_assert_eq(len, 16, "header, SSRC, and 2 + 2 + 1 rounded up to 8");
    cr_assert_eq(rtcp_build_sdes_cname(buf, sizeof(buf), 1, "x", 256), RTCP_ERR_INVALID);
}

Test(rtcp_sdes, literal_two_chunks)
{
    /* Chunk 1: NAME item only. Chunk 2: CNAME "c". */
    const uint8_t sdes[] = {0x82, 202, 0x00, 0x05, 0, 0, 0, 1, 2, 2, 'n', 'm',
                            0,    0,   0,    0,    0, 0, 0, 2, 1, 1, 'c', 0};
    struct rtcp_packet p = only_packet(sdes, sizeof(sdes));
    struct rtcp_sdes sd;
    cr_assert_eq(rtcp_parse_sdes(&p, &sd), 0);
    cr_assert_eq(sd.chunk_count, 2);
    cr_assert_eq(sd.cname_ssrc, 2);
    cr_assert_eq(sd.cname_len, 1);
    cr_assert_eq(sd.cname[0], 'c');
}

Test(rtcp_sdes, malformed)
{
    uint8_t buf[64];
    int len = rtcp_build_sdes_cname(buf, sizeof(buf), 0xABCD, "user@host", 9);
    /* The item length runs past the packet. */
    buf[9] = 40;
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_sdes sd;
    cr_assert_eq(rtcp_parse_sdes(&p, &sd), RTCP_ERR_FORMAT);
    /* No null item to end the chunk. */
    buf[9] = 10;
    p = only_packet(buf, (size_t)len);
    cr_assert_eq(rtcp_parse_sdes(&p, &sd), RTCP_ERR_FORMAT);
    /* More chunks than bytes. */
    buf[9] = 9;
    buf[0] = 0x83;
    p = only_packet(buf, (size_t)len);
    cr_assert_eq(rtcp_parse_sdes(&p, &sd), RTCP_ERR_FORMAT);
}

/* ---- BYE ---------------------------------------------------------------------------------- */

Test(rtcp_bye, literal_with_reason)
{
    const uint8_t bye[] = {0x82, 203, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 3, 'b', 'y', 'e'};
    struct rtcp_packet p = only_packet(bye, sizeof(bye));
    struct rtcp_bye b;
    cr_assert_eq(rtcp_parse_bye(&p, &b), 0);
    cr_assert_eq(b.ssrc_count, 2);
    cr_assert_eq(b.ssrcs[0], 1);
    cr_assert_eq(b.ssrcs[1], 2);
    cr_assert_eq(b.reason_len, 3);
    cr_assert_eq(memcmp(b.reason, "bye", 3), 0);
}

Test(rtcp_bye, malformed)
{
    uint8_t bye[] = {0x82, 203, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 9, 'b', 'y', 'e'};
    struct rtcp_packet p = only_packet(bye, sizeof(bye));
    struct rtcp_bye b;
    cr_assert_eq(rtcp_parse_bye(&p, &b), RTCP_ERR_FORMAT, "reason longer than the packet");
    bye[0] = 0x85;
    p = only_packet(bye, sizeof(bye));
    cr_assert_eq(rtcp_parse_bye(&p, &b), RTCP_ERR_FORMAT, "5 SSRCs in 12 bytes");
    bye[0] = 0x80;
    bye[12] = 3;
    p = only_packet(bye, sizeof(bye));
    cr_assert_eq(rtcp_parse_bye(&p, &b), 0, "no SSRC is odd but well-formed");
}

/* ---- Generic NACK ------------------------------------------------------------------------- */

Test(rtcp_nack, literal_bytes)
{
    /* RFC 4585 §6.2.1: PID 0x0100, BLP 0x8001 means 256, 257 and 272 lost. */
    const uint8_t nack[] = {0x81, 205, 0x00, 0x03, 0,    0,    0,    0xAA,
                            0,    0,   0,    0xBB, 0x01, 0x00, 0x80, 0x01};
    struct rtcp_packet p = only_packet(nack, sizeof(nack));
    struct rtcp_nack n;
    cr_assert_eq(rtcp_parse_nack(&p, &n), 0);
    cr_assert_eq(n.sender_ssrc, 0xAA);
    cr_assert_eq(n.media_ssrc, 0xBB);
    cr_assert_eq(n.item_count, 1);
    struct rtcp_nack_item it = rtcp_nack_item(&n, 0);
    cr_assert_eq(it.pid, 256);
    cr_assert_eq(it.blp, 0x8001);
}

Test(rtcp_nack, build_packs_items)
{
    uint8_t buf[64];
    const uint16_t seqs[] = {100, 101, 105, 116, 117, 200, 65535, 0};
    int len = rtcp_build_nack(buf, sizeof(buf), 1, 2, seqs, 8);
    cr_assert_eq(len, 12 + 4 * 4);
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_nack n;
    cr_assert_eq(rtcp_parse_nack(&p, &n), 0);
    cr_assert_eq(n.item_count, 4);
    struct rtcp_nack_item it = rtcp_nack_item(&n, 0);
    cr_assert_eq(it.pid, 100);
    cr_assert_eq(it.blp, 0x8011, "101 is bit 0, 105 bit 4, 116 bit 15");
    cr_assert_eq(rtcp_nack_item(&n, 1).pid, 117);
    cr_assert_eq(rtcp_nack_item(&n, 1).blp, 0);
    cr_assert_eq(rtcp_nack_item(&n, 2).pid, 200);
    cr_assert_eq(rtcp_nack_item(&n, 3).pid, 65535);
    cr_assert_eq(rtcp_nack_item(&n, 3).blp, 0x0001, "0 follows 65535 across the wrap");
    cr_assert_eq(rtcp_build_nack(buf, sizeof(buf), 1, 2, seqs, 0), RTCP_ERR_INVALID);
    cr_assert_eq(rtcp_build_nack(buf, 20, 1, 2, seqs, 8), RTCP_ERR_NOSPACE);
}

Test(rtcp_nack, malformed)
{
    uint8_t nack[] = {0x81, 205, 0x00, 0x02, 0, 0, 0, 0xAA, 0, 0, 0, 0xBB, 0, 0, 0, 0};
    struct rtcp_packet p = only_packet(nack, 12);
    struct rtcp_nack n;
    cr_assert_eq(rtcp_parse_nack(&p, &n), RTCP_ERR_FORMAT, "no FCI");
    /* Padding of 2 leaves an FCI of 2 bytes. */
    nack[0] = 0xA1;
    nack[3] = 3;
    nack[15] = 2;
    p = only_packet(nack, 16);
    cr_assert_eq(rtcp_parse_nack(&p, &n), RTCP_ERR_FORMAT);
    nack[0] = 0x83; /* FMT 3 is TMMBR, not NACK */
    p = only_packet(nack, 16);
    cr_assert_eq(rtcp_parse_nack(&p, &n), RTCP_ERR_FORMAT);
}

/* ---- PLI ---------------------------------------------------------------------------------- */

Test(rtcp_pli, literal_and_round_trip)
{
    const uint8_t pli[] = {0x81, 206, 0x00, 0x02, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0};
    uint8_t buf[12];
    cr_assert_eq(rtcp_build_pli(buf, sizeof(buf), 0x12345678, 0x9ABCDEF0), 12);
    cr_assert_eq(memcmp(buf, pli, 12), 0);
    struct rtcp_packet p = only_packet(pli, sizeof(pli));
    struct rtcp_pli out;
    cr_assert_eq(rtcp_parse_pli(&p, &out), 0);
    cr_assert_eq(out.sender_ssrc, 0x12345678);
    cr_assert_eq(out.media_ssrc, 0x9ABCDEF0);
    cr_assert_eq(rtcp_build_pli(buf, 11, 1, 2), RTCP_ERR_NOSPACE);
}

Test(rtcp_pli, malformed)
{
    uint8_t pli[16] = {0x81, 206, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0};
    struct rtcp_packet p = only_packet(pli, 16);
    struct rtcp_pli out;
    cr_assert_eq(rtcp_parse_pli(&p, &out), RTCP_ERR_FORMAT, "RFC 4585: length MUST be 2");
    pli[3] = 1;
    p = only_packet(pli, 8);
    cr_assert_eq(rtcp_parse_pli(&p, &out), RTCP_ERR_FORMAT, "too short for the SSRCs");
    pli[1] = 205;
    pli[3] = 2;
    p = only_packet(pli, 12);
    cr_assert_eq(rtcp_parse_pli(&p, &out), RTCP_ERR_FORMAT, "RTPFB, not PSFB");
}

/* ---- FIR ---------------------------------------------------------------------------------- */

Test(rtcp_fir, literal_and_round_trip)
{
    /* RFC 5104 §4.3.1: media source 0; FCI SSRC, seq, 3 reserved bytes. */
    const uint8_t fir[] = {0x84, 206, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 7, 0, 0, 0};
    uint8_t buf[20];
    cr_assert_eq(rtcp_build_fir(buf, sizeof(buf), 1, 9, 7), 20);
    cr_assert_eq(memcmp(buf, fir, 20), 0);
    struct rtcp_packet p = only_packet(fir, sizeof(fir));
    struct rtcp_fir f;
    cr_assert_eq(rtcp_parse_fir(&p, &f), 0);
    cr_assert_eq(f.sender_ssrc, 1);
    cr_assert_eq(f.entry_count, 1);
    cr_assert_eq(rtcp_fir_entry(&f, 0).ssrc, 9);
    cr_assert_eq(rtcp_fir_entry(&f, 0).seq, 7);
    cr_assert_eq(rtcp_build_fir(buf, 19, 1, 9, 7), RTCP_ERR_NOSPACE);
}

Test(rtcp_fir, malformed)
{
    uint8_t fir[] = {0x84, 206, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9};
    struct rtcp_packet p = only_packet(fir, sizeof(fir));
    struct rtcp_fir f;
    cr_assert_eq(rtcp_parse_fir(&p, &f), RTCP_ERR_FORMAT, "a 4-byte FCI entry");
    fir[3] = 2;
    p = only_packet(fir, 12);
    cr_assert_eq(rtcp_parse_fir(&p, &f), RTCP_ERR_FORMAT, "no entry");
}

/* ---- REMB --------------------------------------------------------------------------------- */

Test(rtcp_remb, literal_bytes)
{
    /* 1 Mbit/s: exponent 2, mantissa 250000 = 0x3D090; one SSRC. */
    const uint8_t remb[] = {0x8F, 206, 0x00, 0x05, 0,    0,    0,    1,    0,    0,    0,    0,
                            'R',  'E', 'M',  'B',  0x01, 0x0B, 0xD0, 0x90, 0xAB, 0xCD, 0xEF, 0x01};
    struct rtcp_packet p = only_packet(remb, sizeof(remb));
    struct rtcp_remb r;
    cr_assert_eq(rtcp_parse_remb(&p, &r), 0);
    cr_assert_eq(r.sender_ssrc, 1);
    cr_assert_eq(r.bitrate_bps, 1000000);
    cr_assert_eq(r.ssrc_count, 1);
    cr_assert_eq(r.ssrcs[0], 0xABCDEF01);
    uint8_t buf[64];
    const uint32_t ssrcs[] = {0xABCDEF01};
    cr_assert_eq(rtcp_build_remb(buf, sizeof(buf), 1, 1000000, ssrcs, 1), 24);
    cr_assert_eq(memcmp(buf, remb, 24), 0);
}

Test(rtcp_remb, round_trip_and_rounding)
{
    uint8_t buf[64];
    const uint32_t ssrcs[] = {1, 2, 3};
    int len = rtcp_build_remb(buf, sizeof(buf), 9, 123456789, ssrcs, 3);
    cr_assert_eq(len, 20 + 12);
    struct rtcp_packet p = only_packet(buf, (size_t)len);
    struct rtcp_remb r;
    cr_assert_eq(rtcp_parse_remb(&p, &r), 0);
    /* 123456789 needs 27 bits: exponent 9 keeps 18, so the low 9 bits are dropped. */
    cr_assert_eq(r.bitrate_bps, 123456789ull & ~511ull);
    cr_assert_eq(r.ssrc_count, 3);
    cr_assert_eq(r.ssrcs[2], 3);
    /* The largest exponent saturates rather than overflowing. */
    buf[17] = 0xFF;
    p = only_packet(buf, (size_t)len);
    cr_assert_eq(rtcp_parse_remb(&p, &r), 0);
    cr_assert_eq(r.bitrate_bps, UINT64_MAX);
    cr_assert_eq(rtcp_build_remb(buf, sizeof(buf), 9, 1, ssrcs, 256), RTCP_ERR_INVALID);
    cr_assert_eq(rtcp_build_remb(buf, 31, 9, 1, ssrcs, 3), RTCP_ERR_NOSPACE);
}

Test(rtcp_remb, malformed)
{
    uint8_t remb[] = {0x8F, 206, 0x00, 0x05, 0,    0,    0,    1,    0,    0,    0,    0,
                      'R',  'E', 'M',  'B',  0x02, 0x0B, 0xD0, 0x90, 0xAB, 0xCD, 0xEF, 0x01};
    struct rtcp_packet p = only_packet(remb, sizeof(remb));
    struct rtcp_remb r;
    cr_assert_eq(rtcp_parse_remb(&p, &r), RTCP_ERR_FORMAT, "2 SSRCs claimed, 1 present");
    remb[16] = 1;
    remb[15] = 'X';
    p = only_packet(remb, sizeof(remb));
    cr_assert_eq(rtcp_parse_remb(&p, &r), RTCP_ERR_FORMAT, "other application feedback");
    remb[15] = 'B';
    remb[3] = 3;
    p = only_packet(remb, 16);
    cr_assert_eq(rtcp_parse_remb(&p, &r), RTCP_ERR_FORMAT, "no room for the bitrate");
}

/* ---- Timing: RTT, DLSR, NTP --------------------------------------------------------------- */

Test(rtcp_timing, rfc3550_rtt_example)
{
    /* RFC 3550 §6.4.1, figure 2: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000,
     * so RTT = 0x0006:2000 = 6.125 s. */
    struct rtcp_report_block b = {.lsr = 0xB7052000, .dlsr = 0x00054000};
    uint64_t rtt;
    cr_assert(rtcp_rtt_us(0xB7108000, &b, &rtt));
    cr_assert_eq(rtt, 6125000);
    b.lsr = 0;
    cr_assert_not(rtcp_rtt_us(0xB7108000, &b, &rtt), "no SR seen yet");
    b.lsr = 0xB7108000;
    cr_assert_not(rtcp_rtt_us(0xB7108000, &b, &rtt), "negative RTT");
}

Test(rtcp_timing, ntp_and_dlsr)
{
    uint64_t ntp = rtcp_ntp_from_unix_us(1500000);
    cr_assert_eq(ntp >> 32, 2208988801ull);
    cr_assert_eq((uint32_t)ntp, 0x80000000u);
    cr_assert_eq(rtcp_ntp_mid(0x0000B71080001234ull), 0xB7108000u);
    cr_assert_eq(rtcp_dlsr(1000000, 6250000), 0x00054000u, "5.25 s");
    cr_assert_eq(rtcp_dlsr(0, 6250000), 0u);
}

Test(rtcp_timing, report_block_from_stats)
{
    struct rtp_recv_stats st;
    rtp_stats_init(&st);
    uint8_t pkt[12] = {0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34};
    const uint16_t seqs[] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        pkt[3] = (uint8_t)seqs[i];
        struct rtp_header h;
        cr_assert_eq(rtp_parse(pkt, sizeof(pkt), &h), 0);
        rtp_stats_update(&st, &h, 0);
    }
    struct rtcp_report_block b;
    rtcp_report_block_from_stats(&st, 0xB7052000, 0x00054000, &b);
    cr_assert_eq(b.ssrc, 0x1234);
    cr_assert_eq(b.ext_high_seq, 4);
    cr_assert_eq(b.cumulative_lost, 1);
    cr_assert_eq(b.fraction_lost, 64);
    cr_assert_eq(b.lsr, 0xB7052000);
    cr_assert_eq(b.dlsr, 0x00054000);
    rtcp_report_block_from_stats(&st, 0, 0x1234, &b);
    cr_assert_eq(b.fraction_lost, 0, "a new interval");
    cr_assert_eq(b.dlsr, 0, "no SR, no delay");
}

/* ---- Translation -------------------------------------------------------------------------- */

#define OUR 0x0000BA1E
#define PEER 0x0000BEEF

static const struct rtcp_ssrc_map test_map[] = {
    {.from = 0xB0B0, .to = 0xA0A0},
    {.from = 0xB1B1, .to = 0xA1A1},
};

/* Appends a packet built by `built` (a builder's return) to buf. */
static void add(size_t *len, int built)
{
    cr_assert_gt(built, 0);
    *len += (size_t)built;
}

/* Every packet of a translated output: sent by us, the first an empty RR (RFC 3550 §6.1). */
static struct seen walk_output(const uint8_t *out, int len)
{
    struct seen s = {0};
    cr_assert_gt(len, 0);
    cr_assert_gt(rtcp_walk(out, (size_t)len, collect, &s), 0, "output is valid compound RTCP");
    cr_assert_eq(s.p[0].type, RTCP_RR);
    cr_assert_eq(s.p[0].count, 0);
    for (int i = 0; i < s.n; i++)
        cr_assert_eq(be32(s.p[i].body), OUR, "packet %d is sent from our SSRC", i);
    return s;
}

Test(rtcp_translate, maps_feedback_and_drops_the_rest)
{
    uint8_t in[512], out[600];
    size_t len = 0;
    struct rtcp_report_block rb = block_a;
    rb.ssrc = 0xB0B0;
    const uint16_t seqs[] = {10, 12};
    const uint32_t remb_ssrcs[] = {0xB0B0, 0xCCCC, 0xB1B1};
    add(&len, rtcp_build_rr(in, sizeof(in), PEER, &rb, 1));
    add(&len, rtcp_build_sdes_cname(in + len, sizeof(in) - len, PEER, "b", 1));
    add(&len, rtcp_build_pli(in + len, sizeof(in) - len, PEER, 0xB0B0));
    add(&len, rtcp_build_fir(in + len, sizeof(in) - len, PEER, 0xB0B0, 3));
    add(&len, rtcp_build_nack(in + len, sizeof(in) - len, PEER, 0xB0B0, seqs, 2));
    add(&len, rtcp_build_remb(in + len, sizeof(in) - len, PEER, 500000, remb_ssrcs, 3));
    add(&len, rtcp_build_pli(in + len, sizeof(in) - len, PEER, 0xCCCC)); /* unmapped */

    struct rtcp_info info;
    int n = rtcp_translate(in, len, out, sizeof(out), test_map, 2, OUR, &info);
    struct seen s = walk_output(out, n);
    cr_assert_eq(s.n, 5);

    struct rtcp_pli pli;
    cr_assert_eq(rtcp_parse_pli(&s.p[1], &pli), 0);
    cr_assert_eq(pli.media_ssrc, 0xA0A0);

    struct rtcp_fir fir;
    cr_assert_eq(rtcp_parse_fir(&s.p[2], &fir), 0);
    cr_assert_eq(fir.entry_count, 1);
    cr_assert_eq(rtcp_fir_entry(&fir, 0).ssrc, 0xA0A0);
    cr_assert_eq(rtcp_fir_entry(&fir, 0).seq, 3);

    struct rtcp_nack nack;
    cr_assert_eq(rtcp_parse_nack(&s.p[3], &nack), 0);
    cr_assert_eq(nack.media_ssrc, 0xA0A0);
    cr_assert_eq(nack.item_count, 1);
    cr_assert_eq(rtcp_nack_item(&nack, 0).pid, 10, "no rewriter: numbers unchanged");
    cr_assert_eq(rtcp_nack_item(&nack, 0).blp, 0x0002);

    struct rtcp_remb remb;
    cr_assert_eq(rtcp_parse_remb(&s.p[4], &remb), 0);
    cr_assert_eq(remb.bitrate_bps, 500000);
    cr_assert_eq(remb.ssrc_count, 2, "the unmapped SSRC is removed");
    cr_assert_eq(remb.ssrcs[0], 0xA0A0);
    cr_assert_eq(remb.ssrcs[1], 0xA1A1);

    cr_assert_eq(info.rr, 1);
    cr_assert_eq(info.sdes, 1);
    cr_assert_eq(info.pli, 2);
    cr_assert_eq(info.fir, 1);
    cr_assert_eq(info.nack, 1);
    cr_assert_eq(info.remb, 1);
    cr_assert_eq(info.dropped, 1, "the PLI for an unknown SSRC");
    cr_assert_eq(info.malformed, 0);
    cr_assert(info.have_remb);
    cr_assert_eq(info.remb_bps, 500000);
    cr_assert_eq(info.block_count, 1);
    cr_assert_eq(info.blocks[0].ssrc, 0xB0B0);
    cr_assert_eq(info.blocks[0].lsr, block_a.lsr);

    /* in_len + 8 always suffices; one byte less than the output does not. */
    cr_assert_eq(rtcp_translate(in, len, out, len + 8, test_map, 2, OUR, NULL), n);
    cr_assert_eq(rtcp_translate(in, len, out, (size_t)n - 1, test_map, 2, OUR, NULL),
                 RTCP_ERR_NOSPACE);
    cr_assert_eq(rtcp_translate(in, len, out, 4, test_map, 2, OUR, NULL), RTCP_ERR_NOSPACE);
}

Test(rtcp_translate, reports_are_consumed)
{
    uint8_t in[256], out[256];
    size_t len = 0;
    struct rtcp_sender_info si = {.ntp = 0xB7108000ABCD0000ull, .rtp_ts = 1, .packet_count = 2};
    add(&len, rtcp_build_sr(in, sizeof(in), PEER, &si, &block_a, 1));
    add(&len, rtcp_build_sdes_cname(in + len, sizeof(in) - len, PEER, "b", 1));
    /* BYE by hand: one SSRC. */
    const uint8_t bye[] = {0x81, 203, 0, 1, 0, 0, 0xBE, 0xEF};
    memcpy(in + len, bye, sizeof(bye));
    len += sizeof(bye);
    struct rtcp_info info;
    cr_assert_eq(rtcp_translate(in, len, out, sizeof(out), test_map, 2, OUR, &info), 0);
    cr_assert_eq(info.sr, 1);
    cr_assert_eq(info.sdes, 1);
    cr_assert_eq(info.bye, 1);
    cr_assert(info.have_sr);
    cr_assert_eq(info.sr_ssrc, PEER);
    cr_assert_eq(info.sr_ntp_mid, 0x8000ABCD);
    cr_assert_eq(info.sr_info.packet_count, 2);
    cr_assert_eq(info.block_count, 1);
    assert_block_eq(&info.blocks[0], &block_a);
}

Test(rtcp_translate, fully_unmapped_feedback_forwards_nothing)
{
    uint8_t in[256], out[256];
    size_t len = 0;
    const uint32_t ssrcs[] = {0xCCCC, 0xDDDD};
    const uint16_t seq = 5;
    add(&len, rtcp_build_remb(in, sizeof(in), PEER, 100000, ssrcs, 2));
    add(&len, rtcp_build_fir(in + len, sizeof(in) - len, PEER, 0xCCCC, 1));
    add(&len, rtcp_build_nack(in + len, sizeof(in) - len, PEER, 0xDDDD, &seq, 1));
    struct rtcp_info info;
    cr_assert_eq(rtcp_translate(in, len, out, sizeof(out), test_map, 2, OUR, &info), 0);
    cr_assert_eq(info.dropped, 3);
    cr_assert_eq(rtcp_translate(in, len, out, sizeof(out), NULL, 0, OUR, &info), 0,
                 "an empty map maps nothing");
}

Test(rtcp_translate, malformed_input)
{
    uint8_t in[64], out[128];
    size_t len = 0;
    add(&len, rtcp_build_pli(in, sizeof(in), PEER, 0xB0B0));
    add(&len, rtcp_build_pli(in + len, sizeof(in) - len, PEER, 0xB0B0));
    struct rtcp_info info;
    in[12] = 0x41; /* the second packet is version 1 */
    cr_assert_eq(rtcp_translate(in, len, out, sizeof(out), test_map, 2, OUR, &info),
                 RTCP_ERR_VERSION, "nothing is forwarded from a malformed compound packet");
    cr_assert_eq(rtcp_translate(in, 0, out, sizeof(out), test_map, 2, OUR, &info), RTCP_ERR_SHORT);
    /* A well-framed PLI with a wrong body is skipped; the rest still goes through. */
    in[12] = 0x81;
    in[15] = 3;
    memset(in + 24, 0, 4);
    len += 4;
    int n = rtcp_translate(in, len, out, sizeof(out), test_map, 2, OUR, &info);
    struct seen s = walk_output(out, n);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(info.malformed, 1);
    cr_assert_eq(info.pli, 2);
}

static void rewrite(struct rtp_rewriter *rw, uint32_t ssrc, uint16_t seq, uint64_t now)
{
    uint8_t pkt[16] = {0x80, 96};
    pkt[2] = (uint8_t)(seq >> 8);
    pkt[3] = (uint8_t)seq;
    pkt[8] = (uint8_t)(ssrc >> 24);
    pkt[9] = (uint8_t)(ssrc >> 16);
    pkt[10] = (uint8_t)(ssrc >> 8);
    pkt[11] = (uint8_t)ssrc;
    struct rtp_header h;
    cr_assert_eq(rtp_parse(pkt, sizeof(pkt), &h), 0);
    cr_assert(rtp_rewrite(rw, pkt, &h, now, 90000));
}

Test(rtcp_translate, nack_numbers_mapped_through_rewriter)
{
    /* Output stream 0xB0B0 carried hold media (0x9999, out 1..3), then the sender 0xA0A0
     * (in 5000..5009, out 4..13). */
    struct rtp_rewriter rw;
    rtp_rewriter_init(&rw, 0xB0B0);
    for (uint16_t i = 1; i <= 3; i++)
        rewrite(&rw, 0x9999, i, i * 1000u);
    for (uint16_t i = 0; i < 10; i++)
        rewrite(&rw, 0xA0A0, (uint16_t)(5000 + i), 10000u + i * 1000u);
    struct rtcp_ssrc_map map = {.from = 0xB0B0, .to = 0xA0A0, .rewriter = &rw};

    uint8_t in[64], out[128];
    const uint16_t lost[] = {2, 4, 5, 13, 14};
    int len = rtcp_build_nack(in, sizeof(in), PEER, 0xB0B0, lost, 5);
    struct rtcp_info info;
    int n = rtcp_translate(in, (size_t)len, out, sizeof(out), &map, 1, OUR, &info);
    struct seen s = walk_output(out, n);
    cr_assert_eq(s.n, 2);
    struct rtcp_nack nack;
    cr_assert_eq(rtcp_parse_nack(&s.p[1], &nack), 0);
    cr_assert_eq(nack.media_ssrc, 0xA0A0);
    cr_assert_eq(nack.item_count, 1);
    cr_assert_eq(rtcp_nack_item(&nack, 0).pid, 5000);
    cr_assert_eq(rtcp_nack_item(&nack, 0).blp, 0x0101, "5001 and 5009");
    cr_assert_eq(info.nack_seq_dropped, 2, "2 was hold media, 14 was never sent");
    cr_assert_eq(info.dropped, 0);

    /* Once the stream is back on hold, the sender can retransmit none of it. */
    rewrite(&rw, 0x9999, 4, 30000);
    n = rtcp_translate(in, (size_t)len, out, sizeof(out), &map, 1, OUR, &info);
    cr_assert_eq(n, 0);
    cr_assert_eq(info.dropped, 1);
    cr_assert_eq(info.nack_seq_dropped, 5);
}

Test(rtcp_translate, other_feedback_not_forwarded)
{
    /* Transport-wide congestion control (RTPFB 15) and SLI (PSFB 2) concern our leg only. */
    const uint8_t in[] = {0x8F, 205,  0,    2,   0, 0, 0xBE, 0xEF, 0,    0,   0xB0,
                          0xB0, 0x82, 206,  0,   2, 0, 0,    0xBE, 0xEF, 0,   0,
                          0xB0, 0xB0, 0x80, 207, 0, 1, 0,    0,    0xBE, 0xEF};
    uint8_t out[64];
    struct rtcp_info info;
    cr_assert_eq(rtcp_translate(in, sizeof(in), out, sizeof(out), test_map, 2, OUR, &info), 0);
    cr_assert_eq(info.other, 2);
    cr_assert_eq(info.xr, 1);
    cr_assert_eq(info.dropped, 0);
}
