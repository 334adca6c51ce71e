#include "srtp_replay.h"

#include <errno.h>
#include <string.h>

#define SEQ_HALF 32768u

int srtp_replay_estimate(const struct srtp_replay *r, uint16_t seq, uint64_t *index)
{
    if (!r->started) {
        /* RFC 3711 §3.3.1: the receiver starts with ROC 0 (and so does the sender). */
        *index = seq;
        return 0;
    }
    uint32_t roc = (uint32_t)(r->top >> 16);
    uint32_t s_l = (uint32_t)(r->top & 0xffff);
    uint32_t v = roc;
    /* Appendix A: pick the ROC that puts SEQ closest to s_l. */
    if (s_l < SEQ_HALF) {
        if (seq > s_l + SEQ_HALF) {
            if (roc == 0)
                return -EALREADY; /* from before the stream's first packet */
            v = roc - 1;
        }
    } else if (seq < s_l - SEQ_HALF) {
        if (roc == UINT32_MAX)
            return -EPROTO; /* 2^48 packets under one key: RFC 3711 §9.2 wants a new key */
        v = roc + 1;
    }
    *index = ((uint64_t)v << 16) | seq;
    return 0;
}

static bool bit_is_set(const struct srtp_replay *r, uint64_t index)
{
    uint64_t bit = index % SRTP_REPLAY_WINDOW;
    return (r->bits[bit / 64] >> (bit % 64)) & 1;
}

static void bit_set(struct srtp_replay *r, uint64_t index)
{
    uint64_t bit = index % SRTP_REPLAY_WINDOW;
    r->bits[bit / 64] |= UINT64_C(1) << (bit % 64);
}

static void bit_clear(struct srtp_replay *r, uint64_t index)
{
    uint64_t bit = index % SRTP_REPLAY_WINDOW;
    r->bits[bit / 64] &= ~(UINT64_C(1) << (bit % 64));
}

int srtp_replay_check(const struct srtp_replay *r, uint64_t index)
{
    if (!r->started || index > r->top)
        return 0;
    if (r->top - index >= SRTP_REPLAY_WINDOW)
        return -EALREADY; /* too old to tell: RFC 3711 §3.3.2 drops it */
    return bit_is_set(r, index) ? -EALREADY : 0;
}

void srtp_replay_add(struct srtp_replay *r, uint64_t index)
{
    if (!r->started) {
        memset(r->bits, 0, sizeof(r->bits));
        r->top = index;
        r->started = true;
    } else if (index > r->top) {
        if (index - r->top >= SRTP_REPLAY_WINDOW) {
            memset(r->bits, 0, sizeof(r->bits));
        } else {
            /* The bits of top+1..index held indexes that now fall out of the window; a jump
             * of a window or more cleared them all above. */
            for (uint64_t i = r->top + 1; i <= index; i++)
                bit_clear(r, i);
        }
        r->top = index;
    }
    bit_set(r, index);
}
