/* The HTTP-Artifact binding of the saml provider (bindings §3.6): the browser brings only an
 * artifact; the Response is fetched from the IdP's ArtifactResolutionService with a signed
 * ArtifactResolve over SOAP (bindings §3.2), through the shared non-blocking HTTP client, with
 * the TLS client certificate DigiD asks for. The ArtifactResponse's signature, InResponseTo and
 * the Response in it are checked as in the POST binding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "balie/httpc.h"
#include "idp_saml_internal.h"

#define SOAP_TIMEOUT_MS 10000u

/* One resolution in flight. */
struct saml_artifact_state {
    struct idp_saml *s;
    long http_id;
    idp_done_fn done;
    void *arg;
    char request_id[SAML_ID_MAX]; /* the AuthnRequest's, from the pending login */
    char resolve_id[SAML_ID_MAX]; /* the ArtifactResolve's */
    uint64_t now_ms;
    struct saml_artifact_state *next;
};

static void set_error(struct idp_error *err, const char *code, const char *message, unsigned status)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", message);
    err->http_status = status;
}

static void unlink_state(struct idp_saml *s, struct saml_artifact_state *st)
{
    for (struct saml_artifact_state **p = &s->artifact; *p; p = &(*p)->next) {
        if (*p == st) {
            *p = st->next;
            return;
        }
    }
}

static void on_response(void *arg, const struct httpc_response *resp)
{
    struct saml_artifact_state *st = arg;
    struct idp_saml *s = st->s;
    unlink_state(s, st);
    struct identity_verified id;
    struct idp_error err = {.http_status = 400};
    memset(&id, 0, sizeof(id));
    int rc = -1;
    if (resp->status != 200 || !resp->body) {
        /* The transport failure is the operator's business; the person gets a plain message. */
        set_error(&err, "saml_artifact_unreachable",
                  "De inlogdienst gaf geen antwoord. Probeer het over een minuut opnieuw. / "
                  "The login service did not answer. Please try again in a minute.",
                  502);
    } else {
        rc = idp_saml_check_xml(s, (const uint8_t *)resp->body, resp->body_len, st->request_id,
                                st->resolve_id, st->now_ms, &id, &err);
    }
    st->done(st->arg, rc, &id, &err);
    identity_verified_clear(&id);
    OPENSSL_cleanse(st, sizeof(*st));
    free(st);
}

int idp_saml_finish_async(struct idp *idp, const struct idp_params *params,
                          const struct login_pending *login, uint64_t now_ms, idp_done_fn done,
                          void *arg, struct idp_error *err)
{
    struct idp_saml *s = (struct idp_saml *)idp;
    const char *artifact = idp_params_get(params, "SAMLart");
    unsigned index;
    if (!artifact || !s->hc || saml_artifact_parse(artifact, s->meta, &index) != 0 ||
        !saml_idp_meta_artifact_url(s->meta, index)) {
        set_error(err, artifact ? "saml_artifact" : "saml_missing",
                  "Er kwam geen geldig antwoord van de inlogdienst mee. Log opnieuw in. / "
                  "No valid answer from the login service came with this request. Please log "
                  "in again.",
                  400);
        return -1;
    }
    struct saml_artifact_state *st = calloc(1, sizeof(*st));
    size_t len = 0;
    char *soap = st ? saml_artifact_resolve(&s->sp, s->meta, s->key, artifact, idp_saml_wall_ms(),
                                            &len, st->resolve_id)
                    : NULL;
    long id = -1;
    if (soap) {
        const struct config_saml *c = &s->cfg;
        struct httpc_request req = {
            .method = "POST",
            .url = saml_idp_meta_artifact_url(s->meta, index),
            .headers = {"Content-Type: text/xml; charset=utf-8",
                        "SOAPAction: \"http://www.oasis-open.org/committees/security\"", NULL},
            .body = soap,
            .body_len = len,
            .client_cert_pem = c->tls_client_cert[0] ? c->tls_client_cert : c->sp_cert_file,
            .client_key_pem = c->tls_client_key[0] ? c->tls_client_key : c->sp_key_file,
            .ca_file = c->tls_ca_file[0] ? c->tls_ca_file : NULL,
            .timeout_ms = SOAP_TIMEOUT_MS,
        };
        st->s = s;
        st->done = done;
        st->arg = arg;
        st->now_ms = now_ms;
        snprintf(st->request_id, sizeof(st->request_id), "%.*s", SAML_ID_MAX - 1, login->extra);
        id = httpc_submit(s->hc, &req, on_response, st);
    }
    free(soap);
    if (id < 0) {
        free(st);
        set_error(err, "busy",
                  "Het is te druk om in te loggen; probeer het over een minuut. / "
                  "Too many logins at once; try again in a minute.",
                  503);
        return -1;
    }
    st->http_id = id;
    st->next = s->artifact;
    s->artifact = st;
    return 0;
}

void idp_saml_cancel(struct idp *idp, void *arg)
{
    struct idp_saml *s = (struct idp_saml *)idp;
    struct saml_artifact_state **p = &s->artifact;
    while (*p) {
        struct saml_artifact_state *st = *p;
        if (st->arg != arg) {
            p = &st->next;
            continue;
        }
        *p = st->next;
        httpc_cancel(s->hc, st->http_id);
        free(st);
    }
}

void idp_saml_artifact_free(struct idp_saml *s)
{
    while (s->artifact) {
        struct saml_artifact_state *st = s->artifact;
        s->artifact = st->next;
        httpc_cancel(s->hc, st->http_id);
        free(st);
    }
}
