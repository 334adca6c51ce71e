/* Packet index estimation and replay protection for SRTP and SRTCP (RFC 3711 §3.3.1, §3.3.2,
 * Appendix A). Pure functions over a small fixed state: no crypto, no allocation, no clock.
 * Not a public face: gateway/srtp_gcm.c and its tests only. */
#ifndef BALIE_GATEWAY_SRTP_REPLAY_H
#define BALIE_GATEWAY_SRTP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

/* Video arrives reordered by pacing and NACK retransmissions; 1024 packets keep the late
 * packets of a large key frame (RFC 3711 §3.3.2 lets the receiver choose the window). */
#define SRTP_REPLAY_WINDOW 1024

/* Largest SRTP packet index: a 32-bit ROC and a 16-bit sequence number (RFC 3711 §3.3.1). */
#define SRTP_REPLAY_MAX_INDEX ((UINT64_C(1) << 48) - 1)

/* The indexes accepted so far for one SSRC. All zero is "nothing accepted yet". */
struct srtp_replay {
    uint64_t top; /* highest index accepted */
    bool started; /* an index was accepted */
    /* Bit (i % SRTP_REPLAY_WINDOW) is set when index i was accepted, for the indexes
     * top - SRTP_REPLAY_WINDOW < i <= top; bits for older indexes are cleared on the way up. */
    uint64_t bits[SRTP_REPLAY_WINDOW / 64];
};

/* RFC 3711 §3.3.1 / Appendix A: the 48-bit index (ROC || SEQ) of an SRTP packet with sequence
 * number `seq`, guessed from the highest index accepted so far (the first packet of a stream
 * has ROC 0). Returns 0, -EALREADY when the guess falls before index 0 (older than the
 * stream's start), or -EPROTO when it passes 2^48 - 1 (the key is exhausted). */
int srtp_replay_estimate(const struct srtp_replay *r, uint16_t seq, uint64_t *index);

/* RFC 3711 §3.3.2: 0 when `index` was not accepted before and is not older than the window,
 * else -EALREADY. Changes nothing: call srtp_replay_add once the packet authenticated. */
int srtp_replay_check(const struct srtp_replay *r, uint64_t index);

/* Records `index` (which srtp_replay_check allowed) as accepted. */
void srtp_replay_add(struct srtp_replay *r, uint64_t index);

#endif
