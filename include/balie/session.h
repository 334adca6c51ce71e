/* Server-side sessions behind the `balie_session` cookie.
 *
 * A session holds what the rest of Balie may know about a logged-in person: the pseudonym,
 * the assurance level, the provider, the role, a display name and (for agents) an agent id.
 * Never the subject or BSN. The cookie value is 32 random bytes in base64url; the store keeps
 * only its SHA-256, so a memory dump does not leak live cookies, and compares in constant time.
 *
 * Control thread only. Time is passed in (milliseconds of a monotonic clock). */
#ifndef BALIE_SESSION_H
#define BALIE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "balie/identity.h"
#include "balie/idp.h"

#define SESSION_COOKIE_NAME "balie_session"
#define SESSION_COOKIE_VALUE_LEN 43                  /* base64url of 32 bytes, no padding */
#define SESSION_IDLE_MS (30u * 60u * 1000u)          /* 30 minutes without a request */
#define SESSION_ABSOLUTE_MS (8u * 60u * 60u * 1000u) /* 8 hours after login, whatever happens */
#define SESSION_MAX_DEFAULT 10000

enum session_role { SESSION_ROLE_CITIZEN = 0, SESSION_ROLE_AGENT };

struct session {
    unsigned char id_hash[32]; /* SHA-256 of the cookie value */
    enum session_role role;
    char pseudonym[IDENTITY_PSEUDONYM_LEN + 1];
    enum identity_loa loa;
    char provider[IDP_ID_MAX];
    char display_name[IDP_DISPLAY_NAME_MAX];
    char agent_id[IDP_AGENT_ID_MAX]; /* empty for citizens */
    char services[IDP_SERVICES_MAX]; /* agents: "id,id" they may take; empty: every service */
    uint64_t created_ms, last_seen_ms;
    uint64_t expires_ms; /* absolute end: created + absolute_ms, or the provider's end if sooner */
};

struct session_store;

/* A store whose sessions end after `idle_ms` without use or `absolute_ms` after creation,
 * holding at most `max_sessions`. NULL when out of memory or max_sessions is 0. */
struct session_store *session_store_new(uint64_t idle_ms, uint64_t absolute_ms,
                                        size_t max_sessions);
void session_store_free(struct session_store *s);

/* Creates a session for `id` and writes the cookie value (SESSION_COOKIE_VALUE_LEN characters
 * and a NUL) to `cookie_value_out`. Copies the pseudonym, level, provider, role, display name,
 * agent id and (agents) services; the subject is not read. Agents without an agent id get "agent-"
 * and the pseudonym's first 12 hex characters. Returns NULL when the store is full of live sessions
 * or the random generator failed. The pointer stays valid until session_destroy() or until
 * the session expires and is swept: do not keep it across event-loop turns. */
struct session *session_create(struct session_store *s, const struct identity_verified *id,
                               uint64_t now_ms, char cookie_value_out[64]);

/* Finds the live session a cookie value names and refreshes its last_seen. NULL when unknown,
 * idle too long or past its absolute end (an expired one is destroyed on the way). */
struct session *session_find(struct session_store *s, const char *value, size_t len,
                             uint64_t now_ms);

/* Parses `balie_session=` out of a Cookie request header (RFC 6265 §5.4: "a=b; c=d", other
 * cookies around it, a value in double quotes allowed) and returns session_find() of it. When
 * the name appears more than once, the first value naming a live session wins. NULL for a
 * NULL header. */
struct session *session_from_cookie_header(struct session_store *s, const char *cookie_header,
                                           uint64_t now_ms);

/* The live session whose id hashes to `hash` (struct session.id_hash), refreshed like
 * session_find: an open WebSocket is activity. NULL when it ended (logout, idle, absolute). */
struct session *session_find_hash(struct session_store *s, const unsigned char hash[32],
                                  uint64_t now_ms);

void session_destroy(struct session_store *s, struct session *sess);

/* Destroys every session that is idle too long or past its end. Returns how many. */
size_t session_sweep(struct session_store *s, uint64_t now_ms);

size_t session_count(const struct session_store *s);

const char *session_role_name(enum session_role role);

#endif
