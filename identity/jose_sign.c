/* Making a compact JWS (RFC 7515 §5.1), for tests and for tools that issue handover tokens. */
#include "jose_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

static const char *alg_name(enum jose_alg alg)
{
    switch (alg) {
    case JOSE_ALG_RS256:
        return "RS256";
    case JOSE_ALG_PS256:
        return "PS256";
    case JOSE_ALG_ES256:
        return "ES256";
    default:
        return NULL;
    }
}

/* RFC 7518 §3.4: the DER signature OpenSSL makes becomes R || S, 32 bytes each. */
static bool der_to_es256(const unsigned char *der, size_t der_len, unsigned char out[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!es)
        return false;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(es, &r, &s);
    bool ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok;
}

/* Signs `input` and writes the base64url signature into `out`. */
static bool sign_input(EVP_PKEY *pkey, enum jose_alg alg, const char *input, size_t input_len,
                       char *out, size_t out_cap)
{
    unsigned char sig[JOSE_SIG_MAX + 16];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = md && EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) == 1;
    if (ok && alg == JOSE_ALG_PS256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
    ok = ok && EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(md);
    if (ok && alg == JOSE_ALG_ES256) {
        unsigned char raw[64];
        ok = der_to_es256(sig, sig_len, raw);
        memcpy(sig, raw, sizeof(raw));
        sig_len = sizeof(raw);
    }
    return ok && jose_b64url_encode(sig, sig_len, out, out_cap) > 0;
}

static bool key_fits(EVP_PKEY *pkey, enum jose_alg alg)
{
    if (alg == JOSE_ALG_ES256)
        return EVP_PKEY_is_a(pkey, "EC");
    return (alg == JOSE_ALG_RS256 || alg == JOSE_ALG_PS256) && EVP_PKEY_is_a(pkey, "RSA");
}

/* base64url of the header and payload JSON, joined by a dot, with room for the signature. */
static char *signing_input(const json_t *payload, const char *kid, enum jose_alg alg,
                           size_t *input_len, size_t *cap)
{
    json_t *header = json_pack("{s:s, s:s}", "alg", alg_name(alg), "typ", "JWT");
    if (header && kid)
        json_object_set_new(header, "kid", json_string(kid));
    char *h = header ? json_dumps(header, JSON_COMPACT) : NULL;
    char *p = json_dumps(payload, JSON_COMPACT);
    json_decref(header);
    char *out = NULL;
    if (h && p) {
        size_t h_len = strlen(h), p_len = strlen(p);
        *cap = (h_len + p_len) / 3 * 4 + 16 + 2 * JOSE_SIG_MAX;
        out = malloc(*cap);
        long a = out ? jose_b64url_encode((const unsigned char *)h, h_len, out, *cap) : -1;
        long b = a > 0 ? jose_b64url_encode((const unsigned char *)p, p_len, out + a + 1,
                                            *cap - (size_t)a - 1)
                       : -1;
        if (b > 0) {
            out[a] = '.';
            *input_len = (size_t)(a + 1 + b);
        } else {
            free(out);
            out = NULL;
        }
    }
    free(h);
    free(p);
    return out;
}

char *jose_sign_alg(const json_t *payload, const char *private_pem, size_t pem_len, const char *kid,
                    enum jose_alg alg)
{
    if (!json_is_object(payload) || !private_pem || pem_len == 0 || pem_len > JOSE_PEM_MAX ||
        !alg_name(alg) || (kid && strlen(kid) > JOSE_KID_MAX))
        return NULL;
    BIO *bio = BIO_new_mem_buf(private_pem, (int)pem_len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!pkey || !key_fits(pkey, alg)) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    size_t input_len = 0, cap = 0;
    char *token = signing_input(payload, kid, alg, &input_len, &cap);
    if (token) {
        token[input_len] = '.';
        if (!sign_input(pkey, alg, token, input_len, token + input_len + 1, cap - input_len - 1)) {
            free(token);
            token = NULL;
        }
    }
    EVP_PKEY_free(pkey);
    return token;
}

char *jose_sign(const json_t *payload, const char *private_pem, size_t pem_len, const char *kid)
{
    if (!private_pem || pem_len == 0 || pem_len > JOSE_PEM_MAX)
        return NULL;
    BIO *bio = BIO_new_mem_buf(private_pem, (int)pem_len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!pkey)
        return NULL;
    enum jose_alg alg = EVP_PKEY_is_a(pkey, "EC") ? JOSE_ALG_ES256 : JOSE_ALG_RS256;
    EVP_PKEY_free(pkey);
    return jose_sign_alg(payload, private_pem, pem_len, kid, alg);
}
