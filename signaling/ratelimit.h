/* Counts failures per client address in fixed windows, to slow down guessing. Internal to
 * signaling/; control thread only; time passed in. */
#ifndef BALIE_SIGNALING_RATELIMIT_H
#define BALIE_SIGNALING_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 512
#define RATELIMIT_KEY_MAX 64

struct ratelimit {
    unsigned limit;     /* failures allowed per window */
    uint64_t window_ms; /* the window starts at a key's first failure */
    struct {
        char key[RATELIMIT_KEY_MAX]; /* empty: free */
        uint64_t start_ms;
        unsigned failures;
    } slots[RATELIMIT_SLOTS];
};

void ratelimit_init(struct ratelimit *rl, unsigned limit, uint64_t window_ms);

/* True while `key` has used up its failures in the current window. */
bool ratelimit_blocked(const struct ratelimit *rl, const char *key, uint64_t now_ms);

/* Counts one failure for `key`. When every slot is in use, the slot whose window started
 * longest ago is reused: an attacker with many addresses can only free others' slots, not
 * gain attempts for one address. */
void ratelimit_fail(struct ratelimit *rl, const char *key, uint64_t now_ms);

#endif
