/* The limits around local password checks (signaling/auth_local.c): per account and per
 * second, in front of a real local provider. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_local.h"
#include "balie/users.h"

#define PW "correct horse battery"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
static struct login_store *ls;
static struct idp *local;
static struct auth_local *al;
static char dir[64];

static void setup(void)
{
    char path[96], why[256];
    strcpy(dir, "/tmp/balie-authlocal-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/users", dir);
    struct users u = {0};
    struct user x = {.id = "a.jansen"};
    cr_assert_eq(users_set_password(&x, PW, strlen(PW), &(struct users_kdf){10, 8, 1}), 0);
    cr_assert_eq(users_add(&u, &x), 0);
    cr_assert_eq(users_save(path, &u, why, sizeof(why)), 0, "%s", why);
    users_free(&u);
    ls = login_store_new(64);
    local = idp_local_new(secret, 32, ls, path, why, sizeof(why));
    al = auth_local_new();
    cr_assert(ls && local && al);
}

static void teardown(void)
{
    auth_local_free(al);
    local->destroy(local);
    login_store_free(ls);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(auth_local, .init = setup, .fini = teardown);

static const char *attempt(const char *user, const char *pw, uint64_t now)
{
    static struct idp_error err;
    char state[IDP_STATE_LEN + 1], url[512];
    cr_assert_not_null(login_begin(ls, "local", "/agent", now, state));
    struct idp_params p = {.count = 3,
                           .items = {{"state", state}, {"username", user}, {"password", pw}}};
    memset(&err, 0, sizeof(err));
    return auth_local_authorize(al, local, &p, now, url, sizeof(url), &err) == 0 ? "ok" : err.code;
}

Test(auth_local, an_account_locks_after_five_wrong_passwords)
{
    uint64_t t = 1000000;
    for (int i = 0; i < AUTH_LOCAL_ACCOUNT_FAILURES; i++, t += 1000)
        cr_assert_str_eq(attempt("a.jansen", "wrong password!", t), "bad_credentials");
    cr_assert_str_eq(attempt("a.jansen", PW, t), "account_locked", "even the right password");
    cr_assert_str_eq(attempt("someone.else", "wrong password!", t), "bad_credentials",
                     "other accounts are not locked");
    t += AUTH_LOCAL_ACCOUNT_WINDOW_MS;
    cr_assert_str_eq(attempt("a.jansen", PW, t), "ok", "the window passed");
}

Test(auth_local, unknown_accounts_lock_the_same_way)
{
    uint64_t t = 1000000;
    for (int i = 0; i < AUTH_LOCAL_ACCOUNT_FAILURES; i++, t += 1000)
        cr_assert_str_eq(attempt("nobody", "wrong password!", t), "bad_credentials");
    cr_assert_str_eq(attempt("nobody", "wrong password!", t), "account_locked");
}

Test(auth_local, at_most_a_few_checks_a_second)
{
    uint64_t t = 5000000;
    for (int i = 0; i < AUTH_LOCAL_CHECKS_PER_S; i++)
        cr_assert_str_eq(attempt(i % 2 ? "x" : "y", "wrong password!", t + (uint64_t)i),
                         "bad_credentials");
    cr_assert_str_eq(attempt("a.jansen", PW, t + 999), "busy");
    cr_assert_str_eq(attempt("a.jansen", PW, t + 1000), "ok", "a new second");
}
