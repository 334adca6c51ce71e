/* libFuzzer harness for the SDP parsers: the browser's answer (against a fixed offer) and a
 * trickled candidate. Seeds: tests/fuzz/corpus/sdp/ (answers in the style of Chromium, Firefox
 * and aiortc, and candidates). Besides memory errors, it checks what a successful parse
 * promises, so a parser that accepts nonsense fails here too. */
#include "balie/sdp.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void offer_params(struct sdp_offer_params *p)
{
    memset(p, 0, sizeof(*p));
    p->session_id = 4962303333179871722ull;
    p->session_version = 1;
    strcpy(p->ice_ufrag, "bAl1e+Gw");
    strcpy(p->ice_pwd, "Zq8/W3vLmN5pQ7rT2sX9kY4c");
    strcpy(p->fingerprint, "D1:0A:37:C4:5B:E2:19:8F:60:AB:F3:2C:94:07:DE:71:38:C5:5A:E6:0D:B9:"
                           "42:1F:8C:73:E0:26:9B:D4:15:A8");
    p->audio_ssrc = 11111111;
    p->video_ssrc = 22222222;
    strcpy(p->cname, "balie-gw-7");
    strcpy(p->candidates[0].address, "192.0.2.10");
    p->candidates[0].port = 50000;
    p->candidate_count = 1;
    p->ice_lite = true;
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static bool ice_text_ok(const char *s, size_t min, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n >= min && n <= max;
}

static void check_answer(const struct sdp_answer *a)
{
    CHECK(ice_text_ok(a->ice_ufrag, SDP_ICE_UFRAG_MIN, SDP_ICE_UFRAG_MAX));
    CHECK(ice_text_ok(a->ice_pwd, SDP_ICE_PWD_MIN, SDP_ICE_PWD_MAX));
    CHECK(a->setup == SDP_SETUP_ACTIVE || a->setup == SDP_SETUP_PASSIVE);
    CHECK(!a->ice_lite); /* the fixed offer is lite, so a lite answer must be refused */
    CHECK(!a->media[0].rejected || !a->media[1].rejected);
    if (!a->media[0].rejected && !a->media[1].rejected)
        CHECK(a->bundle && a->media[0].bundled && a->media[1].bundled);
    static const uint8_t offered_pt[2] = {SDP_PT_OPUS, SDP_PT_VP8};
    static const char *const mids[2] = {SDP_MID_AUDIO, SDP_MID_VIDEO};
    for (size_t i = 0; i < 2; i++) {
        const struct sdp_answer_media *m = &a->media[i];
        CHECK(m->kind == (enum sdp_media_kind)i);
        if (m->rejected)
            continue;
        CHECK(strcmp(m->mid, mids[i]) == 0);
        CHECK(m->payload_type_count == 1 && m->payload_types[0] == offered_pt[i]);
        bool sends = m->direction == SDP_DIR_SENDRECV || m->direction == SDP_DIR_SENDONLY;
        CHECK(!sends || m->ssrc != 0);
        CHECK(m->rtx_ssrc == 0 || (m->ssrc != 0 && m->rtx_ssrc != m->ssrc));
        CHECK(i == 1 || m->rtcp_fb == 0);
        CHECK(m->ext_id[SDP_EXT_AUDIO_LEVEL] == 0 || m->ext_id[SDP_EXT_AUDIO_LEVEL] == 1);
        CHECK(m->ext_id[SDP_EXT_ABS_SEND_TIME] == 0 || m->ext_id[SDP_EXT_ABS_SEND_TIME] == 3);
    }
}

static void check_candidate(const struct sdp_candidate *c)
{
    CHECK(c->component >= 1 && c->component <= 256);
    CHECK(c->priority >= 1 && c->priority <= 0x7fffffffu);
    CHECK(c->foundation[0] != '\0' && strnlen(c->foundation, sizeof(c->foundation)) <= 32);
    CHECK(c->address[0] != '\0');
    CHECK((c->transport == SDP_TRANSPORT_TCP) == (c->tcp_type != SDP_TCP_TYPE_NONE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sdp_offer_params offer;
    static bool ready;
    if (!ready) {
        offer_params(&offer);
        ready = true;
    }

    /* libFuzzer's buffer is exactly `size` bytes, so ASan sees any read past its end. */
    struct sdp_answer answer;
    char err[128];
    int rc = sdp_parse_answer((const char *)data, size, &offer, &answer, err, sizeof(err));
    if (rc == 0)
        check_answer(&answer);
    else
        CHECK(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err));

    struct sdp_candidate candidate;
    if (sdp_parse_candidate_n((const char *)data, size, &candidate) == 0)
        check_candidate(&candidate);
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (sdp_parse_candidate(text, &candidate) == 0)
        check_candidate(&candidate);
    free(text);
    return 0;
}
