#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "balie/timer_heap.h"

#define N 257

/* Every entry's index points at itself, and no child is due before its parent. */
static void check_shape(const struct timer_heap *h)
{
    for (size_t i = 0; i < h->count; i++) {
        cr_assert_eq(h->items[i]->index, i, "entry %zu does not know its place", i);
        if (i > 0)
            cr_assert_leq(h->items[(i - 1) / 2]->due_us, h->items[i]->due_us,
                          "entry %zu is due before its parent", i);
    }
}

/* The earliest deadline of the entries the model says are in the heap. */
static uint64_t model_first(const struct timer_entry *e, const int *in, size_t n)
{
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (in[i] && e[i].due_us < best)
            best = e[i].due_us;
    return best;
}

Test(timer_heap, empty_heap_has_no_first)
{
    struct timer_heap h;
    timer_heap_init(&h);
    cr_assert_null(timer_heap_first(&h));
    struct timer_entry e;
    timer_entry_init(&e);
    timer_heap_remove(&h, &e); /* not in: nothing happens */
    cr_assert_eq(e.index, TIMER_HEAP_NOWHERE);
    timer_heap_free(&h);
}

Test(timer_heap, hands_out_deadlines_in_order)
{
    struct timer_heap h;
    timer_heap_init(&h);
    static struct timer_entry e[N];
    srand(7);
    for (size_t i = 0; i < N; i++) {
        timer_entry_init(&e[i]);
        cr_assert_eq(timer_heap_set(&h, &e[i], (uint64_t)(rand() % 1000)), 0);
    }
    check_shape(&h);
    uint64_t last = 0;
    for (size_t i = 0; i < N; i++) {
        struct timer_entry *first = timer_heap_first(&h);
        cr_assert_not_null(first);
        cr_assert_geq(first->due_us, last);
        last = first->due_us;
        timer_heap_remove(&h, first);
        cr_assert_eq(first->index, TIMER_HEAP_NOWHERE);
    }
    cr_assert_null(timer_heap_first(&h));
    timer_heap_free(&h);
}

/* Random moves, inserts and removals, checked against a plain array after every step. */
Test(timer_heap, random_operations_match_a_model)
{
    struct timer_heap h;
    timer_heap_init(&h);
    static struct timer_entry e[N];
    int in[N] = {0};
    for (size_t i = 0; i < N; i++)
        timer_entry_init(&e[i]);
    srand(11);
    for (int step = 0; step < 20000; step++) {
        size_t i = (size_t)rand() % N;
        if (rand() % 4 == 0) {
            timer_heap_remove(&h, &e[i]);
            in[i] = 0;
        } else {
            cr_assert_eq(timer_heap_set(&h, &e[i], (uint64_t)(rand() % 5000)), 0);
            in[i] = 1;
        }
        size_t count = 0;
        for (size_t k = 0; k < N; k++)
            count += (size_t)in[k];
        cr_assert_eq(h.count, count);
        struct timer_entry *first = timer_heap_first(&h);
        if (count == 0)
            cr_assert_null(first);
        else
            cr_assert_eq(first->due_us, model_first(e, in, N), "step %d", step);
        if (step % 97 == 0)
            check_shape(&h);
    }
    check_shape(&h);
    timer_heap_free(&h);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(e[i].index, TIMER_HEAP_NOWHERE, "freeing the heap forgets its entries");
}

Test(timer_heap, reserve_grows_once)
{
    struct timer_heap h;
    timer_heap_init(&h);
    cr_assert_eq(timer_heap_reserve(&h, 1000), 0);
    cr_assert_geq(h.cap, 1000);
    struct timer_entry **items = h.items;
    static struct timer_entry e[1000];
    for (size_t i = 0; i < 1000; i++) {
        timer_entry_init(&e[i]);
        cr_assert_eq(timer_heap_set(&h, &e[i], 1000 - i), 0);
    }
    cr_assert_eq(h.items, items, "no reallocation after a reserve");
    cr_assert_eq(timer_heap_first(&h)->due_us, 1);
    timer_heap_free(&h);
}
