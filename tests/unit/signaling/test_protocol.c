/* Tests for signaling/protocol.c: protocol v1 frames in, gateway messages out. */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "balie/protocol.h"

static int parse(const char *text, struct proto_msg *m, struct proto_error *e)
{
    return proto_parse(text, strlen(text), m, e);
}

/* Parses a frame that must be refused and checks the code; returns the error. */
static struct proto_error refused(const char *text, enum proto_error_code code)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse(text, &m, &e), -1, "accepted: %s", text);
    cr_assert_eq(e.code, code, "%s: got %s (%s)", text, proto_error_code_name(e.code), e.message);
    cr_assert_null(m.storage);
    cr_assert_gt(strlen(e.message), 0);
    return e;
}

/* A frame built with printf formatting, freed by the caller. */
static char *frame(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *frame(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    cr_assert_geq(vasprintf(&text, fmt, ap), 0);
    va_end(ap);
    return text;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Checks that a frame whose field `field` holds `max` bytes passes and one more byte fails with
 * too_large. `fmt` has one "%s" where the value goes. */
static void check_limit(const char *fmt, size_t max, char fill, const char *field)
{
    char *ok_value = repeat(fill, max);
    char *long_value = repeat(fill, max + 1);
    const char *hole = strstr(fmt, "%s");
    cr_assert_not_null(hole);
    int head = (int)(hole - fmt);
    char *ok = frame("%.*s%s%s", head, fmt, ok_value, hole + 2);
    char *bad = frame("%.*s%s%s", head, fmt, long_value, hole + 2);
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse(ok, &m, &e), 0, "%s at its limit %zu: %s", field, max, e.message);
    proto_msg_free(&m);
    e = refused(bad, PROTO_ERR_TOO_LARGE);
    cr_assert_str_eq(e.field, field);
    cr_assert_not_null(strstr(e.message, field), "message names the field: %s", e.message);
    free(ok_value);
    free(long_value);
    free(ok);
    free(bad);
}

/* ---- Each type parses with its fields ---- */

Test(protocol, join_with_every_field)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"join\",\"id\":\"r1\",\"service\":\"paspoort\","
                       "\"appointment\":\"APT-2024:17\",\"context\":\"tel/8812 \\u00e9\"}",
                       &m, &e),
                 0, "%s", e.message);
    cr_assert_eq(m.type, PROTO_JOIN);
    cr_assert(m.id.present);
    cr_assert_not(m.id.numeric);
    cr_assert_str_eq(m.id.text, "r1");
    cr_assert_str_eq(m.join.service, "paspoort");
    cr_assert_str_eq(m.join.appointment, "APT-2024:17");
    cr_assert_str_eq(m.join.context, "tel/8812 \xc3\xa9");
    proto_msg_free(&m);
    cr_assert_null(m.storage);
    cr_assert_null(m.join.service);
}

Test(protocol, join_without_fields_and_with_nulls)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"join\"}", &m, &e), 0);
    cr_assert_null(m.join.service);
    cr_assert_null(m.join.appointment);
    cr_assert_null(m.join.context);
    cr_assert_not(m.id.present);
    cr_assert_null(m.storage, "nothing to copy, nothing allocated");
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"type\":\"join\",\"service\":null,\"context\":null}", &m, &e), 0);
    cr_assert_null(m.join.service);
    proto_msg_free(&m);
}

Test(protocol, types_without_fields)
{
    static const struct {
        const char *text;
        enum proto_type type;
    } cases[] = {
        {"{\"type\":\"leave\"}", PROTO_LEAVE},   {"{\"type\":\"hold\",\"id\":3}", PROTO_HOLD},
        {"{\"type\":\"resume\"}", PROTO_RESUME}, {"{\"type\":\"accept\"}", PROTO_ACCEPT},
        {"{\"type\":\"hangup\"}", PROTO_HANGUP},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_msg m;
        struct proto_error e;
        cr_assert_eq(parse(cases[i].text, &m, &e), 0, "%s: %s", cases[i].text, e.message);
        cr_assert_eq(m.type, cases[i].type);
        proto_msg_free(&m);
    }
}

Test(protocol, type_names_round_trip)
{
    for (int t = PROTO_JOIN; t <= PROTO_RESUME_SESSION; t++) {
        char *text = frame("{\"type\":\"%s\",\"status\":\"away\",\"sdp\":\"v=0\",\"candidate\":"
                           "\"\",\"text\":\"hi\",\"service\":\"s\",\"token\":\"t\"}",
                           proto_type_name((enum proto_type)t));
        struct proto_msg m;
        struct proto_error e;
        cr_assert_eq(parse(text, &m, &e), 0, "%s: %s", text, e.message);
        cr_assert_eq(m.type, (enum proto_type)t);
        proto_msg_free(&m);
        free(text);
    }
    cr_assert_str_eq(proto_type_name((enum proto_type)0), "unknown");
    cr_assert_str_eq(proto_type_name((enum proto_type)99), "unknown");
}

Test(protocol, presence_with_services)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"presence\",\"status\":\"available\","
                       "\"services\":[\"paspoort\",\"rijbewijs\",\"afval.grof\"]}",
                       &m, &e),
                 0, "%s", e.message);
    cr_assert_eq(m.type, PROTO_PRESENCE);
    cr_assert_eq(m.presence.status, PROTO_AVAILABLE);
    cr_assert_eq(m.presence.service_count, 3);
    cr_assert_str_eq(m.presence.services[0], "paspoort");
    cr_assert_str_eq(m.presence.services[1], "rijbewijs");
    cr_assert_str_eq(m.presence.services[2], "afval.grof");
    proto_msg_free(&m);
}

Test(protocol, presence_away_and_empty_services_mean_all)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"presence\",\"status\":\"away\"}", &m, &e), 0);
    cr_assert_eq(m.presence.status, PROTO_AWAY);
    cr_assert_null(m.presence.services);
    cr_assert_eq(m.presence.service_count, 0);
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"type\":\"presence\",\"status\":\"available\",\"services\":[]}", &m, &e),
                 0);
    cr_assert_null(m.presence.services);
    cr_assert_eq(m.presence.service_count, 0);
    proto_msg_free(&m);
}

Test(protocol, accept_with_call)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"accept\",\"call\":\"9f86d081884c7d65\"}", &m, &e), 0);
    cr_assert_eq(m.type, PROTO_ACCEPT);
    cr_assert_str_eq(m.accept.call, "9f86d081884c7d65");
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"type\":\"accept\"}", &m, &e), 0);
    cr_assert_null(m.accept.call);
    proto_msg_free(&m);
}

Test(protocol, answer_keeps_sdp_exactly)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(
        parse("{\"type\":\"answer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 0.0.0.0\\r\\n\"}", &m, &e),
        0);
    cr_assert_eq(m.type, PROTO_ANSWER);
    cr_assert_str_eq(m.answer.sdp, "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n");
    proto_msg_free(&m);
}

Test(protocol, candidate_fields)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"candidate\",\"candidate\":\"candidate:1 1 udp 2122260223 "
                       "192.0.2.7 54321 typ host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":1,"
                       "\"usernameFragment\":\"abcd\"}",
                       &m, &e),
                 0, "%s", e.message);
    cr_assert_eq(m.type, PROTO_CANDIDATE);
    cr_assert_str_eq(m.candidate.candidate,
                     "candidate:1 1 udp 2122260223 192.0.2.7 54321 typ host");
    cr_assert_str_eq(m.candidate.sdp_mid, "0");
    cr_assert_eq(m.candidate.sdp_mline_index, 1);
    proto_msg_free(&m);
}

Test(protocol, candidate_end_of_candidates)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(
        parse("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMid\":null,\"sdpMLineIndex\":null}",
              &m, &e),
        0, "%s", e.message);
    cr_assert_str_eq(m.candidate.candidate, "");
    cr_assert_null(m.candidate.sdp_mid);
    cr_assert_eq(m.candidate.sdp_mline_index, -1);
    proto_msg_free(&m);
}

Test(protocol, hangup_reason)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"hangup\",\"reason\":\"user\"}", &m, &e), 0);
    cr_assert_eq(m.type, PROTO_HANGUP);
    cr_assert_str_eq(m.hangup.reason, "user");
    proto_msg_free(&m);
}

Test(protocol, chat_is_trimmed)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(
        parse("{\"type\":\"chat\",\"text\":\" \\n\\tGoedemorgen, \\u00e9\\u00e9n vraag\\r\\n "
              "\"}",
              &m, &e),
        0, "%s", e.message);
    cr_assert_eq(m.type, PROTO_CHAT);
    cr_assert_str_eq(m.chat.text, "Goedemorgen, \xc3\xa9\xc3\xa9n vraag");
    proto_msg_free(&m);
}

Test(protocol, transfer_to_service_or_agent)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"transfer\",\"service\":\"rijbewijs\",\"note\":\"wil ook "
                       "een rijbewijs\"}",
                       &m, &e),
                 0, "%s", e.message);
    cr_assert_eq(m.type, PROTO_TRANSFER);
    cr_assert_str_eq(m.transfer.service, "rijbewijs");
    cr_assert_null(m.transfer.agent);
    cr_assert_str_eq(m.transfer.note, "wil ook een rijbewijs");
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"type\":\"transfer\",\"agent\":\"agent-7\"}", &m, &e), 0);
    cr_assert_null(m.transfer.service);
    cr_assert_str_eq(m.transfer.agent, "agent-7");
    cr_assert_null(m.transfer.note);
    proto_msg_free(&m);
}

Test(protocol, resume_session_token)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"resume_session\",\"token\":\"aGVsbG8.d29ybGQ-_~\"}", &m, &e),
                 0);
    cr_assert_eq(m.type, PROTO_RESUME_SESSION);
    cr_assert_str_eq(m.resume_session.token, "aGVsbG8.d29ybGQ-_~");
    proto_msg_free(&m);
}

Test(protocol, unknown_fields_are_ignored)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"v\":2,\"type\":\"hangup\",\"extra\":{\"a\":[1,2,{\"b\":null}]},"
                       "\"reason\":\"done\",\"more\":true}",
                       &m, &e),
                 0, "%s", e.message);
    cr_assert_str_eq(m.hangup.reason, "done");
    proto_msg_free(&m);
}

/* ---- Each kind of bad input yields the right code ---- */

Test(protocol, bad_json)
{
    refused("", PROTO_ERR_BAD_JSON);
    refused("{", PROTO_ERR_BAD_JSON);
    refused("{\"type\":\"leave\",}", PROTO_ERR_BAD_JSON);
    refused("{\"type\":\"leave\"} {}", PROTO_ERR_BAD_JSON);
    refused("{'type':'leave'}", PROTO_ERR_BAD_JSON);
    /* RFC 8259 §4 leaves duplicate names open; we refuse them so no two readers disagree. */
    refused("{\"type\":\"leave\",\"type\":\"hold\"}", PROTO_ERR_BAD_JSON);
    refused("{\"type\":\"chat\",\"text\":\"a\\u0000b\"}", PROTO_ERR_BAD_JSON);
    refused("{\"type\":\"chat\",\"text\":\"\xc3\x28\"}", PROTO_ERR_BAD_JSON); /* bad UTF-8 */
    refused("{\"type\":\"chat\",\"text\":\"\\ud800\"}", PROTO_ERR_BAD_JSON);  /* lone surrogate */
    refused("{\"type\":\"leave\",\"n\":99999999999999999999999}", PROTO_ERR_BAD_JSON);
}

Test(protocol, embedded_nul_in_frame_is_bad_json)
{
    static const char text[] = "{\"type\":\"leave\"}\0garbage";
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(proto_parse(text, sizeof(text) - 1, &m, &e), -1);
    cr_assert_eq(e.code, PROTO_ERR_BAD_JSON);
}

Test(protocol, length_is_honoured_without_nul)
{
    /* The frame is the first 16 bytes; what follows must never be read. */
    static const char text[] = "{\"type\":\"leave\"}{\"type\":";
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(proto_parse(text, 16, &m, &e), 0);
    cr_assert_eq(m.type, PROTO_LEAVE);
    cr_assert_eq(proto_parse(text, 15, &m, &e), -1);
    cr_assert_eq(e.code, PROTO_ERR_BAD_JSON);
}

Test(protocol, not_object)
{
    refused("[]", PROTO_ERR_NOT_OBJECT);
    refused("[{\"type\":\"leave\"}]", PROTO_ERR_NOT_OBJECT);
    refused("42", PROTO_ERR_NOT_OBJECT);
    refused("\"leave\"", PROTO_ERR_NOT_OBJECT);
    refused("null", PROTO_ERR_NOT_OBJECT);
    refused("true", PROTO_ERR_NOT_OBJECT);
}

Test(protocol, missing_type)
{
    refused("{}", PROTO_ERR_MISSING_TYPE);
    refused("{\"id\":\"x\"}", PROTO_ERR_MISSING_TYPE);
    refused("{\"type\":5}", PROTO_ERR_MISSING_TYPE);
    refused("{\"type\":null}", PROTO_ERR_MISSING_TYPE);
    refused("{\"type\":[\"join\"]}", PROTO_ERR_MISSING_TYPE);
    refused("{\"Type\":\"join\"}", PROTO_ERR_MISSING_TYPE);
}

Test(protocol, unknown_type)
{
    refused("{\"type\":\"\"}", PROTO_ERR_UNKNOWN_TYPE);
    refused("{\"type\":\"JOIN\"}", PROTO_ERR_UNKNOWN_TYPE);
    refused("{\"type\":\"join \"}", PROTO_ERR_UNKNOWN_TYPE);
    refused("{\"type\":\"joinx\"}", PROTO_ERR_UNKNOWN_TYPE);
    /* Gateway→client types are not taken from clients. */
    refused("{\"type\":\"ack\"}", PROTO_ERR_UNKNOWN_TYPE);
    refused("{\"type\":\"offer\",\"sdp\":\"v=0\"}", PROTO_ERR_UNKNOWN_TYPE);
    refused("{\"type\":\"queued\"}", PROTO_ERR_UNKNOWN_TYPE);
    refused("{\"type\":\"unknown\"}", PROTO_ERR_UNKNOWN_TYPE);
}

static void bad_field(const char *text, const char *field)
{
    struct proto_error e = refused(text, PROTO_ERR_BAD_FIELD);
    cr_assert_not_null(e.field, "%s", text);
    cr_assert_str_eq(e.field, field, "%s", text);
    cr_assert_not_null(strstr(e.message, field), "'%s' not named in: %s", field, e.message);
}

Test(protocol, bad_field_types)
{
    bad_field("{\"type\":\"join\",\"service\":7}", "service");
    bad_field("{\"type\":\"join\",\"appointment\":{}}", "appointment");
    bad_field("{\"type\":\"join\",\"context\":[\"a\"]}", "context");
    bad_field("{\"type\":\"accept\",\"call\":true}", "call");
    bad_field("{\"type\":\"answer\",\"sdp\":1}", "sdp");
    bad_field("{\"type\":\"candidate\",\"candidate\":{}}", "candidate");
    bad_field("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMid\":0}", "sdpMid");
    bad_field("{\"type\":\"hangup\",\"reason\":false}", "reason");
    bad_field("{\"type\":\"chat\",\"text\":42}", "text");
    bad_field("{\"type\":\"transfer\",\"service\":\"a\",\"note\":1}", "note");
    bad_field("{\"type\":\"resume_session\",\"token\":12}", "token");
    bad_field("{\"type\":\"presence\",\"status\":\"available\",\"services\":\"a\"}", "services");
    bad_field("{\"type\":\"presence\",\"status\":\"available\",\"services\":[\"a\",1]}",
              "services");
    bad_field("{\"type\":\"presence\",\"status\":\"available\",\"services\":[null]}", "services");
}

Test(protocol, bad_field_required)
{
    bad_field("{\"type\":\"answer\"}", "sdp");
    bad_field("{\"type\":\"answer\",\"sdp\":null}", "sdp");
    bad_field("{\"type\":\"candidate\"}", "candidate");
    bad_field("{\"type\":\"chat\"}", "text");
    bad_field("{\"type\":\"resume_session\"}", "token");
    bad_field("{\"type\":\"presence\"}", "status");
    bad_field("{\"type\":\"transfer\"}", "service");
    bad_field("{\"type\":\"transfer\",\"note\":\"x\"}", "service");
}

Test(protocol, bad_field_values)
{
    bad_field("{\"type\":\"presence\",\"status\":\"busy\"}", "status");
    bad_field("{\"type\":\"presence\",\"status\":\"Available\"}", "status");
    bad_field("{\"type\":\"presence\",\"status\":1}", "status");
    bad_field("{\"type\":\"join\",\"service\":\"\"}", "service");
    bad_field("{\"type\":\"join\",\"service\":\"pas poort\"}", "service");
    bad_field("{\"type\":\"join\",\"service\":\"pas/poort\"}", "service");
    bad_field("{\"type\":\"join\",\"service\":\"caf\\u00e9\"}", "service");
    bad_field("{\"type\":\"join\",\"appointment\":\"<script>\"}", "appointment");
    bad_field("{\"type\":\"join\",\"context\":\"\"}", "context");
    bad_field("{\"type\":\"answer\",\"sdp\":\"\"}", "sdp");
    bad_field("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMid\":\"a b\"}", "sdpMid");
    bad_field("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":-1}", "sdpMLineIndex");
    bad_field("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":65536}",
              "sdpMLineIndex");
    bad_field("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":\"0\"}",
              "sdpMLineIndex");
    bad_field("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":0.5}", "sdpMLineIndex");
    bad_field("{\"type\":\"chat\",\"text\":\"\"}", "text");
    bad_field("{\"type\":\"chat\",\"text\":\" \\t\\r\\n \"}", "text");
    bad_field("{\"type\":\"resume_session\",\"token\":\"a+b/c=\"}", "token");
    bad_field("{\"type\":\"resume_session\",\"token\":\"\"}", "token");
    bad_field("{\"type\":\"transfer\",\"service\":\"a\",\"agent\":\"b\"}", "agent");
    bad_field("{\"type\":\"transfer\",\"agent\":\"agent 7\"}", "agent");
}

Test(protocol, sdp_mline_index_bounds_accepted)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(
        parse("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":65535}", &m, &e), 0);
    cr_assert_eq(m.candidate.sdp_mline_index, 65535);
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMLineIndex\":0}", &m, &e),
                 0);
    cr_assert_eq(m.candidate.sdp_mline_index, 0);
    proto_msg_free(&m);
}

Test(protocol, error_message_never_quotes_the_frame)
{
    struct proto_error e =
        refused("{\"type\":\"join\",\"service\":\"BSN 123456782\"}", PROTO_ERR_BAD_FIELD);
    cr_assert_null(strstr(e.message, "123456782"), "%s", e.message);
    e = refused("{\"type\":\"join\",\"service\":\"BSN 123456782\"", PROTO_ERR_BAD_JSON);
    cr_assert_null(strstr(e.message, "123456782"), "%s", e.message);
    e = refused("{\"type\":\"123456782\"}", PROTO_ERR_UNKNOWN_TYPE);
    cr_assert_null(strstr(e.message, "123456782"), "%s", e.message);
}

/* ---- Ids are echoed ---- */

Test(protocol, string_and_integer_ids)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"leave\",\"id\":\"req-1 \\u0041\"}", &m, &e), 0);
    cr_assert(m.id.present);
    cr_assert_not(m.id.numeric);
    cr_assert_str_eq(m.id.text, "req-1 A");
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"id\":-42,\"type\":\"leave\"}", &m, &e), 0);
    cr_assert(m.id.present);
    cr_assert(m.id.numeric);
    cr_assert_str_eq(m.id.text, "-42");
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"id\":9223372036854775807,\"type\":\"leave\"}", &m, &e), 0);
    cr_assert_str_eq(m.id.text, "9223372036854775807");
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"id\":null,\"type\":\"leave\"}", &m, &e), 0);
    cr_assert_not(m.id.present);
    proto_msg_free(&m);
}

Test(protocol, id_echoed_on_errors)
{
    struct proto_error e = refused("{\"id\":\"q7\",\"type\":\"nope\"}", PROTO_ERR_UNKNOWN_TYPE);
    cr_assert(e.id.present);
    cr_assert_str_eq(e.id.text, "q7");
    e = refused("{\"id\":8}", PROTO_ERR_MISSING_TYPE);
    cr_assert(e.id.present);
    cr_assert(e.id.numeric);
    cr_assert_str_eq(e.id.text, "8");
    e = refused("{\"type\":\"answer\",\"id\":\"a\"}", PROTO_ERR_BAD_FIELD);
    cr_assert_str_eq(e.id.text, "a");
    e = refused("{\"type\":\"join\"", PROTO_ERR_BAD_JSON);
    cr_assert_not(e.id.present, "no id can be read from broken JSON");
}

Test(protocol, bad_ids)
{
    struct proto_error e;
    e = refused("{\"type\":\"leave\",\"id\":1.5}", PROTO_ERR_BAD_FIELD);
    cr_assert_str_eq(e.field, "id");
    cr_assert_not(e.id.present);
    refused("{\"type\":\"leave\",\"id\":{}}", PROTO_ERR_BAD_FIELD);
    refused("{\"type\":\"leave\",\"id\":true}", PROTO_ERR_BAD_FIELD);
    refused("{\"type\":\"leave\",\"id\":\"\"}", PROTO_ERR_BAD_FIELD);
    refused("{\"type\":\"leave\",\"id\":\"a\\nb\"}", PROTO_ERR_BAD_FIELD);
    refused("{\"type\":\"leave\",\"id\":\"\\u00e9\"}", PROTO_ERR_BAD_FIELD);
}

/* ---- Limits, exactly at the boundary ---- */

Test(protocol, field_limits)
{
    check_limit("{\"type\":\"leave\",\"id\":\"%s\"}", PROTO_ID_MAX, 'i', "id");
    check_limit("{\"type\":\"join\",\"service\":\"%s\"}", PROTO_ID_MAX, 's', "service");
    check_limit("{\"type\":\"join\",\"appointment\":\"%s\"}", PROTO_ID_MAX, '7', "appointment");
    check_limit("{\"type\":\"join\",\"context\":\"%s\"}", PROTO_CONTEXT_MAX, 'c', "context");
    check_limit("{\"type\":\"accept\",\"call\":\"%s\"}", PROTO_ID_MAX, 'a', "call");
    check_limit("{\"type\":\"answer\",\"sdp\":\"%s\"}", PROTO_SDP_MAX, 'v', "sdp");
    check_limit("{\"type\":\"candidate\",\"candidate\":\"%s\"}", PROTO_CANDIDATE_MAX, 'c',
                "candidate");
    check_limit("{\"type\":\"candidate\",\"candidate\":\"\",\"sdpMid\":\"%s\"}", PROTO_MID_MAX, 'm',
                "sdpMid");
    check_limit("{\"type\":\"hangup\",\"reason\":\"%s\"}", PROTO_REASON_MAX, 'r', "reason");
    check_limit("{\"type\":\"chat\",\"text\":\"%s\"}", PROTO_CHAT_MAX, 't', "text");
    check_limit("{\"type\":\"transfer\",\"agent\":\"x\",\"note\":\"%s\"}", PROTO_NOTE_MAX, 'n',
                "note");
    check_limit("{\"type\":\"transfer\",\"agent\":\"%s\"}", PROTO_ID_MAX, 'x', "agent");
    check_limit("{\"type\":\"resume_session\",\"token\":\"%s\"}", PROTO_TOKEN_MAX, 'k', "token");
}

Test(protocol, chat_limit_counts_utf8_bytes)
{
    /* 1000 × "é" is 2000 bytes: at the limit, though only 1000 characters. */
    size_t n = PROTO_CHAT_MAX / 2;
    char *text = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2);
    text[2 * n] = '\0';
    char *ok = frame("{\"type\":\"chat\",\"text\":\"%s\"}", text);
    char *bad = frame("{\"type\":\"chat\",\"text\":\"%s!\"}", text);
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse(ok, &m, &e), 0, "%s", e.message);
    cr_assert_eq(strlen(m.chat.text), PROTO_CHAT_MAX);
    proto_msg_free(&m);
    refused(bad, PROTO_ERR_TOO_LARGE);
    /* Escapes count as the bytes they decode to: 2000 × "\u0041" is 2000 bytes. */
    char *escaped = malloc(PROTO_CHAT_MAX * 6 + 1);
    for (size_t i = 0; i < PROTO_CHAT_MAX; i++)
        memcpy(escaped + 6 * i, "\\u0041", 6);
    escaped[PROTO_CHAT_MAX * 6] = '\0';
    char *esc = frame("{\"type\":\"chat\",\"text\":\"%s\"}", escaped);
    cr_assert_eq(parse(esc, &m, &e), 0, "%s", e.message);
    proto_msg_free(&m);
    free(text);
    free(ok);
    free(bad);
    free(escaped);
    free(esc);
}

Test(protocol, services_count_limit)
{
    char list[PROTO_SERVICES_MAX * 8 + 16] = "";
    for (int i = 0; i < PROTO_SERVICES_MAX; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"s%d\"", i ? "," : "", i);
    char *ok = frame("{\"type\":\"presence\",\"status\":\"away\",\"services\":[%s]}", list);
    char *bad = frame("{\"type\":\"presence\",\"status\":\"away\",\"services\":[%s,\"x\"]}", list);
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse(ok, &m, &e), 0, "%s", e.message);
    cr_assert_eq(m.presence.service_count, PROTO_SERVICES_MAX);
    cr_assert_str_eq(m.presence.services[PROTO_SERVICES_MAX - 1], "s63");
    proto_msg_free(&m);
    e = refused(bad, PROTO_ERR_TOO_LARGE);
    cr_assert_str_eq(e.field, "services");
    free(ok);
    free(bad);
}

/* A valid frame of exactly `len` bytes: a leave padded with an ignored field. */
static char *frame_of_length(size_t len)
{
    static const char head[] = "{\"type\":\"leave\",\"pad\":\"";
    static const char tail[] = "\"}";
    size_t pad = len - (sizeof(head) - 1) - (sizeof(tail) - 1);
    char *text = malloc(len + 1);
    memcpy(text, head, sizeof(head) - 1);
    memset(text + sizeof(head) - 1, 'p', pad);
    memcpy(text + sizeof(head) - 1 + pad, tail, sizeof(tail));
    cr_assert_eq(strlen(text), len);
    return text;
}

Test(protocol, frame_size_limit)
{
    char *ok = frame_of_length(PROTO_FRAME_MAX);
    char *bad = frame_of_length(PROTO_FRAME_MAX + 1);
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse(ok, &m, &e), 0, "%s", e.message);
    cr_assert_eq(m.type, PROTO_LEAVE);
    proto_msg_free(&m);
    e = refused(bad, PROTO_ERR_TOO_LARGE);
    cr_assert_null(e.field);
    free(ok);
    free(bad);
}

/* A leave whose ignored field nests arrays so the whole frame is `depth` levels deep. */
static char *frame_of_depth(int depth)
{
    size_t inner = (size_t)depth - 1;
    char *open = repeat('[', inner);
    char *close = repeat(']', inner);
    char *text =
        frame("{\"type\":\"leave\",\"x\":%s%s,\"s\":\"[[[[[[[[[[[[[[[[[[[[\"}", open, close);
    free(open);
    free(close);
    return text;
}

Test(protocol, nesting_limit)
{
    char *ok = frame_of_depth(PROTO_DEPTH_MAX);
    char *bad = frame_of_depth(PROTO_DEPTH_MAX + 1);
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse(ok, &m, &e), 0, "brackets in strings do not count: %s", e.message);
    proto_msg_free(&m);
    refused(bad, PROTO_ERR_TOO_LARGE);
    /* Deep enough to hurt a recursive parser, and never handed to it. */
    char *deep = repeat('[', 100000);
    struct proto_error e2 = refused(deep, PROTO_ERR_TOO_LARGE);
    cr_assert_not_null(strstr(e2.message, "longer"));
    free(deep);
    deep = repeat('{', 1000);
    refused(deep, PROTO_ERR_TOO_LARGE);
    free(ok);
    free(bad);
    free(deep);
}

Test(protocol, escaped_quote_does_not_hide_brackets)
{
    /* "\"" inside a string must not end it: the brackets after it are still inside. */
    struct proto_msg m;
    struct proto_error e;
    char *inner = repeat('[', PROTO_DEPTH_MAX + 4);
    char *text = frame("{\"type\":\"leave\",\"s\":\"\\\"%s\\\\\"}", inner);
    cr_assert_eq(parse(text, &m, &e), 0, "%s", e.message);
    proto_msg_free(&m);
    free(inner);
    free(text);
}

Test(protocol, free_is_safe_on_empty_and_failed)
{
    struct proto_msg m;
    struct proto_error e;
    proto_msg_free(NULL);
    memset(&m, 0, sizeof(m));
    proto_msg_free(&m);
    cr_assert_eq(parse("{\"type\":\"answer\"}", &m, &e), -1);
    proto_msg_free(&m);
    proto_msg_free(&m);
}

Test(protocol, error_code_names)
{
    cr_assert_str_eq(proto_error_code_name(PROTO_ERR_BAD_JSON), "bad_json");
    cr_assert_str_eq(proto_error_code_name(PROTO_ERR_NOT_OBJECT), "not_object");
    cr_assert_str_eq(proto_error_code_name(PROTO_ERR_MISSING_TYPE), "missing_type");
    cr_assert_str_eq(proto_error_code_name(PROTO_ERR_UNKNOWN_TYPE), "unknown_type");
    cr_assert_str_eq(proto_error_code_name(PROTO_ERR_BAD_FIELD), "bad_field");
    cr_assert_str_eq(proto_error_code_name(PROTO_ERR_TOO_LARGE), "too_large");
    cr_assert_str_eq(proto_error_code_name(PROTO_ERR_INTERNAL), "internal");
}

/* ---- Builders produce JSON that re-parses with the right fields ---- */

/* Parses builder output (which must exist and be compact) and checks its type. */
static json_t *built(char *text, const char *type)
{
    cr_assert_not_null(text);
    cr_assert_null(strchr(text, '\n'), "compact: %s", text);
    cr_assert_null(strstr(text, ": "), "compact: %s", text);
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    cr_assert_not_null(root, "%s: %s", text, jerr.text);
    cr_assert_str_eq(json_string_value(json_object_get(root, "type")), type, "%s", text);
    free(text);
    return root;
}

static const char *str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_string(v), "'%s' is not a string", key);
    return json_string_value(v);
}

static json_int_t num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_integer(v), "'%s' is not an integer", key);
    return json_integer_value(v);
}

Test(protocol_build, ack_echoes_id_in_its_json_type)
{
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"hold\",\"id\":\"h-1\"}", &m, &e), 0);
    json_t *j = built(proto_build_ack(&m.id), "ack");
    cr_assert_str_eq(str(j, "id"), "h-1");
    json_decref(j);
    proto_msg_free(&m);

    cr_assert_eq(parse("{\"type\":\"hold\",\"id\":-17}", &m, &e), 0);
    j = built(proto_build_ack(&m.id), "ack");
    cr_assert_eq(num(j, "id"), -17);
    json_decref(j);

    j = built(proto_build_ack(NULL), "ack");
    cr_assert_null(json_object_get(j, "id"));
    json_decref(j);
    struct proto_id none = {0};
    j = built(proto_build_ack(&none), "ack");
    cr_assert_null(json_object_get(j, "id"));
    json_decref(j);
}

Test(protocol_build, error_and_parse_error)
{
    struct proto_id id = {.present = true, .text = "x\"y"};
    json_t *j =
        built(proto_build_error(&id, "already_taken", "another agent took this call"), "error");
    cr_assert_str_eq(str(j, "id"), "x\"y");
    cr_assert_str_eq(str(j, "code"), "already_taken");
    cr_assert_str_eq(str(j, "message"), "another agent took this call");
    json_decref(j);

    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse("{\"type\":\"chat\",\"id\":12}", &m, &e), -1);
    j = built(proto_build_parse_error(&e), "error");
    cr_assert_eq(num(j, "id"), 12);
    cr_assert_str_eq(str(j, "code"), "bad_field");
    cr_assert_not_null(strstr(str(j, "message"), "text"));
    json_decref(j);
    cr_assert_null(proto_build_parse_error(NULL));
    cr_assert_null(proto_build_error(NULL, NULL, "m"));
}

Test(protocol_build, queued_and_position)
{
    json_t *j = built(proto_build_queued("0123456789abcdef", 3, 450), "queued");
    cr_assert_str_eq(str(j, "call"), "0123456789abcdef");
    cr_assert_eq(num(j, "position"), 3);
    cr_assert_eq(num(j, "estimated_wait_s"), 450);
    json_decref(j);
    j = built(proto_build_queued("0123456789abcdef", 1, -1), "queued");
    cr_assert(json_is_null(json_object_get(j, "estimated_wait_s")), "unknown wait is null");
    json_decref(j);
    j = built(proto_build_queue_position(4294967295u, 0), "queue");
    cr_assert_eq(num(j, "position"), 4294967295);
    cr_assert_eq(num(j, "estimated_wait_s"), 0);
    cr_assert_null(json_object_get(j, "waiting"));
    json_decref(j);
    cr_assert_null(proto_build_queued(NULL, 1, 1));
}

Test(protocol_build, agent_queue)
{
    struct queue_entry_view entries[] = {
        {.call = "aaaa",
         .service = "paspoort",
         .waited_s = 95,
         .loa = LOA_SUBSTANTIEEL,
         .appointment = "APT-1"},
        {.call = "bbbb", .service = "afval", .waited_s = 3, .loa = LOA_BASIS},
    };
    json_t *j = built(proto_build_agent_queue(entries, 2), "queue");
    json_t *waiting = json_object_get(j, "waiting");
    cr_assert(json_is_array(waiting));
    cr_assert_eq(json_array_size(waiting), 2);
    json_t *first = json_array_get(waiting, 0);
    cr_assert_str_eq(str(first, "call"), "aaaa");
    cr_assert_str_eq(str(first, "service"), "paspoort");
    cr_assert_eq(num(first, "waited_s"), 95);
    cr_assert_str_eq(str(first, "loa"), "substantieel");
    cr_assert_str_eq(str(first, "appointment"), "APT-1");
    json_t *second = json_array_get(waiting, 1);
    cr_assert_str_eq(str(second, "loa"), "basis");
    cr_assert_null(json_object_get(second, "appointment"));
    json_decref(j);

    j = built(proto_build_agent_queue(NULL, 0), "queue");
    cr_assert_eq(json_array_size(json_object_get(j, "waiting")), 0);
    json_decref(j);
    struct queue_entry_view broken = {.call = NULL, .service = "a"};
    cr_assert_null(proto_build_agent_queue(&broken, 1));
}

Test(protocol_build, call_with_peer_and_ice_servers)
{
    const char *stun[] = {"stun:stun.example.nl:3478"};
    const char *turn[] = {"turn:turn.example.nl:3478?transport=udp",
                          "turns:turn.example.nl:5349?transport=tcp"};
    struct proto_ice_server servers[] = {
        {.urls = stun, .url_count = 1},
        {.urls = turn, .url_count = 2, .username = "1700000000:balie", .credential = "c2VjcmV0"},
    };
    struct proto_peer peer = {.loa = LOA_HOOG, .provider = "oidc", .display_name = "J. Jansen"};
    json_t *j = built(proto_build_call("c1", PROTO_ROLE_AGENT, &peer, servers, 2), "call");
    cr_assert_str_eq(str(j, "call"), "c1");
    cr_assert_str_eq(str(j, "role"), "agent");
    json_t *p = json_object_get(j, "peer");
    cr_assert_str_eq(str(p, "loa"), "hoog");
    cr_assert_str_eq(str(p, "provider"), "oidc");
    cr_assert_str_eq(str(p, "display_name"), "J. Jansen");
    json_t *ice = json_object_get(j, "ice_servers");
    cr_assert_eq(json_array_size(ice), 2);
    json_t *s0 = json_array_get(ice, 0);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(s0, "urls"), 0)), stun[0]);
    cr_assert_null(json_object_get(s0, "username"));
    cr_assert_null(json_object_get(s0, "credential"));
    json_t *s1 = json_array_get(ice, 1);
    cr_assert_eq(json_array_size(json_object_get(s1, "urls")), 2);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(s1, "urls"), 1)), turn[1]);
    cr_assert_str_eq(str(s1, "username"), "1700000000:balie");
    cr_assert_str_eq(str(s1, "credential"), "c2VjcmV0");
    json_decref(j);

    struct proto_peer anonymous = {.loa = LOA_MIDDEN, .provider = "dev"};
    j = built(proto_build_call("c2", PROTO_ROLE_CITIZEN, &anonymous, NULL, 0), "call");
    cr_assert_str_eq(str(j, "role"), "citizen");
    cr_assert_null(json_object_get(json_object_get(j, "peer"), "display_name"));
    cr_assert_eq(json_array_size(json_object_get(j, "ice_servers")), 0);
    json_decref(j);

    cr_assert_null(proto_build_call("c3", PROTO_ROLE_AGENT, NULL, NULL, 0));
    struct proto_peer no_provider = {.loa = LOA_HOOG};
    cr_assert_null(proto_build_call("c3", PROTO_ROLE_AGENT, &no_provider, NULL, 0));
    const char *bad_urls[] = {NULL};
    struct proto_ice_server bad = {.urls = bad_urls, .url_count = 1};
    cr_assert_null(proto_build_call("c3", PROTO_ROLE_AGENT, &peer, &bad, 1));
}

Test(protocol_build, offer_state_ended_chat)
{
    json_t *j = built(proto_build_offer("v=0\r\ns=-\r\n"), "offer");
    cr_assert_str_eq(str(j, "sdp"), "v=0\r\ns=-\r\n");
    json_decref(j);

    static const struct {
        enum proto_media media;
        const char *name;
    } media[] = {{PROTO_MEDIA_CONNECTING, "connecting"},
                 {PROTO_MEDIA_FLOWING, "flowing"},
                 {PROTO_MEDIA_HELD, "held"},
                 {PROTO_MEDIA_FAILED, "failed"}};
    for (size_t i = 0; i < 4; i++) {
        j = built(proto_build_state("c9", media[i].media), "state");
        cr_assert_str_eq(str(j, "call"), "c9");
        cr_assert_str_eq(str(j, "media"), media[i].name);
        json_decref(j);
    }

    j = built(proto_build_ended("hangup", "answered"), "ended");
    cr_assert_str_eq(str(j, "reason"), "hangup");
    cr_assert_str_eq(str(j, "outcome"), "answered");
    json_decref(j);

    j = built(proto_build_chat(PROTO_ROLE_CITIZEN, "dank u \xe2\x80\x94 tot ziens"), "chat");
    cr_assert_str_eq(str(j, "from"), "citizen");
    cr_assert_str_eq(str(j, "text"), "dank u \xe2\x80\x94 tot ziens");
    json_decref(j);
    j = built(proto_build_chat(PROTO_ROLE_AGENT, "</script><b>"), "chat");
    cr_assert_str_eq(str(j, "from"), "agent");
    cr_assert_str_eq(str(j, "text"), "</script><b>");
    json_decref(j);
}

Test(protocol_build, refuses_invalid_utf8_and_null)
{
    cr_assert_null(proto_build_chat(PROTO_ROLE_AGENT, "\xc3\x28"));
    cr_assert_null(proto_build_chat(PROTO_ROLE_AGENT, NULL));
    cr_assert_null(proto_build_offer(NULL));
    cr_assert_null(proto_build_state(NULL, PROTO_MEDIA_HELD));
    cr_assert_null(proto_build_ended("x", NULL));
}

Test(protocol_build, parse_of_built_chat_round_trips)
{
    /* What the gateway relays, a client can send back unchanged. */
    char *text = proto_build_chat(PROTO_ROLE_AGENT, "regel 1\nregel \"2\" \\ \xf0\x9f\x99\x82");
    cr_assert_not_null(text);
    struct proto_msg m;
    struct proto_error e;
    cr_assert_eq(parse(text, &m, &e), 0, "%s", e.message);
    cr_assert_str_eq(m.chat.text, "regel 1\nregel \"2\" \\ \xf0\x9f\x99\x82");
    proto_msg_free(&m);
    free(text);
}

Test(protocol_build, error_with_the_level_a_service_needs)
{
    struct proto_id id = {.present = true, .numeric = true, .text = "10"};
    json_t *j = built(
        proto_build_error_with(&id, "loa_too_low", "needs substantieel", "min_loa", "substantieel"),
        "error");
    cr_assert_eq(num(j, "id"), 10);
    cr_assert_str_eq(str(j, "code"), "loa_too_low");
    cr_assert_str_eq(str(j, "min_loa"), "substantieel");
    json_decref(j);
    cr_assert_null(proto_build_error_with(&id, "loa_too_low", "m", "min_loa", NULL));
    cr_assert_null(proto_build_error_with(&id, "loa_too_low", "m", NULL, "x"));
}
