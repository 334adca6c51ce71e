/* libFuzzer harness for gateway/rtcp.c.
 *
 * The input is walked with every parser applied to every packet (a parser must refuse a type
 * it does not handle, never misread it), then translated with a map built from SSRCs found in
 * the input, so that the fuzzer reaches the mapping paths and not only the drop paths. The
 * output must be a valid compound packet sent from our SSRC, and must fit in in_len + 8 bytes
 * as rtcp.h promises. Buffers have their exact size so AddressSanitizer sees any overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balie/rtcp.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define OUR_SSRC 0x0BA11E00u

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void parse_all(const struct rtcp_packet *p)
{
    struct rtcp_sr sr;
    struct rtcp_rr rr;
    struct rtcp_sdes sdes;
    struct rtcp_bye bye;
    struct rtcp_nack nack;
    struct rtcp_pli pli;
    struct rtcp_fir fir;
    struct rtcp_remb remb;
    const uint8_t *end = p->data + p->len;
    if (rtcp_parse_sr(p, &sr) == 0)
        CHECK(p->type == RTCP_SR && sr.block_count <= RTCP_MAX_BLOCKS);
    if (rtcp_parse_rr(p, &rr) == 0)
        CHECK(p->type == RTCP_RR && rr.block_count <= RTCP_MAX_BLOCKS);
    if (rtcp_parse_sdes(p, &sdes) == 0 && sdes.cname)
        CHECK(sdes.cname + sdes.cname_len <= end);
    if (rtcp_parse_bye(p, &bye) == 0 && bye.reason)
        CHECK(bye.reason + bye.reason_len <= end);
    if (rtcp_parse_nack(p, &nack) == 0) {
        volatile uint16_t sink = 0;
        for (size_t i = 0; i < nack.item_count; i++)
            sink ^= rtcp_nack_item(&nack, i).blp;
        (void)sink;
    }
    if (rtcp_parse_pli(p, &pli) == 0)
        CHECK(p->body_len == 8);
    if (rtcp_parse_fir(p, &fir) == 0) {
        volatile uint32_t sink = 0;
        for (size_t i = 0; i < fir.entry_count; i++)
            sink ^= rtcp_fir_entry(&fir, i).ssrc;
        (void)sink;
    }
    if (rtcp_parse_remb(p, &remb) == 0)
        CHECK(remb.ssrc_count <= RTCP_REMB_MAX_SSRC);
}

static int on_packet(const struct rtcp_packet *p, void *arg)
{
    size_t *total = arg;
    CHECK(p->len >= 4 && p->len % 4 == 0);
    CHECK(p->body_len <= p->len - 4);
    *total += p->len;
    parse_all(p);
    return 0;
}

static int check_output(const struct rtcp_packet *p, void *arg)
{
    int *index = arg;
    CHECK(p->body_len >= 4 && rd32(p->body) == OUR_SSRC);
    if (*index == 0)
        CHECK(p->type == RTCP_RR && p->count == 0);
    else
        CHECK(p->type == RTCP_RTPFB || p->type == RTCP_PSFB);
    (*index)++;
    return 0;
}

/* A rewriter that has forwarded 0xA0A0 after some hold media, so NACK mapping has both outcomes. */
static void rewriter_setup(struct rtp_rewriter *rw)
{
    uint8_t pkt[12] = {0x80, 96};
    rtp_rewriter_init(rw, 0xB0B0);
    for (unsigned i = 0; i < 40; i++) {
        uint32_t ssrc = i < 20 ? 0x9999 : 0xA0A0;
        pkt[2] = (uint8_t)(i >> 8);
        pkt[3] = (uint8_t)(i * 7);
        pkt[8] = (uint8_t)(ssrc >> 24);
        pkt[9] = (uint8_t)(ssrc >> 16);
        pkt[10] = (uint8_t)(ssrc >> 8);
        pkt[11] = (uint8_t)ssrc;
        struct rtp_header h;
        CHECK(rtp_parse(pkt, sizeof(pkt), &h) == 0);
        rtp_rewrite(rw, pkt, &h, 20000ull * i, 90000);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    size_t total = 0;
    int n = rtcp_walk(in, size, on_packet, &total);
    if (n > 0)
        CHECK(total == size);

    static struct rtp_rewriter rw;
    rewriter_setup(&rw);
    struct rtcp_ssrc_map map[4] = {
        {.from = 0xB0B0, .to = 0xA0A0, .rewriter = &rw},
        {.from = 0xB1B1, .to = 0xA1A1},
    };
    size_t map_len = 2;
    /* The media SSRC field of the first two packets, whatever they are. */
    if (size >= 12)
        map[map_len++] = (struct rtcp_ssrc_map){.from = rd32(in + 8), .to = 0xC0C0};
    if (size >= 24)
        map[map_len++] =
            (struct rtcp_ssrc_map){.from = rd32(in + 20), .to = 0xC1C1, .rewriter = &rw};

    size_t cap = size + 8;
    uint8_t *out = malloc(cap);
    if (!out) {
        free(in);
        return 0;
    }
    struct rtcp_info info;
    int len = rtcp_translate(in, size, out, cap, map, map_len, OUR_SSRC, &info);
    CHECK(len != RTCP_ERR_NOSPACE);
    CHECK((len < 0) == (n < 0));
    if (len > 0) {
        int index = 0;
        CHECK(rtcp_walk(out, (size_t)len, check_output, &index) == index);
        CHECK(index >= 2);
    }
    free(out);
    free(in);
    return 0;
}
