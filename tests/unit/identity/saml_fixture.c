#include "saml_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "saml_internal.h"

void fx_keypair_make(struct fx_keypair *kp, const char *cn)
{
    cr_assert_eq(saml_library_init(), 0);
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    cr_assert(pkey && x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, pkey);
    cr_assert(X509_sign(x, pkey, EVP_sha256()) > 0);
    snprintf(kp->key_file, sizeof(kp->key_file), "/tmp/balie-saml-key-XXXXXX");
    snprintf(kp->cert_file, sizeof(kp->cert_file), "/tmp/balie-saml-crt-XXXXXX");
    int kfd = mkstemp(kp->key_file), cfd = mkstemp(kp->cert_file);
    cr_assert(kfd >= 0 && cfd >= 0);
    FILE *kf = fdopen(kfd, "w"), *cf = fdopen(cfd, "w");
    PEM_write_PrivateKey(kf, pkey, NULL, NULL, 0, NULL, NULL);
    PEM_write_X509(cf, x);
    fclose(kf);
    fclose(cf);
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    EVP_EncodeBlock((unsigned char *)kp->cert_b64, der, n);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(pkey);
    char why[128] = "";
    kp->key = saml_sp_key_load(kp->key_file, kp->cert_file, why, sizeof(why));
    cr_assert_not_null(kp->key, "%s", why);
}

void fx_keypair_free(struct fx_keypair *kp)
{
    saml_sp_key_free(kp->key);
    unlink(kp->key_file);
    unlink(kp->cert_file);
}

char *fx_idp_metadata(const struct fx_keypair *kp, size_t *len)
{
    char *md = NULL;
    int n = asprintf(
        &md,
        "<?xml version=\"1.0\"?>\n"
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
        "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"" FX_IDP "\">"
        "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
        "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n%s\n"
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        "<md:ArtifactResolutionService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:SOAP\" "
        "Location=\"https://idp.example.nl/ars\" index=\"1\"/>"
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
        "Location=\"https://idp.example.nl/sso-post\"/>"
        "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
        "Location=\"https://idp.example.nl/sso\"/>"
        "</md:IDPSSODescriptor></md:EntityDescriptor>\n",
        kp->cert_b64);
    cr_assert(n > 0);
    *len = (size_t)n;
    return md;
}

void fx_sp(struct saml_sp *sp)
{
    memset(sp, 0, sizeof(*sp));
    snprintf(sp->entity_id, sizeof(sp->entity_id), FX_SP);
    snprintf(sp->acs_url, sizeof(sp->acs_url), FX_ACS);
    snprintf(sp->sector, sizeof(sp->sector), "s00000000");
    char why[128];
    cr_assert_eq(saml_loa_map_parse(sp,
                                    "PasswordProtectedTransport=basis,MobileTwoFactorContract="
                                    "midden,Smartcard=substantieel,SmartcardPKI=hoog",
                                    why, sizeof(why)),
                 0, "%s", why);
    sp->clock_skew_s = 60;
}

struct fx_resp fx_resp_default(void)
{
    return (struct fx_resp){
        .audience = FX_SP,
        .recipient = FX_ACS,
        .destination = FX_ACS,
        .in_response_to = FX_REQ,
        .name_id = "s00000000:" FX_BSN,
        .class_ref = SAML_AC_PREFIX "MobileTwoFactorContract",
        .not_before_s = -30,
        .not_on_or_after_s = 300,
        .sign_assertion = true,
        .assertion_id = "_a0000000000000000000000000000000000000001",
    };
}

static void iso(long offset_s, char out[32])
{
    saml_time_format((uint64_t)((long long)FX_NOW_MS + offset_s * 1000LL), out);
}

struct _xmlDoc *fx_response_doc(const struct fx_resp *o, const struct fx_keypair *signer)
{
    char now[32], nb[32], noa[32], status[256] = "";
    iso(0, now);
    iso(o->not_before_s, nb);
    iso(o->not_on_or_after_s, noa);
    if (o->status)
        snprintf(status, sizeof(status),
                 "<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:%s\"/>", o->status);
    char *xml = NULL;
    int n = asprintf(
        &xml,
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
        "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r00000000000000000000001\" "
        "Version=\"2.0\" IssueInstant=\"%s\" Destination=\"%s\" InResponseTo=\"%s\">"
        "<saml:Issuer>" FX_IDP "</saml:Issuer>"
        "<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:%s\">%s"
        "</samlp:StatusCode></samlp:Status>"
        "<saml:Assertion ID=\"%s\" Version=\"2.0\" IssueInstant=\"%s\">"
        "<saml:Issuer>" FX_IDP "</saml:Issuer>"
        "<saml:Subject><saml:NameID>%s</saml:NameID>"
        "<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">"
        "<saml:SubjectConfirmationData NotOnOrAfter=\"%s\" Recipient=\"%s\" InResponseTo=\"%s\"/>"
        "</saml:SubjectConfirmation></saml:Subject>"
        "<saml:Conditions NotBefore=\"%s\" NotOnOrAfter=\"%s\"><saml:AudienceRestriction>"
        "<saml:Audience>%s</saml:Audience></saml:AudienceRestriction></saml:Conditions>"
        "<saml:AuthnStatement AuthnInstant=\"%s\" SessionIndex=\"_s1\"><saml:AuthnContext>"
        "<saml:AuthnContextClassRef>%s</saml:AuthnContextClassRef></saml:AuthnContext>"
        "</saml:AuthnStatement></saml:Assertion></samlp:Response>",
        now, o->destination, o->in_response_to, o->status ? "Responder" : "Success", status,
        o->assertion_id, now, o->name_id, noa, o->recipient, o->in_response_to, nb, noa,
        o->audience, now, o->class_ref);
    cr_assert(n > 0);
    char why[64];
    xmlDocPtr doc = saml_xml_parse((const uint8_t *)xml, (size_t)n, SAML_XML_MAX, why, sizeof(why));
    free(xml);
    cr_assert_not_null(doc, "%s", why);
    cr_assert_eq(saml_xml_register_ids(doc), 0);
    xmlNodePtr resp = xmlDocGetRootElement(doc);
    xmlNodePtr assertion = saml_xml_child(resp, SAML_NS_ASSERTION, "Assertion");
    if (o->sign_assertion)
        cr_assert_eq(saml_xml_sign(assertion,
                                   saml_xml_child(assertion, SAML_NS_ASSERTION, "Issuer"),
                                   signer->key->key),
                     0);
    if (o->sign_response)
        cr_assert_eq(saml_xml_sign(resp, saml_xml_child(resp, SAML_NS_ASSERTION, "Issuer"),
                                   signer->key->key),
                     0);
    return doc;
}

char *fx_dump(struct _xmlDoc *doc, size_t *len)
{
    xmlChar *out = NULL;
    int n = 0;
    xmlDocDumpMemory(doc, &out, &n);
    cr_assert(out && n > 0);
    char *copy = malloc((size_t)n + 1);
    memcpy(copy, out, (size_t)n);
    copy[n] = '\0';
    xmlFree(out);
    *len = (size_t)n;
    return copy;
}
