/* What protocol.c borrows from protocol_queue.c: the queue's extra fields. Not a public face. */
#ifndef BALIE_SIGNALING_PROTOCOL_INTERNAL_H
#define BALIE_SIGNALING_PROTOCOL_INTERNAL_H

#include <jansson.h>

#include "balie/protocol.h"

/* Adds lane, due_in_s, assigned, appointment_start and notes to an agent's queue entry. A
 * NULL object is left alone; a member that cannot be made is left out. */
void proto_queue_entry_extras(json_t *obj, const struct queue_entry_view *e);

/* Adds service, urgent, transferred and notes to a `call`'s peer. */
void proto_peer_extras(json_t *obj, const struct proto_peer *peer);

#endif
