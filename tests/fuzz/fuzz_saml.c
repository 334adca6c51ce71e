/* The SAML parsers: a Response (HTTP-POST binding) and a SOAP ArtifactResponse checked against
 * an IdP whose key is made at start, IdP metadata, artifacts, base64 and the level map. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "balie/saml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct saml_sp sp;
static struct saml_idp_meta *idp;
static struct saml_replay *replay;

/* An IdP with a fresh RSA key: signatures in inputs never verify, but everything before and
 * around the check runs (parsing, IDs, structure, SignedInfo checks, canonicalisation). */
static void setup(void)
{
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pkey);
    X509_sign(x, pkey, EVP_sha256());
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    char b64[4096];
    EVP_EncodeBlock((unsigned char *)b64, der, n);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(pkey);
    char md[8192], why[128];
    int len = snprintf(
        md, sizeof(md),
        "<md:EntityDescriptor xmlns:md=\"" SAML_NS_METADATA "\" xmlns:ds=\"" SAML_NS_DSIG
        "\" entityID=\"https://idp.example\"><md:IDPSSODescriptor "
        "protocolSupportEnumeration=\"" SAML_NS_PROTOCOL "\"><md:KeyDescriptor><ds:KeyInfo>"
        "<ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        "</md:KeyDescriptor><md:SingleSignOnService Binding=\"" SAML_BINDING_REDIRECT
        "\" Location=\"https://idp.example/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>",
        b64);
    idp = saml_idp_meta_parse((const uint8_t *)md, (size_t)len, why, sizeof(why));
    if (!idp)
        abort();
    snprintf(sp.entity_id, sizeof(sp.entity_id), "https://sp.example");
    snprintf(sp.acs_url, sizeof(sp.acs_url), "https://sp.example/auth/callback/digid");
    snprintf(sp.sector, sizeof(sp.sector), "s00000000");
    sp.clock_skew_s = 60;
    if (saml_loa_map_parse(&sp, "PasswordProtectedTransport=basis,SmartcardPKI=hoog", why,
                           sizeof(why)) != 0)
        abort();
    replay = saml_replay_new(64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!idp)
        setup();
    struct saml_result res;
    struct idp_error err;
    const uint64_t now = 1795000000000ull;
    if (saml_response_check(&sp, idp, replay, data, size, "_req", NULL, now, &res, &err) == 0)
        abort(); /* nothing unsigned by the IdP's key can pass */
    if (saml_response_check(&sp, idp, replay, data, size, "_req", "_resolve", now, &res, &err) == 0)
        abort();
    char why[128];
    saml_idp_meta_free(saml_idp_meta_parse(data, size, why, sizeof(why)));
    uint8_t out[1024];
    (void)saml_base64_decode((const char *)data, size, out, sizeof(out));
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    unsigned index;
    (void)saml_artifact_parse(text, idp, &index);
    struct saml_sp copy = sp;
    (void)saml_loa_map_parse(&copy, text, why, sizeof(why));
    free(text);
    return 0;
}
