#include "balie/timer_heap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

void timer_entry_init(struct timer_entry *e)
{
    e->due_us = UINT64_MAX;
    e->index = TIMER_HEAP_NOWHERE;
}

void timer_heap_init(struct timer_heap *h)
{
    h->items = NULL;
    h->count = h->cap = 0;
}

void timer_heap_free(struct timer_heap *h)
{
    for (size_t i = 0; i < h->count; i++)
        h->items[i]->index = TIMER_HEAP_NOWHERE;
    free(h->items);
    timer_heap_init(h);
}

int timer_heap_reserve(struct timer_heap *h, size_t n)
{
    if (n <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 64;
    while (cap < n) {
        if (cap > SIZE_MAX / 2 / sizeof(struct timer_entry *))
            return -ENOMEM;
        cap *= 2;
    }
    struct timer_entry **items = realloc(h->items, cap * sizeof(struct timer_entry *));
    if (!items)
        return -ENOMEM;
    h->items = items;
    h->cap = cap;
    return 0;
}

static void place(struct timer_heap *h, size_t i, struct timer_entry *e)
{
    h->items[i] = e;
    e->index = i;
}

/* Moves the entry at `i` towards the root while it is due before its parent. */
static void sift_up(struct timer_heap *h, size_t i)
{
    struct timer_entry *e = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->due_us <= e->due_us)
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, e);
}

/* Moves the entry at `i` towards the leaves while a child is due before it. */
static void sift_down(struct timer_heap *h, size_t i)
{
    struct timer_entry *e = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && h->items[child + 1]->due_us < h->items[child]->due_us)
            child++;
        if (e->due_us <= h->items[child]->due_us)
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, e);
}

int timer_heap_set(struct timer_heap *h, struct timer_entry *e, uint64_t due_us)
{
    if (e->index == TIMER_HEAP_NOWHERE) {
        if (h->count == h->cap) {
            int rc = timer_heap_reserve(h, h->count + 1);
            if (rc != 0)
                return rc;
        }
        e->due_us = due_us;
        place(h, h->count++, e);
        sift_up(h, e->index);
        return 0;
    }
    bool earlier = due_us < e->due_us;
    e->due_us = due_us;
    if (earlier)
        sift_up(h, e->index);
    else
        sift_down(h, e->index);
    return 0;
}

void timer_heap_remove(struct timer_heap *h, struct timer_entry *e)
{
    size_t i = e->index;
    if (i == TIMER_HEAP_NOWHERE || i >= h->count || h->items[i] != e)
        return;
    e->index = TIMER_HEAP_NOWHERE;
    struct timer_entry *last = h->items[--h->count];
    if (last == e)
        return;
    /* The last entry takes the hole and goes whichever way its deadline sends it. */
    place(h, i, last);
    if (i > 0 && h->items[(i - 1) / 2]->due_us > last->due_us)
        sift_up(h, i);
    else
        sift_down(h, i);
}

struct timer_entry *timer_heap_first(const struct timer_heap *h)
{
    return h->count ? h->items[0] : NULL;
}
