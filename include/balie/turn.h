/* TURN credentials for browsers: the "TURN REST API" convention that coturn implements with
 * `use-auth-secret` / `static-auth-secret` (draft-uberti-behave-turn-rest-00): the username is
 * "<expiry unix time>:<label>" and the password is base64(HMAC-SHA1(secret, username)). The
 * TURN server checks the HMAC and the expiry itself, so no state is shared but the secret. */
#ifndef BALIE_TURN_H
#define BALIE_TURN_H

#include <stddef.h>
#include <stdint.h>

#define TURN_USERNAME_MAX 64
#define TURN_CREDENTIAL_MAX 32 /* base64 of 20 bytes is 28 characters */

/* Returns 0, or -1 when the secret is empty or a buffer is too small. */
int turn_rest_credentials(const char *secret, uint64_t now_s, int ttl_s, const char *label,
                          char username[TURN_USERNAME_MAX], char credential[TURN_CREDENTIAL_MAX]);

#endif
