/* X-Forwarded-For is believed only from trusted proxies (signaling/clientaddr.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "clientaddr.h"

static const char *resolve(const char *peer, const char *xff, const char *trusted)
{
    static char out[64];
    clientaddr_resolve(peer, (const uint8_t *)xff, xff ? strlen(xff) : 0, trusted, out,
                       sizeof(out));
    return out;
}

Test(clientaddr, an_untrusted_peer_cannot_name_another_client)
{
    cr_assert_str_eq(resolve("203.0.113.9", "198.51.100.1", ""), "203.0.113.9");
    cr_assert_str_eq(resolve("203.0.113.9", "198.51.100.1", "10.0.0.1"), "203.0.113.9");
    cr_assert_str_eq(resolve("203.0.113.9", NULL, "203.0.113.9"), "203.0.113.9");
}

Test(clientaddr, a_trusted_proxy_names_the_client)
{
    cr_assert_str_eq(resolve("10.0.0.1", "198.51.100.7", "10.0.0.1"), "198.51.100.7");
    cr_assert_str_eq(resolve("::ffff:10.0.0.1", " 198.51.100.7 ", "10.0.0.1"), "198.51.100.7");
    cr_assert_str_eq(resolve("10.0.0.1", "2001:db8::1", "10.0.0.1, ::1"), "2001:db8::1");
}

Test(clientaddr, the_rightmost_untrusted_entry_wins)
{
    /* The client sent "1.2.3.4" itself: only what the proxies appended counts. */
    cr_assert_str_eq(resolve("10.0.0.1", "1.2.3.4, 198.51.100.7", "10.0.0.1"), "198.51.100.7");
    /* Two proxies in a row, both trusted. */
    cr_assert_str_eq(resolve("10.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.2", "10.0.0.1,10.0.0.2"),
                     "198.51.100.7");
    /* Only trusted proxies: the leftmost is as far as we can see. */
    cr_assert_str_eq(resolve("10.0.0.1", "10.0.0.2", "10.0.0.1 10.0.0.2"), "10.0.0.2");
}

Test(clientaddr, malformed_headers_keep_the_peer)
{
    cr_assert_str_eq(resolve("10.0.0.1", "not-an-address", "10.0.0.1"), "10.0.0.1");
    cr_assert_str_eq(resolve("10.0.0.1", "", "10.0.0.1"), "10.0.0.1");
    cr_assert_str_eq(resolve("10.0.0.1", "198.51.100.7,", "10.0.0.1"), "10.0.0.1");
    cr_assert_str_eq(resolve("10.0.0.1", "1.2.3.4:5678", "10.0.0.1"), "10.0.0.1");
    static char huge[2000];
    memset(huge, '1', sizeof(huge) - 1);
    cr_assert_str_eq(resolve("10.0.0.1", huge, "10.0.0.1"), "10.0.0.1");
    char with_nul[] = "1.2.3.4\0.5";
    char out[64];
    clientaddr_resolve("10.0.0.1", (const uint8_t *)with_nul, sizeof(with_nul) - 1, "10.0.0.1", out,
                       sizeof(out));
    cr_assert_str_eq(out, "10.0.0.1");
}

Test(clientaddr, lists_compare_addresses_not_text)
{
    cr_assert(clientaddr_in_list("::1", "0:0:0:0:0:0:0:1"));
    cr_assert(clientaddr_in_list("::ffff:192.0.2.1", "192.0.2.1"));
    cr_assert_not(clientaddr_in_list("192.0.2.10", "192.0.2.1"));
    cr_assert_not(clientaddr_in_list("garbage", "garbage"));
    cr_assert_not(clientaddr_in_list("192.0.2.1", ""));
}
