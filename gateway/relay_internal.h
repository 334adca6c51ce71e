/* What relay.c and relay_hold.c share. Not a public face; the worker thread only. */
#ifndef BALIE_GATEWAY_RELAY_INTERNAL_H
#define BALIE_GATEWAY_RELAY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "balie/leg.h"
#include "balie/rtp.h"

/* Sends one RTP packet (unprotected in `buf`, parsed into `h`) to `to`'s browser: SSRC,
 * sequence number, timestamp and VP8 PictureID rewritten for continuity, then protected.
 * Returns 0, -ENOTCONN (`to` not ready or no address), -ESTALE (older than its source's first
 * packet), or the protect error. */
int relay_forward(struct leg *to, const struct leg_io *io, uint64_t now_us, uint8_t *buf,
                  size_t len, size_t cap, const struct rtp_header *h, enum leg_kind kind);

/* relay_hold.c: the hold player's packets that are due, and the end of a key frame wait. */
void relay_hold_tick(struct leg *l, const struct leg_io *io, uint64_t now_us);
uint64_t relay_hold_next_us(const struct leg *l);

/* The peer's key frame that `l` waited for after a resume has come: its video goes live. */
void relay_hold_keyframe_came(struct leg *l);

#endif
