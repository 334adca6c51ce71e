/* The session store: a chained hash table keyed by the SHA-256 of the cookie value. The bucket
 * comes from the hash's first bytes (which tell an attacker nothing about a live cookie: they
 * would need a preimage), and within a bucket the full hash is compared in constant time. */
#include "balie/session.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "token.h"

struct session_node {
    struct session s; /* first, so a struct session * is also its node */
    struct session_node *next;
};

struct session_store {
    uint64_t idle_ms, absolute_ms;
    size_t max, count;
    size_t mask; /* buckets - 1, a power of two minus one */
    struct session_node **buckets;
};

struct session_store *session_store_new(uint64_t idle_ms, uint64_t absolute_ms, size_t max_sessions)
{
    if (max_sessions == 0 || max_sessions > (1u << 24))
        return NULL;
    struct session_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    size_t buckets = 64;
    while (buckets < max_sessions)
        buckets <<= 1;
    s->buckets = calloc(buckets, sizeof(struct session_node *));
    if (!s->buckets) {
        free(s);
        return NULL;
    }
    s->mask = buckets - 1;
    s->idle_ms = idle_ms;
    s->absolute_ms = absolute_ms;
    s->max = max_sessions;
    return s;
}

static void node_free(struct session_node *n)
{
    OPENSSL_cleanse(n, sizeof(*n));
    free(n);
}

void session_store_free(struct session_store *s)
{
    if (!s)
        return;
    for (size_t b = 0; b <= s->mask; b++) {
        struct session_node *n = s->buckets[b];
        while (n) {
            struct session_node *next = n->next;
            node_free(n);
            n = next;
        }
    }
    free(s->buckets);
    free(s);
}

static size_t bucket_of(const struct session_store *s, const unsigned char hash[32])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | hash[i];
    return (size_t)v & s->mask;
}

static bool expired(const struct session_store *s, const struct session *sess, uint64_t now_ms)
{
    return now_ms >= sess->expires_ms ||
           (now_ms > sess->last_seen_ms && now_ms - sess->last_seen_ms >= s->idle_ms);
}

/* Unlinks and frees the node whose link is `*link`. */
static void unlink_node(struct session_store *s, struct session_node **link)
{
    struct session_node *n = *link;
    *link = n->next;
    node_free(n);
    s->count--;
}

size_t session_sweep(struct session_store *s, uint64_t now_ms)
{
    size_t removed = 0;
    for (size_t b = 0; b <= s->mask && s->count > 0; b++) {
        struct session_node **link = &s->buckets[b];
        while (*link) {
            if (expired(s, &(*link)->s, now_ms)) {
                unlink_node(s, link);
                removed++;
            } else {
                link = &(*link)->next;
            }
        }
    }
    return removed;
}

static void fill_session(struct session_store *s, struct session *sess,
                         const struct identity_verified *id, uint64_t now_ms)
{
    sess->role = id->role == IDENTITY_ROLE_AGENT ? SESSION_ROLE_AGENT : SESSION_ROLE_CITIZEN;
    memcpy(sess->pseudonym, id->pseudonym, sizeof(sess->pseudonym));
    sess->pseudonym[IDENTITY_PSEUDONYM_LEN] = '\0';
    sess->loa = id->loa;
    memcpy(sess->provider, id->provider, sizeof(sess->provider));
    sess->provider[IDP_ID_MAX - 1] = '\0';
    memcpy(sess->display_name, id->display_name, sizeof(sess->display_name));
    sess->display_name[IDP_DISPLAY_NAME_MAX - 1] = '\0';
    if (sess->role == SESSION_ROLE_AGENT) {
        if (id->agent_id[0]) {
            memcpy(sess->agent_id, id->agent_id, sizeof(sess->agent_id));
            sess->agent_id[IDP_AGENT_ID_MAX - 1] = '\0';
        } else {
            /* Stable for the same account across logins, and no personal data. */
            memcpy(sess->agent_id, "agent-", 6);
            memcpy(sess->agent_id + 6, sess->pseudonym, 12);
            sess->agent_id[18] = '\0';
        }
        memcpy(sess->services, id->services, sizeof(sess->services));
        sess->services[IDP_SERVICES_MAX - 1] = '\0';
    }
    sess->created_ms = now_ms;
    sess->last_seen_ms = now_ms;
    sess->expires_ms = now_ms + s->absolute_ms;
    if (id->expires_ms != 0 && id->expires_ms < sess->expires_ms)
        sess->expires_ms = id->expires_ms;
}

struct session *session_create(struct session_store *s, const struct identity_verified *id,
                               uint64_t now_ms, char cookie_value_out[64])
{
    cookie_value_out[0] = '\0';
    if (s->count >= s->max)
        session_sweep(s, now_ms);
    if (s->count >= s->max)
        return NULL;
    struct session_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    char value[TOKEN_LEN + 1];
    if (token_new(value) != 0) {
        free(n);
        return NULL;
    }
    token_hash(value, TOKEN_LEN, n->s.id_hash);
    fill_session(s, &n->s, id, now_ms);
    size_t b = bucket_of(s, n->s.id_hash);
    n->next = s->buckets[b];
    s->buckets[b] = n;
    s->count++;
    memcpy(cookie_value_out, value, TOKEN_LEN + 1);
    OPENSSL_cleanse(value, sizeof(value));
    return &n->s;
}

struct session *session_find_hash(struct session_store *s, const unsigned char hash[32],
                                  uint64_t now_ms)
{
    struct session_node **link = &s->buckets[bucket_of(s, hash)];
    while (*link) {
        struct session_node *n = *link;
        if (CRYPTO_memcmp(n->s.id_hash, hash, TOKEN_HASH_LEN) == 0) {
            if (expired(s, &n->s, now_ms)) {
                unlink_node(s, link);
                return NULL;
            }
            n->s.last_seen_ms = now_ms;
            return &n->s;
        }
        link = &n->next;
    }
    return NULL;
}

struct session *session_find(struct session_store *s, const char *value, size_t len,
                             uint64_t now_ms)
{
    if (!token_well_formed(value, len))
        return NULL;
    unsigned char hash[TOKEN_HASH_LEN];
    token_hash(value, len, hash);
    return session_find_hash(s, hash, now_ms);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

struct session *session_from_cookie_header(struct session_store *s, const char *cookie_header,
                                           uint64_t now_ms)
{
    static const char name[] = SESSION_COOKIE_NAME;
    const size_t name_len = sizeof(name) - 1;
    if (!cookie_header)
        return NULL;
    const char *p = cookie_header;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        while (p < end && is_space(*p))
            p++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            const char *name_end = eq;
            while (name_end > p && is_space(name_end[-1]))
                name_end--;
            const char *v = eq + 1, *v_end = end;
            while (v < v_end && is_space(*v))
                v++;
            while (v_end > v && is_space(v_end[-1]))
                v_end--;
            /* RFC 6265 §4.1.1: a cookie-value may be wrapped in double quotes. */
            if (v_end - v >= 2 && v[0] == '"' && v_end[-1] == '"') {
                v++;
                v_end--;
            }
            if ((size_t)(name_end - p) == name_len && memcmp(p, name, name_len) == 0) {
                struct session *sess = session_find(s, v, (size_t)(v_end - v), now_ms);
                if (sess)
                    return sess;
            }
        }
        p = *end ? end + 1 : end;
    }
    return NULL;
}

void session_destroy(struct session_store *s, struct session *sess)
{
    if (!sess)
        return;
    struct session_node **link = &s->buckets[bucket_of(s, sess->id_hash)];
    while (*link) {
        if (&(*link)->s == sess) {
            unlink_node(s, link);
            return;
        }
        link = &(*link)->next;
    }
}

size_t session_count(const struct session_store *s)
{
    return s->count;
}

const char *session_role_name(enum session_role role)
{
    return role == SESSION_ROLE_AGENT ? "agent" : "citizen";
}
