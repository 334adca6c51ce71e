/* The key set behind include/balie/jose.h, shared by the files of identity/jose*.c. */
#ifndef BALIE_IDENTITY_JOSE_INTERNAL_H
#define BALIE_IDENTITY_JOSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "balie/jose.h"

#define JOSE_RSA_BITS_MIN 2048
#define JOSE_RSA_BITS_MAX 8192
#define JOSE_SIG_MAX (JOSE_RSA_BITS_MAX / 8)

/* RFC 7518 §6.1: the key types we accept. A key is only ever used for its own family, so an
 * EC key can never be fed to an RSA verifier or the other way round. */
enum jose_family { JOSE_FAMILY_RSA = 1, JOSE_FAMILY_EC = 2 };

struct jose_key {
    EVP_PKEY *pkey;
    enum jose_family family;
    unsigned alg_mask; /* from the JWK's "alg" member; every alg of the family when absent */
    bool has_kid;      /* a key without kid matches a token with any kid or none */
    char kid[JOSE_KID_MAX + 1];
};

struct jose_keyset {
    size_t count;
    struct jose_key keys[JOSE_KEYS_MAX];
};

/* "RS256" → JOSE_ALG_RS256 …; 0 for every other name (none, HS256, RS384, …). */
unsigned jose_alg_from_name(const char *name);
enum jose_family jose_alg_family(unsigned alg);

#endif
