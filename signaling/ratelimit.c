#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

void ratelimit_init(struct ratelimit *rl, unsigned limit, uint64_t window_ms)
{
    memset(rl, 0, sizeof(*rl));
    rl->limit = limit;
    rl->window_ms = window_ms;
}

static bool window_over(const struct ratelimit *rl, size_t i, uint64_t now_ms)
{
    return now_ms < rl->slots[i].start_ms || now_ms - rl->slots[i].start_ms >= rl->window_ms;
}

static long find(const struct ratelimit *rl, const char *key)
{
    for (size_t i = 0; i < RATELIMIT_SLOTS; i++)
        if (rl->slots[i].key[0] && strncmp(rl->slots[i].key, key, RATELIMIT_KEY_MAX) == 0)
            return (long)i;
    return -1;
}

bool ratelimit_blocked(const struct ratelimit *rl, const char *key, uint64_t now_ms)
{
    long i = find(rl, key);
    return i >= 0 && !window_over(rl, (size_t)i, now_ms) && rl->slots[i].failures >= rl->limit;
}

void ratelimit_fail(struct ratelimit *rl, const char *key, uint64_t now_ms)
{
    long i = find(rl, key);
    if (i < 0) {
        size_t pick = 0;
        for (size_t k = 0; k < RATELIMIT_SLOTS; k++) {
            if (!rl->slots[k].key[0]) {
                pick = k;
                break;
            }
            if (rl->slots[k].start_ms < rl->slots[pick].start_ms)
                pick = k;
        }
        i = (long)pick;
        snprintf(rl->slots[i].key, RATELIMIT_KEY_MAX, "%s", key);
        rl->slots[i].failures = 0;
        rl->slots[i].start_ms = now_ms;
    } else if (window_over(rl, (size_t)i, now_ms)) {
        rl->slots[i].failures = 0;
        rl->slots[i].start_ms = now_ms;
    }
    rl->slots[i].failures++;
}
