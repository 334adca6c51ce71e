/* The limits and the thread around the local provider's password checks (auth_local.c).
 * Internal to signaling/. Everything but the verifier thread runs on the control thread. */
#ifndef BALIE_SIGNALING_AUTH_LOCAL_H
#define BALIE_SIGNALING_AUTH_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "balie/idp_local.h"

#define AUTH_LOCAL_ACCOUNT_FAILURES 5                    /* wrong passwords per account … */
#define AUTH_LOCAL_ACCOUNT_WINDOW_MS (15u * 60u * 1000u) /* … in this window */
#define AUTH_LOCAL_CHECKS_PER_S 2                        /* scrypt runs per second, in all */
#define AUTH_LOCAL_IN_FLIGHT 4                           /* checks queued or running at once */
#define AUTH_LOCAL_KEY_MAX 64

struct auth_local;

/* Starts the verifier thread; `wake(wake_arg)` is called from it whenever a check finished
 * (server_wake). NULL when out of memory or the thread cannot start. */
struct auth_local *auth_local_new(void (*wake)(void *), void *wake_arg);
/* Stops the thread; checks still in flight are dropped. NULL is fine. */
void auth_local_free(struct auth_local *al);

/* Starts the check of a form post of /auth/local/authorize for the connection `owner` (its
 * `wsi` is handed back with the answer). Refused at once, without a KDF, when the account has
 * used up its failures (`account_locked`, 429), the gateway its checks for this second or its
 * room (`busy`, 503), or the provider's cheap checks fail (`state_invalid`,
 * `users_unreadable`). Returns 1 when the check runs (the answer comes through
 * auth_local_poll), or -1 with `err`. */
int auth_local_submit(struct auth_local *al, struct idp *local, const struct idp_params *form,
                      uint64_t now_ms, const char *client, void *owner, void *wsi,
                      struct idp_error *err);

/* Completes the checks the thread finished (idp_local_complete; a wrong password counts
 * against the account) and keeps each answer for its connection, then calls
 * `ready(owner, wsi, arg)` so the connection can ask to write it. */
void auth_local_poll(struct auth_local *al, struct idp *local, uint64_t now_ms,
                     void (*ready)(void *owner, void *wsi, void *arg), void *arg);

/* Takes the kept answer of `owner`: returns 1 and fills `rc` (0: `url` holds the callback),
 * `err` and the client's key; 0 when there is none. */
int auth_local_take(struct auth_local *al, void *owner, int *rc, char *url, size_t url_len,
                    struct idp_error *err, char client[AUTH_LOCAL_KEY_MAX]);

/* The connection `owner` closed: its check, wherever it is, is dropped. */
void auth_local_forget(struct auth_local *al, void *owner);

/* Checks or answers not yet taken. */
size_t auth_local_in_flight(const struct auth_local *al);

#endif
