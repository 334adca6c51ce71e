/* Identity providers: how a login starts, and how it ends in a verified identity.
 *
 * A provider is a small vtable (struct idp). `start` sends the browser to the provider with a
 * state that the login store keeps; `finish` turns the callback's parameters into a verified
 * identity or a precise error. The `dev` provider is the first; `oidc` and `saml` plug into the
 * same table (docs/identity.md). Everything here runs on the control thread only, and takes
 * the time as an argument instead of reading a clock, so tests drive it without sleeping.
 *
 * Privacy rule: a verified identity carries the subject (a BSN for DigiD) only so that the
 * provider can make the pseudonym. The subject stays inside identity/; code elsewhere passes
 * the struct on to session_create() and clears it with identity_verified_clear(). */
#ifndef BALIE_IDP_H
#define BALIE_IDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/identity.h"

#define IDP_ID_MAX 16
#define IDP_SUBJECT_MAX 64
#define IDP_DISPLAY_NAME_MAX 64
#define IDP_AGENT_ID_MAX 32
#define IDP_SERVICES_MAX 256 /* "a,b,c" and a NUL */
#define IDP_RETURN_MAX 256
#define IDP_EXTRA_MAX 256
#define IDP_SERVICES_MAX 256
#define IDP_STATE_LEN 43 /* base64url of 32 random bytes */
#define IDP_CODE_LEN 43

#define IDP_STATE_TTL_MS (10u * 60u * 1000u) /* a pending login lives 10 minutes */
#define IDP_CODE_TTL_MS (60u * 1000u)        /* a one-time code lives 60 seconds */

enum identity_role { IDENTITY_ROLE_CITIZEN = 0, IDENTITY_ROLE_AGENT };

/* "citizen" | "agent" ⇄ the enum. Parse returns -1 for other text. */
int identity_role_parse(const char *text, enum identity_role *out);
const char *identity_role_name(enum identity_role role);

struct identity_verified {
    char subject[IDP_SUBJECT_MAX]; /* BSN or account name: stays inside identity/ */
    char pseudonym[IDENTITY_PSEUDONYM_LEN + 1];
    enum identity_loa loa;
    char provider[IDP_ID_MAX];
    char display_name[IDP_DISPLAY_NAME_MAX]; /* UTF-8, may be empty; never logged */
    enum identity_role role;
    char agent_id[IDP_AGENT_ID_MAX]; /* agents only; empty: derived from the pseudonym */
    uint64_t expires_ms;             /* when the provider's assertion ends; 0: no limit */
    /* Agents only: the services they may take, "id,id"; empty: every service (the dev login,
     * or a role mapped to "*"). */
    char services[IDP_SERVICES_MAX];
};

/* Wipes the whole struct (OPENSSL_cleanse), subject included. Never fails. */
void identity_verified_clear(struct identity_verified *id);

/* Why a login failed: a short code for logs and metrics, and a message for the person, Dutch
 * first and English after " / ". Neither ever contains what the person typed. */
struct idp_error {
    char code[32];
    char message[320];
    unsigned http_status; /* 400 for the person's mistakes, 503 when the gateway is full */
};

/* Name/value parameters of a callback or form, already percent-decoded. */
#define IDP_PARAMS_MAX 16
struct idp_params {
    size_t count;
    struct {
        const char *name;
        const char *value;
    } items[IDP_PARAMS_MAX];
};

/* The first value named `name`, or NULL. */
const char *idp_params_get(const struct idp_params *p, const char *name);

/* ---- Pending logins: state → provider, return path, created; single use. ---- */

struct login_pending {
    char provider[IDP_ID_MAX];
    char return_path[IDP_RETURN_MAX]; /* always a safe local path (login_return_path_safe) */
    char extra[IDP_EXTRA_MAX];        /* the provider's own: PKCE verifier, nonce, request id */
    uint64_t created_ms;
    bool claimed; /* the provider side answered this state once (the dev IdP) */
    /* The assurance level the person was sent to get ("/auth/login?loa=…", after a service
     * refused a lower one); LOA_NONE when not asked. A provider passes it on (the dev form
     * preselects it; OIDC would ask with acr_values). */
    enum identity_loa wanted_loa;
};

struct login_store;

/* Keeps at most `max_pending` logins; when full the oldest is dropped (a login that someone
 * abandoned; the person starts again). Returns NULL when out of memory. */
struct login_store *login_store_new(size_t max_pending);
void login_store_free(struct login_store *ls);

/* Starts a login with a fresh random state, written to `state_out`. An unsafe `return_path`
 * becomes "/". Returns the entry, which the provider's `start` may fill in (`extra`); the
 * pointer is valid until the next call on the store. NULL when the random generator fails. */
struct login_pending *login_begin(struct login_store *ls, const char *provider,
                                  const char *return_path, uint64_t now_ms,
                                  char state_out[IDP_STATE_LEN + 1]);

/* For a provider that answers the state itself (the dev IdP): true once for a pending, unexpired
 * state of `provider`, which is marked claimed; false for every later call. The state stays
 * pending for the callback. */
bool login_claim(struct login_store *ls, const char *state, const char *provider, uint64_t now_ms);

/* Whether login_claim() would succeed now, without claiming: a provider that must do slow work
 * first (a password check) looks before it leaps, so a made-up state costs nothing. */
bool login_claimable(struct login_store *ls, const char *state, const char *provider,
                     uint64_t now_ms);

/* Takes the login `state` names out of the store (single use). Returns 0 and fills `out`, or
 * -1 when the state is unknown, used, expired (IDP_STATE_TTL_MS) or of another provider. */
int login_take(struct login_store *ls, const char *state, const char *provider, uint64_t now_ms,
               struct login_pending *out);

/* Drops expired logins. Returns how many. */
size_t login_sweep(struct login_store *ls, uint64_t now_ms);
size_t login_count(const struct login_store *ls);

/* A return path is local: it starts with "/" but not "//" or "/\", and holds only printable
 * ASCII without backslashes (browsers drop tabs and newlines, so "/\t/evil" would become
 * "//evil"). Anything else, or a path of IDP_RETURN_MAX bytes or more, is unsafe. */
bool login_return_path_safe(const char *path);

/* ---- One-time codes: an identity kept for one redemption, bound to a state. ---- */

struct code_store;

struct code_store *code_store_new(size_t max_codes);
void code_store_free(struct code_store *cs);

/* Keeps `id` (without its subject, which is cleared in the copy) under a fresh code, bound to
 * `state`. Returns 0 and writes the code, or -1 (the generator failed, or the store is full of
 * unexpired codes). */
int code_issue(struct code_store *cs, const char *state, const struct identity_verified *id,
               uint64_t now_ms, char code_out[IDP_CODE_LEN + 1]);

/* Redeems `code` once: 0 and fills `out` when it is known, unexpired (IDP_CODE_TTL_MS) and bound
 * to `state`; -1 otherwise. A code presented with the wrong state is burnt all the same. */
int code_redeem(struct code_store *cs, const char *code, const char *state, uint64_t now_ms,
                struct identity_verified *out);
size_t code_sweep(struct code_store *cs, uint64_t now_ms);

/* ---- The provider vtable. ---- */

/* How an asynchronous finish ends, on the control thread: `rc` 0 with `id` filled (the callee
 * clears it afterwards), or -1 with `err`. */
typedef void (*idp_done_fn)(void *arg, int rc, struct identity_verified *id,
                            const struct idp_error *err);

struct idp {
    const char *id;           /* "dev": in URLs (/auth/callback/<id>) and in the session */
    const char *display_name; /* shown where a person picks how to log in */
    /* Starts a login: `state` is the pending login's state (already kept in the store), `login`
     * its entry (the provider may fill `extra`). Writes the URL the browser is sent to.
     * Returns 0, or -1 when the URL does not fit. */
    int (*start)(struct idp *idp, const char *state, struct login_pending *login, char *url,
                 size_t url_len);
    /* Finishes a login from the callback's `params`; `login` is the pending login its state
     * named, already taken out of the store. Returns 0 and fills `out`, or -1 and fills
     * `err`. */
    int (*finish)(struct idp *idp, const struct idp_params *params,
                  const struct login_pending *login, uint64_t now_ms, struct identity_verified *out,
                  struct idp_error *err);
    void (*destroy)(struct idp *idp);

    /* Optional parts; NULL where a provider has no use for them. */
    const char *role; /* who logs in here: "citizen", "agent", or NULL for both */
    /* Whether logins can start now (a remote provider's discovery has arrived). */
    bool (*available)(const struct idp *idp);
    /* Like `finish`, for a provider that must call its server (a token exchange): returns 0 when
     * the answer will come through `done(arg, …)` from a later event-loop turn, never from inside
     * this call, or -1 with `err` filled when it is refused at once. Used instead of `finish`
     * when set. */
    int (*finish_async)(struct idp *idp, const struct idp_params *params,
                        const struct login_pending *login, uint64_t now_ms, idp_done_fn done,
                        void *arg, struct idp_error *err);
    /* The `done` of every unfinished finish_async with this `arg` will not run (the browser went
     * away). Required with finish_async. */
    void (*cancel)(struct idp *idp, void *arg);
    /* Called about once a second: retries, key refreshes. */
    void (*tick)(struct idp *idp, uint64_t now_ms);
};

/* ---- The dev provider: a test login for laptops, refused in production. ---- */

/* `secret` (the deployment's pseudonym secret) and `logins` must outlive the provider.
 * Returns NULL when out of memory. */
struct idp *idp_dev_new(const unsigned char *secret, size_t secret_len, struct login_store *logins);

/* The dev IdP's own form post (POST /auth/dev/authorize): checks the state (pending, dev,
 * unexpired, answered only once), the role, the level and the subject (a citizen's BSN must
 * pass the elfproef), then keeps the identity under a one-time code and writes the callback
 * URL (/auth/callback/dev?code=…&state=…). Returns 0, or -1 and fills `err`. */
int idp_dev_authorize(struct idp *dev, const struct idp_params *form, uint64_t now_ms, char *url,
                      size_t url_len, struct idp_error *err);

/* A BSN: exactly 9 digits, not all zero, passing the elfproef (11-test):
 * 9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11. */
bool identity_bsn_valid(const char *text);

/* ---- The deployment's pseudonym secret. ---- */

#define IDENTITY_SECRET_MAX 256
#define IDENTITY_SECRET_MIN 32 /* characters of a configured secret */

enum identity_secret_source { SECRET_CONFIGURED, SECRET_FILE_CREATED, SECRET_FILE_READ };

/* The secret pseudonyms are made with. A non-empty `configured` value is used as it is (at
 * least IDENTITY_SECRET_MIN characters). Otherwise `data_dir`/pseudonym.key is read, or made
 * at first start: 32 random bytes written as 64 hex characters and a newline, mode 0600, the
 * folder made (0700) when missing. The file's text is the secret, so pointing
 * BALIE_IDENTITY_PSEUDONYM_SECRET_FILE at it gives the same pseudonyms.
 * Returns 0 with `*source` set and the file's path in `path` (empty when configured), or -1
 * with the reason in `why`. */
int identity_secret_load(const char *configured, const char *data_dir, unsigned char *out,
                         size_t *out_len, enum identity_secret_source *source, char *path,
                         size_t path_len, char *why, size_t why_len);

#endif
