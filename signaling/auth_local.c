/* Limits around the local provider's password checks. One scrypt check takes tens to hundreds
 * of milliseconds of the control thread (docs/identity.md measures it), so checks are
 * budgeted per second for the whole gateway, and wrong passwords are counted per account as
 * well as per client address (auth.c): guessing one agent's password from many addresses is
 * as slow as from one. */
#include "auth_local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

struct auth_local {
    struct ratelimit accounts;
    uint64_t second_start_ms;
    unsigned checks_this_second;
};

struct auth_local *auth_local_new(void)
{
    struct auth_local *al = calloc(1, sizeof(*al));
    if (al)
        ratelimit_init(&al->accounts, AUTH_LOCAL_ACCOUNT_FAILURES, AUTH_LOCAL_ACCOUNT_WINDOW_MS);
    return al;
}

void auth_local_free(struct auth_local *al)
{
    free(al);
}

static void set_error(struct idp_error *err, const char *code, unsigned status, const char *msg)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", msg);
    err->http_status = status;
}

/* The account's key: what was typed, as the limiter keeps it (at most 63 bytes). Unknown
 * names are counted too, so the limiter says nothing about which accounts exist. */
static const char *account_key(const struct idp_params *form)
{
    const char *name = idp_params_get(form, "username");
    return name && name[0] ? name : "(empty)";
}

int auth_local_authorize(struct auth_local *al, struct idp *local, const struct idp_params *form,
                         uint64_t now_ms, char *url, size_t url_len, struct idp_error *err)
{
    const char *key = account_key(form);
    if (ratelimit_blocked(&al->accounts, key, now_ms)) {
        set_error(err, "account_locked", 429,
                  "Te veel verkeerde wachtwoorden voor dit account. Wacht een kwartier of vraag "
                  "de beheerder om hulp. / Too many wrong passwords for this account. Wait a "
                  "quarter of an hour or ask the administrator for help.");
        return -1;
    }
    if (now_ms < al->second_start_ms || now_ms - al->second_start_ms >= 1000) {
        al->second_start_ms = now_ms;
        al->checks_this_second = 0;
    }
    if (al->checks_this_second >= AUTH_LOCAL_CHECKS_PER_S) {
        set_error(err, "busy", 503,
                  "Het is te druk om in te loggen; probeer het over een paar seconden. / "
                  "Too many logins at once; try again in a few seconds.");
        return -1;
    }
    al->checks_this_second++;
    int rc = idp_local_authorize(local, form, now_ms, url, url_len, err);
    if (rc != 0 && strcmp(err->code, "bad_credentials") == 0)
        ratelimit_fail(&al->accounts, key, now_ms);
    return rc;
}
