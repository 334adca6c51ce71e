/* A stress run of the agents' password checks on their verifier thread (signaling/auth_local.c):
 * checks submitted, completed, taken, and dropped when their connection closes, while the
 * thread runs. Built without Criterion so it can run under ThreadSanitizer. Exits non-zero on
 * any failure and prints the plain closing line. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_local.h"
#include "balie/users.h"

#define ROUNDS 300
#define PW "correct horse battery"

static atomic_int wakes;
static int readied;

static void on_wake(void *arg)
{
    (void)arg;
    atomic_fetch_add(&wakes, 1);
}

static void on_ready(void *owner, void *wsi, void *arg)
{
    (void)owner;
    (void)wsi;
    (void)arg;
    readied++;
}

static int take_all(struct auth_local *al, int *owners, size_t n, int *ok)
{
    int taken = 0, rc;
    char url[512], client[AUTH_LOCAL_KEY_MAX];
    struct idp_error err;
    for (size_t i = 0; i < n; i++) {
        while (auth_local_take(al, &owners[i], &rc, url, sizeof(url), &err, client)) {
            taken++;
            *ok += rc == 0;
        }
    }
    return taken;
}

int main(void)
{
    static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
    char dir[] = "/tmp/balie-stress-XXXXXX", path[64], why[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/users", dir);
    struct users u = {0};
    struct user x = {.id = "a"};
    if (users_set_password(&x, PW, strlen(PW), &(struct users_kdf){10, 8, 1}) != 0 ||
        users_add(&u, &x) != 0 || users_save(path, &u, why, sizeof(why)) != 0)
        return 1;
    struct login_store *ls = login_store_new(ROUNDS);
    struct idp *local = idp_local_new(secret, 32, ls, path, why, sizeof(why));
    struct auth_local *al = auth_local_new(on_wake, NULL);
    if (!ls || !local || !al)
        return 1;
    int owners[64], started = 0, forgotten = 0, taken = 0, ok = 0;
    uint64_t now = 0;
    for (int round = 0; round < ROUNDS; round++) {
        now += 600; /* a new second of the budget every other round */
        char state[IDP_STATE_LEN + 1];
        login_begin(ls, "local", "/", now, state);
        struct idp_params p = {
            .count = 3,
            .items = {{"state", state}, {"username", round % 3 ? "a" : "b"}, {"password", PW}}};
        struct idp_error err;
        int *owner = &owners[round % 64];
        if (auth_local_submit(al, local, &p, now, "c", owner, NULL, &err) == 1) {
            started++;
            if (round % 5 == 0) { /* the connection closes at once */
                auth_local_forget(al, owner);
                forgotten++;
            }
        }
        usleep(1000);
        auth_local_poll(al, local, now, on_ready, NULL);
        taken += take_all(al, owners, 64, &ok);
    }
    for (int i = 0; i < 500 && auth_local_in_flight(al) > 0; i++) {
        usleep(10000);
        auth_local_poll(al, local, now, on_ready, NULL);
        taken += take_all(al, owners, 64, &ok);
    }
    int failures = 0;
    if (auth_local_in_flight(al) != 0 || taken != readied || taken + forgotten < started ||
        ok == 0 || atomic_load(&wakes) < started) {
        fprintf(stderr, "started %d forgotten %d taken %d readied %d ok %d wakes %d left %zu\n",
                started, forgotten, taken, readied, ok, atomic_load(&wakes),
                auth_local_in_flight(al));
        failures++;
    }
    auth_local_free(al);
    local->destroy(local);
    login_store_free(ls);
    users_free(&u);
    unlink(path);
    rmdir(dir);
    printf("stress_auth_local: %d checks, %d answers taken, %d dropped: %s\n", started, taken,
           forgotten, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
