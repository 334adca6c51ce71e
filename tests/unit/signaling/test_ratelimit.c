/* The failure limiter (signaling/ratelimit.c). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "ratelimit.h"

static struct ratelimit rl;

Test(ratelimit, ten_failures_a_minute_then_blocked)
{
    ratelimit_init(&rl, 10, 60000);
    for (int i = 0; i < 10; i++) {
        cr_assert_not(ratelimit_blocked(&rl, "192.0.2.1", 1000), "after %d", i);
        ratelimit_fail(&rl, "192.0.2.1", 1000 + (uint64_t)i);
    }
    cr_assert(ratelimit_blocked(&rl, "192.0.2.1", 2000));
    cr_assert_not(ratelimit_blocked(&rl, "192.0.2.2", 2000), "another address is free");
    cr_assert(ratelimit_blocked(&rl, "192.0.2.1", 60999));
    cr_assert_not(ratelimit_blocked(&rl, "192.0.2.1", 61000), "a new window");
    ratelimit_fail(&rl, "192.0.2.1", 61000);
    cr_assert_not(ratelimit_blocked(&rl, "192.0.2.1", 61001), "counting starts again");
}

Test(ratelimit, many_addresses_reuse_the_oldest_slot)
{
    ratelimit_init(&rl, 2, 60000);
    ratelimit_fail(&rl, "victim", 0);
    ratelimit_fail(&rl, "victim", 0);
    cr_assert(ratelimit_blocked(&rl, "victim", 1));
    char key[32];
    for (int i = 0; i < RATELIMIT_SLOTS; i++) {
        snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
        ratelimit_fail(&rl, key, 10 + (uint64_t)i);
    }
    cr_assert_not(ratelimit_blocked(&rl, "victim", 20000), "its slot was reused");
    cr_assert_not(ratelimit_blocked(&rl, "10.0.0.5", 20000), "one failure is under the limit");
}
