/* Transfer (DESIGN.md §4: `transfer` {service | agent, note}): the agent's leg ends, and the
 * citizen goes back into the queue with the same call id, at the head of the other service's
 * line or offered to the named colleague alone, with the note. The citizen's media is offered
 * again when the next agent accepts (a new `call` and `offer`), which every browser handles
 * the same way as the first; their journey signal ends as `transferred` and a linked one
 * begins. Control thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balie/log.h"
#include "calls_internal.h"

static const char *transfer_error_text(int r)
{
    switch (r) {
    case QUEUE_ERR_UNKNOWN_AGENT:
        return "that colleague is not logged in";
    case QUEUE_ERR_UNKNOWN_SERVICE:
        return "no such service";
    case QUEUE_ERR_LOA_TOO_LOW:
        return "the citizen's assurance level is too low for that service";
    case QUEUE_ERR_INVALID:
        return "name another service or another colleague";
    default:
        return "cannot transfer this call";
    }
}

/* Takes the call out of the calls list and frees it; the citizen's session is kept. */
static void release_call(struct calls *calls, struct call *call)
{
    for (struct call **p = &calls->list; *p; p = &(*p)->next) {
        if (*p == call) {
            *p = call->next;
            break;
        }
    }
    calls->active--;
    free(call);
}

void calls_transfer(struct calls *calls, struct ws_client *agent, const struct proto_msg *m)
{
    struct call *call = agent->call;
    if (!call) {
        calls_send_error(agent, &m->id, "not_in_call", "no call to transfer");
        return;
    }
    struct ws_client *citizen = call->client[SIDE_CITIZEN];
    if (!citizen) {
        calls_send_error(agent, &m->id, "not_found", "the citizen is gone");
        return;
    }
    struct queue_transfer to = {.service = m->transfer.service,
                                .agent = m->transfer.agent,
                                .note = m->transfer.note,
                                .from_agent = agent->agent_id[0] ? agent->agent_id : NULL};
    int r = queue_transfer(calls->queue, now_ms(), agent->handle, &to);
    if (r != QUEUE_OK) {
        calls_send_error(agent, &m->id, queue_result_name(r), transfer_error_text(r));
        return;
    }
    /* Both legs close: the agent's because it is done, the citizen's because the next agent's
     * call offers it afresh. */
    for (int side = 0; side < 2; side++)
        if (calls_leg_close(calls, call, side) != 0)
            calls->worker_queue_full++;
    if (call->flowing)
        queue_record_handled(calls->queue, call->service,
                             (uint32_t)((now_ms() - call->flowing_ms) / 1000u));
    calls_send_ack(agent, &m->id);
    ws_send(agent, proto_build_ended("transferred", "transferred"));
    agent->call = NULL;

    citizen->call = NULL;
    snprintf(citizen->waiting_call, sizeof(citizen->waiting_call), "%s", call->id);
    /* The signal so far ends as `transferred`; a new one, linked to it, runs on while the
     * citizen waits for the next agent (DESIGN.md §7). */
    citizen->journey =
        calls_journey_transfer(calls, call, to.agent ? to.agent : to.service, to.service);
    calls->transfers++;
    log_write(LOG_LEVEL_INFO, "calls", call->id, "transferred to %s",
              to.agent ? "a colleague" : to.service);
    ws_send(citizen, proto_build_transferred(call->id, to.agent != NULL));
    ws_send(citizen, calls_queue_position_msg(calls, citizen, true));
    release_call(calls, call);
    citizen->sent_generation = queue_generation(calls->queue);
    calls_broadcast_queue(calls);
}
