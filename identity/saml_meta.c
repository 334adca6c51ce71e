/* The identity provider's metadata (SAML metadata §2.4.3), the level map, and base64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <xmlsec/app.h>
#include <xmlsec/crypto.h>

#include "saml_internal.h"

long saml_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len)
{
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    size_t n = 0;
    for (size_t i = 0; i < in_len; i++) {
        unsigned char c = (unsigned char)in[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        else if (c == '=') {
            pad++;
            continue;
        } else
            return -1;
        if (pad)
            return -1; /* data after padding */
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= out_len)
                return -1;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* RFC 4648 §3.5: the leftover bits are zero, and padding only completes the last group. */
    if (pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0 || (pad && (bits / 2) != pad))
        return -1;
    return (long)n;
}

static const char *const loa_names[] = {"basis", "midden", "substantieel", "hoog"};

int saml_loa_map_parse(struct saml_sp *sp, const char *text, char *why, size_t why_len)
{
    sp->loa_map_count = 0;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ",");
        char item[SAML_CLASSREF_MAX + 32];
        if (n >= sizeof(item)) {
            snprintf(why, why_len, "an entry is too long");
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        p += n + (p[n] == ',');
        char *eq = strrchr(item, '=');
        enum identity_loa loa;
        if (!eq || eq == item || identity_loa_parse(eq + 1, &loa) != 0) {
            snprintf(why, why_len, "'%s' is not ClassRef=basis|midden|substantieel|hoog", item);
            return -1;
        }
        *eq = '\0';
        if (sp->loa_map_count == SAML_LOA_MAP_MAX) {
            snprintf(why, why_len, "more than %d entries", SAML_LOA_MAP_MAX);
            return -1;
        }
        struct saml_loa_entry *e = &sp->loa_map[sp->loa_map_count++];
        bool urn = strncmp(item, "urn:", 4) == 0;
        int w =
            snprintf(e->class_ref, sizeof(e->class_ref), "%s%s", urn ? "" : SAML_AC_PREFIX, item);
        if (w < 0 || (size_t)w >= sizeof(e->class_ref)) {
            snprintf(why, why_len, "class ref '%s' is too long", item);
            return -1;
        }
        e->loa = loa;
        for (size_t i = 0; i + 1 < sp->loa_map_count; i++) {
            if (strcmp(sp->loa_map[i].class_ref, e->class_ref) == 0) {
                snprintf(why, why_len, "class ref '%s' is named twice", item);
                return -1;
            }
        }
    }
    if (sp->loa_map_count == 0) {
        snprintf(why, why_len, "no entries (levels: %s, %s, %s, %s)", loa_names[0], loa_names[1],
                 loa_names[2], loa_names[3]);
        return -1;
    }
    return 0;
}

const char *saml_loa_class_ref(const struct saml_sp *sp, enum identity_loa loa)
{
    const struct saml_loa_entry *best = NULL;
    for (size_t i = 0; i < sp->loa_map_count; i++) {
        const struct saml_loa_entry *e = &sp->loa_map[i];
        if (e->loa >= loa && (!best || e->loa < best->loa))
            best = e;
    }
    return best ? best->class_ref : NULL;
}

/* A certificate from ds:X509Certificate (base64 DER) as a public key for xmlsec. */
static xmlSecKeyPtr key_from_cert(const xmlNode *x509cert)
{
    char *b64 = (char *)xmlNodeGetContent(x509cert);
    uint8_t *der = b64 ? malloc(strlen(b64)) : NULL;
    long n = der ? saml_base64_decode(b64, strlen(b64), der, strlen(b64)) : -1;
    xmlSecKeyPtr key = NULL;
    if (n > 0)
        key = xmlSecCryptoAppKeyLoadMemory(der, (xmlSecSize)n, xmlSecKeyDataFormatCertDer, NULL,
                                           NULL, NULL);
    free(der);
    xmlFree(b64);
    return key;
}

static void read_keys(struct saml_idp_meta *m, const xmlNode *sso)
{
    for (xmlNodePtr kd = sso->children; kd; kd = kd->next) {
        char use[16] = "";
        if (!saml_xml_is(kd, SAML_NS_METADATA, "KeyDescriptor"))
            continue;
        if (saml_xml_attr(kd, "use", use, sizeof(use)) == 0 && strcmp(use, "signing") != 0)
            continue; /* "encryption" keys never verify anything */
        xmlNodePtr data =
            saml_xml_child(saml_xml_child(kd, SAML_NS_DSIG, "KeyInfo"), SAML_NS_DSIG, "X509Data");
        for (xmlNodePtr c = data ? data->children : NULL; c; c = c->next) {
            if (!saml_xml_is(c, SAML_NS_DSIG, "X509Certificate") ||
                m->key_count == SAML_IDP_KEYS_MAX)
                continue;
            xmlSecKeyPtr key = key_from_cert(c);
            if (key)
                m->keys[m->key_count++] = key;
        }
    }
}

static void read_endpoints(struct saml_idp_meta *m, const xmlNode *sso)
{
    for (xmlNodePtr c = sso->children; c; c = c->next) {
        char binding[128], index[16];
        if (saml_xml_attr(c, "Binding", binding, sizeof(binding)) != 0)
            continue;
        if (saml_xml_is(c, SAML_NS_METADATA, "SingleSignOnService") && !m->sso_url[0] &&
            strcmp(binding, SAML_BINDING_REDIRECT) == 0)
            (void)saml_xml_attr(c, "Location", m->sso_url, sizeof(m->sso_url));
        if (saml_xml_is(c, SAML_NS_METADATA, "ArtifactResolutionService") &&
            strcmp(binding, SAML_BINDING_SOAP) == 0 && m->ars_count < 4 &&
            saml_xml_attr(c, "Location", m->ars[m->ars_count].url, SAML_URL_MAX) == 0) {
            long i = saml_xml_attr(c, "index", index, sizeof(index)) == 0 ? atol(index) : 0;
            m->ars[m->ars_count++].index = i >= 0 && i < 65536 ? (unsigned)i : 0;
        }
    }
}

struct saml_idp_meta *saml_idp_meta_parse(const uint8_t *buf, size_t len, char *why, size_t why_len)
{
    xmlDocPtr doc = saml_xml_parse(buf, len, SAML_METADATA_MAX, why, why_len);
    if (!doc)
        return NULL;
    struct saml_idp_meta *m = calloc(1, sizeof(*m));
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr sso = saml_xml_child(root, SAML_NS_METADATA, "IDPSSODescriptor");
    if (!m || !saml_xml_is(root, SAML_NS_METADATA, "EntityDescriptor") || !sso ||
        saml_xml_attr(root, "entityID", m->entity_id, sizeof(m->entity_id)) != 0) {
        snprintf(why, why_len, "not an EntityDescriptor with an IDPSSODescriptor");
        goto fail;
    }
    char proto[512];
    if (saml_xml_attr(sso, "protocolSupportEnumeration", proto, sizeof(proto)) != 0 ||
        !strstr(proto, SAML_NS_PROTOCOL)) {
        snprintf(why, why_len, "the IdP does not support SAML 2.0");
        goto fail;
    }
    read_keys(m, sso);
    read_endpoints(m, sso);
    if (m->key_count == 0 || !m->sso_url[0]) {
        snprintf(why, why_len, "%s",
                 m->key_count ? "no HTTP-Redirect SingleSignOnService" : "no signing certificate");
        goto fail;
    }
    xmlFreeDoc(doc);
    return m;
fail:
    saml_idp_meta_free(m);
    xmlFreeDoc(doc);
    return NULL;
}

void saml_idp_meta_free(struct saml_idp_meta *meta)
{
    if (!meta)
        return;
    for (size_t i = 0; i < meta->key_count; i++)
        xmlSecKeyDestroy(meta->keys[i]);
    free(meta);
}

const char *saml_idp_meta_entity_id(const struct saml_idp_meta *meta)
{
    return meta->entity_id;
}

const char *saml_idp_meta_sso_url(const struct saml_idp_meta *meta)
{
    return meta->sso_url;
}

const char *saml_idp_meta_artifact_url(const struct saml_idp_meta *meta, unsigned index)
{
    for (size_t i = 0; i < meta->ars_count; i++)
        if (meta->ars[i].index == index)
            return meta->ars[i].url;
    return NULL;
}

size_t saml_idp_meta_key_count(const struct saml_idp_meta *meta)
{
    return meta->key_count;
}
