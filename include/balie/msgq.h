/* A bounded, lock-free, single-producer single-consumer queue of fixed-size messages.
 *
 * The control thread and each media worker talk only through two of these (commands in,
 * events out; DESIGN.md §2). Exactly one thread may push and exactly one may pop. */
#ifndef BALIE_MSGQ_H
#define BALIE_MSGQ_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct msgq {
    alignas(64) atomic_size_t head; /* next slot to pop; written by the consumer */
    alignas(64) atomic_size_t tail; /* next slot to push; written by the producer */
    alignas(64) size_t mask;
    size_t slot_size;
    unsigned char *slots;
};

/* `capacity` must be a power of two >= 2. Returns 0, or -EINVAL / -ENOMEM. */
int msgq_init(struct msgq *q, size_t capacity, size_t slot_size);
void msgq_free(struct msgq *q);

/* Copies `slot_size` bytes from `msg`. Returns false when the queue is full. Producer only. */
bool msgq_push(struct msgq *q, const void *msg);

/* Copies the oldest message to `out`. Returns false when the queue is empty. Consumer only. */
bool msgq_pop(struct msgq *q, void *out);

/* True when a push would succeed now. Exact for the producer (space only grows under it). */
bool msgq_has_room(struct msgq *q);

/* A snapshot; exact only when neither side is running. */
size_t msgq_length(struct msgq *q);

#endif
