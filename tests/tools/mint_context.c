/* Mints a handover context token (docs/journey.md) for trying Balie and for its tests:
 *
 *   balie-mint-context KEY.pem ISSUER AUDIENCE REF [TOPIC] [EXPIRES_IN_S]
 *
 * KEY.pem is the issuer's private key (EC P-256 → ES256, RSA → RS256); EXPIRES_IN_S defaults to
 * 600 and may be negative (an expired token, for tests). Prints the compact JWS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "balie/jose.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s KEY.pem ISSUER AUDIENCE REF [TOPIC] [EXPIRES_IN_S]\n", argv[0]);
        return 2;
    }
    static char pem[JOSE_TOKEN_MAX];
    FILE *f = fopen(argv[1], "r");
    size_t len = f ? fread(pem, 1, sizeof(pem), f) : 0;
    if (f)
        fclose(f);
    if (len == 0 || len == sizeof(pem)) {
        fprintf(stderr, "cannot read the key %s\n", argv[1]);
        return 1;
    }
    long long now = (long long)time(NULL), ttl = argc > 6 ? atoll(argv[6]) : 600;
    json_t *claims = json_pack("{s:s, s:s, s:I, s:I, s:s}", "iss", argv[2], "aud", argv[3], "iat",
                               (json_int_t)(ttl < 0 ? now + ttl - 60 : now), "exp",
                               (json_int_t)(now + ttl), "ref", argv[4]);
    if (claims && argc > 5 && argv[5][0])
        json_object_set_new(claims, "topic", json_string(argv[5]));
    char *token = claims ? jose_sign(claims, pem, len, NULL) : NULL;
    json_decref(claims);
    if (!token) {
        fprintf(stderr, "cannot sign with %s (an EC P-256 or RSA private key in PEM)\n", argv[1]);
        return 1;
    }
    printf("%s\n", token);
    free(token);
    return 0;
}
