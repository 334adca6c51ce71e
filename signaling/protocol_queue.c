/* The queue's additions to protocol v1 (docs/protocol.md, "Queue"): lanes, appointments,
 * closed services, transfers and their notes. Additive: an older page ignores the fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "balie/opening_hours.h"
#include "protocol_internal.h"

void proto_format_time(int64_t unix_ms, char *out, size_t out_len)
{
    int64_t s = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
    if (hours_format_local(s, out, out_len) != 0 && out_len > 0)
        out[0] = '\0';
}

/* Sets key to a string, leaving it out when the value cannot be made. */
static void put_string(json_t *obj, const char *key, const char *value)
{
    json_t *v = value ? json_string(value) : NULL;
    if (v)
        json_object_set_new(obj, key, v);
}

static void put_time(json_t *obj, const char *key, int64_t unix_ms)
{
    char text[40];
    proto_format_time(unix_ms, text, sizeof(text));
    if (text[0])
        put_string(obj, key, text);
}

static json_t *notes_json(const struct queue_note *notes, size_t n)
{
    json_t *array = json_array();
    for (size_t i = 0; array && i < n; i++) {
        json_t *note = json_object();
        if (!note)
            break;
        if (notes[i].from_agent[0])
            put_string(note, "from_agent", notes[i].from_agent);
        put_string(note, "from_service", notes[i].from_service);
        put_string(note, "text", notes[i].text);
        if (!json_object_get(note, "text") || json_array_append_new(array, note) < 0) {
            /* Not valid UTF-8 (cannot happen: the parser checked it) or no memory. */
            json_decref(note);
        }
    }
    return array;
}

void proto_queue_entry_extras(json_t *obj, const struct queue_entry_view *e)
{
    if (!obj)
        return;
    put_string(obj, "lane", queue_lane_name(e->lane));
    json_object_set_new(obj, "urgent", json_boolean(e->lane == QUEUE_LANE_URGENT));
    json_object_set_new(obj, "transferred",
                        json_boolean(e->note_count > 0 || e->lane == QUEUE_LANE_TRANSFER));
    if (e->due_in_s)
        json_object_set_new(obj, "due_in_s", json_integer(e->due_in_s));
    if (e->assigned)
        put_string(obj, "assigned", e->assigned);
    if (e->slot_start_ms)
        put_time(obj, "appointment_start", e->slot_start_ms);
    if (e->note_count) {
        json_t *notes = notes_json(e->notes, e->note_count);
        if (notes)
            json_object_set_new(obj, "notes", notes);
    }
}

void proto_peer_extras(json_t *obj, const struct proto_peer *peer)
{
    if (!obj)
        return;
    if (peer->service)
        put_string(obj, "service", peer->service);
    if (peer->urgent)
        json_object_set_new(obj, "urgent", json_true());
    if (peer->transferred)
        json_object_set_new(obj, "transferred", json_true());
    if (peer->note_count) {
        json_t *notes = notes_json(peer->notes, peer->note_count);
        if (notes)
            json_object_set_new(obj, "notes", notes);
    }
}

static char *dump(json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    return text;
}

static char *queue_info(const char *type, const struct proto_queue_info *info)
{
    if (!info || (strcmp(type, "queued") == 0 && !info->call))
        return NULL;
    json_t *o = json_pack("{s:s}", "type", type);
    if (!o)
        return NULL;
    if (strcmp(type, "queued") == 0)
        put_string(o, "call", info->call);
    json_object_set_new(o, "position", json_integer(info->position));
    json_object_set_new(o, "estimated_wait_s",
                        info->estimated_wait_s < 0 ? json_null()
                                                   : json_integer(info->estimated_wait_s));
    put_string(o, "lane", queue_lane_name(info->lane));
    if (info->appointment_start_ms) {
        json_t *a = json_object();
        if (a) {
            put_time(a, "start", info->appointment_start_ms);
            put_time(a, "end", info->appointment_end_ms);
            json_object_set_new(o, "appointment", a);
        }
    }
    return dump(o);
}

char *proto_build_queued_info(const struct proto_queue_info *info)
{
    return queue_info("queued", info);
}

char *proto_build_queue_info(const struct proto_queue_info *info)
{
    return queue_info("queue", info);
}

char *proto_build_error_at(const struct proto_id *id, const char *code, const char *message,
                           const char *field, int64_t unix_ms)
{
    char *base = proto_build_error(id, code, message);
    json_t *o = base ? json_loads(base, 0, NULL) : NULL;
    free(base);
    if (!o || !field)
        return dump(o);
    char text[40] = "";
    if (unix_ms >= 0)
        proto_format_time(unix_ms, text, sizeof(text));
    json_object_set_new(o, field, text[0] ? json_string(text) : json_null());
    return dump(o);
}

char *proto_build_transferred(const char *call, bool to_agent)
{
    if (!call)
        return NULL;
    return dump(json_pack("{s:s, s:s, s:s}", "type", "transferred", "call", call, "to",
                          to_agent ? "agent" : "service"));
}
