/* The journey store's syncer: a thread with its own SQLite connection that makes committed
 * signals durable (a WAL checkpoint fsyncs the WAL, then the database) shortly after the
 * control thread committed them, so that no fsync ever runs on the control thread. */
#ifndef BALIE_JOURNEY_SYNC_H
#define BALIE_JOURNEY_SYNC_H

#include <stdint.h>

struct journey_sync;

/* How long after a commit it is on disk at the latest (plus the fsync itself). */
#define JOURNEY_SYNC_INTERVAL_MS 100

/* Starts the thread on the database at `path` (already open and migrated). 0 or < 0. */
int journey_sync_start(struct journey_sync **out, const char *path);

/* The control thread committed a transaction: sync it soon. Never blocks on the disk. */
void journey_sync_committed(struct journey_sync *js);

/* Commits announced so far, and how many of them are known to be on disk. */
void journey_sync_counts(struct journey_sync *js, uint64_t *committed, uint64_t *synced);

/* Syncs what is committed (on the calling thread), stops the thread, frees. NULL is fine. */
void journey_sync_stop(struct journey_sync *js);

#endif
