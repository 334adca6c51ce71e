/* Tests for signaling/queue_order.c and the lanes of signaling/queue.c: appointments in and
 * out of their slot, assigned agents, the urgent lane, transfers and the estimates they give. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "balie/queue.h"

static int lanes_random(void *ctx, uint8_t *buf, size_t len)
{
    uint64_t *counter = ctx;
    uint64_t v = ++*counter;
    for (size_t i = 0; i < len; i++)
        buf[len - 1 - i] = (uint8_t)(v >> (8 * (i % 8)));
    return 0;
}

static uint64_t counter;
static struct queue *q;
static char ids[16][QUEUE_CALL_ID_LEN + 1];

#define MIN (60u * 1000u)

static void setup(void)
{
    counter = 0;
    struct queue_config cfg = {.random = lanes_random, .random_ctx = &counter};
    q = queue_new(&cfg);
    cr_assert_not_null(q);
    cr_assert_eq(queue_service_add(q, "paspoort", LOA_MIDDEN), QUEUE_OK);
    cr_assert_eq(queue_service_add(q, "afval", LOA_BASIS), QUEUE_OK);
    cr_assert_eq(queue_service_add(q, "zorg", LOA_HOOG), QUEUE_OK);
}

static void teardown(void)
{
    queue_free(q);
    q = NULL;
}

TestSuite(lanes, .init = setup, .fini = teardown);

static const char *walk_in(uint64_t now, const char *service, uint64_t citizen)
{
    int rc = queue_join(q, now, service, citizen, LOA_SUBSTANTIEEL, NULL, ids[citizen]);
    cr_assert_eq(rc, QUEUE_OK, "%s", queue_result_name(rc));
    return ids[citizen];
}

static const char *appointment(uint64_t now, const char *service, uint64_t citizen, uint64_t due,
                               const char *agent)
{
    struct queue_join_opts o = {.appointment = "ABCDEFGHJK", .due_ms = due, .agent = agent};
    int rc = queue_join_ex(q, now, service, citizen, LOA_SUBSTANTIEEL, &o, ids[citizen]);
    cr_assert_eq(rc, QUEUE_OK, "%s", queue_result_name(rc));
    return ids[citizen];
}

static void agent(uint64_t handle, const char *id, const char *only)
{
    const char *services[] = {only};
    cr_assert_eq(queue_agent_set(q, handle, true, only ? services : NULL, only ? 1 : 0), QUEUE_OK);
    if (id)
        cr_assert_eq(queue_agent_set_id(q, handle, id), QUEUE_OK);
}

static uint32_t position(const char *call)
{
    uint32_t p = 0;
    int rc = queue_position(q, call, &p);
    cr_assert_eq(rc, QUEUE_OK, "%s", queue_result_name(rc));
    return p;
}

static const char *accept_next(uint64_t handle, uint64_t now)
{
    static struct queue_call c;
    int rc = queue_accept(q, handle, NULL, now, &c);
    return rc == QUEUE_OK ? c.call : queue_result_name(rc);
}

Test(lanes, early_appointment_waits_then_goes_first)
{
    const char *a = walk_in(0, "paspoort", 1);
    const char *b = walk_in(1000, "paspoort", 2);
    const char *appt = appointment(2000, "paspoort", 3, 30 * MIN, NULL);
    cr_assert_eq(position(appt), 3, "early: behind the walk-ins");
    cr_assert_eq(position(a), 1);

    agent(100, "anna", NULL);
    /* Before its turn, `accept` without a call skips it. */
    cr_assert_str_eq(accept_next(100, 10 * MIN), a);
    cr_assert_eq(queue_agent_release(q, 100), QUEUE_OK);

    uint64_t g = queue_generation(q);
    cr_assert_not(queue_tick(q, 29 * MIN), "nothing came due");
    cr_assert_eq(queue_generation(q), g);
    cr_assert(queue_tick(q, 30 * MIN), "the appointment's turn came");
    cr_assert_gt(queue_generation(q), g);
    cr_assert_eq(position(appt), 1, "due: ahead of the walk-in who waited longer");
    cr_assert_eq(position(b), 2);
    cr_assert_str_eq(accept_next(100, 30 * MIN), appt);
}

Test(lanes, only_early_appointments_waiting_is_empty_for_accept_next_but_named_works)
{
    const char *appt = appointment(0, "afval", 1, 60 * MIN, NULL);
    agent(100, "anna", NULL);
    cr_assert_str_eq(accept_next(100, MIN), "queue_empty");
    struct queue_call c;
    cr_assert_eq(queue_accept(q, 100, appt, MIN, &c), QUEUE_OK, "an agent may serve it early");
    cr_assert_str_eq(c.appointment, "ABCDEFGHJK");
}

Test(lanes, due_appointments_in_order_of_their_time)
{
    const char *late = appointment(0, "afval", 1, 20 * MIN, NULL);
    const char *early = appointment(1000, "afval", 2, 10 * MIN, NULL);
    walk_in(2000, "afval", 3);
    queue_tick(q, 25 * MIN);
    cr_assert_eq(position(early), 1);
    cr_assert_eq(position(late), 2);
    cr_assert_eq(position(ids[3]), 3);
}

Test(lanes, assigned_agent_alone_until_the_window_ends)
{
    agent(100, "anna", NULL);
    agent(200, "bert", NULL);
    const char *w = walk_in(0, "afval", 1);
    const char *appt = appointment(0, "afval", 2, 10 * MIN, "bert");
    queue_tick(q, 10 * MIN);

    struct queue_entry_view v[4];
    cr_assert_eq(queue_agent_view(q, 100, 10 * MIN, v, 4), 1, "anna does not see bert's");
    cr_assert_str_eq(v[0].call, w);
    cr_assert_eq(queue_agent_view(q, 200, 10 * MIN, v, 4), 2);
    cr_assert_str_eq(v[0].call, appt, "due appointment first");
    cr_assert_str_eq(v[0].assigned, "bert");
    cr_assert_eq(v[0].lane, QUEUE_LANE_APPOINTMENT);

    struct queue_call c;
    cr_assert_eq(queue_accept(q, 100, appt, 10 * MIN, &c), QUEUE_ERR_NOT_ELIGIBLE);
    cr_assert_str_eq(accept_next(100, 10 * MIN), w, "anna gets the walk-in");
    cr_assert_eq(queue_agent_release(q, 100), QUEUE_OK);

    /* Bert does not come: after the fallback window everyone may serve it. */
    cr_assert(queue_tick(q, 10 * MIN + QUEUE_ASSIGN_FALLBACK_MS));
    cr_assert_eq(queue_agent_view(q, 100, 16 * MIN, v, 4), 1);
    cr_assert_null(v[0].assigned);
    cr_assert_str_eq(accept_next(100, 16 * MIN), appt);
}

Test(lanes, assigned_agent_may_take_a_service_it_does_not_work)
{
    agent(100, "anna", "paspoort");
    const char *appt = appointment(0, "afval", 1, 0, "anna");
    agent(100, "anna", "paspoort"); /* after the join: only paspoort */
    cr_assert_str_eq(accept_next(100, 1000), appt);
}

Test(lanes, urgent_lane_goes_first)
{
    agent(100, "anna", NULL);
    agent(200, "bert", "paspoort");
    const char *a = walk_in(0, "afval", 1);
    const char *b = walk_in(1000, "afval", 2);
    const char *c = walk_in(2000, "afval", 3);
    cr_assert_eq(queue_prioritize(q, 100, c), QUEUE_OK);
    cr_assert_eq(position(c), 1);
    cr_assert_eq(position(a), 2);
    uint64_t g = queue_generation(q);
    cr_assert_eq(queue_prioritize(q, 100, c), QUEUE_OK, "idempotent");
    cr_assert_eq(queue_generation(q), g, "and no change");
    cr_assert_eq(queue_prioritize(q, 100, b), QUEUE_OK);
    cr_assert_eq(position(b), 2, "urgent calls keep the order they were moved in");
    cr_assert_eq(queue_prioritize(q, 200, a), QUEUE_ERR_NOT_ELIGIBLE, "bert does not take afval");
    cr_assert_eq(queue_prioritize(q, 999, a), QUEUE_ERR_NOT_AVAILABLE);
    cr_assert_eq(queue_prioritize(q, 100, "ffffffffffffffff"), QUEUE_ERR_NOT_FOUND);

    struct queue_entry_view v[4];
    cr_assert_eq(queue_agent_view(q, 100, 3000, v, 4), 3);
    cr_assert_str_eq(v[0].call, c);
    cr_assert_eq(v[0].lane, QUEUE_LANE_URGENT);
    cr_assert_str_eq(accept_next(100, 3000), c);
    cr_assert_eq(queue_prioritize(q, 200, c), QUEUE_ERR_ALREADY_TAKEN);
}

Test(lanes, urgent_goes_before_due_appointments)
{
    agent(100, "anna", NULL);
    const char *appt = appointment(0, "afval", 1, 0, NULL);
    const char *w = walk_in(1000, "afval", 2);
    cr_assert_eq(position(appt), 1);
    cr_assert_eq(queue_prioritize(q, 100, w), QUEUE_OK);
    cr_assert_eq(position(w), 1);
}

Test(lanes, eta_for_an_early_appointment_is_at_least_its_time)
{
    agent(100, "anna", NULL);
    const char *appt = appointment(0, "afval", 1, 40 * MIN, NULL);
    int32_t eta = 0;
    cr_assert_eq(queue_estimated_wait_s(q, appt, &eta), QUEUE_OK);
    cr_assert_eq(eta, 40 * 60);
    queue_tick(q, 30 * MIN);
    cr_assert_eq(queue_estimated_wait_s(q, appt, &eta), QUEUE_OK);
    cr_assert_eq(eta, 10 * 60);
    queue_tick(q, 40 * MIN);
    cr_assert_eq(queue_estimated_wait_s(q, appt, &eta), QUEUE_OK);
    cr_assert_eq(eta, QUEUE_DEFAULT_TALK_S, "due and first: one talk time");
}

Test(lanes, eta_is_the_moving_average_over_agents)
{
    agent(100, "anna", "afval");
    agent(200, "bert", "afval");
    for (int i = 0; i < QUEUE_HISTORY_LEN + 5; i++) /* only the last 20 count */
        cr_assert_eq(queue_record_handled(q, "afval", i < 5 ? 9999 : 120), QUEUE_OK);
    walk_in(0, "afval", 1);
    walk_in(0, "afval", 2);
    const char *third = walk_in(0, "afval", 3);
    struct queue_citizen_view v[4];
    cr_assert_eq(queue_citizen_views(q, v, 4), 3);
    cr_assert_eq(v[2].estimated_wait_s, 3 * 120 / 2);
    cr_assert_str_eq(v[2].call, third);
    cr_assert_eq(v[2].lane, QUEUE_LANE_WALK_IN);
}

Test(lanes, transfer_to_a_service_goes_to_its_head_with_the_note)
{
    agent(100, "anna", "afval");
    agent(200, "bert", "paspoort");
    const char *x = walk_in(0, "afval", 1);
    const char *p1 = walk_in(100, "paspoort", 2);
    walk_in(200, "paspoort", 3);
    struct queue_call c;
    cr_assert_eq(queue_accept(q, 100, x, 1000, &c), QUEUE_OK);

    struct queue_transfer to = {
        .service = "paspoort", .note = "wil paspoort verlengen", .from_agent = "anna"};
    cr_assert_eq(queue_transfer(q, 2000, 100, &to), QUEUE_OK);
    cr_assert_eq(position(x), 1, "ahead of the paspoort citizens who waited longer");
    cr_assert_eq(position(p1), 2);
    cr_assert_str_eq(accept_next(100, 2000), "queue_empty", "anna is idle, afval is empty");

    struct queue_entry_view v[4];
    cr_assert_eq(queue_agent_view(q, 200, 2000, v, 4), 3);
    cr_assert_str_eq(v[0].call, x, "same call id");
    cr_assert_eq(v[0].lane, QUEUE_LANE_TRANSFER);
    cr_assert_eq(v[0].note_count, 1);
    cr_assert_str_eq(v[0].notes[0].text, "wil paspoort verlengen");
    cr_assert_str_eq(v[0].notes[0].from_agent, "anna");
    cr_assert_str_eq(v[0].notes[0].from_service, "afval");
    cr_assert_eq(v[0].waited_s, 2, "the wait counts from the first join");

    cr_assert_eq(queue_accept(q, 200, NULL, 3000, &c), QUEUE_OK);
    cr_assert_str_eq(c.call, x);
    cr_assert(c.transferred);
    cr_assert_eq(c.note_count, 1);
    cr_assert_str_eq(c.notes[0].text, "wil paspoort verlengen");
}

Test(lanes, transfer_checks_change_nothing_on_error)
{
    agent(100, "anna", NULL);
    const char *x = walk_in(0, "afval", 1);
    struct queue_transfer to = {.service = "paspoort"};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_ERR_NOT_FOUND, "holds no call");
    struct queue_call c;
    cr_assert_eq(queue_accept(q, 100, x, 0, &c), QUEUE_OK);
    to = (struct queue_transfer){.service = "zorg"};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_ERR_LOA_TOO_LOW);
    to = (struct queue_transfer){.service = "nergens"};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_ERR_UNKNOWN_SERVICE);
    to = (struct queue_transfer){.agent = "karel"};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_ERR_UNKNOWN_AGENT);
    to = (struct queue_transfer){.agent = "anna"};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_ERR_INVALID, "not to oneself");
    to = (struct queue_transfer){.agent = "anna", .service = "afval"};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_ERR_INVALID, "both");
    to = (struct queue_transfer){0};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_ERR_INVALID, "neither");
    char long_note[QUEUE_NOTE_MAX + 2];
    memset(long_note, 'x', sizeof(long_note) - 1);
    long_note[sizeof(long_note) - 1] = '\0';
    to = (struct queue_transfer){.service = "paspoort", .note = long_note};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_ERR_INVALID, "note too long");
    cr_assert_eq(queue_waiting_count(q), 0, "still with anna");
    uint32_t p;
    cr_assert_eq(queue_position(q, x, &p), QUEUE_ERR_ALREADY_TAKEN);
}

Test(lanes, transfer_to_a_colleague_is_theirs_alone_then_falls_back)
{
    agent(100, "anna", NULL);
    agent(200, "bert", NULL);
    agent(300, "carla", NULL);
    const char *x = walk_in(0, "afval", 1);
    struct queue_call c;
    cr_assert_eq(queue_accept(q, 100, x, 0, &c), QUEUE_OK);
    struct queue_transfer to = {.agent = "bert", .note = "eerste", .from_agent = "anna"};
    cr_assert_eq(queue_transfer(q, 1000, 100, &to), QUEUE_OK);

    struct queue_entry_view v[2];
    cr_assert_eq(queue_agent_view(q, 300, 1000, v, 2), 0, "carla is not offered it");
    cr_assert_eq(queue_agent_view(q, 100, 1000, v, 2), 0, "nor anna");
    cr_assert_eq(queue_agent_view(q, 200, 1000, v, 2), 1);
    cr_assert_str_eq(v[0].assigned, "bert");
    cr_assert_str_eq(accept_next(300, 1000), "queue_empty");

    /* Bert passes it on again: both notes travel, oldest first. */
    cr_assert_eq(queue_accept(q, 200, NULL, 2000, &c), QUEUE_OK);
    to = (struct queue_transfer){.agent = "carla", .note = "tweede", .from_agent = "bert"};
    cr_assert_eq(queue_transfer(q, 3000, 200, &to), QUEUE_OK);
    cr_assert_eq(queue_agent_view(q, 300, 3000, v, 2), 1);
    cr_assert_eq(v[0].note_count, 2);
    cr_assert_str_eq(v[0].notes[0].text, "eerste");
    cr_assert_str_eq(v[0].notes[1].text, "tweede");

    /* Carla does not take it: after the window, any agent of the service may. */
    cr_assert(queue_tick(q, 3000 + QUEUE_ASSIGN_FALLBACK_MS));
    cr_assert_str_eq(accept_next(100, 3000 + QUEUE_ASSIGN_FALLBACK_MS), x);
}

Test(lanes, notes_keep_the_last_four)
{
    agent(100, "anna", NULL);
    const char *x = walk_in(0, "afval", 1);
    for (int i = 0; i < QUEUE_NOTES_MAX + 2; i++) {
        struct queue_call c;
        cr_assert_eq(queue_accept(q, 100, x, 0, &c), QUEUE_OK);
        char note[16];
        snprintf(note, sizeof(note), "n%d", i);
        struct queue_transfer to = {.service = "paspoort", .note = note};
        cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_OK);
    }
    struct queue_entry_view v[1];
    cr_assert_eq(queue_agent_view(q, 100, 0, v, 1), 1);
    cr_assert_eq(v[0].note_count, QUEUE_NOTES_MAX);
    cr_assert_str_eq(v[0].notes[0].text, "n2");
    cr_assert_str_eq(v[0].notes[QUEUE_NOTES_MAX - 1].text, "n5");
}

Test(lanes, an_empty_note_is_not_kept)
{
    agent(100, "anna", NULL);
    const char *x = walk_in(0, "afval", 1);
    struct queue_call c;
    cr_assert_eq(queue_accept(q, 100, x, 0, &c), QUEUE_OK);
    struct queue_transfer to = {.service = "paspoort", .note = ""};
    cr_assert_eq(queue_transfer(q, 0, 100, &to), QUEUE_OK);
    cr_assert_eq(queue_accept(q, 100, NULL, 0, &c), QUEUE_OK);
    cr_assert_eq(c.note_count, 0);
    cr_assert_str_eq(c.service, "paspoort");
}

Test(lanes, agent_ids_and_names)
{
    cr_assert_eq(queue_agent_set_id(q, 1, "anna"), QUEUE_ERR_NOT_FOUND);
    agent(1, NULL, NULL);
    cr_assert_eq(queue_agent_set_id(q, 1, "an na"), QUEUE_ERR_INVALID);
    cr_assert_eq(queue_agent_set_id(q, 1, "anna"), QUEUE_OK);
    cr_assert(queue_agent_id_known(q, "anna"));
    cr_assert_not(queue_agent_id_known(q, "bert"));
    cr_assert_eq(queue_agent_remove(q, 1), QUEUE_OK);
    cr_assert_not(queue_agent_id_known(q, "anna"));
    cr_assert_str_eq(queue_result_name(QUEUE_ERR_UNKNOWN_AGENT), "unknown_agent");
    cr_assert_str_eq(queue_lane_name(QUEUE_LANE_EARLY), "early");
    cr_assert_str_eq(queue_lane_name(QUEUE_LANE_URGENT), "urgent");
}

Test(lanes, a_closing_agent_frees_the_call_it_held)
{
    agent(100, "anna", NULL);
    const char *x = walk_in(0, "afval", 1);
    struct queue_call c;
    cr_assert_eq(queue_accept(q, 100, x, 0, &c), QUEUE_OK);
    cr_assert_eq(queue_agent_remove(q, 100), QUEUE_OK); /* ASan: no leak, no use after free */
    uint32_t p;
    cr_assert_eq(queue_position(q, x, &p), QUEUE_ERR_NOT_FOUND);
}
