/* JWS, JWK and JWT checks (identity/jose*.c). Keys are made with OpenSSL in each test; the
 * tokens of the refusal tests are built here by hand, not with jose_sign(), so that a bug in
 * the signer cannot hide one in the verifier. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "balie/jose.h"

#define ALL_ALGS (JOSE_ALG_RS256 | JOSE_ALG_PS256 | JOSE_ALG_ES256)

/* RFC 7515 Appendix A.2: the RSA public key and the RS256 token. */
static const char a2_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4"
    "QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdb"
    "BYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-D"
    "WNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}]}";
static const char a2_token[] =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5ju"
    "jGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
    "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Q"
    "e7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
    "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI"
    "8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
/* RFC 7515 Appendix A.3: the P-256 public key and the ES256 token (R || S signature). */
static const char a3_jwks[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                              "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                              "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";
static const char a3_token[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/* ---- helpers: keys, JWKS and hand-made tokens ---- */

struct pair {
    EVP_PKEY *pkey;
    char *priv; /* PEM */
    char *pub;  /* PEM */
};

static char *bio_text(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out = malloc((size_t)n + 1);
    cr_assert_not_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

static struct pair make_pair(const char *type, unsigned rsa_bits)
{
    struct pair p = {0};
    if (strcmp(type, "RSA") == 0)
        p.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
    else
        p.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cr_assert_not_null(p.pkey);
    BIO *a = BIO_new(BIO_s_mem()), *b = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(a, p.pkey, NULL, NULL, 0, NULL, NULL) == 1);
    cr_assert(PEM_write_bio_PUBKEY(b, p.pkey) == 1);
    p.priv = bio_text(a);
    p.pub = bio_text(b);
    BIO_free(a);
    BIO_free(b);
    return p;
}

static void free_pair(struct pair *p)
{
    EVP_PKEY_free(p->pkey);
    free(p->priv);
    free(p->pub);
}

static void b64_bn(EVP_PKEY *pkey, const char *name, size_t pad, char *out, size_t cap)
{
    BIGNUM *bn = NULL;
    cr_assert(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1);
    unsigned char raw[1024];
    int len = pad ? BN_bn2binpad(bn, raw, (int)pad) : BN_bn2bin(bn, raw);
    cr_assert(len > 0);
    cr_assert(jose_b64url_encode(raw, (size_t)len, out, cap) > 0);
    BN_free(bn);
}

/* One JWK object (without braces around a set); `extra` is added as members, e.g. "\"use\":..". */
static void jwk_of(const struct pair *p, const char *kid, const char *extra, char *out, size_t cap)
{
    char a[1400], b[1400], kid_member[200] = "";
    if (kid)
        snprintf(kid_member, sizeof(kid_member), "\"kid\":\"%s\",", kid);
    if (EVP_PKEY_is_a(p->pkey, "RSA")) {
        b64_bn(p->pkey, OSSL_PKEY_PARAM_RSA_N, 0, a, sizeof(a));
        b64_bn(p->pkey, OSSL_PKEY_PARAM_RSA_E, 0, b, sizeof(b));
        snprintf(out, cap, "{%s%s\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", kid_member,
                 extra ? extra : "", a, b);
    } else {
        b64_bn(p->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32, a, sizeof(a));
        b64_bn(p->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32, b, sizeof(b));
        snprintf(out, cap, "{%s%s\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
                 kid_member, extra ? extra : "", a, b);
    }
}

static struct jose_keyset *set_of(const char *jwks)
{
    char why[160];
    struct jose_keyset *ks = jose_keyset_parse(jwks, strlen(jwks), why, sizeof(why));
    cr_assert_not_null(ks, "%s", why);
    return ks;
}

static struct jose_keyset *set_of_one(const struct pair *p, const char *kid)
{
    char jwk[3000], jwks[3100];
    jwk_of(p, kid, NULL, jwk, sizeof(jwk));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", jwk);
    return set_of(jwks);
}

enum how { SIGN_PKCS1, SIGN_PSS, SIGN_DER, SIGN_HMAC };

/* b64url(header) "." b64url(payload) "." b64url(signature made as `how` says). */
static char *hand_token(const char *header, const char *payload, EVP_PKEY *key, enum how how,
                        const unsigned char *hmac_key, size_t hmac_key_len)
{
    size_t cap = 8192;
    char *t = malloc(cap);
    cr_assert_not_null(t);
    long a = jose_b64url_encode((const unsigned char *)header, strlen(header), t, cap);
    cr_assert(a > 0);
    t[a] = '.';
    long b = jose_b64url_encode((const unsigned char *)payload, strlen(payload), t + a + 1,
                                cap - (size_t)a - 1);
    cr_assert(b > 0);
    size_t input_len = (size_t)(a + 1 + b);
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig);
    if (how == SIGN_HMAC) {
        unsigned int hl = 0;
        cr_assert_not_null(HMAC(EVP_sha256(), hmac_key, (int)hmac_key_len, (const unsigned char *)t,
                                input_len, sig, &hl));
        sig_len = hl;
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        cr_assert(EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL) == 1);
        if (how == SIGN_PSS) {
            cr_assert(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
            cr_assert(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1);
        }
        cr_assert(EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)t, input_len) == 1);
        EVP_MD_CTX_free(md);
    }
    t[input_len] = '.';
    cr_assert(jose_b64url_encode(sig, sig_len, t + input_len + 1, cap - input_len - 1) > 0);
    return t;
}

static enum jose_status verify(const char *token, const struct jose_keyset *ks, unsigned mask)
{
    json_t *payload = NULL;
    char why[160];
    enum jose_status st = jose_verify(token, strlen(token), ks, mask, &payload, why, sizeof(why));
    if (st == JOSE_OK)
        cr_assert(json_is_object(payload));
    else
        cr_assert_null(payload, "no payload on %s", jose_status_name(st));
    json_decref(payload);
    return st;
}

#define assert_status(got, want)                                                                   \
    cr_assert_eq((got), (want), "got %s, want %s", jose_status_name(got), jose_status_name(want))

/* ---- base64url (RFC 4648 §10 vectors, URL alphabet, no padding) ---- */

Test(jose_b64, rfc4648_vectors_both_ways)
{
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char text[16];
        unsigned char raw[16];
        long n = jose_b64url_encode((const unsigned char *)plain[i], strlen(plain[i]), text,
                                    sizeof(text));
        cr_assert_eq(n, (long)strlen(coded[i]));
        cr_assert_str_eq(text, coded[i]);
        n = jose_b64url_decode(coded[i], strlen(coded[i]), raw, sizeof(raw));
        cr_assert_eq(n, (long)strlen(plain[i]));
        cr_assert_eq(memcmp(raw, plain[i], (size_t)n), 0);
    }
}

Test(jose_b64, url_alphabet_and_refusals)
{
    unsigned char raw[8], fb[2] = {0xfb, 0xff};
    char text[8];
    cr_assert_eq(jose_b64url_encode(fb, 2, text, sizeof(text)), 3);
    cr_assert_str_eq(text, "-_8", "'-' and '_' instead of '+' and '/'");
    cr_assert_eq(jose_b64url_decode("-_8", 3, raw, sizeof(raw)), 2);
    cr_assert_eq(jose_b64url_decode("+/8", 3, raw, sizeof(raw)), -1);
    cr_assert_eq(jose_b64url_decode("Zg==", 4, raw, sizeof(raw)), -1, "padding");
    cr_assert_eq(jose_b64url_decode("Zm9vY", 5, raw, sizeof(raw)), -1, "a lone character");
    cr_assert_eq(jose_b64url_decode("Zh", 2, raw, sizeof(raw)), -1, "non-zero spare bits");
    cr_assert_eq(jose_b64url_decode("Zm9v", 4, raw, 2), -1, "does not fit");
    cr_assert_eq(jose_b64url_decode("Zm 9", 4, raw, sizeof(raw)), -1);
    cr_assert_eq(jose_b64url_encode((const unsigned char *)"foo", 3, text, 4), -1, "no NUL room");
}

/* ---- RFC 7515 appendix vectors ---- */

Test(jose_rfc7515, a2_rs256_verifies)
{
    struct jose_keyset *ks = set_of(a2_jwks);
    json_t *payload = NULL;
    char why[160];
    assert_status(
        jose_verify(a2_token, strlen(a2_token), ks, JOSE_ALG_RS256, &payload, why, sizeof(why)),
        JOSE_OK);
    cr_assert_str_eq(json_string_value(json_object_get(payload, "iss")), "joe");
    cr_assert_eq(json_integer_value(json_object_get(payload, "exp")), 1300819380);
    cr_assert(json_is_true(json_object_get(payload, "http://example.com/is_root")));
    struct jose_expect e = {.issuer = "joe", .now_s = 1300819379, .require_exp = true};
    assert_status(jose_check_claims(payload, &e, why, sizeof(why)), JOSE_OK);
    e.now_s = 1300819380;
    assert_status(jose_check_claims(payload, &e, why, sizeof(why)), JOSE_CLAIM_INVALID);
    cr_assert(strncmp(why, "exp", 3) == 0, "%s", why);
    json_decref(payload);
    /* The allowlist is the caller's: the same good token is refused when RS256 is not on it. */
    assert_status(verify(a2_token, ks, JOSE_ALG_PS256 | JOSE_ALG_ES256), JOSE_ALG_REFUSED);
    jose_keyset_free(ks);
}

Test(jose_rfc7515, a3_es256_verifies_and_a2_key_does_not_fit)
{
    struct jose_keyset *ec = set_of(a3_jwks), *rsa = set_of(a2_jwks);
    assert_status(verify(a3_token, ec, ALL_ALGS), JOSE_OK);
    assert_status(verify(a3_token, rsa, ALL_ALGS), JOSE_UNKNOWN_KID);
    assert_status(verify(a2_token, ec, ALL_ALGS), JOSE_UNKNOWN_KID);
    jose_keyset_free(ec);
    jose_keyset_free(rsa);
}

Test(jose_rfc7515, one_bit_changed_anywhere_fails)
{
    struct jose_keyset *ks = set_of(a2_jwks);
    size_t len = strlen(a2_token);
    char *t = strdup(a2_token);
    /* Positions in the header, the payload and the signature; each must stop verifying. */
    size_t at[] = {3, 30, 60, 130, 200, len - 20};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        char keep = t[at[i]];
        t[at[i]] = keep == 'A' ? 'B' : 'A';
        enum jose_status st = verify(t, ks, ALL_ALGS);
        cr_assert_neq(st, JOSE_OK, "changed at %zu", at[i]);
        t[at[i]] = keep;
    }
    assert_status(verify(t, ks, ALL_ALGS), JOSE_OK);
    free(t);
    jose_keyset_free(ks);
}

/* ---- round trips with jose_sign ---- */

static void round_trip(const char *type, enum jose_alg alg)
{
    struct pair p = make_pair(type, 2048);
    json_t *claims = json_pack("{s:s, s:s, s:I}", "iss", "https://op.example", "sub", "x", "exp",
                               (json_int_t)2000000000);
    char *token = jose_sign_alg(claims, p.priv, strlen(p.priv), "k1", alg);
    cr_assert_not_null(token);
    struct jose_keyset *jwks = set_of_one(&p, "k1");
    char why[160];
    struct jose_keyset *pem = jose_keyset_from_pem(p.pub, strlen(p.pub), NULL, why, sizeof(why));
    cr_assert_not_null(pem, "%s", why);
    json_t *out = NULL;
    assert_status(jose_verify(token, strlen(token), jwks, alg, &out, why, sizeof(why)), JOSE_OK);
    cr_assert(json_equal(out, claims));
    json_decref(out);
    assert_status(verify(token, pem, alg), JOSE_OK);
    assert_status(verify(token, jwks, ALL_ALGS & ~(unsigned)alg), JOSE_ALG_REFUSED);
    /* A fresh key pair of the same kind does not verify it. */
    struct pair other = make_pair(type, 2048);
    struct jose_keyset *wrong = set_of_one(&other, "k1");
    assert_status(verify(token, wrong, alg), JOSE_BAD_SIGNATURE);
    jose_keyset_free(wrong);
    free_pair(&other);
    jose_keyset_free(jwks);
    jose_keyset_free(pem);
    free(token);
    json_decref(claims);
    free_pair(&p);
}

Test(jose_sign, rs256_round_trip)
{
    round_trip("RSA", JOSE_ALG_RS256);
}

Test(jose_sign, ps256_round_trip)
{
    round_trip("RSA", JOSE_ALG_PS256);
}

Test(jose_sign, es256_round_trip_with_raw_signature)
{
    round_trip("EC", JOSE_ALG_ES256);
    struct pair p = make_pair("EC", 0);
    json_t *claims = json_pack("{s:s}", "sub", "x");
    char *token = jose_sign(claims, p.priv, strlen(p.priv), NULL);
    cr_assert_not_null(token);
    const char *sig = strrchr(token, '.') + 1;
    cr_assert_eq(strlen(sig), 86, "64 bytes of R || S are 86 base64url characters");
    cr_assert(strncmp(token, "eyJhbGciOiJFUzI1NiIs", 20) == 0, "ES256 for a P-256 key");
    free(token);
    json_decref(claims);
    free_pair(&p);
}

Test(jose_sign, default_alg_and_key_mismatch)
{
    struct pair rsa = make_pair("RSA", 2048), ec = make_pair("EC", 0);
    json_t *claims = json_pack("{s:s}", "sub", "x");
    char *token = jose_sign(claims, rsa.priv, strlen(rsa.priv), NULL);
    cr_assert_not_null(token);
    cr_assert(strncmp(token, "eyJhbGciOiJSUzI1NiIs", 20) == 0, "RS256 for an RSA key: %s", token);
    free(token);
    cr_assert_null(jose_sign_alg(claims, rsa.priv, strlen(rsa.priv), NULL, JOSE_ALG_ES256));
    cr_assert_null(jose_sign_alg(claims, ec.priv, strlen(ec.priv), NULL, JOSE_ALG_RS256));
    cr_assert_null(jose_sign_alg(claims, ec.priv, strlen(ec.priv), NULL, JOSE_ALG_NONE_ALLOWED));
    cr_assert_null(jose_sign(claims, "not a key", 9, NULL));
    json_t *array = json_array();
    cr_assert_null(jose_sign(array, rsa.priv, strlen(rsa.priv), NULL), "payload must be an object");
    json_decref(array);
    json_decref(claims);
    free_pair(&rsa);
    free_pair(&ec);
}

/* ---- refusals ---- */

static const char body[] = "{\"iss\":\"https://op.example\",\"sub\":\"x\"}";

Test(jose_refuse, alg_none_even_with_every_alg_allowed)
{
    struct pair p = make_pair("RSA", 2048);
    struct jose_keyset *ks = set_of_one(&p, NULL);
    char h[64], b[128], t[256];
    jose_b64url_encode((const unsigned char *)"{\"alg\":\"none\"}", 14, h, sizeof(h));
    jose_b64url_encode((const unsigned char *)body, strlen(body), b, sizeof(b));
    snprintf(t, sizeof(t), "%s.%s.", h, b);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_ALG_REFUSED);
    assert_status(verify(t, ks, ~0u), JOSE_ALG_REFUSED);
    snprintf(t, sizeof(t), "%s.%s.AAAA", h, b);
    assert_status(verify(t, ks, ~0u), JOSE_ALG_REFUSED);
    jose_keyset_free(ks);
    free_pair(&p);
}

Test(jose_refuse, hs256_made_with_the_public_key)
{
    struct pair p = make_pair("RSA", 2048);
    struct jose_keyset *ks = set_of_one(&p, "k1");
    char *t = hand_token("{\"alg\":\"HS256\",\"kid\":\"k1\"}", body, NULL, SIGN_HMAC,
                         (const unsigned char *)p.pub, strlen(p.pub));
    assert_status(verify(t, ks, ~0u), JOSE_ALG_REFUSED);
    free(t);
    const char *others[] = {"RS384", "RS512", "ES384", "EdDSA", "rs256", "RS256 ", ""};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        char h[64];
        snprintf(h, sizeof(h), "{\"alg\":\"%s\"}", others[i]);
        t = hand_token(h, body, p.pkey, SIGN_PKCS1, NULL, 0);
        assert_status(verify(t, ks, ~0u), JOSE_ALG_REFUSED);
        free(t);
    }
    t = hand_token("{\"alg\":256}", body, p.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED);
    free(t);
    jose_keyset_free(ks);
    free_pair(&p);
}

Test(jose_refuse, kid_lookup)
{
    struct pair a = make_pair("RSA", 2048), b = make_pair("RSA", 2048);
    char ja[3000], jb[3000], jwks[6100];
    jwk_of(&a, "a", NULL, ja, sizeof(ja));
    jwk_of(&b, "b", NULL, jb, sizeof(jb));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s]}", ja, jb);
    struct jose_keyset *ks = set_of(jwks);
    cr_assert_eq(jose_keyset_count(ks), 2);
    char *t = hand_token("{\"alg\":\"RS256\",\"kid\":\"b\"}", body, b.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_OK);
    free(t);
    t = hand_token("{\"alg\":\"RS256\",\"kid\":\"a\"}", body, b.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_BAD_SIGNATURE);
    free(t);
    t = hand_token("{\"alg\":\"RS256\",\"kid\":\"c\"}", body, b.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_UNKNOWN_KID);
    free(t);
    /* No kid: each key of the family is tried, so the second one verifies. */
    t = hand_token("{\"alg\":\"RS256\"}", body, b.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_OK);
    free(t);
    t = hand_token("{\"alg\":\"RS256\",\"kid\":\"\"}", body, b.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_MALFORMED);
    free(t);
    t = hand_token("{\"alg\":\"RS256\",\"kid\":7}", body, b.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_MALFORMED);
    free(t);
    jose_keyset_free(ks);
    /* A PEM key without kid matches a token with any kid. */
    char why[160];
    ks = jose_keyset_from_pem(b.pub, strlen(b.pub), NULL, why, sizeof(why));
    cr_assert_not_null(ks, "%s", why);
    t = hand_token("{\"alg\":\"RS256\",\"kid\":\"whatever\"}", body, b.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_OK);
    jose_keyset_free(ks);
    ks = jose_keyset_from_pem(b.pub, strlen(b.pub), "handover-1", why, sizeof(why));
    cr_assert_not_null(ks, "%s", why);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_UNKNOWN_KID);
    free(t);
    jose_keyset_free(ks);
    free_pair(&a);
    free_pair(&b);
}

Test(jose_refuse, tampered_parts)
{
    struct pair p = make_pair("RSA", 2048);
    struct jose_keyset *ks = set_of_one(&p, NULL);
    char *good = hand_token("{\"alg\":\"RS256\"}", body, p.pkey, SIGN_PKCS1, NULL, 0);
    char *other_body =
        hand_token("{\"alg\":\"RS256\"}", "{\"iss\":\"https://evil.example\",\"sub\":\"x\"}",
                   p.pkey, SIGN_PKCS1, NULL, 0);
    char *other_head =
        hand_token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", body, p.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(good, ks, JOSE_ALG_RS256), JOSE_OK);
    /* Splice: the payload of one token with the header and signature of another. */
    char t[4096];
    const char *g1 = strchr(good, '.'), *g2 = strrchr(good, '.');
    const char *o1 = strchr(other_body, '.'), *o2 = strrchr(other_body, '.');
    snprintf(t, sizeof(t), "%.*s%.*s%s", (int)(g1 - good), good, (int)(o2 - o1), o1, g2);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_BAD_SIGNATURE);
    const char *h1 = strchr(other_head, '.');
    snprintf(t, sizeof(t), "%.*s%s", (int)(h1 - other_head), other_head, g1);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_BAD_SIGNATURE);
    /* Signature changed in its first character. */
    snprintf(t, sizeof(t), "%s", good);
    char *s = strrchr(t, '.') + 1;
    s[0] = s[0] == 'A' ? 'B' : 'A';
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_BAD_SIGNATURE);
    /* 342 characters are 256 bytes; 340 are 255, one short of the modulus. */
    cr_assert_eq(strlen(strrchr(good, '.') + 1), 342);
    snprintf(t, sizeof(t), "%.*s", (int)strlen(good) - 2, good);
    assert_status(verify(t, ks, JOSE_ALG_RS256), JOSE_BAD_SIGNATURE);
    free(good);
    free(other_body);
    free(other_head);
    jose_keyset_free(ks);
    free_pair(&p);
}

Test(jose_refuse, malformed_shapes)
{
    struct pair p = make_pair("RSA", 2048);
    struct jose_keyset *ks = set_of_one(&p, NULL);
    char *good = hand_token("{\"alg\":\"RS256\"}", body, p.pkey, SIGN_PKCS1, NULL, 0);
    char t[4096];
    const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    snprintf(t, sizeof(t), "%.*s", (int)(dot2 - good), good);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED); /* two parts */
    snprintf(t, sizeof(t), "%s.", good);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED); /* a fourth, empty part */
    snprintf(t, sizeof(t), "%s.AAAA", good);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED);
    snprintf(t, sizeof(t), "%.*s.", (int)(dot2 - good), good);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED); /* empty signature */
    snprintf(t, sizeof(t), "%s", dot1);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED); /* empty header */
    snprintf(t, sizeof(t), "%.*s.%s", (int)(dot1 - good), good, dot2);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED); /* empty payload */
    snprintf(t, sizeof(t), "%.*s+%s", (int)(dot2 - good), good, dot2 + 2);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED); /* '+' is not base64url */
    snprintf(t, sizeof(t), "%s==", good);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED); /* padding */
    snprintf(t, sizeof(t), "%.*s=%s", (int)(dot1 - good), good, dot1);
    assert_status(verify(t, ks, ~0u), JOSE_MALFORMED);
    assert_status(verify("", ks, ~0u), JOSE_MALFORMED);
    assert_status(verify("..", ks, ~0u), JOSE_MALFORMED);
    /* Larger than JOSE_TOKEN_MAX, however well formed its start. */
    char *big = malloc(JOSE_TOKEN_MAX + 2);
    memset(big, 'A', JOSE_TOKEN_MAX + 1);
    memcpy(big, good, strlen(good));
    big[JOSE_TOKEN_MAX + 1] = '\0';
    assert_status(verify(big, ks, ~0u), JOSE_MALFORMED);
    free(big);
    free(good);
    jose_keyset_free(ks);
    free_pair(&p);
}

Test(jose_refuse, header_and_payload_json)
{
    struct pair p = make_pair("RSA", 2048);
    struct jose_keyset *ks = set_of_one(&p, NULL);
    struct {
        const char *header, *payload;
    } cases[] = {
        {"{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", body}, /* RFC 7515 §4.1.11 */
        {"{\"alg\":\"RS256\",\"alg\":\"RS256\"}", body},            /* duplicate member */
        {"[\"RS256\"]", body},
        {"{}", body},
        {"{\"alg\":\"RS256\"", body},
        {"{\"alg\":\"RS256\"}", "[1,2]"},
        {"{\"alg\":\"RS256\"}", "\"a string\""},
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"a\",\"sub\":\"b\"}"},
        {"{\"alg\":\"RS256\"}", "not json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = hand_token(cases[i].header, cases[i].payload, p.pkey, SIGN_PKCS1, NULL, 0);
        enum jose_status st = verify(t, ks, ~0u);
        cr_assert_eq(st, JOSE_MALFORMED, "case %zu: %s", i, jose_status_name(st));
        free(t);
    }
    jose_keyset_free(ks);
    free_pair(&p);
}

Test(jose_refuse, es256_der_signature_and_wrong_family)
{
    struct pair ec = make_pair("EC", 0), rsa = make_pair("RSA", 2048);
    struct jose_keyset *ks = set_of_one(&ec, "k");
    /* What a careless signer sends: OpenSSL's DER ECDSA-Sig-Value instead of R || S. */
    char *t = hand_token("{\"alg\":\"ES256\",\"kid\":\"k\"}", body, ec.pkey, SIGN_DER, NULL, 0);
    assert_status(verify(t, ks, JOSE_ALG_ES256), JOSE_BAD_SIGNATURE);
    free(t);
    /* An RS256 header naming the EC key's kid: the EC key is never used for RSA. */
    t = hand_token("{\"alg\":\"RS256\",\"kid\":\"k\"}", body, rsa.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_UNKNOWN_KID);
    free(t);
    t = hand_token("{\"alg\":\"RS256\",\"kid\":\"k\"}", body, ec.pkey, SIGN_DER, NULL, 0);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_UNKNOWN_KID);
    free(t);
    jose_keyset_free(ks);
    /* And the RSA key is never used for ES256. */
    ks = set_of_one(&rsa, "k");
    t = hand_token("{\"alg\":\"ES256\",\"kid\":\"k\"}", body, ec.pkey, SIGN_DER, NULL, 0);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_UNKNOWN_KID);
    free(t);
    jose_keyset_free(ks);
    free_pair(&ec);
    free_pair(&rsa);
}

Test(jose_refuse, jwk_alg_binds_the_key)
{
    struct pair p = make_pair("RSA", 2048);
    char jwk[3000], jwks[3100];
    jwk_of(&p, "k", "\"alg\":\"RS256\",\"use\":\"sig\",", jwk, sizeof(jwk));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", jwk);
    struct jose_keyset *ks = set_of(jwks);
    char *t = hand_token("{\"alg\":\"PS256\",\"kid\":\"k\"}", body, p.pkey, SIGN_PSS, NULL, 0);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_UNKNOWN_KID);
    free(t);
    t = hand_token("{\"alg\":\"RS256\",\"kid\":\"k\"}", body, p.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_OK);
    free(t);
    /* A PSS signature under an RS256 header (and the reverse) does not verify. */
    t = hand_token("{\"alg\":\"RS256\",\"kid\":\"k\"}", body, p.pkey, SIGN_PSS, NULL, 0);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_BAD_SIGNATURE);
    free(t);
    jose_keyset_free(ks);
    ks = set_of_one(&p, "k");
    t = hand_token("{\"alg\":\"PS256\",\"kid\":\"k\"}", body, p.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_BAD_SIGNATURE);
    free(t);
    jose_keyset_free(ks);
    free_pair(&p);
}

/* ---- key sets ---- */

Test(jose_keys, small_rsa_refused)
{
    struct pair small = make_pair("RSA", 1024), big = make_pair("RSA", 2048);
    char js[3000], jb[3000], jwks[6100], why[160];
    jwk_of(&small, "s", NULL, js, sizeof(js));
    jwk_of(&big, "b", NULL, jb, sizeof(jb));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", js);
    cr_assert_null(jose_keyset_parse(jwks, strlen(jwks), why, sizeof(why)));
    cr_assert(strlen(why) > 0);
    cr_assert_null(jose_keyset_from_pem(small.pub, strlen(small.pub), NULL, why, sizeof(why)));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s]}", js, jb);
    struct jose_keyset *ks = set_of(jwks);
    cr_assert_eq(jose_keyset_count(ks), 1, "the 1024-bit key is skipped");
    char *t =
        hand_token("{\"alg\":\"RS256\",\"kid\":\"s\"}", body, small.pkey, SIGN_PKCS1, NULL, 0);
    assert_status(verify(t, ks, ALL_ALGS), JOSE_UNKNOWN_KID);
    free(t);
    jose_keyset_free(ks);
    free_pair(&small);
    free_pair(&big);
}

Test(jose_keys, skipped_and_refused_documents)
{
    struct pair ec = make_pair("EC", 0);
    char good[600], jwks[4000], why[160];
    jwk_of(&ec, "ok", NULL, good, sizeof(good));
    const char *skipped[] = {
        "{\"kty\":\"EC\",\"use\":\"enc\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}",
        "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}",
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_"
        "7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1\"}", /* not on the curve */
        "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
        "{\"kty\":\"RSA\",\"alg\":\"RS384\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
        "\"not an object\"",
    };
    for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
        snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", skipped[i]);
        cr_assert_null(jose_keyset_parse(jwks, strlen(jwks), why, sizeof(why)), "case %zu", i);
        snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s]}", skipped[i], good);
        struct jose_keyset *ks = jose_keyset_parse(jwks, strlen(jwks), why, sizeof(why));
        cr_assert_not_null(ks, "case %zu: %s", i, why);
        cr_assert_eq(jose_keyset_count(ks), 1, "case %zu", i);
        jose_keyset_free(ks);
    }
    const char *refused[] = {
        "", "{}", "[]", "{\"keys\":{}}", "{\"keys\":[]}", "nonsense", "{\"keys\":[],\"keys\":[]}"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        cr_assert_null(jose_keyset_parse(refused[i], strlen(refused[i]), why, sizeof(why)));
    char long_kid[200];
    memset(long_kid, 'k', 129);
    long_kid[129] = '\0';
    jwk_of(&ec, long_kid, NULL, good, sizeof(good));
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", good);
    cr_assert_null(jose_keyset_parse(jwks, strlen(jwks), why, sizeof(why)), "kid too long");
    cr_assert_null(jose_keyset_from_pem(ec.pub, strlen(ec.pub), long_kid, why, sizeof(why)));
    cr_assert_null(jose_keyset_from_pem(ec.priv, 10, NULL, why, sizeof(why)));
    char *huge = calloc(1, JOSE_JWKS_MAX + 2);
    memset(huge, ' ', JOSE_JWKS_MAX + 1);
    cr_assert_null(jose_keyset_parse(huge, JOSE_JWKS_MAX + 1, why, sizeof(why)));
    free(huge);
    jose_keyset_free(NULL);
    cr_assert_eq(jose_keyset_count(NULL), 0);
    free_pair(&ec);
}

/* A self-signed certificate of `p`'s key, as PEM: how a trusted issuer often hands its key out. */
static char *self_signed(const struct pair *p)
{
    X509 *cert = X509_new();
    cr_assert_not_null(cert);
    cr_assert(X509_set_version(cert, 2) == 1);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"issuer", -1, -1,
                               0);
    cr_assert(X509_set_issuer_name(cert, name) == 1);
    cr_assert(X509_set_pubkey(cert, p->pkey) == 1);
    cr_assert(X509_sign(cert, p->pkey, EVP_sha256()) > 0);
    BIO *bio = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_X509(bio, cert) == 1);
    char *pem = bio_text(bio);
    BIO_free(bio);
    X509_free(cert);
    return pem;
}

Test(jose_keys, pem_certificate_gives_its_key)
{
    struct pair p = make_pair("EC", 0);
    char *pem = self_signed(&p), why[160];
    cr_assert(strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) == 0);
    struct jose_keyset *ks = jose_keyset_from_pem(pem, strlen(pem), "issuer-1", why, sizeof(why));
    cr_assert_not_null(ks, "%s", why);
    json_t *claims = json_pack("{s:s}", "sub", "x");
    char *token = jose_sign(claims, p.priv, strlen(p.priv), "issuer-1");
    assert_status(verify(token, ks, JOSE_ALG_ES256), JOSE_OK);
    free(token);
    json_decref(claims);
    jose_keyset_free(ks);
    free(pem);
    free_pair(&p);
}

Test(jose_keys, at_most_keys_max)
{
    struct pair ec = make_pair("EC", 0);
    char jwk[600];
    size_t cap = 20 * sizeof(jwk) + 64, used = 0;
    char *jwks = malloc(cap);
    used += (size_t)snprintf(jwks, cap, "{\"keys\":[");
    for (int i = 0; i < 20; i++) {
        char kid[8];
        snprintf(kid, sizeof(kid), "k%d", i);
        jwk_of(&ec, kid, NULL, jwk, sizeof(jwk));
        used += (size_t)snprintf(jwks + used, cap - used, "%s%s", i ? "," : "", jwk);
    }
    snprintf(jwks + used, cap - used, "]}");
    struct jose_keyset *ks = set_of(jwks);
    cr_assert_eq(jose_keyset_count(ks), JOSE_KEYS_MAX);
    jose_keyset_free(ks);
    free(jwks);
    free_pair(&ec);
}

Test(jose_status, names_are_stable)
{
    cr_assert_str_eq(jose_status_name(JOSE_OK), "ok");
    cr_assert_str_eq(jose_status_name(JOSE_MALFORMED), "malformed");
    cr_assert_str_eq(jose_status_name(JOSE_ALG_REFUSED), "alg_refused");
    cr_assert_str_eq(jose_status_name(JOSE_UNKNOWN_KID), "unknown_kid");
    cr_assert_str_eq(jose_status_name(JOSE_BAD_SIGNATURE), "bad_signature");
    cr_assert_str_eq(jose_status_name(JOSE_CLAIM_INVALID), "claim_invalid");
}
