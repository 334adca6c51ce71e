/* The demultiplexing tables of one media worker (DESIGN.md §2: one UDP port for every leg).
 *
 * A datagram finds its leg in one of two ways: a STUN check by the local ufrag in its USERNAME
 * (RFC 8445 §7.2.2), everything else by the remote transport address a valid check has bound
 * to the leg. Both tables are open-addressing hash tables with linear probing and
 * backward-shift deletion (no tombstones). They allocate only when they grow, which happens
 * when legs are created or addresses validated, never per packet.
 *
 * udp_mux_dispatch() is the worker's whole per-datagram path, kept here without a socket so
 * that tests drive it exactly as the worker does. One mux belongs to one thread. */
#ifndef BALIE_UDP_MUX_H
#define BALIE_UDP_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "balie/ice.h"

struct leg;
struct leg_io;

/* Our ufrags are ICE_UFRAG_LEN characters; room for a few more costs nothing. */
#define UDP_MUX_UFRAG_MAX 32

struct udp_mux_table {
    unsigned char *slots;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t count;
    size_t key_size;
    size_t stride;
};

/* What the dispatcher dropped before any leg saw it. Never reset. */
struct udp_mux_counters {
    uint64_t stun, dtls, media; /* datagrams handed to a leg, by kind (RFC 7983) */
    uint64_t unknown_ufrag;     /* STUN with no USERNAME, or one that names no leg */
    uint64_t unknown_address;   /* DTLS or SRTP from an address no valid check bound */
    uint64_t not_demultiplexed; /* a first byte outside the RFC 7983 ranges we serve */
    uint64_t malformed_stun;    /* first byte 0..3 but no STUN header, or it does not parse */
};

struct udp_mux {
    struct udp_mux_table ufrags;
    struct udp_mux_table addrs;
    struct udp_mux_counters counters;
};

/* Empty tables; nothing is allocated until the first insert. Never fails. */
void udp_mux_init(struct udp_mux *m);
void udp_mux_free(struct udp_mux *m);

/* Maps `ufrag` (`len` bytes, 1..UDP_MUX_UFRAG_MAX) to `leg`. Returns 0, -EEXIST when the ufrag
 * already names a leg (ufrags are random: a clash is the control thread's bug), -EINVAL for a
 * bad length, or -ENOMEM. */
int udp_mux_add_ufrag(struct udp_mux *m, const char *ufrag, size_t len, struct leg *leg);
struct leg *udp_mux_find_ufrag(const struct udp_mux *m, const char *ufrag, size_t len);
/* Removes the mapping when it names `leg`. Returns true when something was removed. */
bool udp_mux_remove_ufrag(struct udp_mux *m, const char *ufrag, size_t len, const struct leg *leg);

/* Binds a validated remote address to `leg`, replacing any other leg's binding: the latest
 * valid check from an address decides where its datagrams go. Returns 0 or -ENOMEM. */
int udp_mux_bind_addr(struct udp_mux *m, const struct ice_addr *addr, struct leg *leg);
struct leg *udp_mux_find_addr(const struct udp_mux *m, const struct ice_addr *addr);
/* Unbinds `addr` when it is bound to `leg` (not when another leg took it over since). */
bool udp_mux_unbind_addr(struct udp_mux *m, const struct ice_addr *addr, const struct leg *leg);

/* The table key of a socket address, in the form struct ice_agent keeps (memcmp-comparable,
 * IPv4-mapped IPv6 kept as IPv6). Returns 0, or -EAFNOSUPPORT. */
int udp_mux_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct ice_addr *out);

/* Hands one received datagram to its leg (RFC 7983 §7 on the first byte: 0..3 STUN by
 * ufrag, 20..63 DTLS and 128..191 RTP/RTCP by source address) or drops and counts it.
 * `buf` holds `len` bytes and has room for `cap`; SRTP is unprotected and protected in place,
 * so `cap` should leave SRTP_SESSION_RTP_TRAILER_ROOM past the largest datagram. Returns the
 * leg it went to, or NULL when dropped here. */
struct leg *udp_mux_dispatch(struct udp_mux *m, const struct leg_io *io, uint64_t now_us,
                             uint8_t *buf, size_t len, size_t cap, const struct sockaddr *from,
                             socklen_t from_len);

#endif
