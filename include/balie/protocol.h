/* Signaling protocol v1 (WebSocket subprotocol `balie.v1`, DESIGN.md §4): the message layer.
 *
 * Sans-IO: `proto_parse` turns one incoming text frame into a checked `struct proto_msg`, and
 * the `proto_build_*` functions turn gateway→client messages into JSON text. Nothing here knows
 * about sockets, sessions or roles; whether a citizen may send `presence` is the caller's call.
 *
 * Protocol v1 is a public contract: the type and field names below are exactly those that
 * browsers send and receive. Unknown extra fields in an incoming frame are ignored, so a newer
 * page can talk to an older gateway. */
#ifndef BALIE_PROTOCOL_H
#define BALIE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/identity.h"
#include "balie/queue.h"

/* Limits on an incoming frame, in bytes unless said otherwise. A frame or field past one of
 * them is refused with `too_large`; exactly at the limit it is accepted. */
#define PROTO_FRAME_MAX 65536    /* the whole text frame */
#define PROTO_DEPTH_MAX 16       /* nested objects and arrays, the frame itself counting as 1 */
#define PROTO_ID_MAX 64          /* "id", and every service/appointment/call/agent id */
#define PROTO_SDP_MAX 32768      /* answer.sdp */
#define PROTO_CANDIDATE_MAX 1024 /* candidate.candidate */
#define PROTO_MID_MAX 32         /* candidate.sdpMid */
#define PROTO_CHAT_MAX 2000      /* chat.text, in UTF-8 bytes before trimming */
#define PROTO_NOTE_MAX 500       /* transfer.note */
#define PROTO_REASON_MAX 64      /* hangup.reason */
#define PROTO_CONTEXT_MAX 4096   /* join.context */
#define PROTO_TOKEN_MAX 256      /* resume_session.token */
#define PROTO_SERVICES_MAX 64    /* entries in presence.services */

/* What each field may hold, beyond its limit:
 * - ids (service, services[], appointment, call, agent): 1 or more of [A-Za-z0-9._:-];
 * - "id": a JSON integer, or a string of 1 or more printable ASCII characters;
 * - sdpMid: RFC 4566 token characters; token: [A-Za-z0-9._~-]; neither empty;
 * - sdp and context: any non-empty text; candidate, note and reason: any text, "" included;
 * - chat text: any text that is not empty once white space is trimmed from both ends.
 * A JSON null counts as an absent field. A string of the wrong kind is `bad_field`. */

/* Client→gateway message types. */
enum proto_type {
    PROTO_JOIN = 1,
    PROTO_LEAVE,
    PROTO_PRESENCE,
    PROTO_ACCEPT,
    PROTO_ANSWER,
    PROTO_CANDIDATE,
    PROTO_HANGUP,
    PROTO_CHAT,
    PROTO_HOLD,
    PROTO_RESUME,
    PROTO_TRANSFER,
    PROTO_RESUME_SESSION,
    PROTO_PRIORITIZE, /* extension: an agent moves a waiting call to the urgent lane */
};

/* The wire name of a type ("join", "resume_session", …); "unknown" for other values. */
const char *proto_type_name(enum proto_type type);

/* A request's "id", kept as the text the client sent so it can be echoed back in the JSON type
 * it came in: `numeric` ids (JSON integers) are echoed as integers, the rest as strings. */
struct proto_id {
    bool present;
    bool numeric;
    char text[PROTO_ID_MAX + 1];
};

enum proto_presence { PROTO_AWAY = 0, PROTO_AVAILABLE };

/* One parsed frame. Every `const char *` is NUL-terminated, valid UTF-8 (JSON guarantees it and
 * a NUL inside a string is refused), and NULL when the optional field was absent or null.
 * They all point into `storage`, one block owned by the message: free it with
 * `proto_msg_free`, after which none of the pointers may be used. */
struct proto_msg {
    enum proto_type type;
    struct proto_id id;
    union {
        struct {
            const char *service;     /* NULL: the only configured service */
            const char *appointment; /* an appointment code */
            const char *context;     /* a handover reference from another channel */
        } join;
        struct {
            enum proto_presence status;
            const char *const *services; /* NULL and 0 when absent or empty: all allowed */
            size_t service_count;
        } presence;
        struct {
            const char *call; /* NULL: the next call */
        } accept;
        struct {
            const char *sdp;
        } answer;
        struct {
            const char *candidate; /* "" marks the end of candidates (RFC 8838 §4.1) */
            const char *sdp_mid;
            int sdp_mline_index; /* -1 when absent or null */
        } candidate;
        struct {
            const char *reason;
        } hangup;
        struct {
            const char *text; /* trimmed of leading and trailing white space, never empty */
        } chat;
        struct {
            const char *service; /* exactly one of service and agent is set */
            const char *agent;
            const char *note;
        } transfer;
        struct {
            const char *token;
        } resume_session;
        struct {
            const char *call;
        } prioritize;
    };
    void *storage;
};

enum proto_error_code {
    PROTO_ERR_BAD_JSON = 1, /* not JSON, a duplicate key, a NUL in a string */
    PROTO_ERR_NOT_OBJECT,   /* JSON, but not an object */
    PROTO_ERR_MISSING_TYPE, /* no "type", or not a string */
    PROTO_ERR_UNKNOWN_TYPE, /* a "type" the gateway does not take from clients */
    PROTO_ERR_BAD_FIELD,    /* a field of the wrong JSON type, empty, or with characters refused */
    PROTO_ERR_TOO_LARGE,    /* the frame, its nesting, or one field is past its limit */
    PROTO_ERR_INTERNAL,     /* memory ran out; the frame itself may be fine */
};

/* Why a frame was refused. `message` is short English naming the field, and never holds any
 * text from the frame, so it is safe to log and to send back. */
struct proto_error {
    enum proto_error_code code;
    const char *field;  /* the offending field's name (static), or NULL */
    struct proto_id id; /* the frame's id when it could be read, so the error correlates */
    char message[128];
};

/* The wire name of a code: "bad_json", "not_object", "missing_type", "unknown_type",
 * "bad_field", "too_large", "internal". */
const char *proto_error_code_name(enum proto_error_code code);

/* Parses one incoming text frame of `len` bytes (no NUL needed). Returns 0 and fills `out`,
 * which the caller then frees with `proto_msg_free`; or -1 and fills `err`, leaving `out`
 * empty (freeing it is then harmless). */
int proto_parse(const char *text, size_t len, struct proto_msg *out, struct proto_error *err);

/* Frees what `proto_parse` allocated and empties `msg`. NULL and an empty message are fine. */
void proto_msg_free(struct proto_msg *msg);

/* ---- Gateway→client messages ----
 * Each builder returns a malloc'd, NUL-terminated compact JSON text (free it with free()), or
 * NULL when memory runs out, a required argument is NULL, or a string is not valid UTF-8. */

enum proto_role { PROTO_ROLE_CITIZEN = 0, PROTO_ROLE_AGENT };
enum proto_media {
    PROTO_MEDIA_CONNECTING = 0,
    PROTO_MEDIA_FLOWING,
    PROTO_MEDIA_HELD,
    PROTO_MEDIA_FAILED
};

const char *proto_role_name(enum proto_role role);    /* "citizen", "agent" */
const char *proto_media_name(enum proto_media media); /* "connecting", …, "failed" */

/* The other side of a call, as shown to this side. */
struct proto_peer {
    enum identity_loa loa;
    const char *provider;     /* "oidc", "saml", "dev" */
    const char *display_name; /* NULL: left out */
    /* For the agent: where the call comes from (docs/queue.md). NULL/0: left out. */
    const char *service;
    bool urgent, transferred;
    const struct queue_note *notes;
    size_t note_count;
};

/* One entry of `ice_servers` (WebRTC's RTCIceServer). */
struct proto_ice_server {
    const char *const *urls; /* "stun:…", "turn:…?transport=udp", … */
    size_t url_count;
    const char *username;   /* NULL: left out */
    const char *credential; /* NULL: left out */
};

/* {"type":"ack","id":…}; `id` may be NULL or absent, and is then left out. */
char *proto_build_ack(const struct proto_id *id);

/* {"type":"error","id":…,"code":…,"message":…}. */
char *proto_build_error(const struct proto_id *id, const char *code, const char *message);

/* An error with one more string field, e.g. `loa_too_low` with "min_loa":"substantieel". */
char *proto_build_error_with(const struct proto_id *id, const char *code, const char *message,
                             const char *field, const char *value);

/* The error answer to a frame `proto_parse` refused. */
char *proto_build_parse_error(const struct proto_error *err);

/* An estimated wait below zero means "unknown" (no agent available) and is sent as null. */
char *proto_build_queued(const char *call, uint32_t position, int32_t estimated_wait_s);
char *proto_build_queue_position(uint32_t position, int32_t estimated_wait_s);
/* `session {token, grace_s}`: the single-use token for `resume_session` after a dropped socket. */
char *proto_build_session(const char *token, uint32_t grace_s);

/* {"type":"queue","waiting":[{call, service, waited_s, loa, appointment?}, …]} for agents. */
char *proto_build_agent_queue(const struct queue_entry_view *entries, size_t n);

char *proto_build_call(const char *call, enum proto_role role, const struct proto_peer *peer,
                       const struct proto_ice_server *ice_servers, size_t n_ice_servers);
char *proto_build_offer(const char *sdp);
char *proto_build_state(const char *call, enum proto_media media);
char *proto_build_ended(const char *reason, const char *outcome);

/* {"type":"chat","from":"citizen"|"agent","text":…}: a chat line relayed to the other side. */
char *proto_build_chat(enum proto_role from_role, const char *text);

/* ---- Queue extensions (signaling/protocol_queue.c, docs/protocol.md) ---- */

/* What a waiting citizen is told beyond position and estimate. */
struct proto_queue_info {
    const char *call; /* `queued` only */
    uint32_t position;
    int32_t estimated_wait_s; /* < 0: unknown, sent as null */
    enum queue_lane lane;
    int64_t appointment_start_ms, appointment_end_ms; /* unix ms; 0: no appointment */
};

/* `queued` {call, position, estimated_wait_s, lane, appointment?{start,end}} and
 * `queue` {position, estimated_wait_s, lane, appointment?}: times as RFC 3339 Amsterdam. */
char *proto_build_queued_info(const struct proto_queue_info *info);
char *proto_build_queue_info(const struct proto_queue_info *info);

/* `error` with one extra RFC 3339 time field (`opens_at` for closed, `starts_at` for an
 * appointment too early); `unix_ms` < 0 sends null. */
char *proto_build_error_at(const struct proto_id *id, const char *code, const char *message,
                           const char *field, int64_t unix_ms);

/* `transferred` {call, to: "service"|"agent"}: the citizen is being put through to a colleague;
 * their media will be offered again. */
char *proto_build_transferred(const char *call, bool to_agent);

/* An RFC 3339 time in Amsterdam time into `out` (at least 32 bytes); "" when it cannot be. */
void proto_format_time(int64_t unix_ms, char *out, size_t out_len);

#endif
