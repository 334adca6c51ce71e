/* Tests for signaling/protocol_queue.c and the queue's additions to signaling/protocol.c:
 * `prioritize`, lanes, appointments, closed, transfers and notes. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "balie/protocol.h"

static json_t *parse_out(char *text)
{
    cr_assert_not_null(text);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    cr_assert_not_null(j);
    return j;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

Test(protocol_queue, prioritize_needs_a_call_id)
{
    struct proto_msg m;
    struct proto_error err;
    const char *ok = "{\"type\":\"prioritize\",\"id\":4,\"call\":\"0123456789abcdef\"}";
    cr_assert_eq(proto_parse(ok, strlen(ok), &m, &err), 0, "%s", err.message);
    cr_assert_eq(m.type, PROTO_PRIORITIZE);
    cr_assert_str_eq(m.prioritize.call, "0123456789abcdef");
    cr_assert_str_eq(proto_type_name(PROTO_PRIORITIZE), "prioritize");
    proto_msg_free(&m);
    const char *missing = "{\"type\":\"prioritize\"}";
    cr_assert_eq(proto_parse(missing, strlen(missing), &m, &err), -1);
    cr_assert_eq(err.code, PROTO_ERR_BAD_FIELD);
    const char *bad = "{\"type\":\"prioritize\",\"call\":\"a b\"}";
    cr_assert_eq(proto_parse(bad, strlen(bad), &m, &err), -1);
    cr_assert_eq(err.code, PROTO_ERR_BAD_FIELD);
}

Test(protocol_queue, queued_with_an_appointment)
{
    struct proto_queue_info info = {.call = "c1",
                                    .position = 2,
                                    .estimated_wait_s = -1,
                                    .lane = QUEUE_LANE_EARLY,
                                    .appointment_start_ms = 1795440600000LL,
                                    .appointment_end_ms = 1795441500000LL};
    json_t *j = parse_out(proto_build_queued_info(&info));
    cr_assert_str_eq(str(j, "type"), "queued");
    cr_assert_str_eq(str(j, "call"), "c1");
    cr_assert_eq(json_integer_value(json_object_get(j, "position")), 2);
    cr_assert(json_is_null(json_object_get(j, "estimated_wait_s")));
    cr_assert_str_eq(str(j, "lane"), "early");
    /* 1795440600 s is 2026-11-23 13:30 UTC: 14:30 in Amsterdam (winter time). */
    cr_assert_str_eq(str(json_object_get(j, "appointment"), "start"), "2026-11-23T14:30:00+01:00");
    cr_assert_str_eq(str(json_object_get(j, "appointment"), "end"), "2026-11-23T14:45:00+01:00");
    json_decref(j);

    info.appointment_start_ms = 0;
    info.estimated_wait_s = 90;
    info.lane = QUEUE_LANE_WALK_IN;
    j = parse_out(proto_build_queue_info(&info));
    cr_assert_str_eq(str(j, "type"), "queue");
    cr_assert_null(json_object_get(j, "call"), "`queue` carries no call id");
    cr_assert_null(json_object_get(j, "appointment"));
    cr_assert_eq(json_integer_value(json_object_get(j, "estimated_wait_s")), 90);
    json_decref(j);
    info.call = NULL;
    cr_assert_null(proto_build_queued_info(&info), "`queued` needs its call");
}

Test(protocol_queue, closed_error_names_the_next_opening)
{
    struct proto_id id = {.present = true, .numeric = true, .text = "7"};
    json_t *j = parse_out(proto_build_error_at(&id, "closed", "closed now", "opens_at",
                                               1795420800000LL)); /* 2026-11-23 08:00 UTC */
    cr_assert_str_eq(str(j, "code"), "closed");
    cr_assert_eq(json_integer_value(json_object_get(j, "id")), 7);
    cr_assert_str_eq(str(j, "opens_at"), "2026-11-23T09:00:00+01:00");
    json_decref(j);
    j = parse_out(proto_build_error_at(&id, "closed", "closed now", "opens_at", -1));
    cr_assert(json_is_null(json_object_get(j, "opens_at")), "never: null");
    json_decref(j);
}

Test(protocol_queue, transferred_and_notes_in_queue_and_call)
{
    json_t *j = parse_out(proto_build_transferred("c9", true));
    cr_assert_str_eq(str(j, "type"), "transferred");
    cr_assert_str_eq(str(j, "to"), "agent");
    json_decref(j);

    struct queue_note notes[2] = {
        {.from_agent = "anna", .from_service = "afval", .text = "eerste \"notitie\""},
        {.from_agent = "", .from_service = "paspoort", .text = "tweede"},
    };
    struct queue_entry_view e = {.call = "c9",
                                 .service = "paspoort",
                                 .waited_s = 30,
                                 .loa = LOA_MIDDEN,
                                 .lane = QUEUE_LANE_TRANSFER,
                                 .assigned = "bert",
                                 .notes = notes,
                                 .note_count = 2};
    j = parse_out(proto_build_agent_queue(&e, 1));
    json_t *w = json_array_get(json_object_get(j, "waiting"), 0);
    cr_assert_str_eq(str(w, "lane"), "transfer");
    cr_assert(json_is_true(json_object_get(w, "transferred")));
    cr_assert(json_is_false(json_object_get(w, "urgent")));
    cr_assert_str_eq(str(w, "assigned"), "bert");
    json_t *n = json_object_get(w, "notes");
    cr_assert_eq(json_array_size(n), 2);
    cr_assert_str_eq(str(json_array_get(n, 0), "text"), "eerste \"notitie\"");
    cr_assert_str_eq(str(json_array_get(n, 0), "from_agent"), "anna");
    cr_assert_null(json_object_get(json_array_get(n, 1), "from_agent"), "unknown: left out");
    cr_assert_null(json_object_get(w, "due_in_s"));
    json_decref(j);

    struct proto_peer peer = {.loa = LOA_HOOG,
                              .provider = "dev",
                              .service = "paspoort",
                              .transferred = true,
                              .notes = notes,
                              .note_count = 1};
    j = parse_out(proto_build_call("c9", PROTO_ROLE_AGENT, &peer, NULL, 0));
    json_t *p = json_object_get(j, "peer");
    cr_assert_str_eq(str(p, "service"), "paspoort");
    cr_assert(json_is_true(json_object_get(p, "transferred")));
    cr_assert_null(json_object_get(p, "urgent"));
    cr_assert_str_eq(str(json_array_get(json_object_get(p, "notes"), 0), "from_service"), "afval");
    json_decref(j);
}

Test(protocol_queue, early_entry_has_its_due_time)
{
    struct queue_entry_view e = {.call = "c1",
                                 .service = "afval",
                                 .loa = LOA_BASIS,
                                 .appointment = "b404150597675cf7",
                                 .lane = QUEUE_LANE_EARLY,
                                 .due_in_s = 600,
                                 .slot_start_ms = 1795440600000LL};
    json_t *j = parse_out(proto_build_agent_queue(&e, 1));
    json_t *w = json_array_get(json_object_get(j, "waiting"), 0);
    cr_assert_eq(json_integer_value(json_object_get(w, "due_in_s")), 600);
    cr_assert_str_eq(str(w, "appointment_start"), "2026-11-23T14:30:00+01:00");
    cr_assert_str_eq(str(w, "appointment"), "b404150597675cf7");
    json_decref(j);
}
