#include "balie/bytes.h"
#include "balie/rtcp.h"

#include <limits.h>
#include <string.h>

#define HEADER_LEN 4
#define REPORT_BLOCK_LEN 24
#define SENDER_INFO_LEN 20
#define FB_COMMON_LEN 8 /* RFC 4585 §6.1: sender SSRC and media source SSRC */
#define FIR_ENTRY_LEN 8
#define NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900 to 1970 */

static const uint8_t remb_id[4] = {'R', 'E', 'M', 'B'};

/* ---- Walking ------------------------------------------------------------------------------ */

/* Reads the packet at buf[off], checking what RFC 3550 §6.4.1 and A.2 ask of each header. */
static int read_packet(const uint8_t *buf, size_t len, size_t off, struct rtcp_packet *p)
{
    size_t left = len - off;
    if (left < HEADER_LEN)
        return RTCP_ERR_SHORT;
    const uint8_t *h = buf + off;
    if ((h[0] >> 6) != 2)
        return RTCP_ERR_VERSION;
    /* The length field counts 32-bit words minus one, so every packet is a multiple of 4. */
    size_t plen = ((size_t)bytes_get16(h + 2) + 1) * 4;
    if (plen > left)
        return RTCP_ERR_LENGTH;
    p->type = h[1];
    p->count = h[0] & 0x1F;
    p->padding = (h[0] & 0x20) != 0;
    p->data = h;
    p->len = plen;
    p->body = h + HEADER_LEN;
    p->body_len = plen - HEADER_LEN;
    if (p->padding) {
        /* A.2: padding belongs only on the last packet of a compound packet; its count octet
         * includes itself and cannot reach into the header. */
        if (plen != left)
            return RTCP_ERR_PADDING;
        size_t pad = h[plen - 1];
        if (pad == 0 || pad > p->body_len)
            return RTCP_ERR_PADDING;
        p->body_len -= pad;
    }
    return 0;
}

int rtcp_walk(const uint8_t *buf, size_t len, int (*cb)(const struct rtcp_packet *p, void *arg),
              void *arg)
{
    struct rtcp_packet p;
    int count = 0;
    if (len == 0)
        return RTCP_ERR_SHORT;
    if (len > INT_MAX)
        return RTCP_ERR_LENGTH; /* no datagram is this long; keeps counts and lengths in int */
    /* First pass: the lengths must add up to `len` exactly (A.2) before anyone acts on it. */
    for (size_t off = 0; off < len; off += p.len, count++) {
        int rc = read_packet(buf, len, off, &p);
        if (rc < 0)
            return rc;
    }
    if (!cb)
        return count;
    for (size_t off = 0; off < len; off += p.len) {
        (void)read_packet(buf, len, off, &p); /* cannot fail: the first pass read it */
        int rc = cb(&p, arg);
        if (rc < 0)
            return rc;
    }
    return count;
}

/* ---- Parsing ------------------------------------------------------------------------------ */

static void read_report_block(const uint8_t *b, struct rtcp_report_block *rb)
{
    rb->ssrc = bytes_get32(b);
    rb->fraction_lost = b[4];
    uint32_t lost = bytes_get24(b + 5);
    /* 24-bit two's complement: sign-extend by hand (right shifts of negatives are not C11). */
    rb->cumulative_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
    rb->ext_high_seq = bytes_get32(b + 8);
    rb->jitter = bytes_get32(b + 12);
    rb->lsr = bytes_get32(b + 16);
    rb->dlsr = bytes_get32(b + 20);
}

int rtcp_parse_sr(const struct rtcp_packet *p, struct rtcp_sr *out)
{
    if (p->type != RTCP_SR)
        return RTCP_ERR_FORMAT;
    /* §6.4.1: anything after the blocks is a profile-specific extension, allowed. */
    size_t need = 4 + SENDER_INFO_LEN + (size_t)p->count * REPORT_BLOCK_LEN;
    if (p->body_len < need)
        return RTCP_ERR_FORMAT;
    const uint8_t *b = p->body;
    out->ssrc = bytes_get32(b);
    out->info.ntp = ((uint64_t)bytes_get32(b + 4) << 32) | bytes_get32(b + 8);
    out->info.rtp_ts = bytes_get32(b + 12);
    out->info.packet_count = bytes_get32(b + 16);
    out->info.octet_count = bytes_get32(b + 20);
    out->block_count = p->count;
    for (size_t i = 0; i < out->block_count; i++)
        read_report_block(b + 24 + i * REPORT_BLOCK_LEN, &out->blocks[i]);
    return 0;
}

int rtcp_parse_rr(const struct rtcp_packet *p, struct rtcp_rr *out)
{
    if (p->type != RTCP_RR)
        return RTCP_ERR_FORMAT;
    if (p->body_len < 4 + (size_t)p->count * REPORT_BLOCK_LEN)
        return RTCP_ERR_FORMAT;
    out->ssrc = bytes_get32(p->body);
    out->block_count = p->count;
    for (size_t i = 0; i < out->block_count; i++)
        read_report_block(p->body + 4 + i * REPORT_BLOCK_LEN, &out->blocks[i]);
    return 0;
}

/* Reads the items of one SDES chunk from b[*off]; leaves *off after its 32-bit padding. */
static int read_sdes_items(const uint8_t *b, size_t len, size_t *off, uint32_t ssrc,
                           struct rtcp_sdes *out)
{
    for (;;) {
        if (*off >= len)
            return RTCP_ERR_FORMAT;
        uint8_t type = b[*off];
        if (type == 0) {
            /* §6.5: a null item ends the chunk, then nulls up to the next 32-bit boundary. */
            *off = (*off + 4) & ~(size_t)3;
            return *off <= len ? 0 : RTCP_ERR_FORMAT;
        }
        if (len - *off < 2 || len - *off - 2 < b[*off + 1])
            return RTCP_ERR_FORMAT;
        if (type == 1 && !out->cname) {
            out->cname_ssrc = ssrc;
            out->cname = b + *off + 2;
            out->cname_len = b[*off + 1];
        }
        *off += 2 + (size_t)b[*off + 1];
    }
}

int rtcp_parse_sdes(const struct rtcp_packet *p, struct rtcp_sdes *out)
{
    memset(out, 0, sizeof(*out));
    if (p->type != RTCP_SDES)
        return RTCP_ERR_FORMAT;
    size_t off = 0;
    for (unsigned i = 0; i < p->count; i++) {
        if (p->body_len - off < 4)
            return RTCP_ERR_FORMAT;
        uint32_t ssrc = bytes_get32(p->body + off);
        off += 4;
        int rc = read_sdes_items(p->body, p->body_len, &off, ssrc, out);
        if (rc < 0)
            return rc;
    }
    out->chunk_count = p->count;
    return 0;
}

int rtcp_parse_bye(const struct rtcp_packet *p, struct rtcp_bye *out)
{
    memset(out, 0, sizeof(*out));
    if (p->type != RTCP_BYE)
        return RTCP_ERR_FORMAT;
    size_t off = (size_t)p->count * 4;
    if (p->body_len < off)
        return RTCP_ERR_FORMAT;
    out->ssrc_count = p->count;
    for (size_t i = 0; i < out->ssrc_count; i++)
        out->ssrcs[i] = bytes_get32(p->body + i * 4);
    if (off < p->body_len) {
        /* §6.6: an optional reason, a length octet and text. */
        size_t rlen = p->body[off];
        if (p->body_len - off - 1 < rlen)
            return RTCP_ERR_FORMAT;
        out->reason = p->body + off + 1;
        out->reason_len = rlen;
    }
    return 0;
}

int rtcp_parse_nack(const struct rtcp_packet *p, struct rtcp_nack *out)
{
    /* RFC 4585 §6.2.1: one or more 4-byte FCI entries. */
    if (p->type != RTCP_RTPFB || p->count != RTCP_RTPFB_NACK || p->body_len < FB_COMMON_LEN + 4 ||
        (p->body_len - FB_COMMON_LEN) % 4 != 0)
        return RTCP_ERR_FORMAT;
    out->sender_ssrc = bytes_get32(p->body);
    out->media_ssrc = bytes_get32(p->body + 4);
    out->item_count = (p->body_len - FB_COMMON_LEN) / 4;
    out->items = p->body + FB_COMMON_LEN;
    return 0;
}

struct rtcp_nack_item rtcp_nack_item(const struct rtcp_nack *n, size_t i)
{
    struct rtcp_nack_item it = {bytes_get16(n->items + i * 4), bytes_get16(n->items + i * 4 + 2)};
    return it;
}

int rtcp_parse_pli(const struct rtcp_packet *p, struct rtcp_pli *out)
{
    /* RFC 4585 §6.3.1: PLI has no FCI, so "the length field MUST be 2". */
    if (p->type != RTCP_PSFB || p->count != RTCP_PSFB_PLI || p->body_len != FB_COMMON_LEN)
        return RTCP_ERR_FORMAT;
    out->sender_ssrc = bytes_get32(p->body);
    out->media_ssrc = bytes_get32(p->body + 4);
    return 0;
}

int rtcp_parse_fir(const struct rtcp_packet *p, struct rtcp_fir *out)
{
    /* RFC 5104 §4.3.1.2: one or more 8-byte entries; the media source field is unused. */
    if (p->type != RTCP_PSFB || p->count != RTCP_PSFB_FIR ||
        p->body_len < FB_COMMON_LEN + FIR_ENTRY_LEN ||
        (p->body_len - FB_COMMON_LEN) % FIR_ENTRY_LEN != 0)
        return RTCP_ERR_FORMAT;
    out->sender_ssrc = bytes_get32(p->body);
    out->entry_count = (p->body_len - FB_COMMON_LEN) / FIR_ENTRY_LEN;
    out->entries = p->body + FB_COMMON_LEN;
    return 0;
}

struct rtcp_fir_entry rtcp_fir_entry(const struct rtcp_fir *f, size_t i)
{
    const uint8_t *e = f->entries + i * FIR_ENTRY_LEN;
    struct rtcp_fir_entry entry = {bytes_get32(e), e[4]};
    return entry;
}

int rtcp_parse_remb(const struct rtcp_packet *p, struct rtcp_remb *out)
{
    if (p->type != RTCP_PSFB || p->count != RTCP_PSFB_AFB || p->body_len < FB_COMMON_LEN + 8)
        return RTCP_ERR_FORMAT;
    const uint8_t *f = p->body + FB_COMMON_LEN;
    if (memcmp(f, remb_id, 4) != 0)
        return RTCP_ERR_FORMAT;
    size_t n = f[4];
    if (p->body_len - FB_COMMON_LEN - 8 < n * 4)
        return RTCP_ERR_FORMAT;
    unsigned exp = f[5] >> 2;
    uint64_t mantissa = ((uint64_t)(f[5] & 0x03) << 16) | bytes_get16(f + 6);
    out->sender_ssrc = bytes_get32(p->body);
    /* An exponent past 46 can overflow 64 bits; no link is that fast, so saturate. */
    if (exp > 46 && (mantissa >> (64 - exp)) != 0)
        out->bitrate_bps = UINT64_MAX;
    else
        out->bitrate_bps = mantissa << exp;
    out->ssrc_count = n;
    for (size_t i = 0; i < n; i++)
        out->ssrcs[i] = bytes_get32(f + 8 + i * 4);
    return 0;
}

/* ---- Building ----------------------------------------------------------------------------- */

static void put_header(uint8_t *out, uint8_t count, uint8_t type, size_t len)
{
    out[0] = (uint8_t)(0x80 | count);
    out[1] = type;
    bytes_put16(out + 2, (uint16_t)(len / 4 - 1));
}

static void put_report_block(uint8_t *b, const struct rtcp_report_block *rb)
{
    int32_t lost = rb->cumulative_lost;
    if (lost > 0x7FFFFF)
        lost = 0x7FFFFF;
    if (lost < -0x800000)
        lost = -0x800000;
    uint32_t wire = (uint32_t)lost & 0xFFFFFF;
    bytes_put32(b, rb->ssrc);
    b[4] = rb->fraction_lost;
    b[5] = (uint8_t)(wire >> 16);
    b[6] = (uint8_t)(wire >> 8);
    b[7] = (uint8_t)wire;
    bytes_put32(b + 8, rb->ext_high_seq);
    bytes_put32(b + 12, rb->jitter);
    bytes_put32(b + 16, rb->lsr);
    bytes_put32(b + 20, rb->dlsr);
}

int rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, const struct rtcp_sender_info *info,
                  const struct rtcp_report_block *blocks, size_t n)
{
    if (n > RTCP_MAX_BLOCKS)
        return RTCP_ERR_INVALID;
    size_t len = HEADER_LEN + 4 + SENDER_INFO_LEN + n * REPORT_BLOCK_LEN;
    if (cap < len)
        return RTCP_ERR_NOSPACE;
    put_header(out, (uint8_t)n, RTCP_SR, len);
    bytes_put32(out + 4, ssrc);
    bytes_put32(out + 8, (uint32_t)(info->ntp >> 32));
    bytes_put32(out + 12, (uint32_t)info->ntp);
    bytes_put32(out + 16, info->rtp_ts);
    bytes_put32(out + 20, info->packet_count);
    bytes_put32(out + 24, info->octet_count);
    for (size_t i = 0; i < n; i++)
        put_report_block(out + 28 + i * REPORT_BLOCK_LEN, &blocks[i]);
    return (int)len;
}

int rtcp_build_rr(uint8_t *out, size_t cap, uint32_t our_ssrc,
                  const struct rtcp_report_block *blocks, size_t n)
{
    if (n > RTCP_MAX_BLOCKS)
        return RTCP_ERR_INVALID;
    size_t len = HEADER_LEN + 4 + n * REPORT_BLOCK_LEN;
    if (cap < len)
        return RTCP_ERR_NOSPACE;
    put_header(out, (uint8_t)n, RTCP_RR, len);
    bytes_put32(out + 4, our_ssrc);
    for (size_t i = 0; i < n; i++)
        put_report_block(out + 8 + i * REPORT_BLOCK_LEN, &blocks[i]);
    return (int)len;
}

int rtcp_build_sdes_cname(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname,
                          size_t cname_len)
{
    if (cname_len > 255)
        return RTCP_ERR_INVALID;
    /* SSRC, CNAME item, at least one null octet, padded to 32 bits (§6.5). */
    size_t chunk = 4 + ((2 + cname_len + 1 + 3) & ~(size_t)3);
    size_t len = HEADER_LEN + chunk;
    if (cap < len)
        return RTCP_ERR_NOSPACE;
    memset(out, 0, len);
    put_header(out, 1, RTCP_SDES, len);
    bytes_put32(out + 4, ssrc);
    out[8] = 1;
    out[9] = (uint8_t)cname_len;
    if (cname_len)
        memcpy(out + 10, cname, cname_len);
    return (int)len;
}

int rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    size_t len = HEADER_LEN + FB_COMMON_LEN;
    if (cap < len)
        return RTCP_ERR_NOSPACE;
    put_header(out, RTCP_PSFB_PLI, RTCP_PSFB, len);
    bytes_put32(out + 4, sender_ssrc);
    bytes_put32(out + 8, media_ssrc);
    return (int)len;
}

int rtcp_build_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t seq)
{
    size_t len = HEADER_LEN + FB_COMMON_LEN + FIR_ENTRY_LEN;
    if (cap < len)
        return RTCP_ERR_NOSPACE;
    memset(out, 0, len);
    put_header(out, RTCP_PSFB_FIR, RTCP_PSFB, len);
    bytes_put32(out + 4, sender_ssrc);
    /* RFC 5104 §4.3.1.2: the media source SSRC is unused and set to 0; the FCI names it. */
    bytes_put32(out + 12, media_ssrc);
    out[16] = seq;
    return (int)len;
}

/* Packs sequence numbers into NACK items appended at out[*len]. */
struct nack_packer {
    uint8_t *out;
    size_t cap;
    size_t len;
    bool open;
    uint16_t pid;
    uint16_t blp;
};

static int packer_flush(struct nack_packer *pk)
{
    if (!pk->open)
        return 0;
    if (pk->cap - pk->len < 4)
        return RTCP_ERR_NOSPACE;
    bytes_put16(pk->out + pk->len, pk->pid);
    bytes_put16(pk->out + pk->len + 2, pk->blp);
    pk->len += 4;
    pk->open = false;
    return 0;
}

static int packer_add(struct nack_packer *pk, uint16_t seq)
{
    uint16_t d = (uint16_t)(seq - pk->pid);
    if (pk->open && d == 0)
        return 0;
    if (pk->open && d >= 1 && d <= 16) {
        pk->blp |= (uint16_t)(1u << (d - 1));
        return 0;
    }
    int rc = packer_flush(pk);
    if (rc < 0)
        return rc;
    pk->open = true;
    pk->pid = seq;
    pk->blp = 0;
    return 0;
}

static int nack_begin(struct nack_packer *pk, uint8_t *out, size_t cap, uint32_t sender,
                      uint32_t media)
{
    if (cap < HEADER_LEN + FB_COMMON_LEN)
        return RTCP_ERR_NOSPACE;
    bytes_put32(out + 4, sender);
    bytes_put32(out + 8, media);
    *pk = (struct nack_packer){.out = out, .cap = cap, .len = HEADER_LEN + FB_COMMON_LEN};
    return 0;
}

/* Returns the packet length, or 0 when no item was added. */
static int nack_finish(struct nack_packer *pk)
{
    int rc = packer_flush(pk);
    if (rc < 0)
        return rc;
    if (pk->len == HEADER_LEN + FB_COMMON_LEN)
        return 0;
    put_header(pk->out, RTCP_RTPFB_NACK, RTCP_RTPFB, pk->len);
    return (int)pk->len;
}

int rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, size_t n)
{
    struct nack_packer pk;
    if (n == 0)
        return RTCP_ERR_INVALID;
    int rc = nack_begin(&pk, out, cap, sender_ssrc, media_ssrc);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = packer_add(&pk, seqs[i]);
    return rc < 0 ? rc : nack_finish(&pk);
}

int rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                    const uint32_t *ssrcs, size_t n)
{
    if (n > RTCP_REMB_MAX_SSRC)
        return RTCP_ERR_INVALID;
    size_t len = HEADER_LEN + FB_COMMON_LEN + 8 + n * 4;
    if (cap < len)
        return RTCP_ERR_NOSPACE;
    unsigned exp = 0;
    while ((bitrate_bps >> exp) > 0x3FFFF)
        exp++;
    uint32_t mantissa = (uint32_t)(bitrate_bps >> exp);
    put_header(out, RTCP_PSFB_AFB, RTCP_PSFB, len);
    bytes_put32(out + 4, sender_ssrc);
    bytes_put32(out + 8, 0); /* the draft: media source SSRC is always 0 */
    memcpy(out + 12, remb_id, 4);
    out[16] = (uint8_t)n;
    out[17] = (uint8_t)((exp << 2) | (mantissa >> 16));
    bytes_put16(out + 18, (uint16_t)mantissa);
    for (size_t i = 0; i < n; i++)
        bytes_put32(out + 20 + i * 4, ssrcs[i]);
    return (int)len;
}

/* ---- Timing and reports ------------------------------------------------------------------- */

void rtcp_report_block_from_stats(struct rtp_recv_stats *st, uint32_t lsr, uint32_t dlsr,
                                  struct rtcp_report_block *out)
{
    struct rtp_loss_report r;
    rtp_stats_report(st, &r);
    out->ssrc = st->ssrc;
    out->fraction_lost = r.fraction_lost;
    out->cumulative_lost = r.cumulative_lost;
    out->ext_high_seq = r.ext_max_seq;
    out->jitter = r.jitter;
    out->lsr = lsr;
    out->dlsr = lsr ? dlsr : 0; /* §6.4.1: DLSR is 0 when no SR has been received */
}

uint64_t rtcp_ntp_from_unix_us(uint64_t unix_us)
{
    uint64_t sec = unix_us / 1000000u + NTP_UNIX_OFFSET;
    uint64_t frac = ((unix_us % 1000000u) << 32) / 1000000u;
    return (sec << 32) | frac;
}

uint32_t rtcp_ntp_mid(uint64_t ntp)
{
    return (uint32_t)(ntp >> 16);
}

uint32_t rtcp_dlsr(uint64_t sr_arrival_us, uint64_t now_us)
{
    if (sr_arrival_us == 0 || now_us <= sr_arrival_us)
        return 0;
    uint64_t d = ((now_us - sr_arrival_us) << 16) / 1000000u;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

bool rtcp_rtt_us(uint32_t arrival_ntp_mid, const struct rtcp_report_block *b, uint64_t *rtt_us)
{
    if (b->lsr == 0)
        return false;
    uint32_t rtt = arrival_ntp_mid - b->lsr - b->dlsr;
    if (rtt >= 0x80000000u)
        return false; /* negative: the report cannot predate our SR */
    *rtt_us = ((uint64_t)rtt * 1000000u) >> 16;
    return true;
}

/* ---- Translation -------------------------------------------------------------------------- */

struct xlate {
    uint8_t *out;
    size_t cap;
    size_t len;
    const struct rtcp_ssrc_map *map;
    size_t map_len;
    uint32_t our_ssrc;
    struct rtcp_info *info;
};

static const struct rtcp_ssrc_map *map_find(const struct xlate *x, uint32_t from)
{
    for (size_t i = 0; i < x->map_len; i++) {
        if (x->map[i].from == from)
            return &x->map[i];
    }
    return NULL;
}

/* Adds a builder's result to the output. A 0 from a builder means nothing to add. */
static int emit(struct xlate *x, int built)
{
    if (built < 0)
        return built;
    x->len += (size_t)built;
    return 0;
}

static void note_blocks(struct rtcp_info *info, const struct rtcp_report_block *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (info->block_count < RTCP_INFO_MAX_BLOCKS)
            info->blocks[info->block_count++] = b[i];
        else
            info->blocks_lost++;
    }
}

static void xlate_sr(struct xlate *x, const struct rtcp_packet *p)
{
    struct rtcp_sr sr;
    x->info->sr++;
    if (rtcp_parse_sr(p, &sr) < 0) {
        x->info->malformed++;
        return;
    }
    x->info->have_sr = true;
    x->info->sr_ssrc = sr.ssrc;
    x->info->sr_ntp_mid = rtcp_ntp_mid(sr.info.ntp);
    x->info->sr_info = sr.info;
    note_blocks(x->info, sr.blocks, sr.block_count);
}

static void xlate_rr(struct xlate *x, const struct rtcp_packet *p)
{
    struct rtcp_rr rr;
    x->info->rr++;
    if (rtcp_parse_rr(p, &rr) < 0) {
        x->info->malformed++;
        return;
    }
    note_blocks(x->info, rr.blocks, rr.block_count);
}

/* Adds one NACKed number, mapped back to the sender's numbering when there is a rewriter. */
static int nack_add_seq(struct xlate *x, struct nack_packer *pk, const struct rtcp_ssrc_map *m,
                        uint16_t seq)
{
    if (m->rewriter) {
        if (m->rewriter->in_ssrc != m->to || !rtp_rewriter_map_seq_back(m->rewriter, seq, &seq)) {
            x->info->nack_seq_dropped++;
            return 0;
        }
    }
    return packer_add(pk, seq);
}

static int xlate_nack(struct xlate *x, const struct rtcp_packet *p)
{
    struct rtcp_nack n;
    struct nack_packer pk;
    x->info->nack++;
    if (rtcp_parse_nack(p, &n) < 0) {
        x->info->malformed++;
        return 0;
    }
    const struct rtcp_ssrc_map *m = map_find(x, n.media_ssrc);
    if (!m) {
        x->info->dropped++;
        return 0;
    }
    int rc = nack_begin(&pk, x->out + x->len, x->cap - x->len, x->our_ssrc, m->to);
    for (size_t i = 0; rc == 0 && i < n.item_count; i++) {
        struct rtcp_nack_item it = rtcp_nack_item(&n, i);
        rc = nack_add_seq(x, &pk, m, it.pid);
        for (unsigned bit = 0; rc == 0 && bit < 16; bit++) {
            if (it.blp & (1u << bit))
                rc = nack_add_seq(x, &pk, m, (uint16_t)(it.pid + bit + 1));
        }
    }
    if (rc == 0)
        rc = nack_finish(&pk);
    if (rc == 0)
        x->info->dropped++; /* every number belonged to another source */
    return emit(x, rc);
}

static int xlate_fir(struct xlate *x, const struct rtcp_packet *p)
{
    struct rtcp_fir f;
    x->info->fir++;
    if (rtcp_parse_fir(p, &f) < 0) {
        x->info->malformed++;
        return 0;
    }
    uint8_t *o = x->out + x->len;
    size_t len = HEADER_LEN + FB_COMMON_LEN;
    for (size_t i = 0; i < f.entry_count; i++) {
        struct rtcp_fir_entry e = rtcp_fir_entry(&f, i);
        const struct rtcp_ssrc_map *m = map_find(x, e.ssrc);
        if (!m)
            continue;
        if (x->cap - x->len < len + FIR_ENTRY_LEN)
            return RTCP_ERR_NOSPACE;
        memset(o + len, 0, FIR_ENTRY_LEN);
        bytes_put32(o + len, m->to);
        o[len + 4] = e.seq;
        len += FIR_ENTRY_LEN;
    }
    if (len == HEADER_LEN + FB_COMMON_LEN) {
        x->info->dropped++;
        return 0;
    }
    put_header(o, RTCP_PSFB_FIR, RTCP_PSFB, len);
    bytes_put32(o + 4, x->our_ssrc);
    bytes_put32(o + 8, 0);
    return emit(x, (int)len);
}

static int xlate_psfb(struct xlate *x, const struct rtcp_packet *p)
{
    if (p->count == RTCP_PSFB_PLI) {
        struct rtcp_pli pli;
        x->info->pli++;
        if (rtcp_parse_pli(p, &pli) < 0) {
            x->info->malformed++;
            return 0;
        }
        const struct rtcp_ssrc_map *m = map_find(x, pli.media_ssrc);
        if (!m) {
            x->info->dropped++;
            return 0;
        }
        return emit(x, rtcp_build_pli(x->out + x->len, x->cap - x->len, x->our_ssrc, m->to));
    }
    if (p->count == RTCP_PSFB_FIR)
        return xlate_fir(x, p);
    struct rtcp_remb r;
    if (p->count != RTCP_PSFB_AFB || rtcp_parse_remb(p, &r) < 0) {
        x->info->other++; /* SLI, RPSI, other application feedback */
        return 0;
    }
    x->info->remb++;
    x->info->have_remb = true;
    x->info->remb_bps = r.bitrate_bps;
    size_t kept = 0;
    for (size_t i = 0; i < r.ssrc_count; i++) {
        const struct rtcp_ssrc_map *m = map_find(x, r.ssrcs[i]);
        if (m)
            r.ssrcs[kept++] = m->to;
    }
    if (kept == 0) {
        x->info->dropped++;
        return 0;
    }
    return emit(x, rtcp_build_remb(x->out + x->len, x->cap - x->len, x->our_ssrc, r.bitrate_bps,
                                   r.ssrcs, kept));
}

static int xlate_packet(const struct rtcp_packet *p, void *arg)
{
    struct xlate *x = arg;
    switch (p->type) {
    case RTCP_SR:
        xlate_sr(x, p);
        return 0;
    case RTCP_RR:
        xlate_rr(x, p);
        return 0;
    case RTCP_SDES:
        x->info->sdes++;
        return 0;
    case RTCP_BYE:
        x->info->bye++;
        return 0;
    case RTCP_APP:
        x->info->app++;
        return 0;
    case RTCP_XR:
        x->info->xr++;
        return 0;
    case RTCP_RTPFB:
        if (p->count == RTCP_RTPFB_NACK)
            return xlate_nack(x, p);
        x->info->other++; /* TMMBR, transport-wide feedback: about our leg, not the sender's */
        return 0;
    case RTCP_PSFB:
        return xlate_psfb(x, p);
    default:
        x->info->other++;
        return 0;
    }
}

int rtcp_translate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                   const struct rtcp_ssrc_map *map, size_t map_len, uint32_t our_ssrc,
                   struct rtcp_info *info)
{
    struct rtcp_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof(*info));
    /* Room for the leading RR is kept from the start; it is written only if something
     * follows, since an empty report alone is not worth sending. */
    struct xlate x = {out, out_cap, 8, map, map_len, our_ssrc, info};
    if (out_cap < 8)
        return RTCP_ERR_NOSPACE;
    if (in_len > INT_MAX - 8)
        return RTCP_ERR_LENGTH;
    int rc = rtcp_walk(in, in_len, xlate_packet, &x);
    if (rc < 0)
        return rc;
    if (x.len == 8)
        return 0;
    rtcp_build_rr(out, out_cap, our_ssrc, NULL, 0);
    return (int)x.len;
}
