/* Limits and a thread around the local provider's password checks. One scrypt check takes
 * tens to hundreds of milliseconds (docs/identity.md measures it), so it runs on a verifier
 * thread of its own and the control thread, which serves every page and WebSocket, never waits
 * for it. Checks are budgeted per second for the whole gateway (the CPU they take), and wrong
 * passwords are counted per account as well as per client address (auth.c): guessing one
 * agent's password from many addresses is as slow as from one. */
#include "auth_local.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ratelimit.h"

enum job_state { JOB_QUEUED, JOB_CHECKED };

struct job {
    struct job *next;      /* every job, control thread's list */
    struct job *next_todo; /* the verifier's queue */
    enum job_state state;  /* shared with the verifier: read and written under the mutex */
    bool answered;         /* control thread only: completed, waiting for its connection */
    struct idp_local_check check;
    void *owner, *wsi; /* owner NULL: the connection closed, drop the answer */
    char client[AUTH_LOCAL_KEY_MAX];
    char account[AUTH_LOCAL_KEY_MAX];
    int rc;
    char url[512];
    struct idp_error err;
};

struct auth_local {
    struct ratelimit accounts;
    uint64_t second_start_ms;
    unsigned checks_this_second;
    struct job *jobs;
    size_t count;
    void (*wake)(void *);
    void *wake_arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *todo_head, *todo_tail;
    bool stopping;
};

static void *verifier_main(void *arg)
{
    struct auth_local *al = arg;
    for (;;) {
        pthread_mutex_lock(&al->mu);
        while (!al->stopping && !al->todo_head)
            pthread_cond_wait(&al->cv, &al->mu);
        if (al->stopping) {
            pthread_mutex_unlock(&al->mu);
            return NULL;
        }
        struct job *j = al->todo_head;
        al->todo_head = j->next_todo;
        if (!al->todo_head)
            al->todo_tail = NULL;
        pthread_mutex_unlock(&al->mu);
        idp_local_run(&j->check); /* only the check is touched off the control thread */
        pthread_mutex_lock(&al->mu);
        j->state = JOB_CHECKED;
        pthread_mutex_unlock(&al->mu);
        if (al->wake)
            al->wake(al->wake_arg);
    }
}

struct auth_local *auth_local_new(void (*wake)(void *), void *wake_arg)
{
    struct auth_local *al = calloc(1, sizeof(*al));
    if (!al)
        return NULL;
    ratelimit_init(&al->accounts, AUTH_LOCAL_ACCOUNT_FAILURES, AUTH_LOCAL_ACCOUNT_WINDOW_MS);
    al->wake = wake;
    al->wake_arg = wake_arg;
    pthread_mutex_init(&al->mu, NULL);
    pthread_cond_init(&al->cv, NULL);
    if (pthread_create(&al->thread, NULL, verifier_main, al) != 0) {
        pthread_mutex_destroy(&al->mu);
        pthread_cond_destroy(&al->cv);
        free(al);
        return NULL;
    }
    return al;
}

static void job_free(struct job *j)
{
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

void auth_local_free(struct auth_local *al)
{
    if (!al)
        return;
    pthread_mutex_lock(&al->mu);
    al->stopping = true;
    pthread_cond_signal(&al->cv);
    pthread_mutex_unlock(&al->mu);
    pthread_join(al->thread, NULL);
    while (al->jobs) {
        struct job *next = al->jobs->next;
        job_free(al->jobs);
        al->jobs = next;
    }
    pthread_mutex_destroy(&al->mu);
    pthread_cond_destroy(&al->cv);
    free(al);
}

static void set_error(struct idp_error *err, const char *code, unsigned status, const char *msg)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", msg);
    err->http_status = status;
}

/* The account's key: what was typed, as the limiter keeps it. Unknown names are counted too,
 * so the limiter says nothing about which accounts exist. */
static void account_key(const struct idp_params *form, char out[AUTH_LOCAL_KEY_MAX])
{
    const char *name = idp_params_get(form, "username");
    snprintf(out, AUTH_LOCAL_KEY_MAX, "%s", name && name[0] ? name : "(empty)");
}

/* The account lock and the per-second budget, before any work. */
static int admit(struct auth_local *al, const char *account, uint64_t now_ms, struct idp_error *err)
{
    if (ratelimit_blocked(&al->accounts, account, now_ms)) {
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
    if (al->checks_this_second >= AUTH_LOCAL_CHECKS_PER_S || al->count >= AUTH_LOCAL_IN_FLIGHT) {
        set_error(err, "busy", 503,
                  "Het is te druk om in te loggen; probeer het over een paar seconden. / "
                  "Too many logins at once; try again in a few seconds.");
        return -1;
    }
    return 0;
}

int auth_local_submit(struct auth_local *al, struct idp *local, const struct idp_params *form,
                      uint64_t now_ms, const char *client, void *owner, void *wsi,
                      struct idp_error *err)
{
    char account[AUTH_LOCAL_KEY_MAX];
    account_key(form, account);
    if (admit(al, account, now_ms, err) != 0)
        return -1;
    struct job *j = calloc(1, sizeof(*j));
    if (!j) {
        set_error(err, "busy", 503, "Inloggen kan nu niet. / Logging in is not possible now.");
        return -1;
    }
    if (idp_local_prepare(local, form, now_ms, &j->check, err) != 0) {
        job_free(j);
        return -1;
    }
    al->checks_this_second++;
    j->owner = owner;
    j->wsi = wsi;
    snprintf(j->client, sizeof(j->client), "%s", client ? client : "unknown");
    memcpy(j->account, account, sizeof(j->account));
    j->next = al->jobs;
    al->jobs = j;
    al->count++;
    pthread_mutex_lock(&al->mu);
    j->state = JOB_QUEUED;
    if (al->todo_tail)
        al->todo_tail->next_todo = j;
    else
        al->todo_head = j;
    al->todo_tail = j;
    pthread_cond_signal(&al->cv);
    pthread_mutex_unlock(&al->mu);
    return 1;
}

static void unlink_job(struct auth_local *al, struct job *j)
{
    for (struct job **p = &al->jobs; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            al->count--;
            return;
        }
    }
}

void auth_local_poll(struct auth_local *al, struct idp *local, uint64_t now_ms,
                     void (*ready)(void *owner, void *wsi, void *arg), void *arg)
{
    for (struct job *j = al->jobs, *next; j; j = next) {
        next = j->next;
        pthread_mutex_lock(&al->mu);
        bool checked = j->state == JOB_CHECKED;
        pthread_mutex_unlock(&al->mu);
        if (!checked || j->answered)
            continue;
        j->rc = idp_local_complete(local, &j->check, now_ms, j->url, sizeof(j->url), &j->err);
        if (j->rc != 0 && strcmp(j->err.code, "bad_credentials") == 0)
            ratelimit_fail(&al->accounts, j->account, now_ms);
        j->answered = true;
        if (!j->owner) {
            unlink_job(al, j);
            job_free(j);
        } else if (ready) {
            ready(j->owner, j->wsi, arg);
        }
    }
}

int auth_local_take(struct auth_local *al, void *owner, int *rc, char *url, size_t url_len,
                    struct idp_error *err, char client[AUTH_LOCAL_KEY_MAX])
{
    for (struct job *j = al->jobs; j; j = j->next) {
        if (j->owner != owner || !j->answered)
            continue;
        *rc = j->rc;
        snprintf(url, url_len, "%s", j->rc == 0 ? j->url : "");
        *err = j->err;
        memcpy(client, j->client, AUTH_LOCAL_KEY_MAX);
        unlink_job(al, j);
        job_free(j);
        return 1;
    }
    return 0;
}

void auth_local_forget(struct auth_local *al, void *owner)
{
    if (!al || !owner)
        return;
    for (struct job *j = al->jobs, *next; j; j = next) {
        next = j->next;
        if (j->owner != owner)
            continue;
        j->owner = NULL;
        if (j->answered) { /* answered but never written: gone now */
            unlink_job(al, j);
            job_free(j);
        }
    }
}

size_t auth_local_in_flight(const struct auth_local *al)
{
    return al ? al->count : 0;
}
