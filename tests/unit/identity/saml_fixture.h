/* Test fixture for the SAML tests: an IdP key and certificate made at run time with OpenSSL,
 * its metadata, and Responses signed with xmlsec the way an IdP signs them. */
#ifndef BALIE_TEST_SAML_FIXTURE_H
#define BALIE_TEST_SAML_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/saml.h"

#define FX_NOW_MS 1795000000000ull /* 2026-11-18T…Z */
#define FX_SP "https://balie.example.nl/saml"
#define FX_ACS "https://balie.example.nl/auth/callback/digid"
#define FX_IDP "https://idp.example.nl/saml/idp"
#define FX_REQ "_4a1f0e2b9c3d4e5f60718293a4b5c6d7e8f90123"
#define FX_BSN "123456782"

struct fx_keypair {
    char key_file[64], cert_file[64];
    char cert_b64[4096];
    struct saml_sp_key *key; /* for signing with xmlsec */
};

/* Makes an RSA-2048 key and a self-signed certificate in temporary files. */
void fx_keypair_make(struct fx_keypair *kp, const char *cn);
void fx_keypair_free(struct fx_keypair *kp);

/* IdP metadata naming `kp`'s certificate (and an artifact service at index 1). */
char *fx_idp_metadata(const struct fx_keypair *kp, size_t *len);

/* The SP settings the Responses below are made for. */
void fx_sp(struct saml_sp *sp);

struct fx_resp {
    const char *audience, *recipient, *destination, *in_response_to, *name_id, *class_ref;
    const char *status;                   /* second-level status code, NULL for Success */
    long not_before_s, not_on_or_after_s; /* relative to FX_NOW_MS */
    bool sign_assertion, sign_response;
    const char *assertion_id;
};

/* Defaults: everything right, the assertion signed. */
struct fx_resp fx_resp_default(void);

/* The Response as a parsed document (IDs registered), signed as asked with `signer`. */
struct _xmlDoc *fx_response_doc(const struct fx_resp *o, const struct fx_keypair *signer);
/* Serialises a document into a malloc'd buffer. */
char *fx_dump(struct _xmlDoc *doc, size_t *len);

#endif
