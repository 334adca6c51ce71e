/* Random tokens for cookies, states and one-time codes, and how they are kept (hashed).
 * Shared by identity/ (sessions, logins) and signaling/ (reconnect tokens). */
#ifndef BALIE_IDENTITY_TOKEN_H
#define BALIE_IDENTITY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_LEN 43 /* base64url of 32 random bytes, without padding */
#define TOKEN_HASH_LEN 32

/* Writes TOKEN_LEN characters of base64url from 32 bytes of the OpenSSL CSPRNG and a NUL.
 * Returns 0, or -1 when the generator fails (then `out` is an empty string). */
int token_new(char out[TOKEN_LEN + 1]);

/* True when `text` is exactly TOKEN_LEN base64url characters (RFC 4648 §5). */
bool token_well_formed(const char *text, size_t len);

/* SHA-256 of the token's characters: stores keep this, never the token, so a memory dump
 * does not hand out live cookies. */
void token_hash(const char *text, size_t len, unsigned char out[TOKEN_HASH_LEN]);

#endif
