#include "balie/udp_mux.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "balie/leg.h"
#include "balie/stun.h"

/* One slot: the leg, the key's hash (to skip most key compares and to rehash without
 * rehashing), and the key bytes. The stride rounds it up to the pointer's alignment. */
struct slot {
    struct leg *leg;
    uint32_t hash;
    uint32_t used;
    unsigned char key[];
};

/* A ufrag key: its length, then the characters zero-padded, so keys compare with memcmp. */
struct ufrag_key {
    uint8_t len;
    char text[UDP_MUX_UFRAG_MAX];
};

#define MIN_CAP 16

static void table_init(struct udp_mux_table *t, size_t key_size)
{
    memset(t, 0, sizeof(*t));
    t->key_size = key_size;
    size_t a = alignof(struct slot);
    t->stride = (sizeof(struct slot) + key_size + a - 1) / a * a;
}

static struct slot *slot_at(const struct udp_mux_table *t, size_t i)
{
    return (struct slot *)(void *)(t->slots + i * t->stride);
}

/* FNV-1a over the key, then a 64-bit finaliser (MurmurHash3's fmix64) so that keys that
 * differ only in their last bytes (ports) still spread over the low bits the mask keeps. */
static uint32_t hash_key(const unsigned char *key, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= key[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* The index of the slot holding `key`, or of the empty slot where it would go. */
static size_t table_probe(const struct udp_mux_table *t, const unsigned char *key, uint32_t hash)
{
    size_t mask = t->cap - 1;
    size_t i = hash & mask;
    for (;;) {
        const struct slot *s = slot_at(t, i);
        if (!s->used || (s->hash == hash && memcmp(s->key, key, t->key_size) == 0))
            return i;
        i = (i + 1) & mask;
    }
}

static struct leg *table_find(const struct udp_mux_table *t, const unsigned char *key)
{
    if (t->count == 0)
        return NULL;
    const struct slot *s = slot_at(t, table_probe(t, key, hash_key(key, t->key_size)));
    return s->used ? s->leg : NULL;
}

/* Doubles the table (or makes the first one); the load stays at or below one half, which
 * keeps probe sequences short even for keys that miss. */
static int table_grow(struct udp_mux_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : MIN_CAP;
    unsigned char *slots = calloc(cap, t->stride);
    if (!slots)
        return -ENOMEM;
    struct udp_mux_table bigger = *t;
    bigger.slots = slots;
    bigger.cap = cap;
    for (size_t i = 0; i < t->cap; i++) {
        const struct slot *s = slot_at(t, i);
        if (s->used)
            memcpy(slot_at(&bigger, table_probe(&bigger, s->key, s->hash)), s, t->stride);
    }
    free(t->slots);
    *t = bigger;
    return 0;
}

/* Inserts or, with `replace`, overwrites. Returns 0, -EEXIST or -ENOMEM. */
static int table_put(struct udp_mux_table *t, const unsigned char *key, struct leg *leg,
                     bool replace)
{
    if ((t->count + 1) * 2 > t->cap) {
        int rc = table_grow(t);
        if (rc != 0)
            return rc;
    }
    uint32_t hash = hash_key(key, t->key_size);
    struct slot *s = slot_at(t, table_probe(t, key, hash));
    if (s->used) {
        if (!replace && s->leg != leg)
            return -EEXIST;
        s->leg = leg;
        return 0;
    }
    s->used = 1;
    s->hash = hash;
    s->leg = leg;
    memcpy(s->key, key, t->key_size);
    t->count++;
    return 0;
}

/* Removes the entry and shifts the rest of its cluster back (Knuth's algorithm R), so lookups
 * never meet a hole inside a cluster and no tombstones accumulate. */
static bool table_remove(struct udp_mux_table *t, const unsigned char *key, const struct leg *leg)
{
    if (t->count == 0)
        return false;
    size_t mask = t->cap - 1;
    size_t i = table_probe(t, key, hash_key(key, t->key_size));
    struct slot *hole = slot_at(t, i);
    if (!hole->used || hole->leg != leg)
        return false;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        struct slot *s = slot_at(t, j);
        if (!s->used)
            break;
        size_t home = s->hash & mask;
        /* `s` may move into the hole when its home is not cyclically in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        memcpy(slot_at(t, i), s, t->stride);
        i = j;
    }
    memset(slot_at(t, i), 0, t->stride);
    t->count--;
    return true;
}

void udp_mux_init(struct udp_mux *m)
{
    memset(m, 0, sizeof(*m));
    table_init(&m->ufrags, sizeof(struct ufrag_key));
    table_init(&m->addrs, sizeof(struct ice_addr));
}

void udp_mux_free(struct udp_mux *m)
{
    free(m->ufrags.slots);
    free(m->addrs.slots);
    udp_mux_init(m);
}

static bool ufrag_key(const char *ufrag, size_t len, struct ufrag_key *k)
{
    if (!ufrag || len == 0 || len > UDP_MUX_UFRAG_MAX)
        return false;
    memset(k, 0, sizeof(*k));
    k->len = (uint8_t)len;
    memcpy(k->text, ufrag, len);
    return true;
}

int udp_mux_add_ufrag(struct udp_mux *m, const char *ufrag, size_t len, struct leg *leg)
{
    struct ufrag_key k;
    if (!ufrag_key(ufrag, len, &k) || !leg)
        return -EINVAL;
    return table_put(&m->ufrags, (const unsigned char *)&k, leg, false);
}

struct leg *udp_mux_find_ufrag(const struct udp_mux *m, const char *ufrag, size_t len)
{
    struct ufrag_key k;
    if (!ufrag_key(ufrag, len, &k))
        return NULL;
    return table_find(&m->ufrags, (const unsigned char *)&k);
}

bool udp_mux_remove_ufrag(struct udp_mux *m, const char *ufrag, size_t len, const struct leg *leg)
{
    struct ufrag_key k;
    if (!ufrag_key(ufrag, len, &k))
        return false;
    return table_remove(&m->ufrags, (const unsigned char *)&k, leg);
}

int udp_mux_bind_addr(struct udp_mux *m, const struct ice_addr *addr, struct leg *leg)
{
    if (!addr || !leg)
        return -EINVAL;
    return table_put(&m->addrs, (const unsigned char *)addr, leg, true);
}

struct leg *udp_mux_find_addr(const struct udp_mux *m, const struct ice_addr *addr)
{
    return table_find(&m->addrs, (const unsigned char *)addr);
}

bool udp_mux_unbind_addr(struct udp_mux *m, const struct ice_addr *addr, const struct leg *leg)
{
    return table_remove(&m->addrs, (const unsigned char *)addr, leg);
}

int udp_mux_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct ice_addr *out)
{
    return ice_addr_from_sockaddr(sa, len, out);
}

/* A STUN datagram goes to the leg whose ufrag it names; failing that, to the leg its source
 * address is bound to, so a validated browser with stale credentials gets its 401 (ice.c).
 * Anything else with a STUN first byte is dropped here: we never answer strangers. */
static struct leg *find_stun_leg(struct udp_mux *m, const uint8_t *buf, size_t len,
                                 const struct ice_addr *from)
{
    struct stun_msg msg;
    if (!stun_looks_like(buf, len) || stun_parse(buf, len, &msg) != 0) {
        m->counters.malformed_stun++;
        return NULL;
    }
    char ufrag[UDP_MUX_UFRAG_MAX + 1];
    int n = stun_local_ufrag(&msg, ufrag, sizeof(ufrag));
    struct leg *leg = n > 0 ? udp_mux_find_ufrag(m, ufrag, (size_t)n) : NULL;
    if (!leg && from->family != 0)
        leg = udp_mux_find_addr(m, from);
    if (!leg)
        m->counters.unknown_ufrag++;
    return leg;
}

struct leg *udp_mux_dispatch(struct udp_mux *m, const struct leg_io *io, uint64_t now_us,
                             uint8_t *buf, size_t len, size_t cap, const struct sockaddr *from,
                             socklen_t from_len)
{
    struct ice_addr src;
    if (len == 0 || udp_mux_addr_from_sockaddr(from, from_len, &src) != 0) {
        m->counters.not_demultiplexed++;
        return NULL;
    }
    uint8_t first = buf[0];
    struct leg *leg;
    /* RFC 7983 §7. */
    if (first <= 3) {
        leg = find_stun_leg(m, buf, len, &src);
        if (!leg)
            return NULL;
        m->counters.stun++;
        leg_input_stun(leg, io, now_us, buf, len, from, from_len);
        return leg;
    }
    if ((first >= 20 && first <= 63) || (first >= 128 && first <= 191)) {
        leg = udp_mux_find_addr(m, &src);
        if (!leg) {
            m->counters.unknown_address++;
            return NULL;
        }
        if (first <= 63) {
            m->counters.dtls++;
            leg_input_dtls(leg, io, now_us, buf, len, from, from_len);
        } else {
            m->counters.media++;
            leg_input_srtp(leg, io, now_us, buf, len, cap);
        }
        return leg;
    }
    /* 4..19 (ZRTP), 64..79 (TURN channels: we are no TURN server), and everything else. */
    m->counters.not_demultiplexed++;
    return NULL;
}
