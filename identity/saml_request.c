/* What the service provider sends: the signed AuthnRequest (HTTP-Redirect binding), its own
 * metadata, and the signed ArtifactResolve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/app.h>
#include <xmlsec/crypto.h>
#include <zlib.h>

#include "balie/strbuf.h"
#include "saml_internal.h"

#define SIG_ALG "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

struct saml_sp_key *saml_sp_key_load(const char *key_file, const char *cert_file, char *why,
                                     size_t why_len)
{
    if (saml_library_init() != 0) {
        snprintf(why, why_len, "xmlsec did not start");
        return NULL;
    }
    struct saml_sp_key *k = calloc(1, sizeof(*k));
    FILE *f = fopen(key_file, "r");
    if (!k || !f) {
        snprintf(why, why_len, "cannot open %s", key_file);
        goto fail;
    }
    k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    f = fopen(cert_file, "r");
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!k->pkey || !cert || EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA ||
        X509_check_private_key(cert, k->pkey) != 1) {
        snprintf(why, why_len, "need an RSA private key (PEM) and its certificate (PEM)");
        X509_free(cert);
        goto fail;
    }
    unsigned char *der = NULL;
    int der_len = i2d_X509(cert, &der);
    X509_free(cert);
    if (der_len <= 0 || (size_t)der_len / 3 * 4 + 8 > sizeof(k->cert_b64)) {
        OPENSSL_free(der);
        snprintf(why, why_len, "certificate is too large");
        goto fail;
    }
    EVP_EncodeBlock((unsigned char *)k->cert_b64, der, der_len);
    OPENSSL_free(der);
    k->key = xmlSecCryptoAppKeyLoad(key_file, xmlSecKeyDataFormatPem, NULL, NULL, NULL);
    if (!k->key || xmlSecCryptoAppKeyCertLoad(k->key, cert_file, xmlSecKeyDataFormatPem) < 0) {
        snprintf(why, why_len, "xmlsec cannot load the key");
        goto fail;
    }
    return k;
fail:
    saml_sp_key_free(k);
    return NULL;
}

void saml_sp_key_free(struct saml_sp_key *key)
{
    if (!key)
        return;
    if (key->key)
        xmlSecKeyDestroy(key->key);
    EVP_PKEY_free(key->pkey);
    free(key);
}

/* XML attribute/text escaping for the few values we put into documents. */
/* RFC 3986 §2.3 unreserved characters stay, everything else is %XX. */
static void url_encode(struct strbuf *sb, const char *text, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            strbuf_append(sb, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            strbuf_append(sb, e, 3);
        }
    }
}

static int authn_request_xml(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                             enum identity_loa loa, uint64_t now_ms, const char *id,
                             struct strbuf *sb)
{
    char instant[32];
    saml_time_format(now_ms, instant);
    const char *class_ref = saml_loa_class_ref(sp, loa);
    strbuf_appendf(sb,
                   "<samlp:AuthnRequest xmlns:samlp=\"" SAML_NS_PROTOCOL
                   "\" xmlns:saml=\"" SAML_NS_ASSERTION "\" ID=\"%s\" Version=\"2.0\" "
                   "IssueInstant=\"%s\" Destination=\"",
                   id, instant);
    strbuf_append_markup_escaped(sb, idp->sso_url);
    strbuf_appendf(sb, "\" AssertionConsumerServiceURL=\"");
    strbuf_append_markup_escaped(sb, sp->acs_url);
    strbuf_appendf(sb, "\" ProtocolBinding=\"%s\"%s><saml:Issuer>",
                   sp->artifact ? SAML_BINDING_ARTIFACT : SAML_BINDING_POST,
                   sp->force_authn ? " ForceAuthn=\"true\"" : "");
    strbuf_append_markup_escaped(sb, sp->entity_id);
    strbuf_appendf(sb, "</saml:Issuer>");
    if (class_ref) {
        /* "minimum": the IdP may authenticate at this level or stronger (core §3.3.2.2.1). */
        strbuf_appendf(sb, "<samlp:RequestedAuthnContext Comparison=\"minimum\">"
                           "<saml:AuthnContextClassRef>");
        strbuf_append_markup_escaped(sb, class_ref);
        strbuf_appendf(sb, "</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>");
    }
    strbuf_appendf(sb, "</samlp:AuthnRequest>");
    return sb->failed ? -1 : 0;
}

/* DEFLATE (RFC 1951, no zlib header) then base64, as bindings §3.4.4.1 asks. */
static int deflate_b64(const char *in, size_t len, char *out, size_t out_len)
{
    unsigned char packed[4096];
    z_stream z = {0};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = packed;
    z.avail_out = sizeof(packed);
    int rc = deflate(&z, Z_FINISH);
    size_t n = sizeof(packed) - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END || (n + 2) / 3 * 4 + 1 > out_len)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, packed, (int)n);
    return 0;
}

static int sign_b64(EVP_PKEY *pkey, const char *data, size_t len, char *out, size_t out_len)
{
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
             EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)data, len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok || (sig_len + 2) / 3 * 4 + 1 > out_len)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, sig, (int)sig_len);
    return 0;
}

int saml_authn_request_url(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                           const struct saml_sp_key *key, enum identity_loa loa,
                           const char *relay_state, uint64_t now_ms, char *url, size_t url_len,
                           char request_id[SAML_ID_MAX])
{
    struct strbuf xml, q;
    char b64[6000], sig[1400];
    if (saml_new_id(request_id) != 0)
        return -1;
    strbuf_init(&xml);
    strbuf_init(&q);
    int rc = -1;
    if (authn_request_xml(sp, idp, loa, now_ms, request_id, &xml) != 0 ||
        deflate_b64(xml.data, xml.len, b64, sizeof(b64)) != 0)
        goto out;
    /* Bindings §3.4.4.1: the signature covers SAMLRequest, RelayState and SigAlg exactly as
     * they appear, URL-encoded, in this order. */
    strbuf_appendf(&q, "SAMLRequest=");
    url_encode(&q, b64, strlen(b64));
    strbuf_appendf(&q, "&RelayState=");
    url_encode(&q, relay_state, strlen(relay_state));
    strbuf_appendf(&q, "&SigAlg=");
    url_encode(&q, SIG_ALG, strlen(SIG_ALG));
    if (q.failed || sign_b64(key->pkey, q.data, q.len, sig, sizeof(sig)) != 0)
        goto out;
    strbuf_appendf(&q, "&Signature=");
    url_encode(&q, sig, strlen(sig));
    if (q.failed)
        goto out;
    int n = snprintf(url, url_len, "%s%c%s", idp->sso_url, strchr(idp->sso_url, '?') ? '&' : '?',
                     q.data);
    rc = n > 0 && (size_t)n < url_len ? 0 : -1;
out:
    strbuf_free(&xml);
    strbuf_free(&q);
    return rc;
}

char *saml_sp_metadata(const struct saml_sp *sp, const struct saml_sp_key *key, size_t *len_out)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_appendf(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<md:EntityDescriptor xmlns:md=\"" SAML_NS_METADATA
                        "\" xmlns:ds=\"" SAML_NS_DSIG "\" entityID=\"");
    strbuf_append_markup_escaped(&sb, sp->entity_id);
    strbuf_appendf(&sb,
                   "\">\n  <md:SPSSODescriptor AuthnRequestsSigned=\"true\" "
                   "WantAssertionsSigned=\"true\" protocolSupportEnumeration=\"" SAML_NS_PROTOCOL
                   "\">\n    <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>"
                   "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
                   "</md:KeyDescriptor>\n",
                   key->cert_b64);
    const char *bindings[2] = {SAML_BINDING_POST, SAML_BINDING_ARTIFACT};
    for (int i = 0; i < 2; i++) {
        strbuf_appendf(&sb, "    <md:AssertionConsumerService Binding=\"%s\" Location=\"",
                       bindings[i]);
        strbuf_append_markup_escaped(&sb, sp->acs_url);
        strbuf_appendf(&sb, "\" index=\"%d\"%s/>\n", i,
                       (i == 1) == sp->artifact ? " isDefault=\"true\"" : "");
    }
    strbuf_appendf(&sb, "  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n");
    if (sb.failed) {
        strbuf_free(&sb);
        return NULL;
    }
    *len_out = sb.len;
    return sb.data;
}

char *saml_artifact_resolve(const struct saml_sp *sp, const struct saml_idp_meta *idp,
                            const struct saml_sp_key *key, const char *artifact, uint64_t now_ms,
                            size_t *len_out, char request_id[SAML_ID_MAX])
{
    unsigned index;
    const char *dest;
    if (saml_artifact_parse(artifact, idp, &index) != 0 ||
        !(dest = saml_idp_meta_artifact_url(idp, index)) || saml_new_id(request_id) != 0)
        return NULL;
    char instant[32];
    saml_time_format(now_ms, instant);
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_appendf(&sb,
                   "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" SAML_NS_SOAP "\"><SOAP-ENV:Body>"
                   "<samlp:ArtifactResolve xmlns:samlp=\"" SAML_NS_PROTOCOL
                   "\" xmlns:saml=\"" SAML_NS_ASSERTION
                   "\" ID=\"%s\" Version=\"2.0\" IssueInstant=\"%s\" Destination=\"",
                   request_id, instant);
    strbuf_append_markup_escaped(&sb, dest);
    strbuf_appendf(&sb, "\"><saml:Issuer>");
    strbuf_append_markup_escaped(&sb, sp->entity_id);
    strbuf_appendf(&sb, "</saml:Issuer><samlp:Artifact>");
    strbuf_append_markup_escaped(&sb, artifact);
    strbuf_appendf(&sb, "</samlp:Artifact></samlp:ArtifactResolve></SOAP-ENV:Body>"
                        "</SOAP-ENV:Envelope>");
    char why[64];
    xmlDocPtr doc = sb.failed ? NULL
                              : saml_xml_parse((const uint8_t *)sb.data, sb.len, SAML_XML_MAX, why,
                                               sizeof(why));
    strbuf_free(&sb);
    xmlNodePtr req =
        doc ? saml_xml_child(saml_xml_child(xmlDocGetRootElement(doc), SAML_NS_SOAP, "Body"),
                             SAML_NS_PROTOCOL, "ArtifactResolve")
            : NULL;
    xmlChar *out = NULL;
    int out_len = 0;
    if (req && saml_xml_register_ids(doc) == 0 &&
        saml_xml_sign(req, saml_xml_child(req, SAML_NS_ASSERTION, "Issuer"), key->key) == 0)
        xmlDocDumpMemory(doc, &out, &out_len);
    xmlFreeDoc(doc);
    if (!out)
        return NULL;
    char *copy = malloc((size_t)out_len + 1);
    if (copy) {
        memcpy(copy, out, (size_t)out_len);
        copy[out_len] = '\0';
        *len_out = (size_t)out_len;
    }
    xmlFree(out);
    return copy;
}
