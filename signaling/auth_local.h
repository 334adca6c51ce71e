/* The limits around the local provider's password checks (auth_local.c). Internal to
 * signaling/; control thread only. */
#ifndef BALIE_SIGNALING_AUTH_LOCAL_H
#define BALIE_SIGNALING_AUTH_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "balie/idp.h"

#define AUTH_LOCAL_ACCOUNT_FAILURES 5                    /* wrong passwords per account … */
#define AUTH_LOCAL_ACCOUNT_WINDOW_MS (15u * 60u * 1000u) /* … in this window */
#define AUTH_LOCAL_CHECKS_PER_S 2                        /* scrypt runs per second, in all */

struct auth_local;

struct auth_local *auth_local_new(void);
void auth_local_free(struct auth_local *al);

/* The form post of /auth/local/authorize: refused without a password check when the account
 * has used up its failures (`account_locked`, 429) or the gateway its checks for this second
 * (`busy`, 503); otherwise idp_local_authorize(), and a wrong password counts against the
 * account. Returns 0 with the callback URL, or -1 with `err`. */
int auth_local_authorize(struct auth_local *al, struct idp *local, const struct idp_params *form,
                         uint64_t now_ms, char *url, size_t url_len, struct idp_error *err);

#endif
