/* The relay between the two legs of a call (DESIGN.md §3): SRTP in from one browser, SSRC
 * rewritten, SRTP out to the other; RTCP feedback translated back to the original sender;
 * keyframe requests when a picture is needed; our own receiver reports.
 *
 * Both legs live on the same worker, so nothing here locks. Sans-IO like the leg: every
 * packet leaves through the legs' struct leg_io. */
#ifndef BALIE_RELAY_H
#define BALIE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/leg.h"
#include "balie/rtp.h"

/* Largest RTCP compound we translate (a UDP payload on a 1500-byte path). */
#define RELAY_RTCP_MAX 1500

/* Links `a` and `b`: from now on each one's media goes to the other. When both are already
 * DTLS-connected, both browsers are asked for a keyframe. Returns 0, -EINVAL (a == b), or
 * -EBUSY when either is bridged to a third leg. Bridging the same pair again is a no-op. */
int relay_bridge(struct leg *a, struct leg *b, const struct leg_io *io, uint64_t now_us);

/* Unlinks `l` from its peer, if any. Never fails. */
void relay_unbridge(struct leg *l);

/* The leg's SRTP just became ready: when its peer is ready too, ask the peer's browser for a
 * keyframe, so the first picture reaches this one at once. */
void relay_leg_ready(struct leg *l, const struct leg_io *io, uint64_t now_us);

struct holdmedia;

/* After a resume, video waits at most this long for the peer's key frame (relay_resume). */
#define RELAY_KEYFRAME_WAIT_US 3000000u

/* Puts `l` (the citizen's leg) on hold: from now on its peer's media no longer reaches its
 * browser, nor its media the peer, and `media` is played to it instead, paced by relay_tick(),
 * on the SSRCs it knows, with sequence numbers, timestamps and VP8 PictureIDs continuous with
 * what it got before. `media` NULL: nothing is played. Holding a held leg changes nothing. */
void relay_hold(struct leg *l, const struct holdmedia *media, uint64_t now_us);

/* Takes `l` off hold. Audio is live again at once, both ways; video from each side's next key
 * frame, which both browsers are asked for now (PLI, or FIR), and which each stream waits for
 * (a delta frame would be decoded on top of the wrong picture): the hold video runs on until
 * the peer's key frame comes, at most RELAY_KEYFRAME_WAIT_US. A leg not on hold: no-op. */
void relay_resume(struct leg *l, const struct leg_io *io, uint64_t now_us);

/* Forwards one authenticated RTP packet from `from`'s browser (already unprotected in `buf`,
 * parsed into `h`, classified as `kind`) to the peer. `buf` has room for `cap` bytes. */
void relay_rtp(struct leg *from, const struct leg_io *io, uint64_t now_us, uint8_t *buf, size_t len,
               size_t cap, const struct rtp_header *h, enum leg_kind kind);

/* Handles one authenticated RTCP compound from `from`'s browser: notes its reports (loss, RTT,
 * the LSR for our next report) and sends the translated feedback, and a translated SR, to the
 * peer. */
void relay_rtcp(struct leg *from, const struct leg_io *io, uint64_t now_us, const uint8_t *buf,
                size_t len);

/* Asks `l`'s browser for a keyframe of its video: PLI when it accepted "nack pli", else FIR
 * when it accepted "ccm fir", else nothing (RFC 4585 §4.2, RFC 5104 §7.1). `repeat` is the
 * one retry a second later. Returns 0 when a request was sent. */
int relay_request_keyframe(struct leg *l, const struct leg_io *io, uint64_t now_us, bool repeat);

/* Timers of a DTLS-connected leg: our receiver report once a second and the keyframe repeat. */
void relay_tick(struct leg *l, const struct leg_io *io, uint64_t now_us);
uint64_t relay_next_timeout_us(const struct leg *l);

/* RFC 7741 §4.3: true when a VP8 payload (RTP payload, descriptor included) starts a key
 * frame. Reads only within `len`. */
bool relay_vp8_is_keyframe(const uint8_t *payload, size_t len);

#endif
