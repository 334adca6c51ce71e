/* Checking a Response (SAML core §3.2.2, profiles §4.1.4): what must hold before Balie believes
 * an assertion. Every refusal names a code for the logs and metrics, never the subject. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "saml_internal.h"

#define STATUS_PREFIX "urn:oasis:names:tc:SAML:2.0:status:"
#define BEARER "urn:oasis:names:tc:SAML:2.0:cm:bearer"

static int fail(struct idp_error *err, const char *code, const char *message)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", message);
    err->http_status = 400;
    return -1;
}

static int invalid(struct idp_error *err, const char *code)
{
    return fail(err, code,
                "Het antwoord van de inlogdienst klopt niet. Log opnieuw in. / "
                "The login service's answer is not valid. Please log in again.");
}

/* ---- Replay cache ---- */

struct replay_entry {
    unsigned char hash[16]; /* truncated SHA-256 of the assertion ID */
    uint64_t until_ms;
};

struct saml_replay {
    size_t capacity;
    struct replay_entry entries[];
};

struct saml_replay *saml_replay_new(size_t capacity)
{
    struct saml_replay *rc = calloc(1, sizeof(*rc) + capacity * sizeof(rc->entries[0]));
    if (rc)
        rc->capacity = capacity;
    return rc;
}

void saml_replay_free(struct saml_replay *rc)
{
    free(rc);
}

/* 0 when `id` was new and is now kept until `until_ms`; 1 when seen; -1 when the cache is
 * full of unexpired IDs (then the login is refused rather than a replay risked). */
static int replay_check_add(struct saml_replay *rc, const char *id, uint64_t until_ms,
                            uint64_t now_ms)
{
    unsigned char full[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)id, strlen(id), full);
    struct replay_entry *slot = NULL;
    for (size_t i = 0; i < rc->capacity; i++) {
        struct replay_entry *e = &rc->entries[i];
        if (e->until_ms > now_ms && memcmp(e->hash, full, sizeof(e->hash)) == 0)
            return 1;
        if (!slot && e->until_ms <= now_ms)
            slot = e;
    }
    if (!slot)
        return -1;
    memcpy(slot->hash, full, sizeof(slot->hash));
    slot->until_ms = until_ms;
    return 0;
}

/* ---- Pieces of the Response ---- */

/* Status (SAML core §3.2.2.2): Success, or a refusal the person should understand. */
static int check_status(const xmlNode *msg, struct idp_error *err)
{
    xmlNodePtr code = saml_xml_child(saml_xml_child(msg, SAML_NS_PROTOCOL, "Status"),
                                     SAML_NS_PROTOCOL, "StatusCode");
    char top[128], sub[128] = "";
    if (saml_xml_attr(code, "Value", top, sizeof(top)) != 0)
        return invalid(err, "saml_invalid");
    if (strcmp(top, STATUS_PREFIX "Success") == 0)
        return 0;
    (void)saml_xml_attr(saml_xml_child(code, SAML_NS_PROTOCOL, "StatusCode"), "Value", sub,
                        sizeof(sub));
    if (strcmp(sub, STATUS_PREFIX "AuthnFailed") == 0)
        return fail(err, "saml_cancelled",
                    "Inloggen is afgebroken of niet gelukt. U kunt het opnieuw proberen. / "
                    "Logging in was cancelled or did not succeed. You can try again.");
    if (strcmp(sub, STATUS_PREFIX "NoAuthnContext") == 0)
        return fail(err, "saml_level",
                    "Met deze inlogmethode haalt u het nodige betrouwbaarheidsniveau niet. / "
                    "This login method does not reach the assurance level needed.");
    return fail(err, "saml_status",
                "De inlogdienst heeft het inloggen geweigerd. Probeer het later opnieuw. / "
                "The login service refused the login. Please try again later.");
}

/* A time condition with the allowed clock skew: NotBefore ≤ now + skew < … and
 * now − skew < NotOnOrAfter (SAML core §2.5.1.2). Missing attributes impose nothing. */
static int check_window(const xmlNode *node, uint64_t now_ms, uint64_t skew_ms, bool need_end,
                        uint64_t *end_ms)
{
    char text[64];
    uint64_t t;
    if (saml_xml_attr(node, "NotBefore", text, sizeof(text)) == 0 &&
        (saml_time_parse(text, &t) != 0 || t > now_ms + skew_ms))
        return -1;
    if (saml_xml_attr(node, "NotOnOrAfter", text, sizeof(text)) == 0) {
        if (saml_time_parse(text, &t) != 0 || t + skew_ms <= now_ms)
            return -1;
        if (end_ms)
            *end_ms = t;
    } else if (need_end) {
        return -1;
    }
    return 0;
}

static bool issuer_is(const xmlNode *parent, const struct saml_idp_meta *idp, bool required)
{
    xmlNodePtr issuer = saml_xml_child(parent, SAML_NS_ASSERTION, "Issuer");
    char text[SAML_URL_MAX];
    if (!issuer)
        return !required;
    return saml_xml_text(issuer, text, sizeof(text)) == 0 && strcmp(text, idp->entity_id) == 0;
}

/* Bearer subject confirmation (profiles §4.1.4.2): one SubjectConfirmationData with our ACS as
 * Recipient, the request's ID as InResponseTo, and a NotOnOrAfter still in the future. */
static int check_confirmation(const struct saml_sp *sp, const xmlNode *subject,
                              const char *request_id, uint64_t now_ms, uint64_t *end_ms)
{
    uint64_t skew = (uint64_t)sp->clock_skew_s * 1000u;
    for (xmlNodePtr c = subject->children; c; c = c->next) {
        char method[64], recipient[SAML_URL_MAX], irt[SAML_ID_MAX];
        if (!saml_xml_is(c, SAML_NS_ASSERTION, "SubjectConfirmation") ||
            saml_xml_attr(c, "Method", method, sizeof(method)) != 0 || strcmp(method, BEARER) != 0)
            continue;
        xmlNodePtr data = saml_xml_child(c, SAML_NS_ASSERTION, "SubjectConfirmationData");
        if (saml_xml_attr(data, "Recipient", recipient, sizeof(recipient)) != 0 ||
            strcmp(recipient, sp->acs_url) != 0 ||
            saml_xml_attr(data, "InResponseTo", irt, sizeof(irt)) != 0 ||
            strcmp(irt, request_id) != 0 || check_window(data, now_ms, skew, true, end_ms) != 0)
            continue;
        return 0;
    }
    return -1;
}

/* Conditions (SAML core §2.5.1): the time window, and an AudienceRestriction naming us in
 * every restriction there is (§2.5.1.4: each must be met). */
static int check_conditions(const struct saml_sp *sp, const xmlNode *assertion, uint64_t now_ms,
                            uint64_t *end_ms, struct idp_error *err)
{
    xmlNodePtr cond = saml_xml_child(assertion, SAML_NS_ASSERTION, "Conditions");
    if (!cond || saml_xml_count_children(assertion, SAML_NS_ASSERTION, "Conditions") != 1)
        return invalid(err, "saml_conditions");
    if (check_window(cond, now_ms, (uint64_t)sp->clock_skew_s * 1000u, false, end_ms) != 0)
        return fail(err, "saml_expired",
                    "Het antwoord van de inlogdienst is verlopen of nog niet geldig; controleer de "
                    "klok en log opnieuw in. / The login service's answer has expired or is not "
                    "valid yet; check the clock and log in again.");
    size_t restrictions = 0;
    for (xmlNodePtr r = cond->children; r; r = r->next) {
        if (!saml_xml_is(r, SAML_NS_ASSERTION, "AudienceRestriction"))
            continue;
        restrictions++;
        bool ours = false;
        for (xmlNodePtr a = r->children; a && !ours; a = a->next) {
            char aud[SAML_URL_MAX];
            ours = saml_xml_is(a, SAML_NS_ASSERTION, "Audience") &&
                   saml_xml_text(a, aud, sizeof(aud)) == 0 && strcmp(aud, sp->entity_id) == 0;
        }
        if (!ours)
            return invalid(err, "saml_audience");
    }
    return restrictions ? 0 : invalid(err, "saml_audience");
}

/* NameID "<sector>:<BSN>" (DigiD's form, e.g. s00000000:123456782). */
static int check_subject(const struct saml_sp *sp, const xmlNode *subject, struct saml_result *out,
                         struct idp_error *err)
{
    char name_id[IDP_SUBJECT_MAX + SAML_SECTOR_MAX];
    size_t sector_len = strlen(sp->sector);
    xmlNodePtr nid = saml_xml_child(subject, SAML_NS_ASSERTION, "NameID");
    if (!nid || saml_xml_text(nid, name_id, sizeof(name_id)) != 0 ||
        strncmp(name_id, sp->sector, sector_len) != 0 || name_id[sector_len] != ':') {
        OPENSSL_cleanse(name_id, sizeof(name_id));
        return invalid(err, "saml_sector");
    }
    int rc = 0;
    if (!identity_bsn_valid(name_id + sector_len + 1))
        rc = invalid(err, "saml_bsn");
    else
        snprintf(out->subject, sizeof(out->subject), "%s", name_id + sector_len + 1);
    OPENSSL_cleanse(name_id, sizeof(name_id));
    return rc;
}

/* The AuthnStatement's class ref, mapped to a level; unknown refs are refused, never guessed. */
static int check_authn(const struct saml_sp *sp, const xmlNode *assertion, struct saml_result *out,
                       struct idp_error *err)
{
    xmlNodePtr st = saml_xml_child(assertion, SAML_NS_ASSERTION, "AuthnStatement");
    xmlNodePtr ref = saml_xml_child(saml_xml_child(st, SAML_NS_ASSERTION, "AuthnContext"),
                                    SAML_NS_ASSERTION, "AuthnContextClassRef");
    char text[SAML_CLASSREF_MAX];
    if (!st || saml_xml_count_children(assertion, SAML_NS_ASSERTION, "AuthnStatement") != 1 ||
        saml_xml_text(ref, text, sizeof(text)) != 0)
        return invalid(err, "saml_authn");
    out->loa = LOA_NONE;
    for (size_t i = 0; i < sp->loa_map_count; i++)
        if (strcmp(sp->loa_map[i].class_ref, text) == 0)
            out->loa = sp->loa_map[i].loa;
    if (out->loa == LOA_NONE)
        return invalid(err, "saml_classref");
    char end[64];
    uint64_t t = 0;
    out->session_end_ms = 0;
    if (saml_xml_attr(st, "SessionNotOnOrAfter", end, sizeof(end)) == 0) {
        if (saml_time_parse(end, &t) != 0)
            return invalid(err, "saml_authn");
        out->session_end_ms = t;
    }
    return 0;
}

/* The one Assertion: signed by the IdP itself (we ask WantAssertionsSigned), ours, in time. */
static int check_assertion(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                           struct saml_replay *replay, xmlNodePtr assertion, const char *request_id,
                           uint64_t now_ms, struct saml_result *out, struct idp_error *err)
{
    char why[128], version[8];
    if (saml_xml_attr(assertion, "Version", version, sizeof(version)) != 0 ||
        strcmp(version, "2.0") != 0 ||
        saml_xml_attr(assertion, "ID", out->assertion_id, sizeof(out->assertion_id)) != 0 ||
        !issuer_is(assertion, idp, true))
        return invalid(err, "saml_invalid");
    if (saml_xml_verify(assertion, idp->keys, idp->key_count, why, sizeof(why)) != 0)
        return invalid(err, "saml_signature");
    xmlNodePtr subject = saml_xml_child(assertion, SAML_NS_ASSERTION, "Subject");
    uint64_t conf_end = 0, cond_end = 0;
    if (!subject || saml_xml_count_children(assertion, SAML_NS_ASSERTION, "Subject") != 1 ||
        check_confirmation(sp, subject, request_id, now_ms, &conf_end) != 0)
        return invalid(err, "saml_confirmation");
    if (check_conditions(sp, assertion, now_ms, &cond_end, err) != 0 ||
        check_subject(sp, subject, out, err) != 0 || check_authn(sp, assertion, out, err) != 0)
        return -1;
    uint64_t until = conf_end > cond_end ? conf_end : cond_end;
    int seen = replay_check_add(replay, out->assertion_id,
                                until + (uint64_t)sp->clock_skew_s * 1000u, now_ms);
    if (seen == 1)
        return fail(err, "saml_replay",
                    "Dit inlogantwoord is al gebruikt. Log opnieuw in. / "
                    "This login answer was already used. Please log in again.");
    if (seen < 0) {
        fail(err, "busy",
             "Het is te druk om in te loggen; probeer het over een minuut. / "
             "Too many logins at once; try again in a minute.");
        err->http_status = 503;
        return -1;
    }
    return 0;
}

/* The Response element itself (SAML core §3.2.2, bindings §3.5.5.2). */
static int check_response(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                          struct saml_replay *replay, xmlNodePtr resp, const char *request_id,
                          uint64_t now_ms, struct saml_result *out, struct idp_error *err)
{
    char v[SAML_URL_MAX], why[128];
    if (!saml_xml_is(resp, SAML_NS_PROTOCOL, "Response") ||
        saml_xml_attr(resp, "Version", v, sizeof(v)) != 0 || strcmp(v, "2.0") != 0 ||
        !issuer_is(resp, idp, false))
        return invalid(err, "saml_invalid");
    if (saml_xml_attr(resp, "Destination", v, sizeof(v)) == 0 && strcmp(v, sp->acs_url) != 0)
        return invalid(err, "saml_destination");
    if (saml_xml_attr(resp, "InResponseTo", v, sizeof(v)) == 0 && strcmp(v, request_id) != 0)
        return invalid(err, "saml_in_response_to");
    /* A Response may be signed as well; if it is, that signature must hold too. */
    if (saml_xml_child(resp, SAML_NS_DSIG, "Signature") &&
        saml_xml_verify(resp, idp->keys, idp->key_count, why, sizeof(why)) != 0)
        return invalid(err, "saml_signature");
    if (check_status(resp, err) != 0)
        return -1;
    /* Exactly one Assertion in the whole document, as a child of this Response, and nothing
     * encrypted: any second copy (wrapped in Extensions, a ds:Object or beside the first) is
     * how signature wrapping smuggles in what was not signed. */
    xmlNodePtr root = xmlDocGetRootElement(resp->doc);
    if (saml_xml_count_all(root, SAML_NS_ASSERTION, "EncryptedAssertion") != 0 ||
        saml_xml_count_all(root, SAML_NS_ASSERTION, "Assertion") != 1 ||
        saml_xml_count_children(resp, SAML_NS_ASSERTION, "Assertion") != 1)
        return invalid(err, "saml_structure");
    return check_assertion(sp, idp, replay, saml_xml_child(resp, SAML_NS_ASSERTION, "Assertion"),
                           request_id, now_ms, out, err);
}

/* SOAP Envelope/Body/ArtifactResponse (bindings §3.6.3): answers our ArtifactResolve, is
 * Success, and is signed by the IdP; inside is the Response. */
static xmlNodePtr unwrap_artifact(const struct saml_idp_meta *idp, xmlDocPtr doc,
                                  const char *resolve_id, struct idp_error *err)
{
    xmlNodePtr env = xmlDocGetRootElement(doc);
    xmlNodePtr body = saml_xml_child(env, SAML_NS_SOAP, "Body");
    xmlNodePtr ar = saml_xml_child(body, SAML_NS_PROTOCOL, "ArtifactResponse");
    char v[SAML_ID_MAX], why[128];
    if (!saml_xml_is(env, SAML_NS_SOAP, "Envelope") || !ar ||
        saml_xml_count_all(env, SAML_NS_PROTOCOL, "ArtifactResponse") != 1 ||
        !issuer_is(ar, idp, false)) {
        invalid(err, "saml_invalid");
        return NULL;
    }
    if (!resolve_id || saml_xml_attr(ar, "InResponseTo", v, sizeof(v)) != 0 ||
        strcmp(v, resolve_id) != 0) {
        invalid(err, "saml_in_response_to");
        return NULL;
    }
    /* Signed by the IdP (DigiD signs it): the TLS channel alone does not say the answer is
     * the IdP's own, e.g. behind a TLS-terminating proxy. */
    if (saml_xml_verify(ar, idp->keys, idp->key_count, why, sizeof(why)) != 0) {
        invalid(err, "saml_signature");
        return NULL;
    }
    if (check_status(ar, err) != 0)
        return NULL;
    xmlNodePtr resp = saml_xml_child(ar, SAML_NS_PROTOCOL, "Response");
    if (!resp || saml_xml_count_all(env, SAML_NS_PROTOCOL, "Response") != 1) {
        invalid(err, "saml_structure");
        return NULL;
    }
    return resp;
}

int saml_response_check(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                        struct saml_replay *replay, const uint8_t *xml, size_t len,
                        const char *request_id, const char *resolve_id, uint64_t now_ms,
                        struct saml_result *out, struct idp_error *err)
{
    char why[128];
    memset(out, 0, sizeof(*out));
    xmlDocPtr doc = saml_xml_parse(xml, len, SAML_XML_MAX, why, sizeof(why));
    if (!doc)
        return invalid(err, "saml_xml");
    int rc = -1;
    if (saml_xml_register_ids(doc) != 0) {
        invalid(err, "saml_structure");
    } else {
        xmlNodePtr resp =
            resolve_id ? unwrap_artifact(idp, doc, resolve_id, err) : xmlDocGetRootElement(doc);
        if (resp)
            rc = check_response(sp, idp, replay, resp, request_id ? request_id : "", now_ms, out,
                                err);
    }
    xmlFreeDoc(doc);
    if (rc != 0)
        OPENSSL_cleanse(out, sizeof(*out));
    return rc;
}

int saml_artifact_parse(const char *artifact, const struct saml_idp_meta *idp, unsigned *index)
{
    uint8_t raw[64];
    size_t len = artifact ? strlen(artifact) : 0;
    if (len == 0 || len > SAML_ARTIFACT_MAX ||
        saml_base64_decode(artifact, len, raw, sizeof(raw)) != 44)
        return -1;
    /* Bindings §3.6.4: TypeCode 0x0004, EndpointIndex, SourceID = SHA-1(entityID), handle. */
    unsigned char source[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)idp->entity_id, strlen(idp->entity_id), source);
    if (raw[0] != 0 || raw[1] != 4 || memcmp(raw + 4, source, sizeof(source)) != 0)
        return -1;
    *index = (unsigned)raw[2] << 8 | raw[3];
    return 0;
}
