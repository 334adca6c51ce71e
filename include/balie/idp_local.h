/* The `local` identity provider: agents' passwords from the users file (balie/users.h).
 *
 * A password check is slow by design (scrypt), so it is split in three: `prepare` on the
 * control thread (cheap checks, and a copy of what the check needs), `run` on any thread (the
 * KDF; touches nothing but the check), and `complete` on the control thread again (the login's
 * state claimed and a one-time code issued). idp_local_authorize() does all three in a row. */
#ifndef BALIE_IDP_LOCAL_H
#define BALIE_IDP_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/idp.h"
#include "balie/users.h"

/* `users_path` is read now and again whenever the file changes (size, time or inode), so
 * `balie-gateway user add|remove` takes effect without a restart. `secret` and `logins` must
 * outlive the provider. Returns NULL when out of memory or the file cannot be read (the
 * reason in `why`). */
struct idp *idp_local_new(const unsigned char *secret, size_t secret_len,
                          struct login_store *logins, const char *users_path, char *why,
                          size_t why_len);

/* How many agents the users file holds (after reading it again if it changed). */
size_t idp_local_agent_count(struct idp *local);

/* One password check in flight. Holds a copy of the password until it is cleared. */
struct idp_local_check {
    char state[IDP_STATE_LEN + 1];
    struct user against; /* the agent's line, or a dummy of the same cost */
    bool known;          /* `against` is a real agent */
    char password[USERS_PASSWORD_MAX + 1];
    size_t password_len;
    bool usable; /* a password of an acceptable length was given */
    bool matched;
};

/* The form post's cheap part (POST /auth/local/authorize: state, username, password): the
 * state must be pending, of `local` and not yet answered (a made-up state costs no KDF), and
 * the file readable. Fills `check`. Returns 0, or -1 with `err` (`state_invalid`,
 * `users_unreadable`). */
int idp_local_prepare(struct idp *local, const struct idp_params *form, uint64_t now_ms,
                      struct idp_local_check *check, struct idp_error *err);

/* The slow part: one scrypt, the same for unknown agents, compared in constant time. Sets
 * check->matched. Thread-safe: reads and writes only `check`. */
void idp_local_run(struct idp_local_check *check);

/* The end: a match claims the state and keeps an agent identity (level basis: one factor; the
 * services and display name from the line) under a one-time code, and writes the callback URL.
 * Returns 0, or -1 with `err` (`bad_credentials`, `state_invalid`, `busy`). Clears `check`. */
int idp_local_complete(struct idp *local, struct idp_local_check *check, uint64_t now_ms, char *url,
                       size_t url_len, struct idp_error *err);

/* prepare, run and complete in a row. */
int idp_local_authorize(struct idp *local, const struct idp_params *form, uint64_t now_ms,
                        char *url, size_t url_len, struct idp_error *err);

#endif
