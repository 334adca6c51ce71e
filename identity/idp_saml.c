/* The `saml` identity provider (DigiD-like) behind struct idp: `start` sends the browser to
 * the IdP with a signed AuthnRequest; `finish` checks a Response from the HTTP-POST binding.
 * The HTTP-Artifact binding needs a SOAP call first: finish_async in idp_saml_artifact.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "balie/log.h"
#include "idp_saml_internal.h"

static void set_error(struct idp_error *err, const char *code, const char *message, unsigned status)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", message);
    err->http_status = status;
}

/* SAML's times (IssueInstant, NotBefore, NotOnOrAfter) are wall-clock UTC, while the gateway's
 * `now_ms` is monotonic (for time-outs), so the checks read the real-time clock here. */
uint64_t idp_saml_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int saml_start(struct idp *idp, const char *state, struct login_pending *login, char *url,
                      size_t url_len)
{
    struct idp_saml *s = (struct idp_saml *)idp;
    char id[SAML_ID_MAX];
    if (saml_authn_request_url(&s->sp, s->meta, s->key, s->request_loa, state, idp_saml_wall_ms(),
                               url, url_len, id) != 0)
        return -1;
    /* The request's ID is checked against InResponseTo when the answer comes (profiles
     * §4.1.4.3): only the answer to this browser's own request is taken. */
    snprintf(login->extra, sizeof(login->extra), "%s", id);
    return 0;
}

int idp_saml_identity(struct idp_saml *s, struct saml_result *res, uint64_t now_ms,
                      uint64_t wall_ms, struct identity_verified *out, struct idp_error *err)
{
    memset(out, 0, sizeof(*out));
    /* The bare BSN, as the dev provider does: one citizen, one pseudonym, whichever IdP. */
    if (identity_pseudonym(s->secret, s->secret_len, res->subject, out->pseudonym) != 0) {
        OPENSSL_cleanse(res, sizeof(*res));
        set_error(err, "no_secret", "Inloggen kan nu niet. / Logging in is not possible now.", 503);
        return -1;
    }
    snprintf(out->subject, sizeof(out->subject), "%s", res->subject);
    out->loa = res->loa;
    out->role = IDENTITY_ROLE_CITIZEN;
    snprintf(out->provider, sizeof(out->provider), "%s", s->base.id);
    /* SessionNotOnOrAfter, moved from the wall clock onto the gateway's monotonic one. */
    if (res->session_end_ms)
        out->expires_ms =
            res->session_end_ms > wall_ms ? now_ms + (res->session_end_ms - wall_ms) : now_ms;
    OPENSSL_cleanse(res, sizeof(*res));
    return 0;
}

int idp_saml_check_xml(struct idp_saml *s, const uint8_t *xml, size_t len, const char *request_id,
                       const char *resolve_id, uint64_t now_ms, struct identity_verified *out,
                       struct idp_error *err)
{
    struct saml_result res;
    uint64_t wall = idp_saml_wall_ms();
    if (saml_response_check(&s->sp, s->meta, s->replay, xml, len, request_id, resolve_id, wall,
                            &res, err) != 0)
        return -1;
    return idp_saml_identity(s, &res, now_ms, wall, out, err);
}

static int saml_finish(struct idp *idp, const struct idp_params *params,
                       const struct login_pending *login, uint64_t now_ms,
                       struct identity_verified *out, struct idp_error *err)
{
    struct idp_saml *s = (struct idp_saml *)idp;
    const char *b64 = idp_params_get(params, "SAMLResponse");
    if (!b64) {
        set_error(err, idp_params_get(params, "SAMLart") ? "saml_artifact" : "saml_missing",
                  "Er kwam geen antwoord van de inlogdienst mee. Log opnieuw in. / "
                  "No answer from the login service came with this request. Please log in again.",
                  400);
        return -1;
    }
    size_t b64_len = strlen(b64);
    uint8_t *xml = b64_len <= SAML_B64_MAX ? malloc(b64_len / 4 * 3 + 3) : NULL;
    long n = xml ? saml_base64_decode(b64, b64_len, xml, b64_len / 4 * 3 + 3) : -1;
    int rc;
    if (n <= 0) {
        set_error(err, "saml_invalid",
                  "Het antwoord van de inlogdienst is onleesbaar of te groot. / "
                  "The login service's answer is unreadable or too large.",
                  400);
        rc = -1;
    } else {
        rc = idp_saml_check_xml(s, xml, (size_t)n, login->extra, NULL, now_ms, out, err);
        OPENSSL_cleanse(xml, (size_t)n); /* it held the BSN */
    }
    free(xml);
    return rc;
}

static void saml_destroy(struct idp *idp)
{
    struct idp_saml *s = (struct idp_saml *)idp;
    if (!s)
        return;
    idp_saml_artifact_free(s);
    saml_idp_meta_free(s->meta);
    saml_sp_key_free(s->key);
    saml_replay_free(s->replay);
    free(s);
}

static struct saml_idp_meta *load_metadata(const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "cannot open %.160s", path);
        return NULL;
    }
    uint8_t *buf = malloc(SAML_METADATA_MAX + 1);
    size_t n = buf ? fread(buf, 1, SAML_METADATA_MAX + 1, f) : 0;
    fclose(f);
    struct saml_idp_meta *meta = NULL;
    if (n > SAML_METADATA_MAX)
        snprintf(why, why_len, "%.160s is larger than %u bytes", path, SAML_METADATA_MAX);
    else if (buf)
        meta = saml_idp_meta_parse(buf, n, why, why_len);
    free(buf);
    return meta;
}

static int fill_sp(struct idp_saml *s, const struct config_saml *cfg, char *why, size_t why_len)
{
    struct saml_sp *sp = &s->sp;
    snprintf(sp->entity_id, sizeof(sp->entity_id), "%s", cfg->sp_entity_id);
    snprintf(sp->acs_url, sizeof(sp->acs_url), "%s", cfg->acs_url);
    snprintf(sp->sector, sizeof(sp->sector), "%s", cfg->sector);
    sp->clock_skew_s = (unsigned)cfg->clock_skew_s;
    sp->force_authn = cfg->force_authn;
    sp->artifact = strcmp(cfg->binding, "artifact") == 0;
    char map_why[160];
    if (saml_loa_map_parse(sp, cfg->loa_map, map_why, sizeof(map_why)) != 0) {
        snprintf(why, why_len, "loa_map: %s", map_why);
        return -1;
    }
    if (!saml_loa_class_ref(sp, s->request_loa)) {
        snprintf(why, why_len, "loa_map has no class ref for level %s or above",
                 identity_loa_name(s->request_loa));
        return -1;
    }
    return 0;
}

struct idp *idp_saml_new(const struct config_saml *cfg, enum identity_loa request_loa,
                         const unsigned char *secret, size_t secret_len, struct httpc *hc,
                         char *why, size_t why_len)
{
    if (saml_library_init() != 0) {
        snprintf(why, why_len, "xmlsec1 did not start");
        return NULL;
    }
    struct idp_saml *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    snprintf(s->id, sizeof(s->id), "%s", cfg->id);
    snprintf(s->display_name, sizeof(s->display_name), "%s", cfg->display_name);
    s->base.id = s->id;
    s->base.display_name = s->display_name;
    s->base.start = saml_start;
    s->base.finish = saml_finish;
    s->base.destroy = saml_destroy;
    s->base.role = "citizen";
    s->base.finish_async = idp_saml_finish_async; /* HTTP-Artifact; POST uses finish */
    s->base.cancel = idp_saml_cancel;
    s->hc = hc;
    s->secret = secret;
    s->secret_len = secret_len;
    s->request_loa = request_loa;
    s->cfg = *cfg;
    char inner[256];
    if (fill_sp(s, cfg, why, why_len) != 0)
        goto fail;
    s->meta = load_metadata(cfg->idp_metadata_file, inner, sizeof(inner));
    if (!s->meta) {
        snprintf(why, why_len, "idp_metadata_file: %s", inner);
        goto fail;
    }
    s->key = saml_sp_key_load(cfg->sp_key_file, cfg->sp_cert_file, inner, sizeof(inner));
    if (!s->key) {
        snprintf(why, why_len, "sp_key_file/sp_cert_file: %s", inner);
        goto fail;
    }
    s->replay = saml_replay_new(IDP_SAML_REPLAY_MAX);
    if (!s->replay) {
        snprintf(why, why_len, "out of memory");
        goto fail;
    }
    if (s->sp.artifact && !hc) {
        snprintf(why, why_len, "binding = artifact needs the HTTP client");
        goto fail;
    }
    if (s->sp.artifact && !saml_idp_meta_artifact_url(s->meta, 0) &&
        !saml_idp_meta_artifact_url(s->meta, 1))
        log_warn("identity",
                 "saml.%s: binding = artifact, but the IdP's metadata names no SOAP "
                 "ArtifactResolutionService",
                 s->id);
    return &s->base;
fail:
    saml_destroy(&s->base);
    return NULL;
}

char *idp_saml_metadata(struct idp *idp, size_t *len)
{
    struct idp_saml *s = (struct idp_saml *)idp;
    return saml_sp_metadata(&s->sp, s->key, len);
}

bool idp_is_saml(const struct idp *idp)
{
    return idp && idp->finish == saml_finish;
}
