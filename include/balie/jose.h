/* JOSE: the parts of JWS, JWK and JWT (RFC 7515, 7517, 7519) that Balie needs to trust a
 * token someone else signed: an OpenID Provider's ID token (identity/oidc.c) and a handover
 * context token from another channel (signaling, DESIGN.md §7).
 *
 * Sans-IO and control-thread only: fetching a JWKS is the caller's job; time is passed in.
 * Only asymmetric algorithms on an allowlist are accepted (RS256, PS256, ES256): never `none`,
 * never an HMAC (a verifier that let `HS256` through would accept a token "signed" with the
 * provider's *public* key). A key is used only for the algorithm family of its `kty`. */
#ifndef BALIE_JOSE_H
#define BALIE_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JOSE_TOKEN_MAX 16384 /* bytes of a compact JWS we are willing to look at */
#define JOSE_KID_MAX 128
#define JOSE_KEYS_MAX 16
#define JOSE_JWKS_MAX 65536 /* bytes of a JWKS document */
#define JOSE_PEM_MAX 16384  /* bytes of a PEM public key or certificate */

enum jose_alg {
    JOSE_ALG_NONE_ALLOWED = 0,
    JOSE_ALG_RS256 = 1,
    JOSE_ALG_PS256 = 2,
    JOSE_ALG_ES256 = 4
};

/* base64url without padding (RFC 7515 §2). Decode returns the decoded length, or -1 for a
 * character outside the alphabet, padding, or an output that does not fit. */
long jose_b64url_decode(const char *in, size_t in_len, unsigned char *out, size_t out_cap);
/* Writes NUL-terminated base64url of `in`; returns its length or -1 when it does not fit. */
long jose_b64url_encode(const unsigned char *in, size_t in_len, char *out, size_t out_cap);

/* A key set (RFC 7517 §5): at most JOSE_KEYS_MAX usable signing keys (RSA of 2048 bits or more,
 * EC P-256). Keys with `use` other than "sig", unknown `kty` or curves are skipped, not fatal. */
struct jose_keyset;

/* Parses a JWKS document. Returns NULL with a reason in `why` when the text is not a JWKS or
 * holds no usable key. */
struct jose_keyset *jose_keyset_parse(const char *json, size_t len, char *why, size_t why_len);
/* A key set with a single PEM public key (a configured trusted issuer's key): a "PUBLIC KEY"
 * block or an X.509 certificate (only its key is taken; dates and chain are not checked). `kid`
 * may be NULL (then the key matches a token with any or no kid). */
struct jose_keyset *jose_keyset_from_pem(const char *pem, size_t len, const char *kid, char *why,
                                         size_t why_len);
size_t jose_keyset_count(const struct jose_keyset *ks);
void jose_keyset_free(struct jose_keyset *ks);

/* Why a token was refused: a short stable code (for logs, metrics and tests) and a sentence. */
enum jose_status {
    JOSE_OK = 0,
    JOSE_MALFORMED,     /* not three base64url parts, bad JSON, too long */
    JOSE_ALG_REFUSED,   /* alg not in the caller's allowlist (none, HS256, …) */
    JOSE_UNKNOWN_KID,   /* no key with this kid: the caller may refetch the JWKS once */
    JOSE_BAD_SIGNATURE, /* a key matched but the signature does not verify */
    JOSE_CLAIM_INVALID, /* a claim check below failed; `why` names the claim */
};
const char *jose_status_name(enum jose_status st); /* "malformed", "alg_refused", … */

/* Verifies a compact JWS with `keys`, accepting only algorithms in `alg_mask` (an OR of
 * enum jose_alg). On JOSE_OK, `*payload` is the parsed payload, a JSON object (caller
 * json_decref()s it); otherwise it is NULL. A token whose kid matches no key gives
 * JOSE_UNKNOWN_KID, also when it has no kid and no key of its alg's family exists. `why` never
 * holds token contents, so it may be logged. Header or payload with duplicate member names and
 * any `crit` header are refused (JOSE_MALFORMED). */
enum jose_status jose_verify(const char *token, size_t len, const struct jose_keyset *keys,
                             unsigned alg_mask, json_t **payload, char *why, size_t why_len);

/* The registered-claim checks of RFC 7519 §4.1 and OIDC Core §3.1.3.7. NULL / 0 fields are
 * not checked (now_s == 0 skips exp, nbf and iat, except that `require_exp` still wants exp
 * present). An `azp` claim, when present, must equal `audience`. `aud` may be a string or an array
 * that contains `audience`; with more than one audience, `azp` must equal `audience` (OIDC Core
 * §3.1.3.7 item 5). Times in seconds since the epoch; `skew_s` is allowed either way; `exp` is
 * required when `require_exp`. */
struct jose_expect {
    const char *issuer;
    const char *audience;
    const char *nonce;
    uint64_t now_s;
    unsigned skew_s;
    unsigned max_age_s; /* iat not older than this (0: unchecked) */
    bool require_exp;
};
enum jose_status jose_check_claims(const json_t *payload, const struct jose_expect *expect,
                                   char *why, size_t why_len);

/* Signs `payload` (a JSON object) as a compact JWS with a PEM private key (RSA → RS256, EC
 * P-256 → ES256). For tests and for tools that make handover tokens; returns a malloc'd string
 * or NULL. */
char *jose_sign(const json_t *payload, const char *private_pem, size_t pem_len, const char *kid);
/* The same with the algorithm chosen (JOSE_ALG_RS256 or JOSE_ALG_PS256 for an RSA key,
 * JOSE_ALG_ES256 for P-256); NULL when the key does not fit the algorithm. */
char *jose_sign_alg(const json_t *payload, const char *private_pem, size_t pem_len, const char *kid,
                    enum jose_alg alg);

#endif
