/* Tests for signaling/queue.c: the waiting queue and agent matching. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "balie/queue.h"

/* Predictable call ids: the counter's value, big-endian, as 16 hex characters. */
static int counter_random(void *ctx, uint8_t *buf, size_t len)
{
    uint64_t *counter = ctx;
    uint64_t v = ++*counter;
    for (size_t i = 0; i < len; i++)
        buf[len - 1 - i] = (uint8_t)(v >> (8 * (i % 8)));
    return 0;
}

static uint64_t counter;
static struct queue *q;

static void setup(void)
{
    counter = 0;
    struct queue_config cfg = {.random = counter_random, .random_ctx = &counter};
    q = queue_new(&cfg);
    cr_assert_not_null(q);
    cr_assert_eq(queue_service_add(q, "paspoort", LOA_SUBSTANTIEEL), QUEUE_OK);
    cr_assert_eq(queue_service_add(q, "afval", LOA_BASIS), QUEUE_OK);
}

static void teardown(void)
{
    queue_free(q);
    q = NULL;
}

/* Joins and returns the call id in `id` (static storage per slot). */
static const char *join(uint64_t now_ms, const char *service, uint64_t citizen)
{
    static char ids[64][QUEUE_CALL_ID_LEN + 1];
    char *id = ids[citizen % 64];
    int rc = queue_join(q, now_ms, service, citizen, LOA_HOOG, NULL, id);
    cr_assert_eq(rc, QUEUE_OK, "join %s: %s", service, queue_result_name(rc));
    return id;
}

static uint32_t position(const char *call)
{
    uint32_t p = 0;
    int rc = queue_position(q, call, &p);
    cr_assert_eq(rc, QUEUE_OK, "position: %s", queue_result_name(rc));
    return p;
}

static int32_t eta(const char *call)
{
    int32_t s = -2;
    int rc = queue_estimated_wait_s(q, call, &s);
    cr_assert_eq(rc, QUEUE_OK, "eta: %s", queue_result_name(rc));
    return s;
}

static void agent(uint64_t handle, bool available, const char *only_service)
{
    const char *services[] = {only_service};
    int rc =
        queue_agent_set(q, handle, available, only_service ? services : NULL, only_service ? 1 : 0);
    cr_assert_eq(rc, QUEUE_OK, "%s", queue_result_name(rc));
}

TestSuite(queue, .init = setup, .fini = teardown);

Test(queue, call_ids_are_hex_and_distinct)
{
    const char *a = join(0, "afval", 1);
    cr_assert_str_eq(a, "0000000000000001");
    cr_assert_str_eq(join(0, "afval", 2), "0000000000000002");

    /* The default source is OpenSSL's: 16 lower-case hex characters, never the same twice. */
    struct queue *real = queue_new(NULL);
    cr_assert_eq(queue_service_add(real, "s", LOA_NONE), QUEUE_OK);
    char x[QUEUE_CALL_ID_LEN + 1], y[QUEUE_CALL_ID_LEN + 1];
    cr_assert_eq(queue_join(real, 0, "s", 1, LOA_BASIS, NULL, x), QUEUE_OK);
    cr_assert_eq(queue_join(real, 0, "s", 2, LOA_BASIS, NULL, y), QUEUE_OK);
    cr_assert_eq(strlen(x), QUEUE_CALL_ID_LEN);
    cr_assert_eq(strspn(x, "0123456789abcdef"), QUEUE_CALL_ID_LEN);
    cr_assert_str_neq(x, y);
    queue_free(real);
}

/* Returns the same bytes twice, then new ones: the queue must not hand out a clash. */
static int clashing_random(void *ctx, uint8_t *buf, size_t len)
{
    int *calls = ctx;
    memset(buf, *calls < 2 ? 0xab : 0xcd, len);
    (*calls)++;
    return 0;
}

static int failing_random(void *ctx, uint8_t *buf, size_t len)
{
    return -1;
}

Test(queue, call_id_clash_is_retried_and_random_failure_reported)
{
    int calls = 0;
    struct queue_config cfg = {.random = clashing_random, .random_ctx = &calls};
    struct queue *c = queue_new(&cfg);
    queue_service_add(c, "s", LOA_NONE);
    char x[QUEUE_CALL_ID_LEN + 1], y[QUEUE_CALL_ID_LEN + 1];
    cr_assert_eq(queue_join(c, 0, NULL, 1, LOA_BASIS, NULL, x), QUEUE_OK);
    cr_assert_eq(queue_join(c, 0, NULL, 2, LOA_BASIS, NULL, y), QUEUE_OK);
    cr_assert_str_eq(x, "abababababababab");
    cr_assert_str_eq(y, "cdcdcdcdcdcdcdcd");
    queue_free(c);

    struct queue_config bad = {.random = failing_random};
    c = queue_new(&bad);
    queue_service_add(c, "s", LOA_NONE);
    cr_assert_eq(queue_join(c, 0, NULL, 1, LOA_BASIS, NULL, x), QUEUE_ERR_RANDOM);
    cr_assert_eq(queue_waiting_count(c), 0);
    queue_free(c);
}

Test(queue, fifo_positions_per_service)
{
    const char *p1 = join(1000, "paspoort", 1);
    const char *a1 = join(2000, "afval", 2);
    const char *p2 = join(3000, "paspoort", 3);
    const char *p3 = join(3000, "paspoort", 4); /* same millisecond: join order decides */
    const char *a2 = join(4000, "afval", 5);
    cr_assert_eq(position(p1), 1);
    cr_assert_eq(position(p2), 2);
    cr_assert_eq(position(p3), 3);
    cr_assert_eq(position(a1), 1);
    cr_assert_eq(position(a2), 2);
    cr_assert_eq(queue_waiting_count(q), 5);

    struct queue_citizen_view v[8];
    cr_assert_eq(queue_citizen_views(q, v, 8), 5);
    static const uint64_t citizens[] = {1, 2, 3, 4, 5};
    static const uint32_t positions[] = {1, 1, 2, 3, 2};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(v[i].citizen, citizens[i], "view %d", i);
        cr_assert_eq(v[i].position, positions[i], "view %d", i);
    }
    cr_assert_str_eq(v[2].call, p2);
}

Test(queue, leave_updates_positions)
{
    const char *c1 = join(0, "afval", 1);
    const char *c2 = join(1, "afval", 2);
    const char *c3 = join(2, "afval", 3);
    cr_assert_eq(position(c3), 3);
    cr_assert_eq(queue_leave(q, c2), QUEUE_OK);
    cr_assert_eq(position(c1), 1);
    cr_assert_eq(position(c3), 2);
    cr_assert_eq(queue_leave(q, c1), QUEUE_OK);
    cr_assert_eq(position(c3), 1);
    uint32_t p;
    cr_assert_eq(queue_position(q, c1, &p), QUEUE_ERR_NOT_FOUND);
    cr_assert_eq(queue_leave(q, c1), QUEUE_ERR_NOT_FOUND, "leaving twice");
    cr_assert_eq(queue_leave(q, "ffffffffffffffff"), QUEUE_ERR_NOT_FOUND);
    cr_assert_eq(queue_leave(q, NULL), QUEUE_ERR_NOT_FOUND);
    cr_assert_eq(queue_waiting_count(q), 1);
    /* The head and the tail can leave too, and the list stays whole. */
    cr_assert_eq(queue_leave(q, c3), QUEUE_OK);
    cr_assert_eq(queue_waiting_count(q), 0);
    const char *c4 = join(5, "afval", 4);
    cr_assert_eq(position(c4), 1);
}

Test(queue, citizen_rejoins_after_leaving)
{
    const char *c1 = join(0, "afval", 1);
    char again[QUEUE_CALL_ID_LEN + 1];
    cr_assert_eq(queue_join(q, 1, "afval", 1, LOA_BASIS, NULL, again), QUEUE_ERR_DUPLICATE);
    cr_assert_eq(queue_leave(q, c1), QUEUE_OK);
    cr_assert_eq(queue_join(q, 2, "afval", 1, LOA_BASIS, NULL, again), QUEUE_OK);
    cr_assert_str_neq(again, "0000000000000001", "a new call, not the old one");
}

Test(queue, join_checks)
{
    char id[QUEUE_CALL_ID_LEN + 1];
    cr_assert_eq(queue_join(q, 0, "parkeren", 1, LOA_HOOG, NULL, id), QUEUE_ERR_UNKNOWN_SERVICE);
    cr_assert_eq(queue_join(q, 0, NULL, 1, LOA_HOOG, NULL, id), QUEUE_ERR_UNKNOWN_SERVICE,
                 "two services: the citizen must choose");
    /* DESIGN.md §6: paspoort asks for substantieel; midden is not enough, substantieel is. */
    cr_assert_eq(queue_join(q, 0, "paspoort", 1, LOA_MIDDEN, NULL, id), QUEUE_ERR_LOA_TOO_LOW);
    cr_assert_eq(queue_join(q, 0, "paspoort", 1, LOA_SUBSTANTIEEL, NULL, id), QUEUE_OK);
    cr_assert_eq(queue_join(q, 0, "afval", 2, LOA_BASIS, "bad code", id), QUEUE_ERR_INVALID);
    cr_assert_eq(queue_join(q, 0, "afval", 2, LOA_NONE, NULL, id), QUEUE_ERR_LOA_TOO_LOW);
    cr_assert_eq(queue_waiting_count(q), 1);

    struct queue *one = queue_new(NULL);
    cr_assert_eq(queue_service_add(one, "balie", LOA_NONE), QUEUE_OK);
    cr_assert_eq(queue_join(one, 0, NULL, 1, LOA_BASIS, "APT-9", id), QUEUE_OK,
                 "one service: it may be left out");
    queue_free(one);
}

Test(queue, service_registration)
{
    cr_assert_eq(queue_service_add(q, "paspoort", LOA_BASIS), QUEUE_ERR_DUPLICATE);
    cr_assert_eq(queue_service_add(q, "", LOA_BASIS), QUEUE_ERR_INVALID);
    cr_assert_eq(queue_service_add(q, "met spatie", LOA_BASIS), QUEUE_ERR_INVALID);
    cr_assert_eq(queue_service_add(q, NULL, LOA_BASIS), QUEUE_ERR_INVALID);
    char longest[QUEUE_ID_MAX + 2];
    memset(longest, 'x', QUEUE_ID_MAX + 1);
    longest[QUEUE_ID_MAX + 1] = '\0';
    cr_assert_eq(queue_service_add(q, longest, LOA_BASIS), QUEUE_ERR_INVALID);
    longest[QUEUE_ID_MAX] = '\0';
    cr_assert_eq(queue_service_add(q, longest, LOA_BASIS), QUEUE_OK);
    for (int i = 3; i < QUEUE_MAX_SERVICES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        cr_assert_eq(queue_service_add(q, name, LOA_BASIS), QUEUE_OK, "%s", name);
    }
    cr_assert_eq(queue_service_add(q, "one-too-many", LOA_BASIS), QUEUE_ERR_FULL);
}

Test(queue, accept_next_picks_oldest_eligible)
{
    const char *p1 = join(1000, "paspoort", 1);
    const char *a1 = join(2000, "afval", 2);
    const char *a2 = join(3000, "afval", 3);
    agent(100, true, "afval");
    agent(200, true, NULL);

    struct queue_call call;
    cr_assert_eq(queue_accept(q, 100, NULL, 65000, &call), QUEUE_OK);
    cr_assert_str_eq(call.call, a1, "the afval agent skips the older paspoort call");
    cr_assert_str_eq(call.service, "afval");
    cr_assert_eq(call.citizen, 2);
    cr_assert_eq(call.loa, LOA_HOOG);
    cr_assert_eq(call.joined_ms, 2000);
    cr_assert_eq(call.waited_s, 63);
    cr_assert_str_eq(call.appointment, "");

    cr_assert_eq(queue_accept(q, 200, NULL, 66000, &call), QUEUE_OK);
    cr_assert_str_eq(call.call, p1, "an agent for all services takes the oldest of all");
    cr_assert_eq(position(a2), 1);
    cr_assert_eq(queue_waiting_count(q), 1);
}

Test(queue, accept_named_call)
{
    char appt[QUEUE_CALL_ID_LEN + 1];
    join(0, "afval", 1);
    cr_assert_eq(queue_join(q, 10, "paspoort", 2, LOA_HOOG, "APT-77", appt), QUEUE_OK);
    const char *a2 = join(20, "afval", 3);
    agent(100, true, "afval");
    agent(200, true, "paspoort");

    struct queue_call call;
    cr_assert_eq(queue_accept(q, 100, a2, 30, &call), QUEUE_OK);
    cr_assert_str_eq(call.call, a2, "a named call is taken even when not the oldest");
    cr_assert_eq(queue_accept(q, 200, "0000000000000001", 30, &call), QUEUE_ERR_NOT_ELIGIBLE);
    cr_assert_eq(queue_accept(q, 200, "00000000000000ff", 30, &call), QUEUE_ERR_NOT_FOUND);
    cr_assert_eq(queue_accept(q, 200, appt, 30, &call), QUEUE_OK);
    cr_assert_str_eq(call.appointment, "APT-77");
    cr_assert_eq(queue_waiting_count(q), 1);
}

Test(queue, accept_race_has_one_winner)
{
    const char *c = join(0, "afval", 1);
    const char *next = join(1, "afval", 2);
    agent(100, true, NULL);
    agent(200, true, NULL);

    struct queue_call won, lost = {.citizen = 777};
    cr_assert_eq(queue_accept(q, 100, c, 5, &won), QUEUE_OK);
    cr_assert_eq(queue_accept(q, 200, c, 5, &lost), QUEUE_ERR_ALREADY_TAKEN);
    cr_assert_eq(lost.citizen, 777, "the loser's output is untouched");
    cr_assert_eq(won.citizen, 1);
    /* The loser is still idle and can take the next one. */
    cr_assert_eq(queue_accept(q, 200, NULL, 6, &lost), QUEUE_OK);
    cr_assert_str_eq(lost.call, next);
    /* A taken call is no longer the citizen's to leave or to ask a position for. */
    uint32_t p;
    cr_assert_eq(queue_leave(q, c), QUEUE_ERR_ALREADY_TAKEN);
    cr_assert_eq(queue_position(q, c, &p), QUEUE_ERR_ALREADY_TAKEN);
    /* Once the call is over, the id means nothing any more. */
    cr_assert_eq(queue_agent_release(q, 100), QUEUE_OK);
    cr_assert_eq(queue_agent_release(q, 200), QUEUE_OK);
    cr_assert_eq(queue_accept(q, 200, c, 7, &lost), QUEUE_ERR_NOT_FOUND);
}

Test(queue, agent_states)
{
    join(0, "afval", 1);
    join(1, "afval", 2);
    struct queue_call call;
    cr_assert_eq(queue_accept(q, 100, NULL, 2, &call), QUEUE_ERR_NOT_AVAILABLE, "unknown agent");
    agent(100, false, NULL);
    cr_assert_eq(queue_accept(q, 100, NULL, 2, &call), QUEUE_ERR_NOT_AVAILABLE, "away");
    agent(100, true, NULL);
    cr_assert_eq(queue_accept(q, 100, NULL, 2, &call), QUEUE_OK);
    cr_assert_eq(queue_accept(q, 100, NULL, 3, &call), QUEUE_ERR_BUSY);
    cr_assert_eq(queue_accept(q, 100, "0000000000000002", 3, &call), QUEUE_ERR_BUSY);

    /* Going away during a call keeps the call; releasing leaves the agent away. */
    agent(100, false, NULL);
    cr_assert_eq(queue_accept(q, 100, NULL, 4, &call), QUEUE_ERR_NOT_AVAILABLE);
    cr_assert_eq(queue_agent_release(q, 100), QUEUE_OK);
    cr_assert_eq(queue_accept(q, 100, NULL, 5, &call), QUEUE_ERR_NOT_AVAILABLE);
    agent(100, true, NULL);
    cr_assert_eq(queue_accept(q, 100, NULL, 6, &call), QUEUE_OK);
    cr_assert_eq(call.citizen, 2);
    cr_assert_eq(queue_agent_release(q, 100), QUEUE_OK);
    cr_assert_eq(queue_accept(q, 100, NULL, 7, &call), QUEUE_ERR_EMPTY);
    cr_assert_eq(queue_agent_release(q, 999), QUEUE_ERR_NOT_FOUND);
}

Test(queue, citizen_in_a_call_cannot_join_again)
{
    join(0, "afval", 1);
    agent(100, true, NULL);
    struct queue_call call;
    cr_assert_eq(queue_accept(q, 100, NULL, 1, &call), QUEUE_OK);
    char id[QUEUE_CALL_ID_LEN + 1];
    cr_assert_eq(queue_join(q, 2, "afval", 1, LOA_HOOG, NULL, id), QUEUE_ERR_DUPLICATE);
    cr_assert_eq(queue_agent_release(q, 100), QUEUE_OK);
    cr_assert_eq(queue_join(q, 3, "afval", 1, LOA_HOOG, NULL, id), QUEUE_OK);
}

Test(queue, agent_remove)
{
    const char *c = join(0, "afval", 1);
    agent(100, true, NULL);
    agent(200, true, NULL);
    agent(300, true, NULL);
    struct queue_call call;
    cr_assert_eq(queue_accept(q, 100, NULL, 1, &call), QUEUE_OK);
    cr_assert_eq(queue_agent_remove(q, 100), QUEUE_OK);
    cr_assert_eq(queue_agent_remove(q, 100), QUEUE_ERR_NOT_FOUND);
    cr_assert_eq(queue_accept(q, 100, NULL, 2, &call), QUEUE_ERR_NOT_AVAILABLE);
    cr_assert_eq(queue_accept(q, 200, c, 2, &call), QUEUE_ERR_NOT_FOUND);
    /* The others are still there after the array was compacted. */
    join(3, "afval", 2);
    cr_assert_eq(queue_accept(q, 300, NULL, 4, &call), QUEUE_OK);
    cr_assert_eq(queue_accept(q, 200, NULL, 4, &call), QUEUE_ERR_EMPTY);
}

Test(queue, agent_set_with_unknown_service_changes_nothing)
{
    agent(100, true, "afval");
    const char *bad[] = {"paspoort", "parkeren"};
    cr_assert_eq(queue_agent_set(q, 100, false, bad, 2), QUEUE_ERR_UNKNOWN_SERVICE);
    join(0, "afval", 1);
    struct queue_call call;
    cr_assert_eq(queue_accept(q, 100, NULL, 1, &call), QUEUE_OK, "still available for afval");
    const char *none[] = {NULL};
    cr_assert_eq(queue_agent_set(q, 200, true, none, 1), QUEUE_ERR_UNKNOWN_SERVICE);
}

Test(queue, agent_view_filters_services)
{
    char id[QUEUE_CALL_ID_LEN + 1];
    cr_assert_eq(queue_join(q, 1000, "paspoort", 1, LOA_SUBSTANTIEEL, "APT-5", id), QUEUE_OK);
    join(2000, "afval", 2);
    join(3000, "paspoort", 3);
    agent(100, true, "paspoort");
    agent(200, false, NULL);

    struct queue_entry_view v[4];
    cr_assert_eq(queue_agent_view(q, 100, 11500, v, 4), 2);
    cr_assert_str_eq(v[0].call, id);
    cr_assert_str_eq(v[0].service, "paspoort");
    cr_assert_eq(v[0].waited_s, 10);
    cr_assert_eq(v[0].loa, LOA_SUBSTANTIEEL);
    cr_assert_str_eq(v[0].appointment, "APT-5");
    cr_assert_eq(v[1].waited_s, 8);
    cr_assert_null(v[1].appointment);

    /* An agent who is away still sees the line, so it can decide to come back. */
    cr_assert_eq(queue_agent_view(q, 200, 3000, v, 4), 3);
    cr_assert_str_eq(v[1].service, "afval");
    /* A short buffer still reports the total; a clock behind the join reads 0 s. */
    cr_assert_eq(queue_agent_view(q, 200, 0, v, 1), 3);
    cr_assert_eq(v[0].waited_s, 0);
    cr_assert_eq(queue_agent_view(q, 999, 3000, v, 4), 0, "unknown agent");
}

Test(queue, eta_without_history_uses_the_default)
{
    const char *c1 = join(0, "afval", 1);
    const char *c2 = join(1, "afval", 2);
    cr_assert_eq(eta(c1), -1, "no agent: unknown");
    agent(100, true, "afval");
    cr_assert_eq(eta(c1), QUEUE_DEFAULT_TALK_S);
    cr_assert_eq(eta(c2), 2 * QUEUE_DEFAULT_TALK_S);
    agent(200, true, NULL);
    cr_assert_eq(eta(c2), QUEUE_DEFAULT_TALK_S, "two agents halve the wait");
    agent(300, true, "paspoort");
    cr_assert_eq(eta(c2), QUEUE_DEFAULT_TALK_S, "an agent of another service does not help");
    agent(200, false, NULL);
    cr_assert_eq(eta(c2), 2 * QUEUE_DEFAULT_TALK_S, "an agent who is away does not help");

    struct queue_config cfg = {.default_talk_s = 90};
    struct queue *other = queue_new(&cfg);
    queue_service_add(other, "s", LOA_NONE);
    char id[QUEUE_CALL_ID_LEN + 1];
    cr_assert_eq(queue_join(other, 0, "s", 1, LOA_BASIS, NULL, id), QUEUE_OK);
    cr_assert_eq(queue_agent_set(other, 1, true, NULL, 0), QUEUE_OK);
    int32_t s;
    cr_assert_eq(queue_estimated_wait_s(other, id, &s), QUEUE_OK);
    cr_assert_eq(s, 90);
    queue_free(other);
}

Test(queue, eta_from_history)
{
    const char *c1 = join(0, "afval", 1);
    const char *c2 = join(1, "afval", 2);
    agent(100, true, NULL);
    cr_assert_eq(queue_record_handled(q, "afval", 100), QUEUE_OK);
    cr_assert_eq(queue_record_handled(q, "afval", 200), QUEUE_OK);
    cr_assert_eq(queue_record_handled(q, "paspoort", 5000), QUEUE_OK, "another service's");
    cr_assert_eq(eta(c1), 150);
    cr_assert_eq(eta(c2), 300);
    agent(200, true, NULL);
    agent(300, true, NULL);
    cr_assert_eq(eta(c1), 50);
    cr_assert_eq(eta(c2), 100);

    /* The average moves: only the last QUEUE_HISTORY_LEN durations count. */
    for (int i = 0; i < QUEUE_HISTORY_LEN; i++)
        cr_assert_eq(queue_record_handled(q, "afval", 31), QUEUE_OK);
    cr_assert_eq(eta(c1), 11, "31 / 3 agents, rounded up");
    cr_assert_eq(eta(c2), 21);
    cr_assert_eq(queue_record_handled(q, "afval", 31 + QUEUE_HISTORY_LEN * 3), QUEUE_OK);
    cr_assert_eq(eta(c1), 12, "(19 × 31 + 91) / 20 = 34, over 3 agents");

    cr_assert_eq(queue_record_handled(q, "parkeren", 10), QUEUE_ERR_UNKNOWN_SERVICE);
    cr_assert_eq(queue_record_handled(q, NULL, 10), QUEUE_ERR_UNKNOWN_SERVICE);
}

Test(queue, eta_rounds_up_once)
{
    const char *c1 = join(0, "afval", 1);
    const char *c2 = join(1, "afval", 2);
    agent(100, true, NULL);
    queue_record_handled(q, "afval", 10);
    queue_record_handled(q, "afval", 11);
    cr_assert_eq(eta(c1), 11, "10.5 s rounds up");
    cr_assert_eq(eta(c2), 21, "2 × 10.5 s is 21 s, not 2 × 11 s");
    agent(200, true, NULL);
    agent(300, true, NULL);
    cr_assert_eq(eta(c1), 4, "10.5 / 3 = 3.5 rounds up to 4");
    cr_assert_eq(eta(c2), 7, "21 / 3 = 7 exactly");
}

Test(queue, eta_counts_busy_agents)
{
    const char *c1 = join(0, "afval", 1);
    const char *c2 = join(1, "afval", 2);
    agent(100, true, NULL);
    agent(200, true, NULL);
    struct queue_call call;
    cr_assert_eq(queue_accept(q, 100, NULL, 2, &call), QUEUE_OK);
    cr_assert_str_eq(call.call, c1);
    cr_assert_eq(eta(c2), QUEUE_DEFAULT_TALK_S / 2, "both agents work the line");
    int32_t s;
    cr_assert_eq(queue_estimated_wait_s(q, c1, &s), QUEUE_ERR_ALREADY_TAKEN);
    cr_assert_eq(queue_estimated_wait_s(q, "nope", &s), QUEUE_ERR_NOT_FOUND);
}

Test(queue, citizen_views_carry_eta)
{
    join(0, "afval", 1);
    join(1, "paspoort", 2);
    join(2, "afval", 3);
    agent(100, true, "afval");
    queue_record_handled(q, "afval", 60);
    struct queue_citizen_view v[3];
    cr_assert_eq(queue_citizen_views(q, v, 3), 3);
    cr_assert_eq(v[0].estimated_wait_s, 60);
    cr_assert_eq(v[1].estimated_wait_s, -1, "nobody takes paspoort");
    cr_assert_eq(v[2].estimated_wait_s, 120);
    cr_assert_eq(v[2].position, 2);
    cr_assert_eq(queue_citizen_views(q, v, 0), 3, "counts without writing");
}

Test(queue, generation_moves_on_change_only)
{
    uint64_t g = queue_generation(q);
    const char *c = join(0, "afval", 1);
    cr_assert_gt(queue_generation(q), g);
    g = queue_generation(q);

    uint32_t p;
    int32_t s;
    struct queue_entry_view ev[2];
    struct queue_citizen_view cv[2];
    queue_position(q, c, &p);
    queue_estimated_wait_s(q, c, &s);
    queue_agent_view(q, 1, 0, ev, 2);
    queue_citizen_views(q, cv, 2);
    char id[QUEUE_CALL_ID_LEN + 1];
    cr_assert_eq(queue_join(q, 0, "nope", 2, LOA_HOOG, NULL, id), QUEUE_ERR_UNKNOWN_SERVICE);
    cr_assert_eq(queue_leave(q, "nope"), QUEUE_ERR_NOT_FOUND);
    struct queue_call call;
    cr_assert_eq(queue_accept(q, 100, NULL, 0, &call), QUEUE_ERR_NOT_AVAILABLE);
    cr_assert_eq(queue_generation(q), g, "reads and refusals change nothing");

    agent(100, true, NULL);
    cr_assert_gt(queue_generation(q), g);
    g = queue_generation(q);
    cr_assert_eq(queue_accept(q, 100, NULL, 0, &call), QUEUE_OK);
    cr_assert_gt(queue_generation(q), g);
    g = queue_generation(q);
    queue_record_handled(q, "afval", 10);
    cr_assert_gt(queue_generation(q), g);
    g = queue_generation(q);
    queue_agent_release(q, 100);
    cr_assert_gt(queue_generation(q), g);
    g = queue_generation(q);
    join(1, "afval", 2);
    cr_assert_eq(queue_leave(q, "0000000000000002"), QUEUE_OK);
    cr_assert_gt(queue_generation(q), g + 1);
}

Test(queue, hundreds_waiting)
{
    enum { N = 600 };
    static char ids[N][QUEUE_CALL_ID_LEN + 1];
    for (int i = 0; i < N; i++) {
        const char *service = i % 3 == 0 ? "paspoort" : "afval";
        cr_assert_eq(
            queue_join(q, (uint64_t)i * 10, service, (uint64_t)i + 1, LOA_HOOG, NULL, ids[i]),
            QUEUE_OK);
    }
    /* Every third leaves. */
    for (int i = 1; i < N; i += 3)
        cr_assert_eq(queue_leave(q, ids[i]), QUEUE_OK);
    static struct queue_citizen_view v[N];
    size_t n = queue_citizen_views(q, v, N);
    cr_assert_eq(n, N - N / 3);
    uint32_t want[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        int paspoort = (v[i].citizen - 1) % 3 == 0;
        cr_assert_eq(v[i].position, ++want[paspoort], "view %zu", i);
    }
    cr_assert_eq(position(ids[N - 1]), want[0], "the last afval call");
    /* Agents drain the line oldest first. */
    agent(1, true, NULL);
    uint64_t last_joined = 0;
    for (size_t i = 0; i < n; i++) {
        struct queue_call call;
        cr_assert_eq(queue_accept(q, 1, NULL, 999999, &call), QUEUE_OK);
        cr_assert_geq(call.joined_ms, last_joined);
        last_joined = call.joined_ms;
        cr_assert_eq(queue_agent_release(q, 1), QUEUE_OK);
    }
    cr_assert_eq(queue_waiting_count(q), 0);
}

Test(queue, result_names)
{
    cr_assert_str_eq(queue_result_name(QUEUE_OK), "ok");
    cr_assert_str_eq(queue_result_name(QUEUE_ERR_NOT_FOUND), "not_found");
    cr_assert_str_eq(queue_result_name(QUEUE_ERR_ALREADY_TAKEN), "already_taken");
    cr_assert_str_eq(queue_result_name(QUEUE_ERR_NOT_ELIGIBLE), "not_eligible");
    cr_assert_str_eq(queue_result_name(QUEUE_ERR_NOT_AVAILABLE), "not_available");
    cr_assert_str_eq(queue_result_name(QUEUE_ERR_BUSY), "busy");
    cr_assert_str_eq(queue_result_name(QUEUE_ERR_EMPTY), "queue_empty");
    cr_assert_str_eq(queue_result_name(QUEUE_ERR_LOA_TOO_LOW), "loa_too_low");
    cr_assert_str_eq(queue_result_name(-999), "internal");
}
