/* libFuzzer harness for the signaling protocol's frame parser (signaling/protocol.c).
 *
 * Every input is one WebSocket text frame. Besides looking for memory errors, it checks the
 * parser's contract: a parsed message's strings are within their limits, and a refused frame
 * leaves nothing allocated and an error that can be answered. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balie/protocol.h"

static void check_string(const char *s, size_t max)
{
    if (s && strlen(s) > max)
        abort();
}

static void check_message(const struct proto_msg *m)
{
    switch (m->type) {
    case PROTO_JOIN:
        check_string(m->join.service, PROTO_ID_MAX);
        check_string(m->join.appointment, PROTO_ID_MAX);
        check_string(m->join.context, PROTO_CONTEXT_MAX);
        break;
    case PROTO_PRESENCE:
        if (m->presence.service_count > PROTO_SERVICES_MAX)
            abort();
        for (size_t i = 0; i < m->presence.service_count; i++)
            check_string(m->presence.services[i], PROTO_ID_MAX);
        break;
    case PROTO_ANSWER:
        check_string(m->answer.sdp, PROTO_SDP_MAX);
        break;
    case PROTO_CANDIDATE:
        check_string(m->candidate.candidate, PROTO_CANDIDATE_MAX);
        check_string(m->candidate.sdp_mid, PROTO_MID_MAX);
        break;
    case PROTO_CHAT:
        if (!m->chat.text || m->chat.text[0] == '\0')
            abort();
        check_string(m->chat.text, PROTO_CHAT_MAX);
        break;
    case PROTO_TRANSFER:
        if (!m->transfer.service == !m->transfer.agent)
            abort();
        check_string(m->transfer.note, PROTO_NOTE_MAX);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_msg msg;
    struct proto_error err;
    if (proto_parse((const char *)data, size, &msg, &err) == 0) {
        check_message(&msg);
        /* What the gateway answers to a request must always be buildable. */
        free(proto_build_ack(&msg.id));
        proto_msg_free(&msg);
    } else {
        if (msg.storage || err.message[0] == '\0')
            abort();
        char *reply = proto_build_parse_error(&err);
        if (!reply)
            abort();
        free(reply);
    }
    return 0;
}
