/* A binary min-heap of deadlines, for a media worker's leg timers.
 *
 * A worker holds hundreds of legs, each with its own next deadline (RTCP report, consent,
 * DTLS retransmission, hold playback). Walking every leg whenever the earliest one is due costs
 * N legs times N deadlines a second; the heap hands out only the legs that are due, each in
 * O(log N). An entry lives inside its owner (struct leg) and knows its own place in the heap,
 * so moving or removing it needs no search.
 *
 * Threads: one heap belongs to one thread. */
#ifndef BALIE_TIMER_HEAP_H
#define BALIE_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define TIMER_HEAP_NOWHERE SIZE_MAX /* timer_entry.index of an entry not in a heap */

struct timer_entry {
    uint64_t due_us;
    size_t index; /* its place in the heap, or TIMER_HEAP_NOWHERE */
};

struct timer_heap {
    struct timer_entry **items;
    size_t count, cap;
};

/* An entry not in any heap yet. */
void timer_entry_init(struct timer_entry *e);

void timer_heap_init(struct timer_heap *h);
void timer_heap_free(struct timer_heap *h);

/* Makes room for `n` entries in all, so that timer_heap_set cannot fail for them later (a
 * worker reserves when it creates a leg, where an error can still be reported). Returns 0 or
 * -ENOMEM. */
int timer_heap_reserve(struct timer_heap *h, size_t n);

/* Puts `e` in the heap at `due_us`, or moves it there if it is in already. Returns 0, or
 * -ENOMEM when it was not in the heap and there is no room (never after timer_heap_reserve). */
int timer_heap_set(struct timer_heap *h, struct timer_entry *e, uint64_t due_us);

/* Takes `e` out; nothing happens when it is not in. */
void timer_heap_remove(struct timer_heap *h, struct timer_entry *e);

/* The entry due first, or NULL when the heap is empty. */
struct timer_entry *timer_heap_first(const struct timer_heap *h);

#endif
