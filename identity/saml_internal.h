/* Shared by identity/saml_*.c: XML helpers and the signature core. Not a public API. */
#ifndef BALIE_IDENTITY_SAML_INTERNAL_H
#define BALIE_IDENTITY_SAML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <xmlsec/keys.h>

#include "balie/saml.h"

struct saml_idp_meta {
    char entity_id[SAML_URL_MAX];
    char sso_url[SAML_URL_MAX];
    struct {
        char url[SAML_URL_MAX];
        unsigned index;
    } ars[4];
    size_t ars_count;
    xmlSecKeyPtr keys[SAML_IDP_KEYS_MAX];
    size_t key_count;
};

struct saml_sp_key {
    xmlSecKeyPtr key;         /* private key with its certificate, for xmlsec */
    struct evp_pkey_st *pkey; /* the same key, for the redirect binding's signature */
    char cert_b64[8192];      /* DER certificate in base64, for metadata */
};

/* Parses untrusted XML: at most SAML_XML_MAX (or `max`) bytes, no network, no DTD (a DOCTYPE is
 * refused outright, so no entity can be declared), no entity substitution. NULL with `why`. */
xmlDocPtr saml_xml_parse(const uint8_t *buf, size_t len, size_t max, char *why, size_t why_len);

/* Registers the ID attribute of every SAML protocol/assertion element as an XML ID, so that a
 * signature's "#id" reference can find only those. -1 when an ID is empty or used twice (two
 * elements with one ID is how a wrapped copy would be found instead of the signed one). */
int saml_xml_register_ids(xmlDocPtr doc);

bool saml_xml_is(const xmlNode *node, const char *ns, const char *name);
/* The first element child of `parent` with this namespace and name, or NULL. */
xmlNodePtr saml_xml_child(const xmlNode *parent, const char *ns, const char *name);
size_t saml_xml_count_children(const xmlNode *parent, const char *ns, const char *name);
/* How many elements with this name exist anywhere under `root` (itself included). */
size_t saml_xml_count_all(const xmlNode *root, const char *ns, const char *name);
/* The element's text with surrounding whitespace trimmed, copied into `out`. -1 when it does
 * not fit or has child elements. */
int saml_xml_text(const xmlNode *node, char *out, size_t out_len);
/* An attribute (no namespace) copied into `out`; -1 when missing or too long. */
int saml_xml_attr(const xmlNode *node, const char *name, char *out, size_t out_len);

/* Verifies the ds:Signature that is an immediate child of `elem`, with one of `keys` only
 * (KeyInfo is ignored). The signature must have exactly one Reference whose URI is "#" + the
 * element's own ID, transforms only enveloped-signature and exc-c14n, exc-c14n for SignedInfo,
 * RSA-SHA256/384/512 and SHA-256/384/512. Returns 0 when it verifies, -1 with `why`. */
int saml_xml_verify(xmlNodePtr elem, xmlSecKeyPtr const *keys, size_t key_count, char *why,
                    size_t why_len);

/* Signs `elem` (which has an ID registered) with an enveloped signature inserted after
 * `after` (its Issuer), or as its first child when `after` is NULL. Returns 0 or -1. */
int saml_xml_sign(xmlNodePtr elem, xmlNodePtr after, xmlSecKeyPtr key);

/* A fresh message ID: "_" and 40 hex characters of randomness. Returns 0 or -1. */
int saml_new_id(char out[SAML_ID_MAX]);
/* xs:dateTime in UTC ("2026-01-02T03:04:05Z"), as SAML core §1.3.3 requires. */
void saml_time_format(uint64_t ms, char out[32]);
/* Parses a UTC xs:dateTime with optional fraction; -1 for anything else (an offset too). */
int saml_time_parse(const char *text, uint64_t *ms);

#endif
