/* The journey store's syncer (journey_sync.h). The control thread commits with
 * synchronous=NORMAL: a commit is a write() into the WAL, which survives the process being
 * killed but not a power cut until the WAL is fsynced. This thread runs a passive checkpoint
 * after each burst of commits: SQLite fsyncs the WAL before it copies frames into the database
 * and fsyncs the database after (https://sqlite.org/wal.html#ckpt), so what was committed before
 * the checkpoint began is durable once it returns. A passive checkpoint takes no lock a writer
 * needs, so the control thread never waits for it. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

#include "balie/log.h"
#include "journey_sync.h"

struct journey_sync {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    sqlite3 *db;        /* this thread's own connection */
    uint64_t committed; /* under lock */
    uint64_t synced;    /* under lock */
    bool stop;          /* under lock */
    bool warned;        /* the thread's own */
};

/* One passive checkpoint. True when every committed frame was copied, i.e. the WAL holding
 * them was fsynced first. */
static bool checkpoint(struct journey_sync *js)
{
    int frames = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(js->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && !js->warned) {
        log_error("journey", "the checkpoint failed: %s", sqlite3_errmsg(js->db));
        js->warned = true;
    }
    return rc == SQLITE_OK && copied >= frames;
}

static void wait_ms(struct journey_sync *js, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (!js->stop && pthread_cond_timedwait(&js->wake, &js->lock, &until) != ETIMEDOUT)
        ;
}

static void *sync_main(void *arg)
{
    struct journey_sync *js = arg;
    pthread_mutex_lock(&js->lock);
    while (!js->stop) {
        while (!js->stop && js->synced == js->committed)
            pthread_cond_wait(&js->wake, &js->lock);
        if (js->stop)
            break;
        uint64_t target = js->committed;
        pthread_mutex_unlock(&js->lock);
        bool ok = checkpoint(js);
        pthread_mutex_lock(&js->lock);
        if (ok && target > js->synced)
            js->synced = target;
        /* Commits that came meanwhile wait for the next round: one fsync per interval at most,
         * however many calls start in it. */
        wait_ms(js, JOURNEY_SYNC_INTERVAL_MS);
    }
    pthread_mutex_unlock(&js->lock);
    return NULL;
}

int journey_sync_start(struct journey_sync **out, const char *path)
{
    *out = NULL;
    struct journey_sync *js = calloc(1, sizeof(*js));
    if (!js)
        return -ENOMEM;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&js->lock, NULL);
    pthread_cond_init(&js->wake, &attr);
    pthread_condattr_destroy(&attr);
    /* synchronous=FULL on this connection: its checkpoints fsync the WAL and the database. */
    if (sqlite3_open_v2(path, &js->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(js->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK ||
        pthread_create(&js->thread, NULL, sync_main, js) != 0) {
        sqlite3_close(js->db);
        pthread_cond_destroy(&js->wake);
        pthread_mutex_destroy(&js->lock);
        free(js);
        return -EIO;
    }
    *out = js;
    return 0;
}

void journey_sync_committed(struct journey_sync *js)
{
    pthread_mutex_lock(&js->lock);
    js->committed++;
    pthread_cond_signal(&js->wake);
    pthread_mutex_unlock(&js->lock);
}

void journey_sync_counts(struct journey_sync *js, uint64_t *committed, uint64_t *synced)
{
    pthread_mutex_lock(&js->lock);
    *committed = js->committed;
    *synced = js->synced;
    pthread_mutex_unlock(&js->lock);
}

void journey_sync_stop(struct journey_sync *js)
{
    if (!js)
        return;
    pthread_mutex_lock(&js->lock);
    js->stop = true;
    pthread_cond_signal(&js->wake);
    pthread_mutex_unlock(&js->lock);
    pthread_join(js->thread, NULL);
    checkpoint(js); /* the last commits, before the gateway exits */
    sqlite3_close(js->db);
    pthread_cond_destroy(&js->wake);
    pthread_mutex_destroy(&js->lock);
    free(js);
}
