/* SAML 2.0 service provider (DigiD-like): the parts that need no network.
 *
 * The identity provider's metadata is read from a file; a login sends a signed AuthnRequest
 * (HTTP-Redirect binding, RSA-SHA256 over the query), and the answer comes back as a Response
 * through the HTTP-POST binding, or as an artifact that is exchanged for the Response over SOAP
 * (HTTP-Artifact binding). Everything the Response says is checked here before a subject
 * leaves this module: the signature against the metadata's keys only, the structure against
 * signature wrapping, audience, recipient, times, InResponseTo, replays, sector and level.
 * XML is parsed with libxml2 (no network, no DTD, no entities, size-limited) and signatures are
 * checked with xmlsec1 (docs/identity.md says why).
 *
 * Control thread only, except saml_library_init(), which is safe to call from anywhere. */
#ifndef BALIE_SAML_H
#define BALIE_SAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/idp.h"

#define SAML_XML_MAX (96u * 1024u)            /* a decoded Response or ArtifactResponse */
#define SAML_B64_MAX (SAML_XML_MAX / 3u * 4u) /* its base64 form in a form post */
#define SAML_METADATA_MAX (512u * 1024u)      /* an IdP metadata file */
#define SAML_URL_MAX 512
#define SAML_ID_MAX 80
#define SAML_SECTOR_MAX 16
#define SAML_CLASSREF_MAX 128
#define SAML_LOA_MAP_MAX 8
#define SAML_IDP_KEYS_MAX 4
#define SAML_ARTIFACT_MAX 128 /* base64 of the 44-byte type 0x0004 artifact, with room */

#define SAML_NS_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_NS_ASSERTION "urn:oasis:names:tc:SAML:2.0:assertion"
#define SAML_NS_METADATA "urn:oasis:names:tc:SAML:2.0:metadata"
#define SAML_NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define SAML_NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define SAML_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define SAML_BINDING_ARTIFACT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
#define SAML_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define SAML_BINDING_SOAP "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
#define SAML_AC_PREFIX "urn:oasis:names:tc:SAML:2.0:ac:classes:"

/* Initialises libxml2 and xmlsec1 (OpenSSL) once. Returns 0, or -1 when xmlsec cannot start. */
int saml_library_init(void);

/* ---- The service provider's own settings ---- */

struct saml_loa_entry {
    char class_ref[SAML_CLASSREF_MAX]; /* full URN */
    enum identity_loa loa;
};

struct saml_sp {
    char entity_id[SAML_URL_MAX];
    char acs_url[SAML_URL_MAX];   /* /auth/callback/<id> under the public URL */
    char sector[SAML_SECTOR_MAX]; /* NameID prefix: "s00000000" is the BSN sector */
    struct saml_loa_entry loa_map[SAML_LOA_MAP_MAX];
    size_t loa_map_count;
    unsigned clock_skew_s;
    bool force_authn;
    bool artifact; /* ask for the HTTP-Artifact binding (else HTTP-POST) */
};

/* Parses "ClassRef=level,…" into `sp->loa_map`. A class ref without "urn:" is taken under
 * SAML_AC_PREFIX. Returns 0, or -1 with `why` (unknown level, too many, too long, a level
 * named twice, nothing at all). */
int saml_loa_map_parse(struct saml_sp *sp, const char *text, char *why, size_t why_len);

/* The class ref to ask for at `loa` or above: the map's entry for the lowest level ≥ `loa`.
 * NULL when the map has none. */
const char *saml_loa_class_ref(const struct saml_sp *sp, enum identity_loa loa);

/* ---- The identity provider, from its metadata ---- */

struct saml_idp_meta; /* entity id, endpoints and signing keys; opaque */

/* Reads an EntityDescriptor with an IDPSSODescriptor (SAML metadata §2.4.3): entityID, the
 * HTTP-Redirect SingleSignOnService, the SOAP ArtifactResolutionService (if any) and every
 * signing certificate (KeyDescriptor use="signing" or without use). Returns NULL with `why`. */
struct saml_idp_meta *saml_idp_meta_parse(const uint8_t *buf, size_t len, char *why,
                                          size_t why_len);
void saml_idp_meta_free(struct saml_idp_meta *meta);
const char *saml_idp_meta_entity_id(const struct saml_idp_meta *meta);
const char *saml_idp_meta_sso_url(const struct saml_idp_meta *meta);
/* The SOAP ArtifactResolutionService with this index, or NULL. */
const char *saml_idp_meta_artifact_url(const struct saml_idp_meta *meta, unsigned index);
size_t saml_idp_meta_key_count(const struct saml_idp_meta *meta);

/* ---- The service provider's key ---- */

struct saml_sp_key; /* the private key and its certificate; opaque */

/* Loads PEM files. Returns NULL with `why`. */
struct saml_sp_key *saml_sp_key_load(const char *key_file, const char *cert_file, char *why,
                                     size_t why_len);
void saml_sp_key_free(struct saml_sp_key *key);

/* ---- Messages the SP sends ---- */

/* Builds the login URL: the IdP's SSO URL with SAMLRequest (a deflated AuthnRequest asking for
 * `loa` or above, Comparison="minimum"), RelayState = `relay_state`, SigAlg (RSA-SHA256) and
 * Signature (SAML bindings §3.4.4.1). The request's ID goes to `request_id`. Returns 0, or -1
 * when something failed or the URL does not fit. */
int saml_authn_request_url(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                           const struct saml_sp_key *key, enum identity_loa loa,
                           const char *relay_state, uint64_t now_ms, char *url, size_t url_len,
                           char request_id[SAML_ID_MAX]);

/* The SP's metadata (an EntityDescriptor with SPSSODescriptor, AuthnRequestsSigned and
 * WantAssertionsSigned true, the signing certificate, and the ACS for HTTP-POST (index 0) and
 * HTTP-Artifact (index 1)). Returns a malloc'd NUL-terminated document, or NULL. */
char *saml_sp_metadata(const struct saml_sp *sp, const struct saml_sp_key *key, size_t *len_out);

/* A SOAP envelope with an ArtifactResolve for `artifact`, signed (enveloped, RSA-SHA256,
 * exc-c14n). The request's ID goes to `request_id`. Returns a malloc'd document, or NULL. */
char *saml_artifact_resolve(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                            const struct saml_sp_key *key, const char *artifact, uint64_t now_ms,
                            size_t *len_out, char request_id[SAML_ID_MAX]);

/* Decodes a type 0x0004 artifact (SAML bindings §3.6.4): checks its SourceID is the SHA-1 of
 * the IdP's entity ID and gives its endpoint index. Returns 0, or -1. */
int saml_artifact_parse(const char *artifact, const struct saml_idp_meta *idp, unsigned *index);

/* ---- Checking what comes back ---- */

/* Assertion IDs already used, each kept until its NotOnOrAfter, so that a captured Response
 * cannot log in twice. */
struct saml_replay;
struct saml_replay *saml_replay_new(size_t capacity);
void saml_replay_free(struct saml_replay *rc);

/* What a checked assertion says. `subject` is the BSN: it never leaves identity/. */
struct saml_result {
    char subject[IDP_SUBJECT_MAX];
    enum identity_loa loa;
    uint64_t session_end_ms; /* SessionNotOnOrAfter; 0 when the IdP set none */
    char assertion_id[SAML_ID_MAX];
};

/* Checks a Response (the XML itself, after base64) that answers request `request_id`.
 * `artifact` says it came from an ArtifactResponse (then `xml` is the SOAP envelope, whose
 * ArtifactResponse must answer `resolve_id`). Returns 0 and fills `out`, or -1 and fills `err`
 * with a code for the logs and a Dutch/English message. */
int saml_response_check(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                        struct saml_replay *replay, const uint8_t *xml, size_t len,
                        const char *request_id, const char *resolve_id, uint64_t now_ms,
                        struct saml_result *out, struct idp_error *err);

/* Base64 (RFC 4648 §4; whitespace skipped, as IdPs wrap lines). Returns the decoded length, or
 * -1 for bad input or when it does not fit `out_len`. */
long saml_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len);

#endif
