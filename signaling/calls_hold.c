/* Hold and resume (protocol v1 `hold`, `resume`; DESIGN.md §4): the agent puts the citizen on
 * hold, the worker plays the hold media to the citizen and nothing crosses between them until
 * the agent resumes. Control thread only. */
#include "balie/log.h"
#include "balie/media.h"
#include "balie/worker.h"
#include "calls_internal.h"

/* Adds the running hold's time to the call's and the gateway's totals. */
static void hold_account(struct calls *calls, struct call *call, uint64_t now)
{
    if (!call->held)
        return;
    uint64_t ms = now > call->held_since_ms ? now - call->held_since_ms : 0;
    call->held_ms += ms;
    calls->hold_ms += ms;
    call->held_since_ms = now;
}

enum proto_media calls_media_now(const struct call *call)
{
    if (call->held)
        return PROTO_MEDIA_HELD;
    return call->flowing ? PROTO_MEDIA_FLOWING : PROTO_MEDIA_CONNECTING;
}

void calls_handle_hold(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    bool hold = m->type == PROTO_HOLD;
    struct call *call = c->call;
    const char *refusal = NULL, *code = NULL;
    if (!call) {
        code = "not_in_call";
        refusal = hold ? "no call to put on hold" : "no call to resume";
    } else if (hold && call->held) {
        code = "already_held";
        refusal = "the call is on hold already";
    } else if (!hold && !call->held) {
        code = "not_held";
        refusal = "the call is not on hold";
    }
    if (refusal) {
        ws_send(c, proto_build_error(&m->id, code, refusal));
        return;
    }
    struct worker_cmd cmd = {.type = hold ? WORKER_CMD_HOLD : WORKER_CMD_RESUME,
                             .id = call->leg[SIDE_CITIZEN].leg_id};
    if (calls->pool && worker_send(calls->pool, call->worker, &cmd) != 0) {
        calls->worker_queue_full++;
        ws_send(c,
                proto_build_error(&m->id, "gateway_busy", "the media worker is busy; try again"));
        return;
    }
    uint64_t now = now_ms();
    if (hold) {
        call->held = true;
        call->held_since_ms = now;
        call->holds++;
    } else {
        hold_account(calls, call, now);
        call->held = false;
    }
    if (hold)
        log_write(LOG_LEVEL_INFO, "calls", call->id, "on hold (%u)", call->holds);
    else
        log_write(LOG_LEVEL_INFO, "calls", call->id, "resumed; %llu ms on hold in all",
                  (unsigned long long)call->held_ms);
    if (m->id.present)
        ws_send(c, proto_build_ack(&m->id));
    for (int s = 0; s < 2; s++)
        if (call->client[s])
            ws_send(call->client[s], proto_build_state(call->id, calls_media_now(call)));
}

void calls_hold_end(struct calls *calls, struct call *call)
{
    hold_account(calls, call, now_ms());
    call->held = false;
}

void calls_hold_totals(const struct calls *calls, uint64_t *on_hold, double *hold_s)
{
    uint64_t now = now_ms(), n = 0, ms = calls->hold_ms;
    for (const struct call *call = calls->list; call; call = call->next) {
        if (!call->held)
            continue;
        n++;
        ms += now > call->held_since_ms ? now - call->held_since_ms : 0;
    }
    *on_hold = n;
    *hold_s = (double)ms / 1000.0;
}
