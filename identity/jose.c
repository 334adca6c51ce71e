/* Compact JWS verification (RFC 7515 §5.2) with an algorithm allowlist. */
#include "jose_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#define HEADER_MAX 2048 /* decoded protected header */

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long jose_b64url_decode(const char *in, size_t in_len, unsigned char *out, size_t out_cap)
{
    /* RFC 7515 §2: no padding; a lone trailing character (length ≡ 1 mod 4) holds no byte. */
    if (in_len % 4 == 1)
        return -1;
    size_t need = in_len / 4 * 3 + (in_len % 4 ? in_len % 4 - 1 : 0);
    if (need > out_cap || need > (size_t)LONG_MAX)
        return -1;
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* RFC 4648 §3.5: the bits left over must be zero, so that each text has one meaning and a
     * token cannot be altered without changing its bytes. */
    if (acc != 0)
        return -1;
    return (long)n;
}

long jose_b64url_encode(const unsigned char *in, size_t in_len, char *out, size_t out_cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t need = in_len / 3 * 4 + (in_len % 3 ? in_len % 3 + 1 : 0);
    if (need + 1 > out_cap || need > (size_t)LONG_MAX)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < in_len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < in_len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < in_len)
            v |= in[i + 2];
        out[n++] = alphabet[(v >> 18) & 63];
        out[n++] = alphabet[(v >> 12) & 63];
        if (i + 1 < in_len)
            out[n++] = alphabet[(v >> 6) & 63];
        if (i + 2 < in_len)
            out[n++] = alphabet[v & 63];
    }
    out[n] = '\0';
    return (long)n;
}

const char *jose_status_name(enum jose_status st)
{
    switch (st) {
    case JOSE_OK:
        return "ok";
    case JOSE_MALFORMED:
        return "malformed";
    case JOSE_ALG_REFUSED:
        return "alg_refused";
    case JOSE_UNKNOWN_KID:
        return "unknown_kid";
    case JOSE_BAD_SIGNATURE:
        return "bad_signature";
    case JOSE_CLAIM_INVALID:
        return "claim_invalid";
    }
    return "unknown";
}

unsigned jose_alg_from_name(const char *name)
{
    if (!name)
        return 0;
    if (strcmp(name, "RS256") == 0)
        return JOSE_ALG_RS256;
    if (strcmp(name, "PS256") == 0)
        return JOSE_ALG_PS256;
    if (strcmp(name, "ES256") == 0)
        return JOSE_ALG_ES256;
    return 0;
}

enum jose_family jose_alg_family(unsigned alg)
{
    return alg == JOSE_ALG_ES256 ? JOSE_FAMILY_EC : JOSE_FAMILY_RSA;
}

static void say(char *why, size_t why_len, const char *text)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", text);
}

/* Decodes one base64url part and parses it as a JSON object. */
static json_t *part_json(const char *text, size_t len, size_t max)
{
    unsigned char *raw = malloc(max ? max : 1);
    if (!raw)
        return NULL;
    long n = jose_b64url_decode(text, len, raw, max);
    json_t *obj = NULL;
    if (n > 0) {
        obj = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
        if (obj && !json_is_object(obj)) {
            json_decref(obj);
            obj = NULL;
        }
    }
    free(raw);
    return obj;
}

/* RFC 7518 §3.4: an ES256 signature is R and S, 32 bytes each, big-endian; OpenSSL wants the
 * DER ECDSA-Sig-Value. Returns the DER length, or -1. */
static int es256_to_der(const unsigned char *sig, size_t sig_len, unsigned char **der)
{
    if (sig_len != 64)
        return -1;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return -1;
    }
    *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, der);
    ECDSA_SIG_free(es);
    return der_len > 0 ? der_len : -1;
}

static bool verify_with(const struct jose_key *key, unsigned alg, const char *input,
                        size_t input_len, const unsigned char *sig, size_t sig_len)
{
    unsigned char *der = NULL;
    if (alg == JOSE_ALG_ES256) {
        int der_len = es256_to_der(sig, sig_len, &der);
        if (der_len < 0)
            return false;
        sig = der;
        sig_len = (size_t)der_len;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = md && EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, key->pkey, NULL) == 1;
    if (ok && alg == JOSE_ALG_PS256) {
        /* RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash. */
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
    } else if (ok && alg == JOSE_ALG_RS256) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    }
    ok = ok && EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

/* Reads the protected header: the algorithm (checked against the allowlist) and the kid. */
static enum jose_status read_header(const char *text, size_t len, unsigned alg_mask, unsigned *alg,
                                    char kid[JOSE_KID_MAX + 1], bool *has_kid, char *why,
                                    size_t why_len)
{
    json_t *h = part_json(text, len, HEADER_MAX);
    if (!h) {
        say(why, why_len, "the header is not base64url JSON");
        return JOSE_MALFORMED;
    }
    enum jose_status st = JOSE_OK;
    const char *name = json_string_value(json_object_get(h, "alg"));
    json_t *kid_json = json_object_get(h, "kid");
    *alg = jose_alg_from_name(name);
    if (!name) {
        say(why, why_len, "the header has no alg");
        st = JOSE_MALFORMED;
    } else if (!*alg || !(*alg & alg_mask)) {
        /* RFC 8725 §3.1: only the algorithms we chose, never the one the token names. */
        say(why, why_len, "alg is not allowed");
        st = JOSE_ALG_REFUSED;
    } else if (json_object_get(h, "crit")) {
        /* RFC 7515 §4.1.11: we understand no extension, so a critical one makes it invalid. */
        say(why, why_len, "the header has crit");
        st = JOSE_MALFORMED;
    } else if (kid_json &&
               (!json_is_string(kid_json) || json_string_length(kid_json) > JOSE_KID_MAX ||
                json_string_length(kid_json) == 0 ||
                strlen(json_string_value(kid_json)) != json_string_length(kid_json))) {
        say(why, why_len, "kid is not a string of 1 to 128 characters");
        st = JOSE_MALFORMED;
    } else {
        *has_kid = kid_json != NULL;
        if (*has_kid)
            memcpy(kid, json_string_value(kid_json), json_string_length(kid_json) + 1);
    }
    json_decref(h);
    return st;
}

/* RFC 7515 §4.1.4 / RFC 7517 §4.5: with a kid the key of that kid; without, every key of the
 * family may be tried (a provider with one key often sends no kid). */
static enum jose_status try_keys(const struct jose_keyset *keys, unsigned alg, const char *kid,
                                 bool has_kid, const char *input, size_t input_len,
                                 const unsigned char *sig, size_t sig_len, char *why,
                                 size_t why_len)
{
    size_t tried = 0;
    for (size_t i = 0; keys && i < keys->count; i++) {
        const struct jose_key *k = &keys->keys[i];
        if (k->family != jose_alg_family(alg) || !(k->alg_mask & alg))
            continue;
        if (has_kid && k->has_kid && strcmp(k->kid, kid) != 0)
            continue;
        tried++;
        if (verify_with(k, alg, input, input_len, sig, sig_len))
            return JOSE_OK;
    }
    if (tried == 0) {
        say(why, why_len, has_kid ? "no key has this kid" : "no key for this alg");
        return JOSE_UNKNOWN_KID;
    }
    say(why, why_len, "the signature does not verify");
    return JOSE_BAD_SIGNATURE;
}

enum jose_status jose_verify(const char *token, size_t len, const struct jose_keyset *keys,
                             unsigned alg_mask, json_t **payload, char *why, size_t why_len)
{
    *payload = NULL;
    if (!token || len == 0 || len > JOSE_TOKEN_MAX) {
        say(why, why_len, "the token is empty or too long");
        return JOSE_MALFORMED;
    }
    /* RFC 7515 §7.1: exactly three parts; a fourth dot would be a JWE or garbage. */
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
        say(why, why_len, "the token is not three parts");
        return JOSE_MALFORMED;
    }
    size_t header_len = (size_t)(dot1 - token);
    size_t payload_len = (size_t)(dot2 - dot1 - 1);
    size_t sig_text_len = len - (size_t)(dot2 + 1 - token);
    unsigned alg = 0;
    char kid[JOSE_KID_MAX + 1] = "";
    bool has_kid = false;
    enum jose_status st =
        read_header(token, header_len, alg_mask, &alg, kid, &has_kid, why, why_len);
    if (st != JOSE_OK)
        return st;
    unsigned char sig[JOSE_SIG_MAX];
    long sig_len = jose_b64url_decode(dot2 + 1, sig_text_len, sig, sizeof(sig));
    if (sig_len <= 0) {
        say(why, why_len, "the signature is not base64url");
        return JOSE_MALFORMED;
    }
    json_t *body = part_json(dot1 + 1, payload_len, JOSE_TOKEN_MAX);
    if (!body) {
        say(why, why_len, "the payload is not a base64url JSON object");
        return JOSE_MALFORMED;
    }
    /* RFC 7515 §5.2 step 8: the signing input is the two encoded parts as they were sent. */
    st = try_keys(keys, alg, kid, has_kid, token, (size_t)(dot2 - token), sig, (size_t)sig_len, why,
                  why_len);
    if (st != JOSE_OK) {
        json_decref(body);
        return st;
    }
    *payload = body;
    say(why, why_len, "");
    return JOSE_OK;
}
