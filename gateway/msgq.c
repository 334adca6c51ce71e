#include "balie/msgq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int msgq_init(struct msgq *q, size_t capacity, size_t slot_size)
{
    if (capacity < 2 || (capacity & (capacity - 1)) != 0 || slot_size == 0)
        return -EINVAL;
    q->slots = calloc(capacity, slot_size);
    if (!q->slots)
        return -ENOMEM;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    q->mask = capacity - 1;
    q->slot_size = slot_size;
    return 0;
}

void msgq_free(struct msgq *q)
{
    free(q->slots);
    q->slots = NULL;
}

bool msgq_push(struct msgq *q, const void *msg)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if (tail - head > q->mask)
        return false;
    memcpy(q->slots + (tail & q->mask) * q->slot_size, msg, q->slot_size);
    /* Release: the consumer that sees the new tail also sees the slot's bytes. */
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
    return true;
}

bool msgq_pop(struct msgq *q, void *out)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (head == tail)
        return false;
    memcpy(out, q->slots + (head & q->mask) * q->slot_size, q->slot_size);
    /* Release: the producer may reuse the slot only after we copied it out. */
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    return true;
}

bool msgq_has_room(struct msgq *q)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    return tail - head <= q->mask;
}

size_t msgq_length(struct msgq *q)
{
    return atomic_load(&q->tail) - atomic_load(&q->head);
}
