/* Signaling protocol v1 (DESIGN.md §4): parsing incoming frames, building outgoing ones. */
#include "balie/protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocol_internal.h"

/* The most strings one message can hold: the services of a presence, or a handful of fields. */
#define MAX_STRINGS (PROTO_SERVICES_MAX + 4)

/* Which characters a string field may hold. */
enum charset {
    CS_TEXT,      /* any UTF-8 (JSON already guarantees it; a NUL is refused by jansson) */
    CS_ID,        /* service, appointment, call and agent ids: [A-Za-z0-9._:-] */
    CS_SDP_TOKEN, /* RFC 4566 §9 token-char, for a media id (RFC 5888 §4) */
    CS_TOKEN,     /* a session token: base64url and '.', [A-Za-z0-9._~-] */
};

struct str_rule {
    size_t max;
    enum charset charset;
    bool allow_empty;
};

static const struct str_rule RULE_ID = {PROTO_ID_MAX, CS_ID, false};
static const struct str_rule RULE_SDP = {PROTO_SDP_MAX, CS_TEXT, false};
static const struct str_rule RULE_CANDIDATE = {PROTO_CANDIDATE_MAX, CS_TEXT, true};
static const struct str_rule RULE_MID = {PROTO_MID_MAX, CS_SDP_TOKEN, false};
static const struct str_rule RULE_CHAT = {PROTO_CHAT_MAX, CS_TEXT, true}; /* trimmed later */
static const struct str_rule RULE_NOTE = {PROTO_NOTE_MAX, CS_TEXT, true};
static const struct str_rule RULE_REASON = {PROTO_REASON_MAX, CS_TEXT, true};
static const struct str_rule RULE_CONTEXT = {PROTO_CONTEXT_MAX, CS_TEXT, false};
static const struct str_rule RULE_TOKEN = {PROTO_TOKEN_MAX, CS_TOKEN, false};

/* A string to copy into the message's storage once every field has been checked. It goes to
 * `*slot`, or, when `slot` is NULL, to entry `index` of presence.services. */
struct pending {
    const char **slot;
    size_t index;
    const char *src;
    size_t len;
};

struct parse_ctx {
    json_t *obj;
    struct proto_msg *msg;
    struct proto_error *err;
    struct pending strings[MAX_STRINGS];
    size_t n_strings;
    size_t n_services; /* presence.services, placed at the start of storage */
};

static const char *const type_names[] = {
    [PROTO_JOIN] = "join",
    [PROTO_LEAVE] = "leave",
    [PROTO_PRESENCE] = "presence",
    [PROTO_ACCEPT] = "accept",
    [PROTO_ANSWER] = "answer",
    [PROTO_CANDIDATE] = "candidate",
    [PROTO_HANGUP] = "hangup",
    [PROTO_CHAT] = "chat",
    [PROTO_HOLD] = "hold",
    [PROTO_RESUME] = "resume",
    [PROTO_TRANSFER] = "transfer",
    [PROTO_RESUME_SESSION] = "resume_session",
    [PROTO_PRIORITIZE] = "prioritize",
};
#define TYPE_COUNT (sizeof(type_names) / sizeof(type_names[0]))

const char *proto_type_name(enum proto_type type)
{
    if ((size_t)type < TYPE_COUNT && type_names[type])
        return type_names[type];
    return "unknown";
}

const char *proto_error_code_name(enum proto_error_code code)
{
    switch (code) {
    case PROTO_ERR_BAD_JSON:
        return "bad_json";
    case PROTO_ERR_NOT_OBJECT:
        return "not_object";
    case PROTO_ERR_MISSING_TYPE:
        return "missing_type";
    case PROTO_ERR_UNKNOWN_TYPE:
        return "unknown_type";
    case PROTO_ERR_BAD_FIELD:
        return "bad_field";
    case PROTO_ERR_TOO_LARGE:
        return "too_large";
    case PROTO_ERR_INTERNAL:
        break;
    }
    return "internal";
}

static int fail(struct proto_error *err, enum proto_error_code code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills `err` (keeping any id already read) and returns -1. */
static int fail(struct proto_error *err, enum proto_error_code code, const char *field,
                const char *fmt, ...)
{
    err->code = code;
    err->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* Refuses frames nested deeper than PROTO_DEPTH_MAX before jansson, which recurses once per
 * level, ever sees them. Only brackets outside strings count; whether the text is valid JSON
 * is left to jansson. */
static bool nesting_within_limit(const char *text, size_t len)
{
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > PROTO_DEPTH_MAX)
                return false;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return true;
}

static bool char_allowed(enum charset cs, unsigned char c)
{
    bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    switch (cs) {
    case CS_TEXT:
        return true;
    case CS_ID:
        return alnum || c == '.' || c == '_' || c == ':' || c == '-';
    case CS_SDP_TOKEN:
        return alnum || (c != '\0' && strchr("!#$%&'*+-.^_`{|}~", c) != NULL);
    case CS_TOKEN:
        return alnum || c == '.' || c == '_' || c == '~' || c == '-';
    }
    return false;
}

static const char *charset_words(enum charset cs)
{
    switch (cs) {
    case CS_ID:
        return "letters, digits and . _ : -";
    case CS_SDP_TOKEN:
        return "SDP token characters";
    case CS_TOKEN:
        return "letters, digits and . _ ~ -";
    case CS_TEXT:
        break;
    }
    return "text";
}

/* Checks the string `value` of `field` against `rule`. */
static int check_string(struct proto_error *err, const char *field, const json_t *value,
                        const struct str_rule *rule)
{
    if (!json_is_string(value))
        return fail(err, PROTO_ERR_BAD_FIELD, field, "'%s' must be a string", field);
    size_t len = json_string_length(value);
    const char *s = json_string_value(value);
    if (len > rule->max)
        return fail(err, PROTO_ERR_TOO_LARGE, field, "'%s' is longer than %zu bytes", field,
                    rule->max);
    if (len == 0 && !rule->allow_empty)
        return fail(err, PROTO_ERR_BAD_FIELD, field, "'%s' must not be empty", field);
    for (size_t i = 0; rule->charset != CS_TEXT && i < len; i++)
        if (!char_allowed(rule->charset, (unsigned char)s[i]))
            return fail(err, PROTO_ERR_BAD_FIELD, field, "'%s' may only hold %s", field,
                        charset_words(rule->charset));
    return 0;
}

static void add_pending(struct parse_ctx *c, const char **slot, size_t index, const char *src,
                        size_t len)
{
    /* MAX_STRINGS covers the largest message; the bound is checked all the same. */
    if (c->n_strings < MAX_STRINGS)
        c->strings[c->n_strings++] = (struct pending){slot, index, src, len};
}

/* Reads string field `field` into `slot`. An absent or null optional field leaves it NULL. */
static int get_string(struct parse_ctx *c, const char *field, bool required,
                      const struct str_rule *rule, const char **slot)
{
    json_t *value = json_object_get(c->obj, field);
    if (!value || json_is_null(value)) {
        if (required)
            return fail(c->err, PROTO_ERR_BAD_FIELD, field, "'%s' is required", field);
        return 0;
    }
    if (check_string(c->err, field, value, rule) < 0)
        return -1;
    add_pending(c, slot, 0, json_string_value(value), json_string_length(value));
    return 0;
}

/* Reads the optional "id": a string of 1..PROTO_ID_MAX printable ASCII characters, or an
 * integer. Anything else is refused, since an error could not be correlated with it. */
static int read_id(json_t *obj, struct proto_error *err, struct proto_id *id)
{
    json_t *value = json_object_get(obj, "id");
    if (!value || json_is_null(value))
        return 0;
    if (json_is_integer(value)) {
        snprintf(id->text, sizeof(id->text), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        id->numeric = true;
        id->present = true;
        return 0;
    }
    if (!json_is_string(value))
        return fail(err, PROTO_ERR_BAD_FIELD, "id", "'id' must be a string or an integer");
    size_t len = json_string_length(value);
    const char *s = json_string_value(value);
    if (len > PROTO_ID_MAX)
        return fail(err, PROTO_ERR_TOO_LARGE, "id", "'id' is longer than %d bytes", PROTO_ID_MAX);
    if (len == 0)
        return fail(err, PROTO_ERR_BAD_FIELD, "id", "'id' must not be empty");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return fail(err, PROTO_ERR_BAD_FIELD, "id", "'id' may only hold printable ASCII");
    memcpy(id->text, s, len + 1);
    id->present = true;
    return 0;
}

static int parse_join(struct parse_ctx *c)
{
    struct proto_msg *m = c->msg;
    if (get_string(c, "service", false, &RULE_ID, &m->join.service) < 0 ||
        get_string(c, "appointment", false, &RULE_ID, &m->join.appointment) < 0 ||
        get_string(c, "context", false, &RULE_CONTEXT, &m->join.context) < 0)
        return -1;
    return 0;
}

static int parse_presence(struct parse_ctx *c)
{
    json_t *status = json_object_get(c->obj, "status");
    if (!status)
        return fail(c->err, PROTO_ERR_BAD_FIELD, "status", "'status' is required");
    if (json_is_string(status) && strcmp(json_string_value(status), "available") == 0)
        c->msg->presence.status = PROTO_AVAILABLE;
    else if (json_is_string(status) && strcmp(json_string_value(status), "away") == 0)
        c->msg->presence.status = PROTO_AWAY;
    else
        return fail(c->err, PROTO_ERR_BAD_FIELD, "status", "'status' must be available or away");

    json_t *services = json_object_get(c->obj, "services");
    if (!services || json_is_null(services))
        return 0;
    if (!json_is_array(services))
        return fail(c->err, PROTO_ERR_BAD_FIELD, "services",
                    "'services' must be an array of service ids");
    size_t n = json_array_size(services);
    if (n > PROTO_SERVICES_MAX)
        return fail(c->err, PROTO_ERR_TOO_LARGE, "services",
                    "'services' holds more than %d entries", PROTO_SERVICES_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(services, i);
        if (check_string(c->err, "services", item, &RULE_ID) < 0)
            return -1;
        /* The array lives in storage, which does not exist yet: record the index. */
        add_pending(c, NULL, i, json_string_value(item), json_string_length(item));
    }
    c->n_services = n;
    return 0;
}

static int parse_accept(struct parse_ctx *c)
{
    return get_string(c, "call", false, &RULE_ID, &c->msg->accept.call);
}

static int parse_answer(struct parse_ctx *c)
{
    return get_string(c, "sdp", true, &RULE_SDP, &c->msg->answer.sdp);
}

static int parse_candidate(struct parse_ctx *c)
{
    struct proto_msg *m = c->msg;
    if (get_string(c, "candidate", true, &RULE_CANDIDATE, &m->candidate.candidate) < 0 ||
        get_string(c, "sdpMid", false, &RULE_MID, &m->candidate.sdp_mid) < 0)
        return -1;
    m->candidate.sdp_mline_index = -1;
    json_t *index = json_object_get(c->obj, "sdpMLineIndex");
    if (!index || json_is_null(index))
        return 0;
    /* An m-line index is an unsigned short in WebRTC (RTCIceCandidateInit). */
    if (!json_is_integer(index) || json_integer_value(index) < 0 ||
        json_integer_value(index) > 65535)
        return fail(c->err, PROTO_ERR_BAD_FIELD, "sdpMLineIndex",
                    "'sdpMLineIndex' must be an integer from 0 to 65535");
    m->candidate.sdp_mline_index = (int)json_integer_value(index);
    return 0;
}

static int parse_hangup(struct parse_ctx *c)
{
    return get_string(c, "reason", false, &RULE_REASON, &c->msg->hangup.reason);
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static int parse_chat(struct parse_ctx *c)
{
    if (get_string(c, "text", true, &RULE_CHAT, &c->msg->chat.text) < 0)
        return -1;
    /* Trim the pending copy in place: ASCII white space never sits inside a UTF-8 sequence. */
    struct pending *p = &c->strings[c->n_strings - 1];
    while (p->len > 0 && is_space(p->src[0])) {
        p->src++;
        p->len--;
    }
    while (p->len > 0 && is_space(p->src[p->len - 1]))
        p->len--;
    if (p->len == 0)
        return fail(c->err, PROTO_ERR_BAD_FIELD, "text", "'text' must not be empty");
    return 0;
}

static int parse_transfer(struct parse_ctx *c)
{
    struct proto_msg *m = c->msg;
    if (get_string(c, "service", false, &RULE_ID, &m->transfer.service) < 0 ||
        get_string(c, "agent", false, &RULE_ID, &m->transfer.agent) < 0 ||
        get_string(c, "note", false, &RULE_NOTE, &m->transfer.note) < 0)
        return -1;
    /* The slots are still NULL until storage is filled, so look at the JSON. */
    json_t *service = json_object_get(c->obj, "service");
    json_t *agent = json_object_get(c->obj, "agent");
    bool has_service = service && !json_is_null(service);
    bool has_agent = agent && !json_is_null(agent);
    if (has_service && has_agent)
        return fail(c->err, PROTO_ERR_BAD_FIELD, "agent",
                    "'service' and 'agent' may not both be given");
    if (!has_service && !has_agent)
        return fail(c->err, PROTO_ERR_BAD_FIELD, "service", "'service' or 'agent' is required");
    return 0;
}

static int parse_resume_session(struct parse_ctx *c)
{
    return get_string(c, "token", true, &RULE_TOKEN, &c->msg->resume_session.token);
}

static int parse_nothing(struct parse_ctx *c)
{
    return 0;
}

static int parse_prioritize(struct parse_ctx *c)
{
    return get_string(c, "call", true, &RULE_ID, &c->msg->prioritize.call);
}

static int (*const type_parsers[])(struct parse_ctx *) = {
    [PROTO_JOIN] = parse_join,
    [PROTO_LEAVE] = parse_nothing,
    [PROTO_PRESENCE] = parse_presence,
    [PROTO_ACCEPT] = parse_accept,
    [PROTO_ANSWER] = parse_answer,
    [PROTO_CANDIDATE] = parse_candidate,
    [PROTO_HANGUP] = parse_hangup,
    [PROTO_CHAT] = parse_chat,
    [PROTO_HOLD] = parse_nothing,
    [PROTO_RESUME] = parse_nothing,
    [PROTO_TRANSFER] = parse_transfer,
    [PROTO_RESUME_SESSION] = parse_resume_session,
    [PROTO_PRIORITIZE] = parse_prioritize,
};

/* Copies every pending string into one block: first presence's pointer array (so it is
 * aligned), then the strings with their NULs. */
static int fill_storage(struct parse_ctx *c)
{
    size_t total = c->n_services * sizeof(char *);
    for (size_t i = 0; i < c->n_strings; i++)
        total += c->strings[i].len + 1;
    if (total == 0)
        return 0;
    char *block = malloc(total);
    if (!block)
        return fail(c->err, PROTO_ERR_INTERNAL, NULL, "out of memory");
    const char **services = (const char **)(void *)block;
    char *p = block + c->n_services * sizeof(char *);
    for (size_t i = 0; i < c->n_strings; i++) {
        struct pending *s = &c->strings[i];
        memcpy(p, s->src, s->len);
        p[s->len] = '\0';
        if (s->slot)
            *s->slot = p;
        else
            services[s->index] = p;
        p += s->len + 1;
    }
    c->msg->storage = block;
    if (c->n_services > 0) {
        c->msg->presence.services = services;
        c->msg->presence.service_count = c->n_services;
    }
    return 0;
}

/* Reads "type" and the type's fields from the decoded object. */
static int parse_object(struct parse_ctx *c)
{
    json_t *type = json_object_get(c->obj, "type");
    if (!type || !json_is_string(type))
        return fail(c->err, PROTO_ERR_MISSING_TYPE, "type", "'type' must be a string");
    const char *name = json_string_value(type);
    for (size_t i = 1; i < TYPE_COUNT; i++) {
        if (type_names[i] && strcmp(name, type_names[i]) == 0) {
            c->msg->type = (enum proto_type)i;
            if (type_parsers[i](c) < 0)
                return -1;
            return fill_storage(c);
        }
    }
    return fail(c->err, PROTO_ERR_UNKNOWN_TYPE, "type", "this 'type' is not known");
}

int proto_parse(const char *text, size_t len, struct proto_msg *out, struct proto_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    if (len > PROTO_FRAME_MAX)
        return fail(err, PROTO_ERR_TOO_LARGE, NULL, "frame is longer than %d bytes",
                    PROTO_FRAME_MAX);
    if (!nesting_within_limit(text, len))
        return fail(err, PROTO_ERR_TOO_LARGE, NULL, "frame is nested deeper than %d levels",
                    PROTO_DEPTH_MAX);

    /* jansson's own error text quotes the input, so only the position is passed on. */
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return fail(err, PROTO_ERR_BAD_JSON, NULL, "invalid JSON at byte %d", jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, PROTO_ERR_NOT_OBJECT, NULL, "frame must be a JSON object");
    }

    struct parse_ctx ctx = {.obj = root, .msg = out, .err = err};
    int rc = read_id(root, err, &out->id);
    if (rc == 0) {
        err->id = out->id; /* from here on, an error can name the request */
        rc = parse_object(&ctx);
    }
    json_decref(root);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

void proto_msg_free(struct proto_msg *msg)
{
    if (!msg)
        return;
    free(msg->storage);
    memset(msg, 0, sizeof(*msg));
}

/* ---- Gateway→client messages ---- */

const char *proto_role_name(enum proto_role role)
{
    return role == PROTO_ROLE_AGENT ? "agent" : "citizen";
}

const char *proto_media_name(enum proto_media media)
{
    switch (media) {
    case PROTO_MEDIA_CONNECTING:
        return "connecting";
    case PROTO_MEDIA_FLOWING:
        return "flowing";
    case PROTO_MEDIA_HELD:
        return "held";
    case PROTO_MEDIA_FAILED:
        break;
    }
    return "failed";
}

/* Every builder puts its fields into one object and fails as a whole: a member that could not
 * be made (NULL or invalid UTF-8, or no memory) marks the message as broken. */
struct builder {
    json_t *obj;
    bool broken;
};

/* Takes ownership of `value`, which may be NULL (a member that could not be made). */
static void set(struct builder *b, const char *key, json_t *value)
{
    if (!b->obj) {
        json_decref(value);
        b->broken = true;
    } else if (!value || json_object_set_new(b->obj, key, value) < 0) {
        b->broken = true;
    }
}

static void set_string(struct builder *b, const char *key, const char *value)
{
    set(b, key, value ? json_string(value) : NULL);
}

static struct builder begin(const char *type)
{
    struct builder b = {json_object(), false};
    set_string(&b, "type", type);
    return b;
}

static void set_id(struct builder *b, const struct proto_id *id)
{
    if (!id || !id->present)
        return;
    if (id->numeric)
        set(b, "id", json_integer(strtoll(id->text, NULL, 10)));
    else
        set_string(b, "id", id->text);
}

/* A negative estimate is unknown: null rather than a number that would mislead. */
static void set_eta(struct builder *b, int32_t estimated_wait_s)
{
    set(b, "estimated_wait_s", estimated_wait_s < 0 ? json_null() : json_integer(estimated_wait_s));
}

/* Dumps the object compactly and releases it. */
static char *finish(struct builder *b)
{
    char *text = NULL;
    if (!b->broken)
        text = json_dumps(b->obj, JSON_COMPACT);
    json_decref(b->obj);
    return text;
}

char *proto_build_ack(const struct proto_id *id)
{
    struct builder b = begin("ack");
    set_id(&b, id);
    return finish(&b);
}

char *proto_build_error(const struct proto_id *id, const char *code, const char *message)
{
    struct builder b = begin("error");
    set_id(&b, id);
    set_string(&b, "code", code);
    set_string(&b, "message", message);
    return finish(&b);
}

char *proto_build_error_with(const struct proto_id *id, const char *code, const char *message,
                             const char *field, const char *value)
{
    if (!field || !value)
        return NULL;
    struct builder b = begin("error");
    set_id(&b, id);
    set_string(&b, "code", code);
    set_string(&b, "message", message);
    set_string(&b, field, value);
    return finish(&b);
}

char *proto_build_parse_error(const struct proto_error *err)
{
    if (!err)
        return NULL;
    return proto_build_error(&err->id, proto_error_code_name(err->code), err->message);
}

char *proto_build_queued(const char *call, uint32_t position, int32_t estimated_wait_s)
{
    struct builder b = begin("queued");
    set_string(&b, "call", call);
    set(&b, "position", json_integer(position));
    set_eta(&b, estimated_wait_s);
    return finish(&b);
}

char *proto_build_queue_position(uint32_t position, int32_t estimated_wait_s)
{
    struct builder b = begin("queue");
    set(&b, "position", json_integer(position));
    set_eta(&b, estimated_wait_s);
    return finish(&b);
}

char *proto_build_session(const char *token, uint32_t grace_s)
{
    struct builder b = begin("session");
    set_string(&b, "token", token);
    set(&b, "grace_s", json_integer(grace_s));
    return finish(&b);
}

static json_t *entry_json(const struct queue_entry_view *e)
{
    struct builder b = {json_object(), false};
    set_string(&b, "call", e->call);
    set_string(&b, "service", e->service);
    set(&b, "waited_s", json_integer(e->waited_s));
    set_string(&b, "loa", identity_loa_name(e->loa));
    if (e->appointment)
        set_string(&b, "appointment", e->appointment);
    proto_queue_entry_extras(b.obj, e);
    if (b.broken) {
        json_decref(b.obj);
        return NULL;
    }
    return b.obj;
}

char *proto_build_agent_queue(const struct queue_entry_view *entries, size_t n)
{
    struct builder b = begin("queue");
    json_t *waiting = json_array();
    for (size_t i = 0; waiting && i < n; i++)
        if (json_array_append_new(waiting, entry_json(&entries[i])) < 0)
            b.broken = true;
    set(&b, "waiting", waiting);
    return finish(&b);
}

static json_t *strings_json(const char *const *items, size_t n)
{
    json_t *array = json_array();
    for (size_t i = 0; array && i < n; i++) {
        if (!items[i] || json_array_append_new(array, json_string(items[i])) < 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

static json_t *ice_servers_json(const struct proto_ice_server *servers, size_t n)
{
    json_t *array = json_array();
    for (size_t i = 0; array && i < n; i++) {
        struct builder b = {json_object(), false};
        set(&b, "urls", strings_json(servers[i].urls, servers[i].url_count));
        if (servers[i].username)
            set_string(&b, "username", servers[i].username);
        if (servers[i].credential)
            set_string(&b, "credential", servers[i].credential);
        if (b.broken || json_array_append_new(array, b.obj) < 0) {
            if (b.broken)
                json_decref(b.obj);
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

char *proto_build_call(const char *call, enum proto_role role, const struct proto_peer *peer,
                       const struct proto_ice_server *ice_servers, size_t n_ice_servers)
{
    struct builder b = begin("call");
    set_string(&b, "call", call);
    set_string(&b, "role", proto_role_name(role));
    struct builder p = {peer ? json_object() : NULL, peer == NULL};
    if (peer) {
        set_string(&p, "loa", identity_loa_name(peer->loa));
        set_string(&p, "provider", peer->provider);
        if (peer->display_name)
            set_string(&p, "display_name", peer->display_name);
        proto_peer_extras(p.obj, peer);
    }
    if (p.broken) {
        json_decref(p.obj);
        b.broken = true;
    } else {
        set(&b, "peer", p.obj);
    }
    set(&b, "ice_servers", ice_servers_json(ice_servers, n_ice_servers));
    return finish(&b);
}

char *proto_build_offer(const char *sdp)
{
    struct builder b = begin("offer");
    set_string(&b, "sdp", sdp);
    return finish(&b);
}

char *proto_build_state(const char *call, enum proto_media media)
{
    struct builder b = begin("state");
    set_string(&b, "call", call);
    set_string(&b, "media", proto_media_name(media));
    return finish(&b);
}

char *proto_build_ended(const char *reason, const char *outcome)
{
    struct builder b = begin("ended");
    set_string(&b, "reason", reason);
    set_string(&b, "outcome", outcome);
    return finish(&b);
}

char *proto_build_chat(enum proto_role from_role, const char *text)
{
    struct builder b = begin("chat");
    set_string(&b, "from", proto_role_name(from_role));
    set_string(&b, "text", text);
    return finish(&b);
}
