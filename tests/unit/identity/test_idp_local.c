/* The local provider (identity/idp_local.c): the users file's agents, driven like the HTTP
 * routes drive it. The file is written with scrypt N = 2^10 so the checks are quick. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balie/idp_local.h"
#include "balie/users.h"

#define PW "correct horse battery"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
static struct login_store *ls;
static struct idp *local;
static char dir[64], path[96];

static void write_users(const char *id, const char *services, const char *name)
{
    struct users u = {0};
    char why[256];
    cr_assert_eq(users_load(path, &u, why, sizeof(why)), 0, "%s", why);
    struct user x = {0};
    snprintf(x.id, sizeof(x.id), "%s", id);
    snprintf(x.services, sizeof(x.services), "%s", services);
    snprintf(x.name, sizeof(x.name), "%s", name);
    cr_assert_eq(users_set_password(&x, PW, strlen(PW), &(struct users_kdf){10, 8, 1}), 0);
    cr_assert_eq(users_add(&u, &x), 0);
    cr_assert_eq(users_save(path, &u, why, sizeof(why)), 0, "%s", why);
    users_free(&u);
}

static void setup(void)
{
    strcpy(dir, "/tmp/balie-local-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/users", dir);
    write_users("a.jansen", "paspoort", "Anna Jansen");
    ls = login_store_new(16);
    char why[256];
    local = idp_local_new(secret, 32, ls, path, why, sizeof(why));
    cr_assert(ls && local, "%s", why);
}

static void teardown(void)
{
    local->destroy(local);
    login_store_free(ls);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(idp_local, .init = setup, .fini = teardown);

static void start(char state[IDP_STATE_LEN + 1])
{
    char url[1024], want[128];
    struct login_pending *p = login_begin(ls, "local", "/agent", 0, state);
    cr_assert_eq(local->start(local, state, p, url, sizeof(url)), 0);
    snprintf(want, sizeof(want), "/auth/local/authorize?state=%s", state);
    cr_assert_str_eq(url, want);
}

static int post(const char *state, const char *user, const char *pw, char *url, size_t len,
                struct idp_error *err)
{
    struct idp_params p = {.count = 3,
                           .items = {{"state", state}, {"username", user}, {"password", pw}}};
    return idp_local_authorize(local, &p, 1000, url, len, err);
}

static int redeem(const char *url, struct identity_verified *id, struct idp_error *err)
{
    char code[64], state[64];
    cr_assert_eq(sscanf(url, "/auth/callback/local?code=%63[^&]&state=%63s", code, state), 2, "%s",
                 url);
    struct login_pending login;
    cr_assert_eq(login_take(ls, state, "local", 1000, &login), 0);
    cr_assert_str_eq(login.return_path, "/agent");
    struct idp_params p = {.count = 2, .items = {{"code", code}, {"state", state}}};
    return local->finish(local, &p, &login, 1000, id, err);
}

Test(idp_local, the_right_password_ends_in_an_agent_identity)
{
    char state[IDP_STATE_LEN + 1], url[512];
    struct idp_error err = {0};
    start(state);
    cr_assert_eq(post(state, "a.jansen", PW, url, sizeof(url), &err), 0, "%s", err.code);
    struct identity_verified id;
    cr_assert_eq(redeem(url, &id, &err), 0, "%s", err.code);
    cr_assert_eq(id.role, IDENTITY_ROLE_AGENT);
    cr_assert_eq(id.loa, LOA_BASIS, "a password is one factor");
    cr_assert_str_eq(id.provider, "local");
    cr_assert_str_eq(id.services, "paspoort");
    cr_assert_str_eq(id.display_name, "Anna Jansen");
    cr_assert_str_eq(id.subject, "", "the subject stays behind in the code store");
    char want[IDENTITY_PSEUDONYM_LEN + 1];
    cr_assert_eq(identity_pseudonym(secret, 32, "agent:a.jansen", want), 0);
    cr_assert_str_eq(id.pseudonym, want, "the same pseudonym as the account under dev");
    identity_verified_clear(&id);
}

Test(idp_local, wrong_and_unknown_say_the_same_and_keep_the_state)
{
    char state[IDP_STATE_LEN + 1], url[512];
    struct idp_error wrong = {0}, unknown = {0}, empty = {0};
    start(state);
    cr_assert_eq(post(state, "a.jansen", "not the password", url, sizeof(url), &wrong), -1);
    cr_assert_eq(post(state, "nobody", PW, url, sizeof(url), &unknown), -1);
    cr_assert_eq(post(state, NULL, NULL, url, sizeof(url), &empty), -1);
    cr_assert_str_eq(wrong.code, "bad_credentials");
    cr_assert_str_eq(unknown.code, "bad_credentials");
    cr_assert_str_eq(empty.code, "bad_credentials");
    cr_assert_str_eq(wrong.message, unknown.message, "nothing tells which accounts exist");
    cr_assert(strstr(wrong.message, "wachtwoord") && strstr(wrong.message, "password"));
    cr_assert_null(strstr(wrong.message, "a.jansen"));
    /* The person can try again with the same state. */
    cr_assert_eq(post(state, "a.jansen", PW, url, sizeof(url), &wrong), 0, "%s", wrong.code);
    /* Once answered, the state is spent. */
    cr_assert_eq(post(state, "a.jansen", PW, url, sizeof(url), &wrong), -1);
    cr_assert_str_eq(wrong.code, "state_invalid");
}

Test(idp_local, a_made_up_or_foreign_state_is_refused_before_any_check)
{
    char url[512], state[IDP_STATE_LEN + 1];
    struct idp_error err = {0};
    cr_assert_eq(
        post("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a.jansen", PW, url, sizeof(url), &err),
        -1);
    cr_assert_str_eq(err.code, "state_invalid");
    login_begin(ls, "dev", "/", 0, state); /* another provider's state */
    cr_assert_eq(post(state, "a.jansen", PW, url, sizeof(url), &err), -1);
    cr_assert_str_eq(err.code, "state_invalid");
}

Test(idp_local, the_file_is_read_again_when_it_changes)
{
    cr_assert_eq(idp_local_agent_count(local), 1);
    usleep(10000); /* a different modification time, even on coarse clocks */
    write_users("b.bakker", "", "");
    cr_assert_eq(idp_local_agent_count(local), 2);
    char state[IDP_STATE_LEN + 1], url[512];
    struct idp_error err = {0};
    start(state);
    cr_assert_eq(post(state, "b.bakker", PW, url, sizeof(url), &err), 0, "%s", err.code);
    struct identity_verified id;
    cr_assert_eq(redeem(url, &id, &err), 0);
    cr_assert_str_eq(id.services, "", "all services");
    identity_verified_clear(&id);
    /* A broken file keeps the last good list. */
    FILE *f = fopen(path, "a");
    cr_assert_not_null(f);
    fputs("broken line\n", f);
    fclose(f);
    cr_assert_eq(idp_local_agent_count(local), 2);
    start(state);
    cr_assert_eq(post(state, "a.jansen", PW, url, sizeof(url), &err), -1);
    cr_assert_str_eq(err.code, "users_unreadable");
    cr_assert_eq(err.http_status, 503);
}
