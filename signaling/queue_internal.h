/* What queue.c (joining, agents, accepting, transfers) and queue_order.c (lanes, positions,
 * estimates, views) share. Not a public face; control thread only. */
#ifndef BALIE_SIGNALING_QUEUE_INTERNAL_H
#define BALIE_SIGNALING_QUEUE_INTERNAL_H

#include "balie/queue.h"

struct service {
    char id[QUEUE_ID_MAX + 1];
    enum identity_loa min_loa;
    uint32_t history[QUEUE_HISTORY_LEN]; /* a ring of the last talk durations */
    uint32_t history_count;
    uint32_t history_next;
    uint64_t history_sum;
};

struct entry {
    struct entry *prev, *next; /* join order; serving order is computed (queue_order.c) */
    char call[QUEUE_CALL_ID_LEN + 1];
    char appointment[QUEUE_ID_MAX + 1];
    char assigned[QUEUE_AGENT_ID_MAX + 1]; /* "" for any agent */
    uint64_t citizen;
    uint64_t joined_ms;
    uint64_t seq;                /* join order, to break ties between equal join times */
    uint64_t due_ms;             /* an appointment's turn */
    uint64_t exclusive_until_ms; /* `assigned` alone may take it until then */
    uint64_t lane_seq;           /* order within the urgent and transfer lanes */
    int64_t slot_start_ms;       /* carried for display only */
    bool urgent, transferred;
    size_t service;
    enum identity_loa loa;
    struct queue_note notes[QUEUE_NOTES_MAX];
    size_t note_count;
};

struct agent {
    uint64_t handle;
    char id[QUEUE_AGENT_ID_MAX + 1];
    bool available;
    bool all_services;
    uint64_t services;  /* bit i: takes service i */
    struct entry *held; /* the call it took, out of the line, while busy */
};

struct queue {
    struct queue_config cfg;
    struct service services[QUEUE_MAX_SERVICES];
    size_t service_count;
    struct entry *head, *tail; /* waiting calls in join order */
    size_t waiting;
    struct agent *agents;
    size_t agent_count, agent_cap;
    uint64_t generation;
    uint64_t next_seq;
    uint64_t now_ms; /* the last time given */
};

/* queue_order.c */
enum queue_lane queue_lane_of(const struct entry *e, uint64_t now_ms);
bool queue_ranks_before(const struct entry *a, const struct entry *b, uint64_t now_ms);
bool queue_agent_takes(const struct agent *a, size_t service);
/* Whether `a` may take `e` now: an assigned call is its agent's alone until the window ends. */
bool queue_agent_may_take(const struct agent *a, const struct entry *e, uint64_t now_ms);
/* Agents present for `service`, busy or not: the ones working its line. */
uint32_t queue_agents_for(const struct queue *q, size_t service);
/* The first call in serving order that `a` may take, skipping early appointments, or NULL. */
struct entry *queue_next_for(const struct queue *q, const struct agent *a);
struct entry *queue_find_entry(const struct queue *q, const char *call_id);
uint32_t queue_waited_s(uint64_t joined_ms, uint64_t now_ms);

#endif
