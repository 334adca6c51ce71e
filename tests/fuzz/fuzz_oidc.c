/* The oidc provider's parsers: the input as a discovery document, as level and role maps, as ID
 * token claims, and as the verifier/nonce a login keeps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balie/oidc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    struct oidc_discovery d;
    if (oidc_discovery_parse((const char *)data, size, "https://op.example", true, &d, why,
                             sizeof(why)) == 0 &&
        (strcmp(d.issuer, "https://op.example") != 0 || !d.alg_mask))
        abort();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static struct oidc_loa_map loa;
    enum identity_loa level;
    if (oidc_loa_map_parse(text, &loa, why, sizeof(why)) == 0 && loa.count > OIDC_MAP_ENTRIES)
        abort();
    (void)oidc_loa_lookup(&loa, text, &level);
    static struct oidc_role_map roles;
    char services[IDP_SERVICES_MAX];
    (void)oidc_role_map_parse(text, NULL, &roles, why, sizeof(why));
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    if (doc) {
        struct oidc_claims_expect e = {"https://op.example", "balie", "n", 1000, 60, 600};
        (void)oidc_check_id_claims(doc, &e);
        (void)oidc_role_services(&roles, json_object_get(doc, "roles"), services, sizeof(services));
        char subject[IDP_SUBJECT_MAX], name[IDP_DISPLAY_NAME_MAX];
        (void)oidc_claim_subject(json_object_get(doc, "sub"), subject);
        (void)oidc_claim_display_name(json_object_get(doc, "name"), name);
        json_decref(doc);
    }
    char challenge[OIDC_CHALLENGE_LEN + 1], v[IDP_STATE_LEN + 1], n[IDP_STATE_LEN + 1];
    if (oidc_pkce_challenge(text, challenge) == 0 && strlen(challenge) != OIDC_CHALLENGE_LEN)
        abort();
    (void)oidc_extra_unpack(text, v, n);
    char url[2048];
    struct oidc_authz_request r = {text, text, text, text, text, text, text, text};
    (void)oidc_authorize_url(&r, url, sizeof(url));
    free(text);
    return 0;
}
