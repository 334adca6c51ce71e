/* The outgoing HTTP client: one worker thread drives a libcurl multi handle; requests and
 * results cross between it and the control thread on two lists under one mutex. */
#include "balie/httpc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#ifndef BALIE_VERSION
#define BALIE_VERSION "0"
#endif

#define HEADER_LINE_MAX 1024
#define DEFAULT_TIMEOUT_MS 10000u
#define POLL_IDLE_MS 1000

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE };

struct job {
    long id;
    CURL *easy; /* NULL once the transfer is over */
    struct curl_slist *headers;
    httpc_done_fn done;
    void *arg;
    atomic_bool cancelled; /* set by the control thread, read by the worker's progress check */
    enum job_state state;  /* under httpc.lock */
    struct job *next;      /* in the pending or the done list */
    unsigned timeout_ms;
    bool too_big;
    char *buf; /* the response body so far */
    size_t len, cap;
    struct httpc_response resp;
    char errbuf[CURL_ERROR_SIZE];
};

struct httpc {
    pthread_t thread;
    pthread_mutex_t lock;
    CURLM *multi;
    void (*wake)(void *wake_arg);
    void *wake_arg;
    /* Every job from httpc_submit() until httpc_poll() has handed it back: the bound on work
     * in flight and the table httpc_cancel() searches. */
    struct job *slots[HTTPC_QUEUE_MAX];
    struct job *pending, *pending_tail; /* submitted, not yet taken by the worker */
    struct job *done, *done_tail;       /* finished, not yet collected */
    long next_id;
    bool stopping;
};

static char empty_body[1];
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    /* Process-wide and never undone: other parts of the process may use libcurl too. */
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void job_free(struct job *job)
{
    if (job->easy)
        curl_easy_cleanup(job->easy);
    curl_slist_free_all(job->headers);
    free(job->buf);
    free(job);
}

/* ---- worker side ---- */

static size_t on_body(char *data, size_t size, size_t count, void *p)
{
    struct job *job = p;
    size_t add = size * count;
    if (add > HTTPC_RESPONSE_MAX - job->len) {
        job->too_big = true;
        return 0; /* libcurl aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (job->len + add + 1 > job->cap) {
        size_t cap = job->cap ? job->cap * 2 : 4096;
        if (cap < job->len + add + 1)
            cap = job->len + add + 1;
        if (cap > HTTPC_RESPONSE_MAX + 1)
            cap = HTTPC_RESPONSE_MAX + 1;
        char *grown = realloc(job->buf, cap);
        if (!grown)
            return 0;
        job->buf = grown;
        job->cap = cap;
    }
    memcpy(job->buf + job->len, data, add);
    job->len += add;
    job->buf[job->len] = '\0';
    return add;
}

static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct job *job = p;
    return atomic_load(&job->cancelled) ? 1 : 0; /* non-zero aborts a cancelled transfer */
}

/* Turns libcurl's result into the response the callback sees. */
static void fill_response(struct job *job, CURLcode code)
{
    struct httpc_response *r = &job->resp;
    if (code == CURLE_OK) {
        char *type = NULL;
        curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &r->status);
        if (curl_easy_getinfo(job->easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
            snprintf(r->content_type, sizeof(r->content_type), "%s", type);
        r->body = job->buf ? job->buf : empty_body;
        r->body_len = job->len;
        return;
    }
    r->status = 0;
    r->body = empty_body;
    r->body_len = 0;
    if (job->too_big || code == CURLE_FILESIZE_EXCEEDED)
        snprintf(r->error, sizeof(r->error), "response larger than %u bytes", HTTPC_RESPONSE_MAX);
    else if (code == CURLE_OPERATION_TIMEDOUT)
        snprintf(r->error, sizeof(r->error), "no complete answer within %u ms", job->timeout_ms);
    else if (code == CURLE_ABORTED_BY_CALLBACK)
        snprintf(r->error, sizeof(r->error), "cancelled");
    else
        snprintf(r->error, sizeof(r->error), "%.159s",
                 job->errbuf[0] ? job->errbuf : curl_easy_strerror(code));
}

/* Moves a job to the done list and wakes the control thread. */
static void finish(struct httpc *hc, struct job *job, CURLcode code)
{
    fill_response(job, code);
    curl_easy_cleanup(job->easy);
    job->easy = NULL;
    pthread_mutex_lock(&hc->lock);
    job->state = JOB_DONE;
    job->next = NULL;
    if (hc->done_tail)
        hc->done_tail->next = job;
    else
        hc->done = job;
    hc->done_tail = job;
    pthread_mutex_unlock(&hc->lock);
    if (hc->wake)
        hc->wake(hc->wake_arg);
}

/* Takes the submitted jobs into the multi handle. Returns false when the client is stopping. */
static bool take_pending(struct httpc *hc)
{
    pthread_mutex_lock(&hc->lock);
    bool stopping = hc->stopping;
    struct job *list = stopping ? NULL : hc->pending;
    if (!stopping)
        hc->pending = hc->pending_tail = NULL;
    for (struct job *j = list; j; j = j->next)
        j->state = JOB_RUNNING;
    pthread_mutex_unlock(&hc->lock);
    while (list) {
        struct job *job = list;
        list = list->next;
        if (atomic_load(&job->cancelled))
            finish(hc, job, CURLE_ABORTED_BY_CALLBACK);
        else if (curl_multi_add_handle(hc->multi, job->easy) != CURLM_OK)
            finish(hc, job, CURLE_FAILED_INIT);
    }
    return !stopping;
}

static void *worker(void *p)
{
    struct httpc *hc = p;
    while (take_pending(hc)) {
        int running = 0, left = 0;
        curl_multi_perform(hc->multi, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(hc->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct job *job = NULL;
            CURL *easy = msg->easy_handle;
            CURLcode code = msg->data.result; /* read before remove: msg is then invalid */
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&job);
            curl_multi_remove_handle(hc->multi, easy);
            finish(hc, job, code);
        }
        /* Sleeps until a socket is ready, a timeout of libcurl's falls due, or
         * curl_multi_wakeup() from httpc_submit() / httpc_free(). */
        curl_multi_poll(hc->multi, NULL, 0, POLL_IDLE_MS, NULL);
    }
    return NULL;
}

/* ---- control thread side ---- */

struct httpc *httpc_new(void (*wake)(void *wake_arg), void *wake_arg)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK)
        return NULL;
    struct httpc *hc = calloc(1, sizeof(*hc));
    if (!hc)
        return NULL;
    hc->wake = wake;
    hc->wake_arg = wake_arg;
    hc->multi = curl_multi_init();
    if (!hc->multi || pthread_mutex_init(&hc->lock, NULL) != 0) {
        if (hc->multi)
            curl_multi_cleanup(hc->multi);
        free(hc);
        return NULL;
    }
    if (pthread_create(&hc->thread, NULL, worker, hc) != 0) {
        pthread_mutex_destroy(&hc->lock);
        curl_multi_cleanup(hc->multi);
        free(hc);
        return NULL;
    }
    return hc;
}

void httpc_free(struct httpc *hc)
{
    if (!hc)
        return;
    pthread_mutex_lock(&hc->lock);
    hc->stopping = true;
    pthread_mutex_unlock(&hc->lock);
    curl_multi_wakeup(hc->multi);
    pthread_join(hc->thread, NULL);
    /* The worker is gone: every job, in whatever state, is ours to drop without a callback. */
    for (size_t i = 0; i < HTTPC_QUEUE_MAX; i++) {
        struct job *job = hc->slots[i];
        if (!job)
            continue;
        if (job->state == JOB_RUNNING && job->easy)
            curl_multi_remove_handle(hc->multi, job->easy);
        job_free(job);
    }
    curl_multi_cleanup(hc->multi);
    pthread_mutex_destroy(&hc->lock);
    free(hc);
}

static bool request_acceptable(const struct httpc_request *req)
{
    if (!req || !req->url || !req->method || strnlen(req->url, HTTPC_URL_MAX + 1) > HTTPC_URL_MAX)
        return false;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        return false;
    if (req->body_len > HTTPC_REQUEST_MAX || (req->body_len && !req->body))
        return false;
    for (size_t i = 0; i < HTTPC_HEADERS_MAX && req->headers[i]; i++) {
        size_t len = strnlen(req->headers[i], HEADER_LINE_MAX + 1);
        /* A CR or LF would let a value start a header of its own (RFC 9112 §2.2). */
        if (len == 0 || len > HEADER_LINE_MAX || strpbrk(req->headers[i], "\r\n"))
            return false;
    }
    return true;
}

/* Sets every option on the easy handle; libcurl copies strings and the body. */
static bool setup_easy(struct job *job, const struct httpc_request *req)
{
    CURL *e = job->easy;
    bool ok = true;
    for (size_t i = 0; ok && i < HTTPC_HEADERS_MAX && req->headers[i]; i++)
        ok = (job->headers = curl_slist_append(job->headers, req->headers[i])) != NULL;
    /* No "Expect: 100-continue" round trip before a POST body: SOAP servers stumble on it. */
    ok = ok && (job->headers = curl_slist_append(job->headers, "Expect:")) != NULL;
    if (!ok)
        return false;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L); /* timeouts must not use signals in a threaded process */
    SET(CURLOPT_TIMEOUT_MS, (long)job->timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTPC_RESPONSE_MAX);
    SET(CURLOPT_USERAGENT, "balie/" BALIE_VERSION);
    SET(CURLOPT_HTTPHEADER, job->headers);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, job);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, job);
    SET(CURLOPT_ERRORBUFFER, job->errbuf);
    SET(CURLOPT_PRIVATE, job);
    if (strcmp(req->method, "POST") == 0) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_COPYPOSTFIELDS, req->body_len ? req->body : "");
    }
    if (req->basic_user) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, req->basic_user);
        SET(CURLOPT_PASSWORD, req->basic_password ? req->basic_password : "");
    }
    if (req->client_cert_pem) {
        SET(CURLOPT_SSLCERT, req->client_cert_pem);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (req->client_key_pem) {
        SET(CURLOPT_SSLKEY, req->client_key_pem);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (req->ca_file)
        SET(CURLOPT_CAINFO, req->ca_file);
#undef SET
    return rc == CURLE_OK;
}

long httpc_submit(struct httpc *hc, const struct httpc_request *req, httpc_done_fn done, void *arg)
{
    if (!hc || !done || !request_acceptable(req))
        return -1;
    struct job *job = calloc(1, sizeof(*job));
    if (!job)
        return -1;
    atomic_init(&job->cancelled, false);
    job->done = done;
    job->arg = arg;
    job->timeout_ms = req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
    job->easy = curl_easy_init();
    if (!job->easy || !setup_easy(job, req)) {
        job_free(job);
        return -1;
    }
    long id = -1;
    pthread_mutex_lock(&hc->lock);
    for (size_t i = 0; i < HTTPC_QUEUE_MAX && !hc->stopping; i++) {
        if (hc->slots[i])
            continue;
        hc->slots[i] = job;
        id = job->id = ++hc->next_id;
        job->state = JOB_PENDING;
        if (hc->pending_tail)
            hc->pending_tail->next = job;
        else
            hc->pending = job;
        hc->pending_tail = job;
        break;
    }
    pthread_mutex_unlock(&hc->lock);
    if (id < 0) {
        job_free(job);
        return -1;
    }
    curl_multi_wakeup(hc->multi);
    return id;
}

void httpc_cancel(struct httpc *hc, long id)
{
    if (!hc || id <= 0)
        return;
    /* Under the lock the job cannot be collected and freed meanwhile; whichever list it is
     * on, the flag keeps httpc_poll() from running its callback. */
    pthread_mutex_lock(&hc->lock);
    for (size_t i = 0; i < HTTPC_QUEUE_MAX; i++) {
        if (hc->slots[i] && hc->slots[i]->id == id) {
            atomic_store(&hc->slots[i]->cancelled, true);
            break;
        }
    }
    pthread_mutex_unlock(&hc->lock);
}

static void release(struct httpc *hc, struct job *job)
{
    pthread_mutex_lock(&hc->lock);
    for (size_t i = 0; i < HTTPC_QUEUE_MAX; i++) {
        if (hc->slots[i] == job) {
            hc->slots[i] = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&hc->lock);
    job_free(job);
}

size_t httpc_poll(struct httpc *hc)
{
    if (!hc)
        return 0;
    pthread_mutex_lock(&hc->lock);
    struct job *list = hc->done;
    hc->done = hc->done_tail = NULL;
    pthread_mutex_unlock(&hc->lock);
    size_t ran = 0;
    while (list) {
        struct job *job = list;
        list = list->next;
        /* A callback may cancel a job that is still further down this list. */
        if (!atomic_load(&job->cancelled)) {
            job->done(job->arg, &job->resp);
            ran++;
        }
        release(hc, job);
    }
    return ran;
}
