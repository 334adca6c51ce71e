/* The registered JWT claims and the ID token rules (identity/jose_claims.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "balie/jose.h"

#define assert_status(got, want)                                                                   \
    cr_assert_eq((got), (want), "got %s, want %s", jose_status_name(got), jose_status_name(want))

/* ---- claims (RFC 7519 §4.1, OIDC Core §3.1.3.7) ---- */

static enum jose_status claims(const char *json, const struct jose_expect *e, char *why)
{
    json_t *payload = json_loads(json, 0, NULL);
    cr_assert_not_null(payload, "%s", json);
    enum jose_status st = jose_check_claims(payload, e, why, 160);
    json_decref(payload);
    return st;
}

#define assert_claims(json, e, want, claim)                                                        \
    do {                                                                                           \
        char why_[160] = "";                                                                       \
        enum jose_status st_ = claims((json), (e), why_);                                          \
        cr_assert_eq(st_, (want), "%s: %s (%s)", (json), jose_status_name(st_), why_);             \
        if ((want) != JOSE_OK)                                                                     \
            cr_assert(strncmp(why_, (claim), strlen(claim)) == 0, "why names %s: %s", (claim),     \
                      why_);                                                                       \
    } while (0)

Test(jose_claims, issuer)
{
    struct jose_expect e = {.issuer = "https://op.example"};
    assert_claims("{\"iss\":\"https://op.example\"}", &e, JOSE_OK, "");
    assert_claims("{\"iss\":\"https://op.example/\"}", &e, JOSE_CLAIM_INVALID, "iss");
    assert_claims("{\"iss\":\"https://op.exampl\"}", &e, JOSE_CLAIM_INVALID, "iss");
    assert_claims("{}", &e, JOSE_CLAIM_INVALID, "iss");
    assert_claims("{\"iss\":[\"https://op.example\"]}", &e, JOSE_CLAIM_INVALID, "iss");
    struct jose_expect none = {0};
    assert_claims("{\"iss\":\"anyone\"}", &none, JOSE_OK, "");
}

Test(jose_claims, audience_string_array_and_azp)
{
    struct jose_expect e = {.audience = "balie"};
    assert_claims("{\"aud\":\"balie\"}", &e, JOSE_OK, "");
    assert_claims("{\"aud\":\"other\"}", &e, JOSE_CLAIM_INVALID, "aud");
    assert_claims("{}", &e, JOSE_CLAIM_INVALID, "aud");
    assert_claims("{\"aud\":5}", &e, JOSE_CLAIM_INVALID, "aud");
    assert_claims("{\"aud\":[\"balie\"]}", &e, JOSE_OK, "");
    assert_claims("{\"aud\":[]}", &e, JOSE_CLAIM_INVALID, "aud");
    assert_claims("{\"aud\":[\"other\",\"third\"],\"azp\":\"balie\"}", &e, JOSE_CLAIM_INVALID,
                  "aud");
    /* More than one audience: azp must be present and be us. */
    assert_claims("{\"aud\":[\"other\",\"balie\"],\"azp\":\"balie\"}", &e, JOSE_OK, "");
    assert_claims("{\"aud\":[\"other\",\"balie\"]}", &e, JOSE_CLAIM_INVALID, "azp");
    assert_claims("{\"aud\":[\"other\",\"balie\"],\"azp\":\"other\"}", &e, JOSE_CLAIM_INVALID,
                  "azp");
    assert_claims("{\"aud\":[\"balie\",7]}", &e, JOSE_CLAIM_INVALID, "aud");
    /* A present azp must be us even with one audience. */
    assert_claims("{\"aud\":\"balie\",\"azp\":\"other\"}", &e, JOSE_CLAIM_INVALID, "azp");
    assert_claims("{\"aud\":\"balie\",\"azp\":\"balie\"}", &e, JOSE_OK, "");
}

Test(jose_claims, expiry_with_skew_boundaries)
{
    struct jose_expect e = {.now_s = 1000, .skew_s = 60, .require_exp = true};
    assert_claims("{\"exp\":941}", &e, JOSE_OK, "");               /* now = exp + skew - 1 */
    assert_claims("{\"exp\":940}", &e, JOSE_CLAIM_INVALID, "exp"); /* now = exp + skew */
    assert_claims("{\"exp\":940.5}", &e, JOSE_CLAIM_INVALID, "exp");
    assert_claims("{\"exp\":941.5}", &e, JOSE_OK, "");
    assert_claims("{}", &e, JOSE_CLAIM_INVALID, "exp");
    assert_claims("{\"exp\":\"2000\"}", &e, JOSE_CLAIM_INVALID, "exp");
    assert_claims("{\"exp\":-5}", &e, JOSE_CLAIM_INVALID, "exp");
    assert_claims("{\"exp\":1e300}", &e, JOSE_CLAIM_INVALID, "exp");
    e.skew_s = 0;
    assert_claims("{\"exp\":1001}", &e, JOSE_OK, "");
    assert_claims("{\"exp\":1000}", &e, JOSE_CLAIM_INVALID, "exp");
    e.require_exp = false;
    assert_claims("{}", &e, JOSE_OK, "");
    assert_claims("{\"exp\":999}", &e, JOSE_CLAIM_INVALID, "exp"); /* present: still checked */
}

Test(jose_claims, not_before_with_skew_boundaries)
{
    struct jose_expect e = {.now_s = 1000, .skew_s = 60};
    assert_claims("{\"nbf\":1060}", &e, JOSE_OK, ""); /* now + skew = nbf */
    assert_claims("{\"nbf\":1061}", &e, JOSE_CLAIM_INVALID, "nbf");
    assert_claims("{\"nbf\":null}", &e, JOSE_CLAIM_INVALID, "nbf");
    e.skew_s = 0;
    assert_claims("{\"nbf\":1000}", &e, JOSE_OK, "");
    assert_claims("{\"nbf\":1001}", &e, JOSE_CLAIM_INVALID, "nbf");
}

Test(jose_claims, issued_at_max_age)
{
    struct jose_expect e = {.now_s = 10000, .skew_s = 30, .max_age_s = 600};
    assert_claims("{\"iat\":9370}", &e, JOSE_OK, ""); /* now - iat = max_age + skew */
    assert_claims("{\"iat\":9369}", &e, JOSE_CLAIM_INVALID, "iat");
    assert_claims("{\"iat\":10030}", &e, JOSE_OK, "");
    assert_claims("{\"iat\":10031}", &e, JOSE_CLAIM_INVALID, "iat"); /* from the future */
    assert_claims("{}", &e, JOSE_CLAIM_INVALID, "iat");
    assert_claims("{\"iat\":true}", &e, JOSE_CLAIM_INVALID, "iat");
    e.max_age_s = 0;
    assert_claims("{\"iat\":1}", &e, JOSE_OK, "");
    assert_claims("{\"iat\":10031}", &e, JOSE_CLAIM_INVALID, "iat");
    /* now_s 0: no clock given, so no time is judged. */
    struct jose_expect no_clock = {.max_age_s = 600};
    assert_claims("{\"exp\":1,\"nbf\":99999999999,\"iat\":5}", &no_clock, JOSE_OK, "");
}

Test(jose_claims, nonce_and_everything_together)
{
    struct jose_expect e = {.nonce = "n-0S6_WzA2Mj"};
    assert_claims("{\"nonce\":\"n-0S6_WzA2Mj\"}", &e, JOSE_OK, "");
    assert_claims("{\"nonce\":\"n-0S6_WzA2M\"}", &e, JOSE_CLAIM_INVALID, "nonce");
    assert_claims("{\"nonce\":\"n-0S6_WzA2Mjj\"}", &e, JOSE_CLAIM_INVALID, "nonce");
    assert_claims("{}", &e, JOSE_CLAIM_INVALID, "nonce");
    assert_claims("{\"nonce\":1}", &e, JOSE_CLAIM_INVALID, "nonce");
    struct jose_expect all = {.issuer = "https://op.example",
                              .audience = "balie",
                              .nonce = "abc",
                              .now_s = 1700000000,
                              .skew_s = 60,
                              .max_age_s = 300,
                              .require_exp = true};
    assert_claims("{\"iss\":\"https://op.example\",\"aud\":\"balie\",\"nonce\":\"abc\","
                  "\"exp\":1700000300,\"iat\":1699999990,\"nbf\":1699999990}",
                  &all, JOSE_OK, "");
    assert_claims("{\"iss\":\"https://op.example\",\"aud\":\"balie\",\"nonce\":\"abd\","
                  "\"exp\":1700000300,\"iat\":1699999990}",
                  &all, JOSE_CLAIM_INVALID, "nonce");
    json_t *arr = json_array();
    char why[160];
    assert_status(jose_check_claims(arr, &all, why, sizeof(why)), JOSE_CLAIM_INVALID);
    json_decref(arr);
}
