/* Handover context tokens (DESIGN.md §4 `join.context`): another channel — the municipality's
 * website, a chatbot, a case system — sends the citizen to the video counter with a compact JWS
 * it signed, naming a reference and a topic. Balie trusts one configured issuer and key; what it
 * keeps of a valid token is the reference, the topic and the issuer, never the token. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balie/jose.h"
#include "balie/journey.h"

#define CONTEXT_KEY_MAX 16384 /* bytes of a PEM public key file */
#define CONTEXT_SKEW_S 60
#define CONTEXT_MAX_AGE_S 3600 /* a handover is followed within the hour, or made again */

struct journey_context_verifier {
    struct jose_keyset *keys;
    char issuer[128];
    char audience[256];
};

static int read_small_file(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    *len = fread(buf, 1, cap, f);
    int err = ferror(f) ? -EIO : *len == cap ? -EFBIG : 0;
    fclose(f);
    return err;
}

int journey_context_verifier_new(struct journey_context_verifier **out, const char *issuer,
                                 const char *key_file, const char *audience, char *why,
                                 size_t why_len)
{
    *out = NULL;
    if (!issuer[0] || !key_file[0] || !audience[0]) {
        snprintf(why, why_len,
                 "journey.context_issuer needs journey.context_key_file and "
                 "journey.context_audience");
        return -EINVAL;
    }
    struct journey_context_verifier *v = calloc(1, sizeof(*v));
    char *pem = malloc(CONTEXT_KEY_MAX);
    size_t len = 0;
    int err = v && pem ? read_small_file(key_file, pem, CONTEXT_KEY_MAX, &len) : -ENOMEM;
    if (err) {
        snprintf(why, why_len, "cannot read journey.context_key_file %s: %s", key_file,
                 strerror(-err));
    } else if ((size_t)snprintf(v->issuer, sizeof(v->issuer), "%s", issuer) >= sizeof(v->issuer) ||
               (size_t)snprintf(v->audience, sizeof(v->audience), "%s", audience) >=
                   sizeof(v->audience)) {
        snprintf(why, why_len, "journey.context_issuer or context_audience is too long");
        err = -EINVAL;
    } else {
        char key_why[160] = "";
        v->keys = jose_keyset_from_pem(pem, len, NULL, key_why, sizeof(key_why));
        if (!v->keys) {
            snprintf(why, why_len, "journey.context_key_file %s: %s", key_file, key_why);
            err = -EINVAL;
        }
    }
    free(pem);
    if (err) {
        journey_context_verifier_free(v);
        return err;
    }
    *out = v;
    return 0;
}

void journey_context_verifier_free(struct journey_context_verifier *v)
{
    if (!v)
        return;
    jose_keyset_free(v->keys);
    free(v);
}

/* A reference is an identifier: 1–63 of [A-Za-z0-9._:/-]. Anything else (spaces, free text)
 * could carry a message or a personal detail into the signal, so it is refused. */
static bool is_reference(const char *text, size_t len, size_t cap)
{
    if (len == 0 || len >= cap)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("._:/-", ch)))
            return false;
    }
    return true;
}

/* A topic is a short line of text for the agent: no control characters, under 128 bytes. */
static bool is_topic(const char *text, size_t len, size_t cap)
{
    if (len >= cap)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
            return false;
    return true;
}

static int refuse(char *why, size_t why_len, const char *reason)
{
    snprintf(why, why_len, "de verwijzing is ongeldig / the handover context is invalid: %s",
             reason);
    return -1;
}

int journey_context_verify(const struct journey_context_verifier *v, const char *token, size_t len,
                           uint64_t now_s, struct journey_context *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (!v)
        return refuse(why, why_len, "this counter trusts no issuer of handover contexts");
    char jwhy[160] = "";
    json_t *claims = NULL;
    enum jose_status st = jose_verify(token, len, v->keys, JOSE_ALG_ES256 | JOSE_ALG_RS256, &claims,
                                      jwhy, sizeof(jwhy));
    if (st == JOSE_OK) {
        struct jose_expect expect = {.issuer = v->issuer,
                                     .audience = v->audience,
                                     .now_s = now_s,
                                     .skew_s = CONTEXT_SKEW_S,
                                     .max_age_s = CONTEXT_MAX_AGE_S,
                                     .require_exp = true};
        st = jose_check_claims(claims, &expect, jwhy, sizeof(jwhy));
    }
    if (st != JOSE_OK) {
        json_decref(claims);
        return refuse(why, why_len, st == JOSE_CLAIM_INVALID ? jwhy : jose_status_name(st));
    }
    const json_t *ref = json_object_get(claims, "ref"), *topic = json_object_get(claims, "topic");
    int rc = 0;
    if (!json_is_string(ref) ||
        !is_reference(json_string_value(ref), json_string_length(ref), sizeof(out->ref)))
        rc = refuse(why, why_len, "ref: missing or not a reference");
    else if (topic &&
             (!json_is_string(topic) ||
              !is_topic(json_string_value(topic), json_string_length(topic), sizeof(out->topic))))
        rc = refuse(why, why_len, "topic: not a short line of text");
    if (rc == 0) {
        snprintf(out->ref, sizeof(out->ref), "%s", json_string_value(ref));
        snprintf(out->topic, sizeof(out->topic), "%s", topic ? json_string_value(topic) : "");
        snprintf(out->issuer, sizeof(out->issuer), "%s", v->issuer);
    }
    json_decref(claims);
    return rc;
}
