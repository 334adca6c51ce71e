/* The `local` identity provider: agents log in with a password from the users file
 * (include/balie/users.h), for the embedded default without an OpenID Provider. Like the dev
 * provider it plays both sides: its form post (/auth/local/authorize) checks the password and
 * hands out a one-time code, and `finish` redeems that code on the callback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "balie/idp_local.h"

#define LOCAL_MAX_CODES 64

struct idp_local {
    struct idp base; /* first: a struct idp * is also a struct idp_local * */
    const unsigned char *secret;
    size_t secret_len;
    struct login_store *logins;
    struct code_store *codes;
    char path[4096];
    struct users users;
    struct stat seen; /* the file as last read; st_ino 0: missing */
};

static void set_error(struct idp_error *err, const char *code, unsigned status, const char *msg)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", msg);
    err->http_status = status;
}

/* Reads the file again when it changed since the last read. On a read error the old list is
 * kept: an agent halfway through `user add` must not lock everyone out. */
static int reload(struct idp_local *lp, char *why, size_t why_len)
{
    struct stat st;
    if (stat(lp->path, &st) != 0)
        memset(&st, 0, sizeof(st));
    if (st.st_ino == lp->seen.st_ino && st.st_size == lp->seen.st_size &&
        st.st_mtim.tv_sec == lp->seen.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == lp->seen.st_mtim.tv_nsec && lp->seen.st_ino != 0)
        return 0;
    struct users fresh = {0};
    if (users_load(lp->path, &fresh, why, why_len) != 0)
        return -1;
    users_free(&lp->users);
    lp->users = fresh;
    lp->seen = st;
    return 0;
}

static int local_start(struct idp *idp, const char *state, struct login_pending *login, char *url,
                       size_t url_len)
{
    (void)idp;
    (void)login; /* the return path stays in the store; the page needs only the state */
    int n = snprintf(url, url_len, "/auth/local/authorize?state=%s", state);
    return n > 0 && (size_t)n < url_len ? 0 : -1;
}

static int local_finish(struct idp *idp, const struct idp_params *params,
                        const struct login_pending *login, uint64_t now_ms,
                        struct identity_verified *out, struct idp_error *err)
{
    struct idp_local *lp = (struct idp_local *)idp;
    (void)login;
    if (code_redeem(lp->codes, idp_params_get(params, "code"), idp_params_get(params, "state"),
                    now_ms, out) != 0) {
        set_error(err, "code_invalid", 400,
                  "Deze inlogcode is onbekend, verlopen of al gebruikt. Log opnieuw in. / "
                  "This login code is unknown, expired or already used. Please log in again.");
        return -1;
    }
    return 0;
}

static void local_destroy(struct idp *idp)
{
    struct idp_local *lp = (struct idp_local *)idp;
    if (!lp)
        return;
    code_store_free(lp->codes);
    users_free(&lp->users);
    OPENSSL_cleanse(lp, sizeof(*lp));
    free(lp);
}

struct idp *idp_local_new(const unsigned char *secret, size_t secret_len,
                          struct login_store *logins, const char *users_path, char *why,
                          size_t why_len)
{
    struct idp_local *lp = calloc(1, sizeof(*lp));
    if (!lp || strlen(users_path) >= sizeof(lp->path)) {
        snprintf(why, why_len, lp ? "the users file's path is too long" : "out of memory");
        free(lp);
        return NULL;
    }
    snprintf(lp->path, sizeof(lp->path), "%s", users_path);
    lp->codes = code_store_new(LOCAL_MAX_CODES);
    if (!lp->codes || reload(lp, why, why_len) != 0) {
        if (!lp->codes)
            snprintf(why, why_len, "out of memory");
        local_destroy(&lp->base);
        return NULL;
    }
    lp->base.id = "local";
    lp->base.display_name = "Medewerkersaccount";
    lp->base.start = local_start;
    lp->base.finish = local_finish;
    lp->base.destroy = local_destroy;
    lp->secret = secret;
    lp->secret_len = secret_len;
    lp->logins = logins;
    return &lp->base;
}

size_t idp_local_agent_count(struct idp *idp)
{
    struct idp_local *lp = (struct idp_local *)idp;
    char why[256];
    (void)reload(lp, why, sizeof(why));
    return lp->users.count;
}

/* The verified identity of agent `u`: level basis (a password is one factor, eIDAS "low"). */
static int agent_identity(struct idp_local *lp, const struct user *u, struct identity_verified *id)
{
    memset(id, 0, sizeof(*id));
    id->role = IDENTITY_ROLE_AGENT;
    id->loa = LOA_BASIS;
    snprintf(id->subject, sizeof(id->subject), "%s", u->id);
    snprintf(id->provider, sizeof(id->provider), "local");
    snprintf(id->display_name, sizeof(id->display_name), "%s", u->name);
    snprintf(id->services, sizeof(id->services), "%s", u->services);
    /* The same namespace as the dev provider's agents ("agent:" + account), so an account
     * name never shares a pseudonym with a BSN. */
    char input[IDP_SUBJECT_MAX + 8];
    snprintf(input, sizeof(input), "agent:%s", u->id);
    int rc = identity_pseudonym(lp->secret, lp->secret_len, input, id->pseudonym);
    OPENSSL_cleanse(input, sizeof(input));
    return rc;
}

int idp_local_prepare(struct idp *idp, const struct idp_params *form, uint64_t now_ms,
                      struct idp_local_check *check, struct idp_error *err)
{
    struct idp_local *lp = (struct idp_local *)idp;
    const char *state = idp_params_get(form, "state");
    const char *username = idp_params_get(form, "username");
    const char *password = idp_params_get(form, "password");
    memset(check, 0, sizeof(*check));
    if (!login_claimable(lp->logins, state, "local", now_ms)) {
        set_error(err, "state_invalid", 400,
                  "Deze inlogpoging is verlopen of al gebruikt. Begin opnieuw. / "
                  "This login attempt has expired or was already used. Please start again.");
        return -1;
    }
    char why[256];
    if (reload(lp, why, sizeof(why)) != 0) {
        set_error(err, "users_unreadable", 503,
                  "Inloggen kan nu niet. / Logging in is not possible now.");
        return -1;
    }
    snprintf(check->state, sizeof(check->state), "%s", state);
    const struct user *u = username ? users_find(&lp->users, username) : NULL;
    check->known = u != NULL;
    if (u)
        check->against = *u;
    else
        users_dummy(&lp->users, &check->against);
    size_t len = password ? strlen(password) : 0;
    check->usable = password && len <= USERS_PASSWORD_MAX;
    if (check->usable) {
        memcpy(check->password, password, len);
        check->password_len = len;
    }
    return 0;
}

void idp_local_run(struct idp_local_check *check)
{
    /* Always one KDF, also for an unknown id or an unusable password: the time says nothing. */
    bool matches = users_password_matches(&check->against, check->password, check->password_len);
    check->matched = matches && check->known && check->usable;
    OPENSSL_cleanse(check->password, sizeof(check->password));
}

int idp_local_complete(struct idp *idp, struct idp_local_check *check, uint64_t now_ms, char *url,
                       size_t url_len, struct idp_error *err)
{
    struct idp_local *lp = (struct idp_local *)idp;
    struct identity_verified id;
    char code[IDP_CODE_LEN + 1];
    int rc = -1;
    memset(&id, 0, sizeof(id));
    if (!check->matched) {
        set_error(err, "bad_credentials", 400,
                  "De gebruikersnaam of het wachtwoord klopt niet. / "
                  "The user name or password is not correct.");
    } else if (agent_identity(lp, &check->against, &id) != 0) {
        set_error(err, "no_secret", 503, "Inloggen kan nu niet. / Logging in is not possible now.");
    } else if (!login_claim(lp->logins, check->state, "local", now_ms)) {
        /* Answered meanwhile (two posts of one form): the first one won. */
        set_error(err, "state_invalid", 400,
                  "Deze inlogpoging is verlopen of al gebruikt. Begin opnieuw. / "
                  "This login attempt has expired or was already used. Please start again.");
    } else if (code_issue(lp->codes, check->state, &id, now_ms, code) != 0) {
        set_error(err, "busy", 503,
                  "Het is te druk om in te loggen; probeer het over een minuut. / "
                  "Too many logins at once; try again in a minute.");
    } else {
        int n = snprintf(url, url_len, "/auth/callback/local?code=%s&state=%s", code, check->state);
        rc = n > 0 && (size_t)n < url_len ? 0 : -1;
        if (rc != 0)
            set_error(err, "internal", 500, "Er ging iets mis. / Something went wrong.");
    }
    OPENSSL_cleanse(code, sizeof(code));
    identity_verified_clear(&id);
    OPENSSL_cleanse(check, sizeof(*check));
    return rc;
}

int idp_local_authorize(struct idp *idp, const struct idp_params *form, uint64_t now_ms, char *url,
                        size_t url_len, struct idp_error *err)
{
    struct idp_local_check check;
    if (idp_local_prepare(idp, form, now_ms, &check, err) != 0)
        return -1;
    idp_local_run(&check);
    return idp_local_complete(idp, &check, now_ms, url, url_len, err);
}
