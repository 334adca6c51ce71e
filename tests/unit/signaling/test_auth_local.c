/* The limits and the verifier thread around local password checks (signaling/auth_local.c):
 * per account and per second, in front of a real local provider. */
#include <criterion/criterion.h>
#include <stdatomic.h>
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

static atomic_int wakes;

static void on_wake(void *arg)
{
    (void)arg;
    atomic_fetch_add(&wakes, 1);
}

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
    al = auth_local_new(on_wake, NULL);
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

static int readied;

static void on_ready(void *owner, void *wsi, void *arg)
{
    (void)wsi;
    (void)arg;
    cr_assert_eq(owner, (void *)&readied, "the answer goes to the connection that asked");
    readied++;
}

/* One form post, as auth.c makes it: submitted, checked on the thread, polled, taken. */
static const char *attempt(const char *user, const char *pw, uint64_t now)
{
    static struct idp_error err;
    char state[IDP_STATE_LEN + 1], url[512], client[AUTH_LOCAL_KEY_MAX];
    cr_assert_not_null(login_begin(ls, "local", "/agent", now, state));
    struct idp_params p = {.count = 3,
                           .items = {{"state", state}, {"username", user}, {"password", pw}}};
    memset(&err, 0, sizeof(err));
    if (auth_local_submit(al, local, &p, now, "192.0.2.1", &readied, NULL, &err) != 1)
        return err.code;
    int before = readied;
    for (int i = 0; i < 500 && readied == before; i++) {
        usleep(10000);
        auth_local_poll(al, local, now, on_ready, NULL);
    }
    cr_assert_eq(readied, before + 1, "the check never finished");
    /* Another wake-up before the connection writes: the answer is kept as it was. */
    auth_local_poll(al, local, now, on_ready, NULL);
    cr_assert_eq(readied, before + 1, "an answer is completed once");
    int rc = -1;
    cr_assert_eq(auth_local_take(al, &readied, &rc, url, sizeof(url), &err, client), 1);
    cr_assert_str_eq(client, "192.0.2.1");
    cr_assert_eq(auth_local_in_flight(al), 0);
    if (rc == 0)
        cr_assert_eq(strncmp(url, "/auth/callback/local?code=", 26), 0, "%s", url);
    return rc == 0 ? "ok" : err.code;
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

Test(auth_local, the_thread_wakes_the_loop_and_a_closed_connection_drops_its_answer)
{
    int woken = atomic_load(&wakes);
    cr_assert_str_eq(attempt("a.jansen", PW, 1000), "ok");
    cr_assert_gt(atomic_load(&wakes), woken, "finishing a check wakes the event loop");
    /* Submitted, then the connection closes before the answer: nothing is kept. */
    char state[IDP_STATE_LEN + 1];
    struct idp_error err;
    cr_assert_not_null(login_begin(ls, "local", "/agent", 5000, state));
    struct idp_params p = {.count = 3,
                           .items = {{"state", state}, {"username", "a.jansen"}, {"password", PW}}};
    int owner;
    cr_assert_eq(auth_local_submit(al, local, &p, 5000, "192.0.2.1", &owner, NULL, &err), 1);
    auth_local_forget(al, &owner);
    for (int i = 0; i < 500 && auth_local_in_flight(al) > 0; i++) {
        usleep(10000);
        auth_local_poll(al, local, 5000, on_ready, NULL);
    }
    cr_assert_eq(auth_local_in_flight(al), 0);
    int rc;
    char url[512], client[AUTH_LOCAL_KEY_MAX];
    cr_assert_eq(auth_local_take(al, &owner, &rc, url, sizeof(url), &err, client), 0);
    /* A made-up state is refused before the thread sees it. */
    p.items[0].value = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    cr_assert_eq(auth_local_submit(al, local, &p, 9000, "192.0.2.1", &owner, NULL, &err), -1);
    cr_assert_str_eq(err.code, "state_invalid");
}
