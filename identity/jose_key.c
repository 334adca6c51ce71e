/* Key sets: a JWKS document (RFC 7517 §5) or one PEM public key, reduced to the keys we may use. */
#include "jose_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define JWKS_ENTRIES_MAX 64 /* entries looked at, usable or not */

static void say(char *why, size_t why_len, const char *text)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", text);
}

/* Builds a public key from parameters (EVP_PKEY_fromdata), so that no deprecated RSA_ / EC_KEY
 * call is needed. Returns NULL when OpenSSL refuses the values. */
static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* Decodes a base64url member of a JWK into `out` (exactly `want` bytes when want > 0). */
static long member_bytes(const json_t *jwk, const char *name, unsigned char *out, size_t cap)
{
    const char *text = json_string_value(json_object_get(jwk, name));
    if (!text)
        return -1;
    return jose_b64url_decode(text, strlen(text), out, cap);
}

/* RFC 7518 §6.3.1: n and e, unsigned big-endian. */
static EVP_PKEY *rsa_from_jwk(const json_t *jwk)
{
    unsigned char n[JOSE_RSA_BITS_MAX / 8], e[8];
    long n_len = member_bytes(jwk, "n", n, sizeof(n));
    long e_len = member_bytes(jwk, "e", e, sizeof(e));
    /* An even or tiny exponent is never a real RSA public key. */
    if (n_len <= 0 || e_len <= 0 || (e[e_len - 1] & 1) == 0 || (e_len == 1 && e[0] < 3))
        return NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    EVP_PKEY *pkey = NULL;
    if (bld && bn_n && bn_e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1)
        pkey = pkey_from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
}

/* RFC 7518 §6.2.1: crv P-256 with x and y of exactly 32 bytes each. */
static EVP_PKEY *ec_from_jwk(const json_t *jwk)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    unsigned char point[65];
    point[0] = 0x04; /* SEC 1 §2.3.3: uncompressed */
    if (!crv || strcmp(crv, "P-256") != 0 || member_bytes(jwk, "x", point + 1, 32) != 32 ||
        member_bytes(jwk, "y", point + 33, 32) != 32)
        return NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bld &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) == 1)
        pkey = pkey_from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* Accepts RSA of JOSE_RSA_BITS_MIN..MAX bits and EC keys on P-256 whose point is on the curve;
 * fills in the family. */
static bool key_usable(EVP_PKEY *pkey, enum jose_family *family)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        int bits = EVP_PKEY_get_bits(pkey);
        *family = JOSE_FAMILY_RSA;
        return bits >= JOSE_RSA_BITS_MIN && bits <= JOSE_RSA_BITS_MAX;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[32] = "";
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           &glen) != 1 ||
            strcmp(group, "prime256v1") != 0)
            return false;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        bool on_curve = ctx && EVP_PKEY_public_check(ctx) == 1;
        EVP_PKEY_CTX_free(ctx);
        *family = JOSE_FAMILY_EC;
        return on_curve;
    }
    return false;
}

/* Adds `pkey` (taking ownership) when it is usable; returns whether it was added. */
static bool keyset_add(struct jose_keyset *ks, EVP_PKEY *pkey, const char *kid, unsigned alg_mask)
{
    enum jose_family family = 0;
    if (!pkey || ks->count >= JOSE_KEYS_MAX || !key_usable(pkey, &family)) {
        EVP_PKEY_free(pkey);
        return false;
    }
    unsigned family_algs =
        family == JOSE_FAMILY_EC ? JOSE_ALG_ES256 : (JOSE_ALG_RS256 | JOSE_ALG_PS256);
    if (alg_mask == 0)
        alg_mask = family_algs;
    if (!(alg_mask & family_algs)) { /* RFC 7517 §4.4: alg names the only use of the key */
        EVP_PKEY_free(pkey);
        return false;
    }
    struct jose_key *k = &ks->keys[ks->count++];
    memset(k, 0, sizeof(*k));
    k->pkey = pkey;
    k->family = family;
    k->alg_mask = alg_mask & family_algs;
    if (kid) {
        k->has_kid = true;
        snprintf(k->kid, sizeof(k->kid), "%s", kid);
    }
    return true;
}

/* One JWK of a set; unusable keys are skipped (RFC 7517 §5: "ignore JWKs … not understood"). */
static void add_jwk(struct jose_keyset *ks, const json_t *jwk)
{
    if (!json_is_object(jwk))
        return;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *use = json_string_value(json_object_get(jwk, "use"));
    json_t *kid = json_object_get(jwk, "kid");
    json_t *alg = json_object_get(jwk, "alg");
    unsigned alg_mask = 0;
    if (!kty || (json_object_get(jwk, "use") && (!use || strcmp(use, "sig") != 0)))
        return;
    if (kid && (!json_is_string(kid) || json_string_length(kid) == 0 ||
                json_string_length(kid) > JOSE_KID_MAX ||
                strlen(json_string_value(kid)) != json_string_length(kid)))
        return;
    if (alg && (alg_mask = jose_alg_from_name(json_string_value(alg))) == 0)
        return;
    EVP_PKEY *pkey = NULL;
    if (strcmp(kty, "RSA") == 0)
        pkey = rsa_from_jwk(jwk);
    else if (strcmp(kty, "EC") == 0)
        pkey = ec_from_jwk(jwk);
    (void)keyset_add(ks, pkey, kid ? json_string_value(kid) : NULL, alg_mask);
}

struct jose_keyset *jose_keyset_parse(const char *json, size_t len, char *why, size_t why_len)
{
    if (!json || len == 0 || len > JOSE_JWKS_MAX) {
        say(why, why_len, "the key set is empty or too long");
        return NULL;
    }
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *list = json_object_get(doc, "keys");
    if (!json_is_array(list)) {
        say(why, why_len, "not a JWKS: no keys array");
        json_decref(doc);
        return NULL;
    }
    struct jose_keyset *ks = calloc(1, sizeof(*ks));
    if (!ks) {
        json_decref(doc);
        say(why, why_len, "out of memory");
        return NULL;
    }
    size_t n = json_array_size(list);
    for (size_t i = 0; i < n && i < JWKS_ENTRIES_MAX && ks->count < JOSE_KEYS_MAX; i++)
        add_jwk(ks, json_array_get(list, i));
    json_decref(doc);
    if (ks->count == 0) {
        say(why, why_len, "the key set holds no usable signing key (RSA >= 2048 or P-256)");
        free(ks);
        return NULL;
    }
    return ks;
}

/* A SubjectPublicKeyInfo ("PUBLIC KEY") or, as trusted issuers often hand them out, an X.509
 * certificate whose key we take (its validity dates and chain are not checked here). */
static EVP_PKEY *pem_public_key(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    if (!pkey && bio && BIO_reset(bio) == 1) {
        X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        pkey = cert ? X509_get_pubkey(cert) : NULL;
        X509_free(cert);
    }
    BIO_free(bio);
    return pkey;
}

struct jose_keyset *jose_keyset_from_pem(const char *pem, size_t len, const char *kid, char *why,
                                         size_t why_len)
{
    if (!pem || len == 0 || len > JOSE_PEM_MAX) {
        say(why, why_len, "the PEM text is empty or too long");
        return NULL;
    }
    if (kid && (kid[0] == '\0' || strlen(kid) > JOSE_KID_MAX)) {
        say(why, why_len, "kid must be 1 to 128 characters");
        return NULL;
    }
    struct jose_keyset *ks = calloc(1, sizeof(*ks));
    EVP_PKEY *pkey = pem_public_key(pem, len);
    if (!ks || !pkey) {
        say(why, why_len, "not a PEM public key or certificate");
        EVP_PKEY_free(pkey);
        free(ks);
        return NULL;
    }
    if (!keyset_add(ks, pkey, kid, 0)) {
        say(why, why_len, "the key is not RSA of 2048 bits or more, nor EC P-256");
        free(ks);
        return NULL;
    }
    return ks;
}

size_t jose_keyset_count(const struct jose_keyset *ks)
{
    return ks ? ks->count : 0;
}

void jose_keyset_free(struct jose_keyset *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->count; i++)
        EVP_PKEY_free(ks->keys[i].pkey);
    free(ks);
}
