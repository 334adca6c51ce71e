/* JOSE parsers: the input as a compact JWS (against a fixed key set) and as a JWKS document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balie/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7515 A.3's P-256 public key, so that the verifier gets as far as the signature check. */
static const char jwks[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k\","
                           "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                           "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jose_keyset *fixed;
    char why[160];
    if (!fixed && !(fixed = jose_keyset_parse(jwks, strlen(jwks), why, sizeof(why))))
        abort();
    json_t *payload = NULL;
    enum jose_status st =
        jose_verify((const char *)data, size, fixed, ~0u, &payload, why, sizeof(why));
    if ((st == JOSE_OK) != (payload != NULL))
        abort();
    if (payload) {
        struct jose_expect e = {.issuer = "i", .audience = "a", .now_s = 1, .max_age_s = 1};
        (void)jose_check_claims(payload, &e, why, sizeof(why));
        json_decref(payload);
    }
    struct jose_keyset *ks = jose_keyset_parse((const char *)data, size, why, sizeof(why));
    if (ks && (jose_keyset_count(ks) == 0 || jose_keyset_count(ks) > JOSE_KEYS_MAX))
        abort();
    if (ks) {
        (void)jose_verify((const char *)data, size, ks, ~0u, &payload, why, sizeof(why));
        json_decref(payload);
    }
    jose_keyset_free(ks);
    unsigned char raw[256];
    (void)jose_b64url_decode((const char *)data, size, raw, sizeof(raw));
    return 0;
}
