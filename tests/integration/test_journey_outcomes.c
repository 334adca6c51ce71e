/* Every journey outcome driven through the real WebSocket protocol (journey_peers.py plays the
 * citizen and the agent): each session leaves exactly one signal with the right outcome, end
 * reason and stage, and neither the log nor the signal holds the subject or the name. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "journey_it.h"

TestSuite(journey_outcomes, .fini = jit_cleanup);

/* Exactly one signal, with this outcome, reason and stage; returned for more checks. */
static json_t *one_signal(json_t *list, const char *outcome, const char *reason, const char *stage)
{
    cr_assert_eq(json_integer_value(json_object_get(list, "count")), 1, "exactly one signal");
    json_t *s = json_array_get(json_object_get(list, "signals"), 0);
    cr_assert_str_eq(field(s, "outcome"), outcome);
    cr_assert_str_eq(field(s, "end_reason"), reason);
    cr_assert_str_eq(field(s, "failure_stage"), stage);
    cr_assert_str_eq(field(s, "channel"), "video");
    cr_assert_eq(strlen(field(s, "pseudonym")), 64);
    return s;
}

static void no_subject_in_log(void)
{
    daemon_collect_output(&d, 100);
    cr_assert_null(strstr(d.log, BSN), "a log line holds the subject");
    cr_assert_null(strstr(d.log, "Test Persoon"), "a log line holds the name");
}

Test(journey_outcomes, leaving_while_an_agent_is_present_is_abandoned, .timeout = 60)
{
    start(NULL);
    json_decref(peers("abandon", NULL));
    json_t *list = signals();
    json_t *s = one_signal(list, "abandoned", "citizen_left", "");
    cr_assert_eq(json_integer_value(json_object_get(s, "answered_ms")), 0);
    json_decref(list);
    no_subject_in_log();
}

Test(journey_outcomes, a_long_wait_ends_as_no_agent_timeout, .timeout = 60)
{
    start("[journey]\nno_agent_timeout_s = 2\n");
    json_t *seen = peers("timeout", NULL);
    json_t *ended = json_object_get(seen, "ended");
    cr_assert_str_eq(field(ended, "reason"), "no_agent_timeout");
    cr_assert_str_eq(field(ended, "outcome"), "no_agent");
    json_decref(seen);
    json_t *list = signals();
    json_t *s = one_signal(list, "no_agent", "no_agent_timeout", "");
    cr_assert_geq(json_integer_value(json_object_get(s, "wait_s")), 2);
    json_decref(list);
    no_subject_in_log();
}

Test(journey_outcomes, a_broken_answer_is_failed_at_signaling, .timeout = 60)
{
    start(NULL);
    json_decref(peers("bad_answer", NULL));
    json_t *list = signals();
    json_t *s = one_signal(list, "failed", "bad_answer", "signaling");
    cr_assert_str_neq(field(s, "agent_id"), "", "the agent had taken it");
    json_decref(list);
    no_subject_in_log();
}

/* Both browsers answer but never run ICE: the gateway gives up after RFC 7675's 30 s. */
Test(journey_outcomes, no_ice_is_failed_at_the_ice_stage, .timeout = 90)
{
    start(NULL);
    json_t *seen = peers("ice_fail", NULL);
    json_t *ended = json_object_get(seen, "ended");
    cr_assert_str_eq(field(ended, "outcome"), "failed");
    cr_assert_str_eq(field(ended, "reason"), "ice_failed");
    json_decref(seen);
    json_t *list = signals();
    one_signal(list, "failed", "ice_failed", "ice");
    json_decref(list);
    no_subject_in_log();
}

Test(journey_outcomes, hanging_up_before_media_is_abandoned, .timeout = 60)
{
    start(NULL);
    json_t *seen = peers("hangup_early", NULL);
    /* What the browsers hear is the call's end (protocol v1); the signal says more. */
    cr_assert_str_eq(field(json_object_get(seen, "ended"), "reason"), "hangup");
    json_decref(seen);
    json_t *list = signals();
    json_t *s = one_signal(list, "abandoned", "hangup_before_media", "");
    cr_assert_gt(json_integer_value(json_object_get(s, "answered_ms")), 0);
    json_decref(list);
    no_subject_in_log();
}

/* A socket that closes mid-call is kept for reconnect.grace_s (calls_resume.c); nobody comes
 * back, so the call is dropped when that runs out. */
Test(journey_outcomes, a_socket_closing_in_a_call_is_dropped, .timeout = 60)
{
    start("[reconnect]\ngrace_s = 2\n");
    json_decref(peers("drop", NULL));
    json_t *list = signals();
    one_signal(list, "dropped", "peer_disconnected", "");
    json_decref(list);
    no_subject_in_log();
}

/* The agent sees the citizen's earlier contacts, newest first, during the next call. */
Test(journey_outcomes, the_agent_gets_the_history, .timeout = 90)
{
    start(NULL);
    json_decref(peers("abandon", NULL));
    json_decref(peers("bad_answer", NULL));
    json_t *seen = peers("hangup_early", NULL);
    json_t *history = json_object_get(seen, "history");
    cr_assert_not_null(history, "no history message");
    json_t *list = json_object_get(history, "signals");
    cr_assert_eq(json_array_size(list), 2, "the two earlier sessions, not the current one");
    cr_assert_str_eq(field(json_array_get(list, 0), "outcome"), "failed", "newest first");
    cr_assert_str_eq(field(json_array_get(list, 1), "outcome"), "abandoned");
    cr_assert_str_eq(field(json_array_get(list, 0), "service"), "algemeen");
    cr_assert_str_eq(field(json_array_get(list, 0), "channel"), "video");
    cr_assert_gt(json_integer_value(json_object_get(json_array_get(list, 0), "joined_ms")), 0);
    cr_assert_null(json_object_get(json_array_get(list, 0), "pseudonym"), "no identifier");
    cr_assert_str_eq(field(history, "call"), field(json_object_get(seen, "call"), "call"));
    json_decref(seen);
    json_t *all = signals();
    cr_assert_eq(json_integer_value(json_object_get(all, "count")), 3);
    json_decref(all);
    no_subject_in_log();
}

/* ---- Handover context tokens ---- */

#define ISSUER "https://www.gemeente.example/balie-verwijzing"
#define AUDIENCE "https://balie.gemeente.example"

/* An EC P-256 key pair for the issuer (and one for an impostor) in the test folder. */
static void make_keys(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl ecparam -name prime256v1 -genkey -noout -out issuer.key 2>/dev/null"
             " && openssl ec -in issuer.key -pubout -out issuer.pub 2>/dev/null"
             " && openssl ecparam -name prime256v1 -genkey -noout -out other.key 2>/dev/null",
             dir);
    cr_assert_eq(system(cmd), 0, "openssl could not make the test keys");
}

static char *mint(const char *key, const char *aud, const char *ref, const char *topic,
                  const char *expires_in)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s/%s '%s' '%s' '%s' '%s' %s", BALIE_MINT_CONTEXT_BIN, dir, key,
             ISSUER, aud, ref, topic, expires_in);
    FILE *p = popen(cmd, "r");
    static char token[4096];
    cr_assert_not_null(fgets(token, sizeof(token), p), "the mint tool printed nothing");
    cr_assert_eq(pclose(p), 0);
    token[strcspn(token, "\n")] = '\0';
    return strdup(token);
}

static void start_with_issuer(void)
{
    strcpy(dir, "/tmp/balie-it-outcome-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    make_keys();
    char extra[512], cfg[1024];
    snprintf(extra, sizeof(extra),
             "[journey]\ncontext_issuer = \"" ISSUER "\"\ncontext_key_file = \"%s/issuer.pub\"\n"
             "context_audience = \"" AUDIENCE "\"\n",
             dir);
    snprintf(cfg, sizeof(cfg),
             "[general]\ndata_dir = \"%s/data\"\n[media]\nworkers = 1\nport_base = 0\n"
             "[http]\nport = 0\n%s",
             dir, extra);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "daemon did not start:\n%s", d.log);
}

Test(journey_outcomes, a_valid_context_is_shown_to_the_agent_and_kept, .timeout = 60)
{
    start_with_issuer();
    char *token = mint("issuer.key", AUDIENCE, "zaak-2026-0042", "Verhuizing doorgeven", "600");
    json_t *seen = peers("context", token);
    json_t *entry = json_array_get(json_object_get(json_object_get(seen, "queue"), "waiting"), 0);
    json_t *ctx = json_object_get(entry, "context");
    cr_assert_str_eq(field(ctx, "ref"), "zaak-2026-0042", "the queue entry carries the context");
    cr_assert_str_eq(field(ctx, "topic"), "Verhuizing doorgeven");
    cr_assert_str_eq(field(ctx, "issuer"), ISSUER);
    ctx = json_object_get(json_object_get(json_object_get(seen, "call"), "peer"), "context");
    cr_assert_str_eq(field(ctx, "ref"), "zaak-2026-0042", "the call's peer info carries it");
    json_decref(seen);
    json_t *list = signals();
    json_t *s = one_signal(list, "abandoned", "hangup_before_media", "");
    cr_assert_str_eq(field(s, "context_ref"), "zaak-2026-0042");
    cr_assert_str_eq(field(s, "context_topic"), "Verhuizing doorgeven");
    cr_assert_str_eq(field(s, "context_issuer"), ISSUER);
    char *text = json_dumps(list, 0);
    cr_assert_null(strstr(text, token), "the token itself is never stored");
    free(text);
    json_decref(list);
    daemon_collect_output(&d, 100);
    cr_assert_null(strstr(d.log, token), "the token is never logged");
    free(token);
    no_subject_in_log();
}

/* A wrong key, an expired token, another audience, a reference that is free text: each is
 * refused with context_invalid, and the citizen is not queued (no signal). */
Test(journey_outcomes, an_invalid_context_is_refused, .timeout = 90)
{
    start_with_issuer();
    char *bad[] = {
        mint("other.key", AUDIENCE, "zaak-1", "x", "600"),
        mint("issuer.key", AUDIENCE, "zaak-1", "x", "-120"),
        mint("issuer.key", "https://elders.example", "zaak-1", "x", "600"),
        mint("issuer.key", AUDIENCE, "Jan Jansen belde over zijn uitkering", "x", "600"),
        strdup("not.a.token"),
    };
    const char *expect[] = {"bad_signature", "exp", "aud", "ref", "malformed"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *seen = peers("context_refused", bad[i]);
        json_t *err = json_object_get(seen, "error");
        cr_assert_str_eq(field(err, "code"), "context_invalid", "case %zu", i);
        cr_assert_not_null(strstr(field(err, "message"), "ongeldig"), "Dutch first");
        cr_assert_not_null(strstr(field(err, "message"), expect[i]), "case %zu: %s", i,
                           field(err, "message"));
        json_decref(seen);
        free(bad[i]);
    }
    json_t *list = signals();
    cr_assert_eq(json_integer_value(json_object_get(list, "count")), 0, "nobody was queued");
    json_decref(list);
    daemon_collect_output(&d, 100);
    cr_assert_null(strstr(d.log, "Jan Jansen"), "a refused reference is not logged");
    no_subject_in_log();
}

Test(journey_outcomes, without_a_trusted_issuer_every_context_is_refused, .timeout = 60)
{
    start(NULL);
    make_keys();
    char *token = mint("issuer.key", AUDIENCE, "zaak-1", "x", "600");
    json_t *seen = peers("context_refused", token);
    cr_assert_str_eq(field(json_object_get(seen, "error"), "code"), "context_invalid");
    json_decref(seen);
    free(token);
}

/* "Mijn contactmomenten": the citizen's own signals behind the citizen's session cookie. */
Test(journey_outcomes, the_citizen_sees_their_own_contacts, .timeout = 60)
{
    start(NULL);
    json_decref(peers("abandon", NULL));
    json_decref(peers("noagent", NULL));
    json_t *seen = peers("mine", NULL);
    json_t *citizen = json_object_get(seen, "citizen");
    cr_assert_eq(json_integer_value(json_object_get(citizen, "status")), 200);
    json_t *body = json_object_get(citizen, "body");
    cr_assert_eq(json_integer_value(json_object_get(body, "count")), 2);
    json_t *list = json_object_get(body, "signals");
    cr_assert_str_eq(field(json_array_get(list, 0), "outcome"), "no_agent", "newest first");
    cr_assert_str_eq(field(json_array_get(list, 1), "outcome"), "abandoned");
    cr_assert_null(json_object_get(json_array_get(list, 0), "pseudonym"));
    cr_assert_null(json_object_get(json_array_get(list, 0), "id"));
    cr_assert_eq(json_integer_value(json_object_get(seen, "anonymous")), 401);
    cr_assert_eq(json_integer_value(json_object_get(seen, "agent")), 401, "citizens only");
    json_t *page = json_object_get(seen, "page");
    cr_assert_eq(json_integer_value(json_object_get(page, "status")), 200);
    cr_assert(json_is_true(json_object_get(page, "has_title")));
    json_decref(seen);
    no_subject_in_log();
}
