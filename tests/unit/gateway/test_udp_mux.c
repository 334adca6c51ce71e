#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balie/stun.h"
#include "balie/udp_mux.h"

/* The tables never look inside a leg: any distinct pointers do. */
static struct leg *fake_leg(uintptr_t i)
{
    return (struct leg *)(0x10000 + 16 * i);
}

static struct ice_addr v4(uint32_t ip, uint16_t port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(ip);
    struct ice_addr a;
    cr_assert_eq(udp_mux_addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin), &a), 0);
    return a;
}

static struct ice_addr v6(uint16_t last, uint16_t port)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, "2001:db8::", &sin6.sin6_addr);
    sin6.sin6_addr.s6_addr[14] = (uint8_t)(last >> 8);
    sin6.sin6_addr.s6_addr[15] = (uint8_t)last;
    struct ice_addr a;
    cr_assert_eq(udp_mux_addr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &a), 0);
    return a;
}

Test(udp_mux, ufrags_insert_find_remove)
{
    struct udp_mux m;
    udp_mux_init(&m);
    cr_assert_null(udp_mux_find_ufrag(&m, "abcd", 4), "an empty table finds nothing");
    cr_assert_eq(udp_mux_add_ufrag(&m, "abcd", 4, fake_leg(1)), 0);
    cr_assert_eq(udp_mux_add_ufrag(&m, "abcde", 5, fake_leg(2)), 0);
    cr_assert_eq(udp_mux_find_ufrag(&m, "abcd", 4), fake_leg(1));
    cr_assert_eq(udp_mux_find_ufrag(&m, "abcde", 5), fake_leg(2));
    cr_assert_null(udp_mux_find_ufrag(&m, "abc", 3));
    cr_assert_null(udp_mux_find_ufrag(&m, "ABCD", 4), "ufrags are case-sensitive");
    cr_assert_eq(udp_mux_add_ufrag(&m, "abcd", 4, fake_leg(3)), -EEXIST);
    cr_assert_eq(udp_mux_find_ufrag(&m, "abcd", 4), fake_leg(1), "a clash changes nothing");
    cr_assert_not(udp_mux_remove_ufrag(&m, "abcd", 4, fake_leg(3)), "only the owner removes");
    cr_assert(udp_mux_remove_ufrag(&m, "abcd", 4, fake_leg(1)));
    cr_assert_null(udp_mux_find_ufrag(&m, "abcd", 4));
    cr_assert_not(udp_mux_remove_ufrag(&m, "abcd", 4, fake_leg(1)));
    cr_assert_eq(m.ufrags.count, 1);
    udp_mux_free(&m);
}

Test(udp_mux, ufrag_lengths)
{
    struct udp_mux m;
    udp_mux_init(&m);
    char longest[UDP_MUX_UFRAG_MAX + 1];
    memset(longest, 'x', sizeof(longest));
    cr_assert_eq(udp_mux_add_ufrag(&m, longest, UDP_MUX_UFRAG_MAX, fake_leg(1)), 0);
    cr_assert_eq(udp_mux_add_ufrag(&m, longest, UDP_MUX_UFRAG_MAX + 1, fake_leg(2)), -EINVAL);
    cr_assert_eq(udp_mux_add_ufrag(&m, longest, 0, fake_leg(2)), -EINVAL);
    cr_assert_eq(udp_mux_add_ufrag(&m, NULL, 4, fake_leg(2)), -EINVAL);
    cr_assert_eq(udp_mux_add_ufrag(&m, "abcd", 4, NULL), -EINVAL);
    cr_assert_null(udp_mux_find_ufrag(&m, longest, UDP_MUX_UFRAG_MAX + 1));
    cr_assert_eq(udp_mux_find_ufrag(&m, longest, UDP_MUX_UFRAG_MAX), fake_leg(1));
    /* A prefix or an embedded NUL is another key. */
    cr_assert_null(udp_mux_find_ufrag(&m, longest, UDP_MUX_UFRAG_MAX - 1));
    cr_assert_eq(udp_mux_add_ufrag(&m, "ab\0d", 4, fake_leg(3)), 0);
    cr_assert_null(udp_mux_find_ufrag(&m, "ab", 2));
    cr_assert_eq(udp_mux_find_ufrag(&m, "ab\0d", 4), fake_leg(3));
    udp_mux_free(&m);
}

Test(udp_mux, addresses_v4_and_v6)
{
    struct udp_mux m;
    udp_mux_init(&m);
    struct ice_addr a = v4(0x7f000001, 5000), b = v4(0x7f000001, 5001), c = v6(1, 5000);
    struct ice_addr d = v6(1, 5001), e = v4(0x7f000002, 5000);
    cr_assert_eq(udp_mux_bind_addr(&m, &a, fake_leg(1)), 0);
    cr_assert_eq(udp_mux_bind_addr(&m, &c, fake_leg(2)), 0);
    cr_assert_eq(udp_mux_find_addr(&m, &a), fake_leg(1));
    cr_assert_eq(udp_mux_find_addr(&m, &c), fake_leg(2));
    cr_assert_null(udp_mux_find_addr(&m, &b), "another port");
    cr_assert_null(udp_mux_find_addr(&m, &d));
    cr_assert_null(udp_mux_find_addr(&m, &e), "another host");
    /* The latest valid check decides. */
    cr_assert_eq(udp_mux_bind_addr(&m, &a, fake_leg(3)), 0);
    cr_assert_eq(udp_mux_find_addr(&m, &a), fake_leg(3));
    cr_assert_eq(m.addrs.count, 2);
    cr_assert_not(udp_mux_unbind_addr(&m, &a, fake_leg(1)), "the old owner lost it");
    cr_assert_eq(udp_mux_find_addr(&m, &a), fake_leg(3));
    cr_assert(udp_mux_unbind_addr(&m, &a, fake_leg(3)));
    cr_assert_null(udp_mux_find_addr(&m, &a));
    udp_mux_free(&m);
}

Test(udp_mux, sockaddr_conversion)
{
    struct ice_addr a;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4242)};
    sin.sin_addr.s_addr = htonl(0x0a000001);
    cr_assert_eq(udp_mux_addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin), &a), 0);
    cr_assert_eq(a.family, AF_INET);
    cr_assert_eq(a.port, 4242);
    cr_assert_eq(a.ip[0], 10);
    cr_assert_eq(a.ip[3], 1);
    cr_assert_eq(a.ip[4], 0, "the rest stays zero so keys compare whole");
    cr_assert_eq(udp_mux_addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin) - 1, &a),
                 -EAFNOSUPPORT);
    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
    inet_pton(AF_INET6, "::ffff:10.0.0.1", &mapped.sin6_addr);
    cr_assert_eq(udp_mux_addr_from_sockaddr((struct sockaddr *)&mapped, sizeof(mapped), &a), 0);
    cr_assert_eq(a.family, AF_INET6, "kept as the dual-stack socket reports it, as ICE does");
    struct sockaddr sa = {.sa_family = AF_UNIX};
    cr_assert_eq(udp_mux_addr_from_sockaddr(&sa, sizeof(sa), &a), -EAFNOSUPPORT);
    cr_assert_eq(udp_mux_addr_from_sockaddr(NULL, 0, &a), -EAFNOSUPPORT);
}

/* Thousands of entries, removed in an order that exercises backward shifts within clusters,
 * checked against a plain array after every step of the way. */
Test(udp_mux, many_entries_against_a_model)
{
    enum { N = 5000 };
    struct udp_mux m;
    udp_mux_init(&m);
    static struct ice_addr keys[N];
    static bool present[N];
    for (int i = 0; i < N; i++) {
        keys[i] = i % 3 ? v4(0xc0a80000u + (uint32_t)(i / 7), (uint16_t)(1000 + i % 7))
                        : v6((uint16_t)i, 443);
        cr_assert_eq(udp_mux_bind_addr(&m, &keys[i], fake_leg((uintptr_t)i)), 0);
        present[i] = true;
    }
    cr_assert_eq(m.addrs.count, N);
    cr_assert_leq(m.addrs.count * 2, m.addrs.cap, "the load stays at or below one half");
    unsigned seed = 12345;
    for (int round = 0; round < 4 * N; round++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % N);
        if (present[i]) {
            cr_assert(udp_mux_unbind_addr(&m, &keys[i], fake_leg((uintptr_t)i)));
        } else {
            cr_assert_eq(udp_mux_bind_addr(&m, &keys[i], fake_leg((uintptr_t)i)), 0);
        }
        present[i] = !present[i];
        if (round % 997 == 0) {
            size_t count = 0;
            for (int k = 0; k < N; k++) {
                struct leg *found = udp_mux_find_addr(&m, &keys[k]);
                cr_assert_eq(found, present[k] ? fake_leg((uintptr_t)k) : NULL, "key %d", k);
                count += present[k];
            }
            cr_assert_eq(m.addrs.count, count);
        }
    }
    udp_mux_free(&m);
}

Test(udp_mux, many_ufrags)
{
    enum { N = 3000 };
    struct udp_mux m;
    udp_mux_init(&m);
    char u[16];
    for (int i = 0; i < N; i++) {
        int n = snprintf(u, sizeof(u), "u%07d", i);
        cr_assert_eq(udp_mux_add_ufrag(&m, u, (size_t)n, fake_leg((uintptr_t)i)), 0);
    }
    for (int i = 0; i < N; i += 2) {
        int n = snprintf(u, sizeof(u), "u%07d", i);
        cr_assert(udp_mux_remove_ufrag(&m, u, (size_t)n, fake_leg((uintptr_t)i)));
    }
    for (int i = 0; i < N; i++) {
        int n = snprintf(u, sizeof(u), "u%07d", i);
        cr_assert_eq(udp_mux_find_ufrag(&m, u, (size_t)n), i % 2 ? fake_leg((uintptr_t)i) : NULL);
    }
    cr_assert_eq(m.ufrags.count, N / 2);
    udp_mux_free(&m);
}

/* The dispatcher drops and counts before any leg is involved. */
Test(udp_mux, dispatch_drops_the_unroutable)
{
    struct udp_mux m;
    udp_mux_init(&m);
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(9)};
    from.sin_addr.s_addr = htonl(0x7f000001);
    const struct sockaddr *sa = (const struct sockaddr *)&from;
    uint8_t buf[256];
    memset(buf, 0, sizeof(buf));

    buf[0] = 0x80; /* RTP from an address nobody bound */
    cr_assert_null(udp_mux_dispatch(&m, NULL, 0, buf, 100, sizeof(buf), sa, sizeof(from)));
    buf[0] = 22; /* DTLS likewise */
    cr_assert_null(udp_mux_dispatch(&m, NULL, 0, buf, 100, sizeof(buf), sa, sizeof(from)));
    cr_assert_eq(m.counters.unknown_address, 2);

    buf[0] = 0x00; /* STUN range but no STUN header */
    cr_assert_null(udp_mux_dispatch(&m, NULL, 0, buf, 100, sizeof(buf), sa, sizeof(from)));
    cr_assert_eq(m.counters.malformed_stun, 1);

    /* A real Binding request naming a ufrag nobody has. */
    uint8_t txid[12] = {1};
    struct stun_binding_params bp = {.username = "nobody:br01",
                                     .key = (const uint8_t *)"pwd",
                                     .key_len = 3,
                                     .priority = 1,
                                     .controlling = true};
    int n = stun_build_binding_request(buf, sizeof(buf), txid, &bp);
    cr_assert_gt(n, 0);
    cr_assert_null(udp_mux_dispatch(&m, NULL, 0, buf, (size_t)n, sizeof(buf), sa, sizeof(from)));
    cr_assert_eq(m.counters.unknown_ufrag, 1);

    /* RFC 7983: 4..19, 64..127 and 192..255 are nothing we serve. */
    const uint8_t firsts[] = {4, 19, 64, 79, 127, 192, 255};
    for (size_t i = 0; i < sizeof(firsts); i++) {
        buf[0] = firsts[i];
        cr_assert_null(udp_mux_dispatch(&m, NULL, 0, buf, 100, sizeof(buf), sa, sizeof(from)));
    }
    cr_assert_eq(m.counters.not_demultiplexed, sizeof(firsts));
    cr_assert_null(udp_mux_dispatch(&m, NULL, 0, buf, 0, sizeof(buf), sa, sizeof(from)));
    cr_assert_eq(m.counters.stun + m.counters.dtls + m.counters.media, 0);
    udp_mux_free(&m);
}
