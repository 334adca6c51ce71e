/* signaling/calls_journey.c without sockets: how a call's end reads as an outcome (stages, a
 * hang-up before media), and the transfer hook that the transfer feature calls. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balie/config.h"
#include "balie/journey.h"
#include "calls_internal.h"

static char dir[64], path[128];
static struct balie_config cfg;
static struct calls *calls;
static struct journey_store *st;
static struct journey_metrics *jm;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/balie-calls-journey-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/balie.db", dir);
    config_defaults(&cfg);
    struct config_errors errors = {0};
    cr_assert_eq(config_validate(&cfg, &errors), 0);
    calls = calls_new(&cfg, "AB:CD");
    cr_assert_not_null(calls);
    char why[256];
    cr_assert_eq(journey_store_open(&st, path, why, sizeof(why)), 0, "%s", why);
    jm = journey_metrics_new(60);
    calls_attach_journey(calls, st, jm);
}

static void teardown(void)
{
    calls_free(calls);
    journey_store_close(st);
    journey_metrics_free(jm);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(calls_journey, .init = setup, .fini = teardown);

/* A call as start_call leaves it: the citizen's open signal, answered by an agent. */
static struct call *answered_call(void)
{
    struct call *call = calloc(1, sizeof(*call));
    struct journey_signal *s = calloc(1, sizeof(*s));
    cr_assert_eq(journey_init(s), 0);
    snprintf(s->service, sizeof(s->service), "algemeen");
    snprintf(s->pseudonym, sizeof(s->pseudonym), "%064d", 5);
    snprintf(s->loa, sizeof(s->loa), "midden");
    snprintf(s->provider, sizeof(s->provider), "dev");
    snprintf(s->context_ref, sizeof(s->context_ref), "zaak-9");
    snprintf(s->context_topic, sizeof(s->context_topic), "Afval");
    cr_assert_eq(journey_open(st, s), 0);
    s->answered_ms = journey_now_ms();
    snprintf(s->agent_id, sizeof(s->agent_id), "agent-3");
    cr_assert_eq(journey_answered(st, s->id, s->answered_ms, s->agent_id), 0);
    snprintf(call->id, sizeof(call->id), "c1");
    call->journey = s;
    return call;
}

static void ends_as(const char *reason, enum outcome out, bool flowing, const char *outcome,
                    const char *end_reason, const char *stage)
{
    struct call *call = answered_call();
    call->flowing = flowing;
    char id[JOURNEY_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", call->journey->id);
    calls_journey_call_end(calls, call, reason, out);
    cr_assert_null(call->journey, "the call's signal is closed and freed once");
    struct journey_signal got;
    cr_assert_eq(journey_get(st, id, &got), 0);
    cr_assert_str_eq(journey_outcome_name(got.outcome), outcome, "%s", reason);
    cr_assert_str_eq(got.end_reason, end_reason);
    cr_assert_str_eq(got.failure_stage, stage, "%s", reason);
    free(call);
}

Test(calls_journey, a_call_end_reads_as_one_outcome)
{
    ends_as("hangup", OUT_COMPLETED, true, "completed", "hangup", "");
    ends_as("hangup", OUT_COMPLETED, false, "abandoned", "hangup_before_media", "");
    ends_as("ice_failed", OUT_FAILED, false, "failed", "ice_failed", "ice");
    ends_as("consent_lost", OUT_FAILED, true, "failed", "consent_lost", "ice");
    ends_as("dtls_failed", OUT_FAILED, false, "failed", "dtls_failed", "dtls");
    ends_as("media_failed", OUT_FAILED, false, "failed", "media_failed", "media");
    ends_as("bad_answer", OUT_FAILED, false, "failed", "bad_answer", "signaling");
    ends_as("gateway_busy", OUT_FAILED, false, "failed", "gateway_busy", "gateway");
    ends_as("peer_disconnected", OUT_DROPPED, true, "dropped", "peer_disconnected", "");
}

Test(calls_journey, shutdown_during_a_call_is_dropped)
{
    calls_shutdown(calls);
    ends_as("hangup", OUT_COMPLETED, true, "dropped", "gateway_shutdown", "");
}

/* The transfer hook: the call's signal closes as transferred, exactly once, and the citizen's
 * continued session is a new open signal that names it. */
Test(calls_journey, transfer_closes_one_and_opens_the_next)
{
    struct call *call = answered_call();
    char first[JOURNEY_ID_LEN + 1];
    snprintf(first, sizeof(first), "%s", call->journey->id);
    struct journey_signal *next =
        calls_journey_transfer(calls, call, "vergunningen", "vergunningen");
    cr_assert_not_null(next);
    cr_assert_null(call->journey);
    /* The call's own end afterwards records nothing more. */
    calls_journey_call_end(calls, call, "hangup", OUT_COMPLETED);
    struct journey_signal got;
    cr_assert_eq(journey_get(st, first, &got), 0);
    cr_assert_eq(got.outcome, JOURNEY_TRANSFERRED);
    cr_assert_str_eq(got.end_reason, "transfer");
    cr_assert_str_eq(got.transfer_to, "vergunningen");
    cr_assert_str_eq(got.agent_id, "agent-3");

    cr_assert_eq(journey_get(st, next->id, &got), 0);
    cr_assert_eq(got.outcome, JOURNEY_OPEN, "written open at once");
    cr_assert_str_eq(got.previous_id, first);
    cr_assert_str_eq(got.service, "vergunningen");
    cr_assert_str_eq(got.pseudonym, next->pseudonym);
    cr_assert_str_eq(got.context_ref, "zaak-9");
    cr_assert_str_eq(got.context_topic, "Afval");
    cr_assert_str_eq(got.agent_id, "", "a new agent takes it");
    /* The continued session ends like any other. */
    calls_journey_end(calls, &next, JOURNEY_COMPLETED, "hangup", NULL);
    cr_assert_null(next);
    int total, open;
    cr_assert_eq(journey_count(st, &total, &open), 0);
    cr_assert_eq(total, 2);
    cr_assert_eq(open, 0);
    free(call);
}
