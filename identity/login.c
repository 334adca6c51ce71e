/* Pending logins (state → provider, return path) and one-time codes. Both are small fixed
 * tables searched from end to end, comparing SHA-256 hashes of the tokens in constant time:
 * a few thousand entries at most, touched once per login step, never per packet. */
#include "balie/idp.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "balie/token.h"

static const char *const role_names[] = {"citizen", "agent"};

int identity_role_parse(const char *text, enum identity_role *out)
{
    for (int i = 0; i < 2; i++) {
        if (text && strcmp(text, role_names[i]) == 0) {
            *out = (enum identity_role)i;
            return 0;
        }
    }
    return -1;
}

const char *identity_role_name(enum identity_role role)
{
    return role == IDENTITY_ROLE_AGENT ? role_names[1] : role_names[0];
}

void identity_verified_clear(struct identity_verified *id)
{
    OPENSSL_cleanse(id, sizeof(*id));
}

const char *idp_params_get(const struct idp_params *p, const char *name)
{
    for (size_t i = 0; i < p->count && i < IDP_PARAMS_MAX; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return p->items[i].value;
    return NULL;
}

bool login_return_path_safe(const char *path)
{
    if (!path || path[0] != '/' || path[1] == '/' || path[1] == '\\')
        return false;
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++, n++) {
        if (*c <= 0x20 || *c >= 0x7f || *c == '\\' || n + 1 >= IDP_RETURN_MAX)
            return false;
    }
    return true;
}

/* ---- Pending logins ---- */

struct login_slot {
    bool used;
    unsigned char state_hash[TOKEN_HASH_LEN];
    struct login_pending login;
};

struct login_store {
    size_t max;
    size_t count;
    struct login_slot *slots;
};

struct login_store *login_store_new(size_t max_pending)
{
    if (max_pending == 0)
        return NULL;
    struct login_store *ls = calloc(1, sizeof(*ls));
    if (!ls)
        return NULL;
    ls->slots = calloc(max_pending, sizeof(*ls->slots));
    if (!ls->slots) {
        free(ls);
        return NULL;
    }
    ls->max = max_pending;
    return ls;
}

void login_store_free(struct login_store *ls)
{
    if (!ls)
        return;
    OPENSSL_cleanse(ls->slots, ls->max * sizeof(*ls->slots));
    free(ls->slots);
    free(ls);
}

static void slot_clear(struct login_store *ls, struct login_slot *slot)
{
    OPENSSL_cleanse(slot, sizeof(*slot));
    ls->count--;
}

static bool login_expired(const struct login_pending *l, uint64_t now_ms)
{
    return now_ms < l->created_ms || now_ms - l->created_ms >= IDP_STATE_TTL_MS;
}

/* A free slot, or the oldest one (cleared) when all are taken. */
static struct login_slot *login_free_slot(struct login_store *ls)
{
    struct login_slot *oldest = NULL;
    for (size_t i = 0; i < ls->max; i++) {
        struct login_slot *slot = &ls->slots[i];
        if (!slot->used)
            return slot;
        if (!oldest || slot->login.created_ms < oldest->login.created_ms)
            oldest = slot;
    }
    slot_clear(ls, oldest);
    return oldest;
}

struct login_pending *login_begin(struct login_store *ls, const char *provider,
                                  const char *return_path, uint64_t now_ms,
                                  char state_out[IDP_STATE_LEN + 1])
{
    if (!provider || strlen(provider) >= IDP_ID_MAX || token_new(state_out) != 0)
        return NULL;
    struct login_slot *slot = login_free_slot(ls);
    memset(slot, 0, sizeof(*slot));
    slot->used = true;
    ls->count++;
    token_hash(state_out, IDP_STATE_LEN, slot->state_hash);
    strcpy(slot->login.provider, provider);
    strcpy(slot->login.return_path, login_return_path_safe(return_path) ? return_path : "/");
    slot->login.created_ms = now_ms;
    return &slot->login;
}

/* The live slot of `state` for `provider`, or NULL. Expired slots met on the way are dropped. */
static struct login_slot *login_find(struct login_store *ls, const char *state,
                                     const char *provider, uint64_t now_ms)
{
    if (!state || !provider || !token_well_formed(state, strlen(state)))
        return NULL;
    unsigned char hash[TOKEN_HASH_LEN];
    token_hash(state, IDP_STATE_LEN, hash);
    struct login_slot *found = NULL;
    for (size_t i = 0; i < ls->max; i++) {
        struct login_slot *slot = &ls->slots[i];
        if (slot->used && CRYPTO_memcmp(slot->state_hash, hash, sizeof(hash)) == 0)
            found = slot;
    }
    if (!found)
        return NULL;
    if (login_expired(&found->login, now_ms)) {
        slot_clear(ls, found);
        return NULL;
    }
    return strcmp(found->login.provider, provider) == 0 ? found : NULL;
}

bool login_claim(struct login_store *ls, const char *state, const char *provider, uint64_t now_ms)
{
    struct login_slot *slot = login_find(ls, state, provider, now_ms);
    if (!slot || slot->login.claimed)
        return false;
    slot->login.claimed = true;
    return true;
}

bool login_claimable(struct login_store *ls, const char *state, const char *provider,
                     uint64_t now_ms)
{
    const struct login_slot *slot = login_find(ls, state, provider, now_ms);
    return slot && !slot->login.claimed;
}

int login_take(struct login_store *ls, const char *state, const char *provider, uint64_t now_ms,
               struct login_pending *out)
{
    struct login_slot *slot = login_find(ls, state, provider, now_ms);
    if (!slot)
        return -1;
    *out = slot->login;
    slot_clear(ls, slot);
    return 0;
}

size_t login_sweep(struct login_store *ls, uint64_t now_ms)
{
    size_t removed = 0;
    for (size_t i = 0; i < ls->max; i++) {
        if (ls->slots[i].used && login_expired(&ls->slots[i].login, now_ms)) {
            slot_clear(ls, &ls->slots[i]);
            removed++;
        }
    }
    return removed;
}

size_t login_count(const struct login_store *ls)
{
    return ls->count;
}

/* ---- One-time codes ---- */

struct code_slot {
    bool used;
    unsigned char code_hash[TOKEN_HASH_LEN];
    unsigned char state_hash[TOKEN_HASH_LEN];
    uint64_t issued_ms;
    struct identity_verified id; /* subject cleared */
};

struct code_store {
    size_t max;
    struct code_slot *slots;
};

struct code_store *code_store_new(size_t max_codes)
{
    if (max_codes == 0)
        return NULL;
    struct code_store *cs = calloc(1, sizeof(*cs));
    if (!cs)
        return NULL;
    cs->slots = calloc(max_codes, sizeof(*cs->slots));
    if (!cs->slots) {
        free(cs);
        return NULL;
    }
    cs->max = max_codes;
    return cs;
}

void code_store_free(struct code_store *cs)
{
    if (!cs)
        return;
    OPENSSL_cleanse(cs->slots, cs->max * sizeof(*cs->slots));
    free(cs->slots);
    free(cs);
}

static bool code_expired(const struct code_slot *slot, uint64_t now_ms)
{
    return now_ms < slot->issued_ms || now_ms - slot->issued_ms >= IDP_CODE_TTL_MS;
}

size_t code_sweep(struct code_store *cs, uint64_t now_ms)
{
    size_t removed = 0;
    for (size_t i = 0; i < cs->max; i++) {
        if (cs->slots[i].used && code_expired(&cs->slots[i], now_ms)) {
            OPENSSL_cleanse(&cs->slots[i], sizeof(cs->slots[i]));
            removed++;
        }
    }
    return removed;
}

int code_issue(struct code_store *cs, const char *state, const struct identity_verified *id,
               uint64_t now_ms, char code_out[IDP_CODE_LEN + 1])
{
    struct code_slot *slot = NULL;
    code_sweep(cs, now_ms);
    for (size_t i = 0; i < cs->max && !slot; i++)
        if (!cs->slots[i].used)
            slot = &cs->slots[i];
    /* Full of unexpired codes: refuse rather than evict, so nobody can push out a code that
     * a browser is about to redeem. They expire within a minute. */
    if (!slot || !state || token_new(code_out) != 0)
        return -1;
    slot->used = true;
    token_hash(code_out, IDP_CODE_LEN, slot->code_hash);
    token_hash(state, strlen(state), slot->state_hash);
    slot->issued_ms = now_ms;
    slot->id = *id;
    OPENSSL_cleanse(slot->id.subject, sizeof(slot->id.subject));
    return 0;
}

int code_redeem(struct code_store *cs, const char *code, const char *state, uint64_t now_ms,
                struct identity_verified *out)
{
    if (!code || !state || !token_well_formed(code, strlen(code)))
        return -1;
    unsigned char code_hash[TOKEN_HASH_LEN], state_hash[TOKEN_HASH_LEN];
    token_hash(code, IDP_CODE_LEN, code_hash);
    token_hash(state, strlen(state), state_hash);
    struct code_slot *found = NULL;
    for (size_t i = 0; i < cs->max; i++) {
        struct code_slot *slot = &cs->slots[i];
        if (slot->used && CRYPTO_memcmp(slot->code_hash, code_hash, sizeof(code_hash)) == 0)
            found = slot;
    }
    if (!found)
        return -1;
    bool ok = !code_expired(found, now_ms) &&
              CRYPTO_memcmp(found->state_hash, state_hash, sizeof(state_hash)) == 0;
    if (ok)
        *out = found->id;
    OPENSSL_cleanse(found, sizeof(*found)); /* single use, whatever the outcome */
    return ok ? 0 : -1;
}
