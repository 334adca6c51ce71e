/* gateway/srtp_replay.c: RFC 3711 §3.3.1 index estimation (Appendix A) and the §3.3.2
 * replay window. */
#include <criterion/criterion.h>
#include <errno.h>

#include "srtp_replay.h"

static struct srtp_replay at(uint64_t top)
{
    struct srtp_replay r = {0};
    srtp_replay_add(&r, top);
    return r;
}

static uint64_t estimate(const struct srtp_replay *r, uint16_t seq)
{
    uint64_t index = 0;
    cr_assert_eq(srtp_replay_estimate(r, seq, &index), 0, "seq %u", seq);
    return index;
}

Test(srtp_replay, first_packet_has_roc_zero)
{
    struct srtp_replay r = {0};
    cr_assert_eq(estimate(&r, 0), 0);
    cr_assert_eq(estimate(&r, 65535), 65535);
    cr_assert_eq(srtp_replay_check(&r, 12345), 0);
}

/* Appendix A: s_l < 2^15 looks back one ROC for seq more than 2^15 above; s_l >= 2^15 looks
 * forward one ROC for seq more than 2^15 below. */
Test(srtp_replay, appendix_a_estimation)
{
    struct srtp_replay r = at((UINT64_C(5) << 16) | 100);
    cr_assert_eq(estimate(&r, 101), (UINT64_C(5) << 16) | 101);
    cr_assert_eq(estimate(&r, 32868), (UINT64_C(5) << 16) | 32868, "exactly 2^15 above");
    cr_assert_eq(estimate(&r, 32869), (UINT64_C(4) << 16) | 32869, "beyond: the last ROC");
    cr_assert_eq(estimate(&r, 65535), (UINT64_C(4) << 16) | 65535);

    r = at((UINT64_C(5) << 16) | 65000);
    cr_assert_eq(estimate(&r, 64000), (UINT64_C(5) << 16) | 64000);
    cr_assert_eq(estimate(&r, 32232), (UINT64_C(5) << 16) | 32232, "exactly 2^15 below");
    cr_assert_eq(estimate(&r, 32231), (UINT64_C(6) << 16) | 32231, "beyond: the next ROC");
    cr_assert_eq(estimate(&r, 0), (UINT64_C(6) << 16) | 0);
}

Test(srtp_replay, estimation_at_the_ends)
{
    uint64_t index;
    struct srtp_replay r = at(10); /* ROC 0: nothing before it */
    cr_assert_eq(srtp_replay_estimate(&r, 60000, &index), -EALREADY);
    r = at(SRTP_REPLAY_MAX_INDEX - 5); /* ROC 2^32 - 1: the key is used up */
    cr_assert_eq(srtp_replay_estimate(&r, 3, &index), -EPROTO);
    cr_assert_eq(estimate(&r, 65535), SRTP_REPLAY_MAX_INDEX);
}

Test(srtp_replay, window)
{
    struct srtp_replay r = {0};
    srtp_replay_add(&r, 5000);
    cr_assert_eq(srtp_replay_check(&r, 5000), -EALREADY);
    cr_assert_eq(srtp_replay_check(&r, 5001), 0);
    cr_assert_eq(srtp_replay_check(&r, 4999), 0);
    cr_assert_eq(srtp_replay_check(&r, 5000 - 1023), 0);
    cr_assert_eq(srtp_replay_check(&r, 5000 - 1024), -EALREADY);
    srtp_replay_add(&r, 4000);
    cr_assert_eq(srtp_replay_check(&r, 4000), -EALREADY);
    cr_assert_eq(r.top, 5000, "a late packet does not move the top");

    /* Moving up by less than the window keeps what is still inside it. */
    srtp_replay_add(&r, 5010);
    cr_assert_eq(srtp_replay_check(&r, 5000), -EALREADY);
    cr_assert_eq(srtp_replay_check(&r, 4000), -EALREADY);
    cr_assert_eq(srtp_replay_check(&r, 5005), 0);
    cr_assert_eq(srtp_replay_check(&r, 5010 - 1023), 0, "its bit was cleared on the way up");

    /* A jump of a whole window forgets everything below. */
    srtp_replay_add(&r, 5010 + 1024);
    cr_assert_eq(srtp_replay_check(&r, 5010), -EALREADY);
    cr_assert_eq(srtp_replay_check(&r, 5011), 0);
    cr_assert_eq(srtp_replay_check(&r, 5010 + 1024), -EALREADY);
}

/* Every index in a long run, each once, in a shuffled order inside the window: each accepted
 * exactly once. */
Test(srtp_replay, shuffled_run)
{
    struct srtp_replay r = {0};
    uint64_t base = (UINT64_C(3) << 16) + 65000;
    for (uint64_t block = 0; block < 50; block++) {
        for (uint64_t k = 0; k < 256; k++) {
            uint64_t index = base + block * 256 + ((k * 97) % 256);
            cr_assert_eq(srtp_replay_check(&r, index), 0, "%llu", (unsigned long long)index);
            srtp_replay_add(&r, index);
            cr_assert_eq(srtp_replay_check(&r, index), -EALREADY);
        }
    }
    for (uint64_t i = r.top - 1023; i <= r.top; i++)
        cr_assert_eq(srtp_replay_check(&r, i), -EALREADY);
}
