/* The pure parts of the oidc provider (identity/oidc_util.c): discovery, maps, PKCE, URLs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "balie/httpc.h"
#include "balie/jose.h"
#include "balie/oidc.h"

/* RFC 7636 Appendix B. */
Test(oidc, pkce_rfc7636_appendix_b)
{
    char out[OIDC_CHALLENGE_LEN + 1];
    cr_assert_eq(oidc_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out), 0);
    cr_assert_str_eq(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

Test(oidc, pkce_refuses_bad_verifiers)
{
    char out[OIDC_CHALLENGE_LEN + 1];
    cr_assert_eq(oidc_pkce_challenge("short", out), -1); /* §4.1: at least 43 */
    char v[140];
    memset(v, 'a', 129);
    v[129] = '\0';
    cr_assert_eq(oidc_pkce_challenge(v, out), -1); /* at most 128 */
    memcpy(v, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+", 44);
    cr_assert_eq(oidc_pkce_challenge(v, out), -1); /* '+' is not unreserved */
    cr_assert_eq(oidc_pkce_challenge(NULL, out), -1);
}

static const char good_doc[] =
    "{\"issuer\":\"https://op.example\",\"authorization_endpoint\":\"https://op.example/auth\","
    "\"token_endpoint\":\"https://op.example/token\",\"jwks_uri\":\"https://op.example/jwks\","
    "\"code_challenge_methods_supported\":[\"plain\",\"S256\"],"
    "\"id_token_signing_alg_values_supported\":[\"HS256\",\"RS256\",\"none\"],"
    "\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\"],"
    "\"authorization_response_iss_parameter_supported\":true}";

Test(oidc, discovery_parses_a_good_document)
{
    struct oidc_discovery d;
    char why[160] = "";
    cr_assert_eq(oidc_discovery_parse(good_doc, strlen(good_doc), "https://op.example", false, &d,
                                      why, sizeof(why)),
                 0, "%s", why);
    cr_assert_str_eq(d.token_endpoint, "https://op.example/token");
    cr_assert_str_eq(d.jwks_uri, "https://op.example/jwks");
    cr_assert(d.iss_parameter_supported);
    cr_assert_eq(d.alg_mask, JOSE_ALG_RS256, "HS256 and none never count");
    cr_assert(d.auth_private_key_jwt_supported);
    cr_assert_not(d.auth_basic_supported);
}

Test(oidc, discovery_issuer_must_match_exactly)
{
    struct oidc_discovery d;
    char why[160];
    /* A trailing slash is another issuer (Discovery §4.3: exact comparison). */
    cr_assert_eq(oidc_discovery_parse(good_doc, strlen(good_doc), "https://op.example/", false, &d,
                                      why, sizeof(why)),
                 -1);
    cr_assert(strstr(why, "issuer"));
    cr_assert_eq(d.token_endpoint[0], '\0', "nothing is kept from a refused document");
}

static int parse_with(const char *replace_from, const char *replace_to, char *why)
{
    char doc[2048];
    const char *at = strstr(good_doc, replace_from);
    cr_assert(at);
    snprintf(doc, sizeof(doc), "%.*s%s%s", (int)(at - good_doc), good_doc, replace_to,
             at + strlen(replace_from));
    struct oidc_discovery d;
    return oidc_discovery_parse(doc, strlen(doc), "https://op.example", false, &d, why, 160);
}

Test(oidc, discovery_refusals)
{
    char why[160];
    cr_assert_eq(parse_with("[\"plain\",\"S256\"]", "[\"plain\"]", why), -1, "no S256");
    cr_assert(strstr(why, "PKCE"));
    cr_assert_eq(parse_with("[\"HS256\",\"RS256\",\"none\"]", "[\"HS256\",\"none\"]", why), -1);
    cr_assert_eq(parse_with("https://op.example/token", "http://op.example/token", why), -1);
    cr_assert(strstr(why, "token_endpoint"));
    cr_assert_eq(parse_with("\"jwks_uri\"", "\"jwks\"", why), -1);
    struct oidc_discovery d;
    cr_assert_eq(oidc_discovery_parse("[1]", 3, "https://op.example", false, &d, why, 160), -1);
    cr_assert_eq(oidc_discovery_parse("{\"issuer\":", 10, "x", false, &d, why, 160), -1);
}

Test(oidc, discovery_http_only_on_loopback_when_allowed)
{
    const char doc[] = "{\"issuer\":\"http://127.0.0.1:3001\","
                       "\"authorization_endpoint\":\"http://127.0.0.1:3001/auth\","
                       "\"token_endpoint\":\"http://127.0.0.1:3001/token\","
                       "\"jwks_uri\":\"http://127.0.0.1:3001/jwks\"}";
    struct oidc_discovery d;
    char why[160];
    cr_assert_eq(
        oidc_discovery_parse(doc, strlen(doc), "http://127.0.0.1:3001", true, &d, why, sizeof(why)),
        0, "%s", why);
    cr_assert(d.auth_basic_supported, "absent methods mean client_secret_basic");
    cr_assert_not(d.iss_parameter_supported);
    cr_assert_eq(d.alg_mask, JOSE_ALG_RS256 | JOSE_ALG_PS256 | JOSE_ALG_ES256);
    cr_assert_eq(oidc_discovery_parse(doc, strlen(doc), "http://127.0.0.1:3001", false, &d, why,
                                      sizeof(why)),
                 -1);
    cr_assert_not(oidc_url_acceptable("http://evil.example/", true));
    cr_assert_not(oidc_url_acceptable("https:///path", false));
}

Test(oidc, default_loa_map)
{
    struct oidc_loa_map m;
    char why[160];
    enum identity_loa loa;
    cr_assert_eq(oidc_loa_map_parse("", &m, why, sizeof(why)), 0);
    cr_assert_eq(oidc_loa_lookup(&m, "http://eidas.europa.eu/LoA/substantial", &loa), 0);
    cr_assert_eq(loa, LOA_SUBSTANTIEEL);
    cr_assert_eq(
        oidc_loa_lookup(&m, "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract", &loa),
        0);
    cr_assert_eq(loa, LOA_MIDDEN);
    cr_assert_eq(oidc_loa_lookup(&m, "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", &loa),
                 0);
    cr_assert_eq(loa, LOA_HOOG);
    cr_assert_eq(oidc_loa_lookup(&m, "http://eidas.europa.eu/LoA/low", &loa), 0);
    cr_assert_eq(loa, LOA_BASIS);
    cr_assert_eq(oidc_loa_lookup(&m, "http://eidas.europa.eu/LoA/Substantial", &loa), -1,
                 "exact comparison");
    cr_assert_eq(oidc_loa_lookup(&m, "", &loa), -1);
    cr_assert_eq(oidc_loa_lookup(&m, NULL, &loa), -1);
}

Test(oidc, configured_loa_map_replaces_the_default)
{
    struct oidc_loa_map m;
    char why[160];
    enum identity_loa loa;
    cr_assert_eq(oidc_loa_map_parse("10=basis, 20=midden\n urn:x:a=b=hoog", &m, why, sizeof(why)),
                 0, "%s", why);
    cr_assert_eq(m.count, 3);
    cr_assert_eq(oidc_loa_lookup(&m, "20", &loa), 0);
    cr_assert_eq(loa, LOA_MIDDEN);
    cr_assert_eq(oidc_loa_lookup(&m, "urn:x:a=b", &loa), 0, "the last '=' splits");
    cr_assert_eq(loa, LOA_HOOG);
    cr_assert_eq(oidc_loa_lookup(&m, "http://eidas.europa.eu/LoA/high", &loa), -1);
    cr_assert_eq(oidc_loa_map_parse("10=laag", &m, why, sizeof(why)), -1);
    cr_assert_eq(oidc_loa_map_parse("novalue", &m, why, sizeof(why)), -1);
    cr_assert_eq(oidc_loa_map_parse("=hoog", &m, why, sizeof(why)), -1);
}

Test(oidc, role_map_and_services)
{
    struct balie_config cfg;
    config_defaults(&cfg);
    static const char text[] = "[service.paspoort]\n[service.afval]\n[service.parkeren]\n";
    cr_assert_eq(config_parse_text(&cfg, "t", text, strlen(text), NULL), 0);
    struct oidc_role_map m;
    char why[160], out[IDP_SERVICES_MAX];
    cr_assert_eq(oidc_role_map_parse("balie-burgerzaken=paspoort|afval, balie-parkeren=parkeren,"
                                     " balie-beheer=*",
                                     &cfg, &m, why, sizeof(why)),
                 0, "%s", why);
    json_t *one = json_string("balie-parkeren");
    cr_assert_eq(oidc_role_services(&m, one, out, sizeof(out)), 0);
    cr_assert_str_eq(out, "parkeren");
    json_t *groups = json_pack("[sss]", "other", "balie-burgerzaken", "balie-parkeren");
    cr_assert_eq(oidc_role_services(&m, groups, out, sizeof(out)), 0);
    cr_assert_str_eq(out, "paspoort,afval,parkeren");
    json_t *all = json_pack("[ss]", "balie-parkeren", "balie-beheer");
    cr_assert_eq(oidc_role_services(&m, all, out, sizeof(out)), 0);
    cr_assert_str_eq(out, "", "a '*' role takes every service");
    json_t *unknown = json_pack("[s]", "medewerker");
    cr_assert_eq(oidc_role_services(&m, unknown, out, sizeof(out)), -1);
    cr_assert_eq(oidc_role_services(&m, NULL, out, sizeof(out)), -1, "missing role");
    json_t *number = json_integer(3);
    cr_assert_eq(oidc_role_services(&m, number, out, sizeof(out)), -1);
    json_decref(one);
    json_decref(groups);
    json_decref(all);
    json_decref(unknown);
    json_decref(number);
    cr_assert_eq(oidc_role_map_parse("x=nosuch", &cfg, &m, why, sizeof(why)), -1);
    cr_assert(strstr(why, "nosuch"));
    cr_assert_eq(oidc_role_map_parse("", &cfg, &m, why, sizeof(why)), -1);
    cr_assert_eq(oidc_role_map_parse("x=a||b", NULL, &m, why, sizeof(why)), -1);
}

Test(oidc, authorize_url)
{
    struct oidc_authz_request r = {
        .endpoint = "https://op.example/auth",
        .client_id = "balie gemeente",
        .redirect_uri = "https://balie.example/auth/callback/digid",
        .scope = "openid profile",
        .state = "st",
        .nonce = "no",
        .code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        .acr_values = "http://eidas.europa.eu/LoA/substantial",
    };
    char url[1024];
    cr_assert_eq(oidc_authorize_url(&r, url, sizeof(url)), 0);
    cr_assert_str_eq(url, "https://op.example/auth?response_type=code&client_id=balie%20gemeente"
                          "&redirect_uri=https%3A%2F%2Fbalie.example%2Fauth%2Fcallback%2Fdigid"
                          "&scope=openid%20profile&state=st&nonce=no"
                          "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                          "&code_challenge_method=S256"
                          "&acr_values=http%3A%2F%2Feidas.europa.eu%2FLoA%2Fsubstantial");
    r.endpoint = "https://op.example/auth?tenant=x";
    r.acr_values = NULL;
    cr_assert_eq(oidc_authorize_url(&r, url, sizeof(url)), 0);
    cr_assert(strncmp(url, "https://op.example/auth?tenant=x&response_type=code&", 52) == 0, "%s",
              url);
    cr_assert_null(strstr(url, "acr_values"));
    cr_assert_eq(oidc_authorize_url(&r, url, 100), -1, "does not fit");
}

Test(oidc, token_body)
{
    char body[1024];
    cr_assert_eq(
        oidc_token_body("c/d+e", "https://b.example/cb", "ver", NULL, NULL, body, sizeof(body)), 0);
    cr_assert_str_eq(body, "grant_type=authorization_code&code=c%2Fd%2Be"
                           "&redirect_uri=https%3A%2F%2Fb.example%2Fcb&code_verifier=ver");
    cr_assert_eq(oidc_token_body("c", "r", "v", "cl", "a.b.c", body, sizeof(body)), 0);
    cr_assert_str_eq(body, "grant_type=authorization_code&code=c&redirect_uri=r&code_verifier=v"
                           "&client_id=cl&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                           "client-assertion-type%3Ajwt-bearer&client_assertion=a.b.c");
    cr_assert_eq(oidc_token_body("c", "r", "v", NULL, NULL, body, 20), -1);
}

Test(oidc, extra_round_trip)
{
    char extra[IDP_EXTRA_MAX], v[IDP_STATE_LEN + 1], n[IDP_STATE_LEN + 1];
    cr_assert_eq(oidc_extra_pack("verifier", "nonce", extra, sizeof(extra)), 0);
    cr_assert_eq(oidc_extra_unpack(extra, v, n), 0);
    cr_assert_str_eq(v, "verifier");
    cr_assert_str_eq(n, "nonce");
    cr_assert_eq(oidc_extra_unpack("", v, n), -1);
    cr_assert_eq(oidc_extra_unpack("onlyone", v, n), -1);
    cr_assert_eq(oidc_extra_unpack("a ", v, n), -1);
}

Test(oidc, callback_iss_rfc9207)
{
    cr_assert_eq(oidc_check_callback_iss("https://a.example", "https://a.example", true),
                 OIDC_ISS_OK);
    cr_assert_eq(oidc_check_callback_iss("https://b.example", "https://a.example", false),
                 OIDC_ISS_MISMATCH, "a present iss is always checked");
    cr_assert_eq(oidc_check_callback_iss("https://a.example/", "https://a.example", true),
                 OIDC_ISS_MISMATCH, "no normalisation");
    cr_assert_eq(oidc_check_callback_iss(NULL, "https://a.example", true), OIDC_ISS_MISSING);
    cr_assert_eq(oidc_check_callback_iss(NULL, "https://a.example", false), OIDC_ISS_OK);
}

Test(oidc, subject_claim)
{
    char out[IDP_SUBJECT_MAX];
    json_t *s = json_string("999991772");
    cr_assert_eq(oidc_claim_subject(s, out), 0);
    cr_assert_str_eq(out, "999991772");
    json_t *i = json_integer(123456782);
    cr_assert_eq(oidc_claim_subject(i, out), 0);
    cr_assert_str_eq(out, "123456782");
    json_t *bad = json_string("a b");
    cr_assert_eq(oidc_claim_subject(bad, out), -1);
    json_t *empty = json_string("");
    cr_assert_eq(oidc_claim_subject(empty, out), -1);
    char longer[IDP_SUBJECT_MAX + 1];
    memset(longer, 'x', IDP_SUBJECT_MAX);
    longer[IDP_SUBJECT_MAX] = '\0';
    json_t *too_long = json_string(longer);
    cr_assert_eq(oidc_claim_subject(too_long, out), -1);
    cr_assert_eq(oidc_claim_subject(NULL, out), -1);
    json_decref(s);
    json_decref(i);
    json_decref(bad);
    json_decref(empty);
    json_decref(too_long);
}

static json_t *claims(long long exp_delta, long long iat_delta)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", "https://op.example", "aud", "balie",
                     "sub", "999991772", "nonce", "n0nce", "exp", (json_int_t)(1000000 + exp_delta),
                     "iat", (json_int_t)(1000000 + iat_delta));
}

Test(oidc, id_token_claims)
{
    struct oidc_claims_expect e = {.issuer = "https://op.example",
                                   .client_id = "balie",
                                   .nonce = "n0nce",
                                   .now_s = 1000000,
                                   .skew_s = 60,
                                   .max_age_s = 600};
    json_t *p = claims(300, -5);
    cr_assert_null(oidc_check_id_claims(p, &e));
    e.nonce = "n0ncf";
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "nonce_mismatch");
    e.nonce = "n0nc";
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "nonce_mismatch", "a prefix is not the nonce");
    e.nonce = "n0nce";
    e.issuer = "https://other.example";
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "iss_mismatch");
    e.issuer = "https://op.example";
    e.client_id = "someone-else";
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "aud_mismatch");
    e.client_id = "balie";
    json_object_set_new(p, "aud", json_pack("[ss]", "balie", "api"));
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "azp_mismatch", "two audiences need azp");
    json_object_set_new(p, "azp", json_string("balie"));
    cr_assert_null(oidc_check_id_claims(p, &e));
    json_object_set_new(p, "azp", json_string("api"));
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "azp_mismatch");
    json_object_del(p, "azp");
    json_object_set_new(p, "aud", json_string("balie"));
    json_object_set_new(p, "nbf", json_integer(1000000 + 120));
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "token_not_yet_valid");
    json_object_set_new(p, "nbf", json_integer(1000000 + 30));
    cr_assert_null(oidc_check_id_claims(p, &e), "within the skew");
    json_decref(p);

    p = claims(-61, -400);
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "token_expired");
    json_decref(p);
    p = claims(-59, -400);
    cr_assert_null(oidc_check_id_claims(p, &e), "within the skew");
    json_decref(p);
    p = claims(300, 120);
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "token_not_yet_valid");
    json_decref(p);
    p = claims(300, -700);
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "token_too_old");
    json_object_del(p, "exp");
    cr_assert_str_eq(oidc_check_id_claims(p, &e), "token_expired", "exp is required");
    json_decref(p);
}

Test(oidc, display_name_claim)
{
    char out[IDP_DISPLAY_NAME_MAX];
    json_t *ok = json_string("Jan de Vries-Ĳsselmeer");
    cr_assert_eq(oidc_claim_display_name(ok, out), 0);
    cr_assert_str_eq(out, "Jan de Vries-Ĳsselmeer");
    json_t *ctl = json_string("Jan\nde Vries");
    cr_assert_eq(oidc_claim_display_name(ctl, out), -1);
    json_t *c1 = json_string("Jan\xc2\x85");
    cr_assert_eq(oidc_claim_display_name(c1, out), -1);
    json_t *num = json_integer(5);
    cr_assert_eq(oidc_claim_display_name(num, out), -1);
    json_decref(ok);
    json_decref(ctl);
    json_decref(c1);
    json_decref(num);
}

/* The provider's construction: maps and credentials are checked at start, with a reason. */
Test(oidc, provider_construction)
{
    struct balie_config cfg;
    config_defaults(&cfg);
    static const char text[] = "[service.paspoort]\n"
                               "[oidc.staff]\nissuer = \"http://127.0.0.1:9\"\nclient_id = b\n"
                               "client_auth = client_secret_basic\nclient_secret = s\n"
                               "redirect_uri = \"http://localhost:8080/auth/callback/staff\"\n"
                               "role = agent\nrole_map = \"x=paspoort\"\n";
    cr_assert_eq(config_parse_text(&cfg, "t", text, strlen(text), NULL), 0);
    cr_assert_eq(config_validate(&cfg, NULL), 0);
    static const unsigned char secret[32] = {1};
    struct httpc *hc = httpc_new(NULL, NULL);
    cr_assert_not_null(hc);
    char why[256] = "";
    struct idp *idp =
        idp_oidc_new(&cfg.oidc[0], &cfg, secret, sizeof(secret), hc, why, sizeof(why));
    cr_assert_not_null(idp, "%s", why);
    cr_assert_str_eq(idp->id, "staff");
    cr_assert_str_eq(idp->role, "agent");
    cr_assert_str_eq(idp->display_name, "staff", "the id when no display_name is set");
    cr_assert_not(idp->available(idp), "not before discovery and keys");
    idp->destroy(idp);

    struct config_oidc bad = cfg.oidc[0];
    snprintf(bad.role_map, sizeof(bad.role_map), "x=nosuch");
    cr_assert_null(idp_oidc_new(&bad, &cfg, secret, sizeof(secret), hc, why, sizeof(why)));
    cr_assert(strstr(why, "role_map") && strstr(why, "nosuch"), "%s", why);
    bad = cfg.oidc[0];
    snprintf(bad.acr_values, sizeof(bad.acr_values), "urn:unknown");
    cr_assert_null(idp_oidc_new(&bad, &cfg, secret, sizeof(secret), hc, why, sizeof(why)));
    cr_assert(strstr(why, "acr_values"), "%s", why);
    bad = cfg.oidc[0];
    snprintf(bad.client_auth, sizeof(bad.client_auth), "private_key_jwt");
    snprintf(bad.private_key_file, sizeof(bad.private_key_file), "/nonexistent/key.pem");
    cr_assert_null(idp_oidc_new(&bad, &cfg, secret, sizeof(secret), hc, why, sizeof(why)));
    cr_assert(strstr(why, "/nonexistent/key.pem"), "%s", why);
    httpc_free(hc);
}
