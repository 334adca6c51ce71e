/* The registered JWT claims (RFC 7519 §4.1) and the ID token rules of OIDC Core §3.1.3.7. */
#include "jose_internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#define NUMERIC_DATE_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

static enum jose_status refuse(char *why, size_t why_len, const char *text)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", text);
    return JOSE_CLAIM_INVALID;
}

/* RFC 7519 §2: a NumericDate is a JSON number of seconds, possibly with a fraction. Returns
 * 1 and the whole seconds, 0 when absent, -1 when present but not a sane date. */
static int numeric_date(const json_t *payload, const char *name, long long *out)
{
    const json_t *v = json_object_get(payload, name);
    if (!v)
        return 0;
    double d;
    if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else if (json_is_real(v))
        d = json_real_value(v);
    else
        return -1;
    if (!(d >= 0 && d <= (double)NUMERIC_DATE_MAX)) /* also refuses NaN */
        return -1;
    *out = (long long)d; /* whole seconds; truncation is the floor for d >= 0 */
    return 1;
}

static bool string_equal(const json_t *v, const char *want)
{
    if (!json_is_string(v))
        return false;
    size_t len = json_string_length(v);
    return len == strlen(want) && CRYPTO_memcmp(json_string_value(v), want, len) == 0;
}

/* RFC 7519 §4.1.3 and OIDC Core §3.1.3.7 items 3 to 5. */
static enum jose_status check_audience(const json_t *payload, const char *audience, char *why,
                                       size_t why_len)
{
    const json_t *aud = json_object_get(payload, "aud");
    const json_t *azp = json_object_get(payload, "azp");
    size_t count = 0;
    bool found = false;
    if (json_is_string(aud)) {
        count = 1;
        found = string_equal(aud, audience);
    } else if (json_is_array(aud)) {
        count = json_array_size(aud);
        for (size_t i = 0; i < count; i++) {
            const json_t *one = json_array_get(aud, i);
            if (!json_is_string(one))
                return refuse(why, why_len, "aud: an entry is not a string");
            found = found || string_equal(one, audience);
        }
    } else {
        return refuse(why, why_len, "aud: missing or not a string or array");
    }
    if (!found)
        return refuse(why, why_len, "aud: we are not an audience of this token");
    if (count > 1 && !azp)
        return refuse(why, why_len, "azp: required with more than one audience");
    if (azp && !string_equal(azp, audience))
        return refuse(why, why_len, "azp: not our client id");
    return JOSE_OK;
}

/* RFC 7519 §4.1.4-§4.1.6, with `skew` seconds of clock difference allowed either way. */
static enum jose_status check_times(const json_t *payload, const struct jose_expect *e, char *why,
                                    size_t why_len)
{
    long long now = (long long)e->now_s, skew = e->skew_s, exp = 0, nbf = 0, iat = 0;
    int has_exp = numeric_date(payload, "exp", &exp);
    int has_nbf = numeric_date(payload, "nbf", &nbf);
    int has_iat = numeric_date(payload, "iat", &iat);
    if (has_exp < 0 || (has_exp == 0 && e->require_exp))
        return refuse(why, why_len, "exp: missing or not a date");
    if (has_nbf < 0)
        return refuse(why, why_len, "nbf: not a date");
    if (has_iat < 0 || (has_iat == 0 && e->max_age_s && e->now_s))
        return refuse(why, why_len, "iat: missing or not a date");
    if (e->now_s == 0)
        return JOSE_OK;
    /* §4.1.4: the current time must be before exp. */
    if (has_exp && now >= exp + skew)
        return refuse(why, why_len, "exp: the token has expired");
    /* §4.1.5: the current time must be at or after nbf. */
    if (has_nbf && now + skew < nbf)
        return refuse(why, why_len, "nbf: the token is not valid yet");
    if (has_iat && iat > now + skew)
        return refuse(why, why_len, "iat: issued in the future");
    /* OIDC Core §3.1.3.7 item 10: reject tokens issued too far in the past. */
    if (has_iat && e->max_age_s && now - iat > (long long)e->max_age_s + skew)
        return refuse(why, why_len, "iat: issued too long ago");
    return JOSE_OK;
}

enum jose_status jose_check_claims(const json_t *payload, const struct jose_expect *expect,
                                   char *why, size_t why_len)
{
    if (!json_is_object(payload) || !expect)
        return refuse(why, why_len, "the payload is not a JSON object");
    if (expect->issuer && !string_equal(json_object_get(payload, "iss"), expect->issuer))
        return refuse(why, why_len, "iss: not the expected issuer");
    if (expect->audience) {
        enum jose_status st = check_audience(payload, expect->audience, why, why_len);
        if (st != JOSE_OK)
            return st;
    }
    /* OIDC Core §3.1.3.7 item 11: the nonce we sent, compared in constant time. */
    if (expect->nonce && !string_equal(json_object_get(payload, "nonce"), expect->nonce))
        return refuse(why, why_len, "nonce: not the nonce of this login");
    enum jose_status st = check_times(payload, expect, why, why_len);
    if (st == JOSE_OK && why && why_len)
        why[0] = '\0';
    return st;
}
