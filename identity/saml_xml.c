/* Safe XML for SAML: parsing untrusted documents with libxml2, registering IDs, and the XML
 * signature core on top of xmlsec1 with the checks SAML needs and XML-DSig leaves open. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/valid.h>
#include <openssl/rand.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "saml_internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -1;

/* xmlsec prints every failure to stderr by default, with parts of the document; a refused
 * Response is reported by the caller instead, without personal data. */
static void quiet_errors(const char *file, int line, const char *func, const char *object,
                         const char *subject, int reason, const char *msg)
{
    (void)file, (void)line, (void)func, (void)object, (void)subject, (void)reason, (void)msg;
}

static void quiet_xml_errors(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

static void library_init(void)
{
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, quiet_xml_errors);
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
        return;
    xmlSecErrorsSetCallback(quiet_errors);
    init_result = 0;
}

int saml_library_init(void)
{
    pthread_once(&init_once, library_init);
    return init_result;
}

xmlDocPtr saml_xml_parse(const uint8_t *buf, size_t len, size_t max, char *why, size_t why_len)
{
    if (saml_library_init() != 0) {
        snprintf(why, why_len, "xmlsec did not start");
        return NULL;
    }
    if (!buf || len == 0 || len > max || len > (size_t)INT32_MAX) {
        snprintf(why, why_len, "empty or larger than %zu bytes", max);
        return NULL;
    }
    /* XML_PARSE_NONET: never fetch anything. Neither XML_PARSE_NOENT nor XML_PARSE_DTDLOAD:
     * entities stay unexpanded and no external DTD is read (XXE). */
    xmlDocPtr doc = xmlReadMemory((const char *)buf, (int)len, "saml.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        snprintf(why, why_len, "not well-formed XML");
        return NULL;
    }
    /* SAML messages never carry a DTD (SAML core §1.3; bindings §3.5.4: "MUST NOT contain a
     * DOCTYPE"), so any DOCTYPE is an attack (entity expansion, XXE, ID attributes declared by
     * the attacker) and refused before anything reads the tree. */
    if (doc->intSubset || doc->extSubset || !xmlDocGetRootElement(doc)) {
        snprintf(why, why_len, "a DOCTYPE or no root element");
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

bool saml_xml_is(const xmlNode *node, const char *ns, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
           strcmp((const char *)node->ns->href, ns) == 0 &&
           strcmp((const char *)node->name, name) == 0;
}

xmlNodePtr saml_xml_child(const xmlNode *parent, const char *ns, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (saml_xml_is(c, ns, name))
            return c;
    return NULL;
}

size_t saml_xml_count_children(const xmlNode *parent, const char *ns, const char *name)
{
    size_t n = 0;
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        n += saml_xml_is(c, ns, name);
    return n;
}

size_t saml_xml_count_all(const xmlNode *root, const char *ns, const char *name)
{
    size_t n = saml_xml_is(root, ns, name);
    for (xmlNodePtr c = root ? root->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            n += saml_xml_count_all(c, ns, name);
    return n;
}

int saml_xml_text(const xmlNode *node, char *out, size_t out_len)
{
    size_t n = 0;
    for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE || c->type == XML_ENTITY_REF_NODE)
            return -1;
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
            continue; /* comments are not part of the value */
        size_t len = strlen((const char *)c->content);
        if (n + len >= out_len)
            return -1;
        memcpy(out + n, c->content, len);
        n += len;
    }
    if (!node || out_len == 0)
        return -1;
    out[n] = '\0';
    size_t start = strspn(out, " \t\r\n");
    while (n > start && strchr(" \t\r\n", out[n - 1]))
        out[--n] = '\0';
    memmove(out, out + start, n - start + 1);
    return 0;
}

int saml_xml_attr(const xmlNode *node, const char *name, char *out, size_t out_len)
{
    xmlChar *v = node ? xmlGetNoNsProp((xmlNodePtr)node, (const xmlChar *)name) : NULL;
    if (!v)
        return -1;
    int n = snprintf(out, out_len, "%s", (const char *)v);
    xmlFree(v);
    return n >= 0 && (size_t)n < out_len ? 0 : -1;
}

static bool is_saml_element(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           (strcmp((const char *)n->ns->href, SAML_NS_PROTOCOL) == 0 ||
            strcmp((const char *)n->ns->href, SAML_NS_ASSERTION) == 0);
}

static int register_ids(xmlDocPtr doc, xmlNodePtr node, int depth)
{
    if (depth > 64)
        return -1; /* SAML messages are shallow; a deep tree is an attack on the stack */
    for (xmlNodePtr n = node; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (is_saml_element(n)) {
            xmlAttrPtr attr = xmlHasNsProp(n, (const xmlChar *)"ID", NULL);
            if (attr) {
                xmlChar *id = xmlNodeListGetString(doc, attr->children, 1);
                /* xmlAddID fails for an ID already known (another SAML element, or an
                 * xml:id the parser registered): one ID must name one element. */
                bool ok = id && id[0] && xmlAddID(NULL, doc, id, attr) != NULL;
                xmlFree(id);
                if (!ok)
                    return -1;
            }
        }
        if (register_ids(doc, n->children, depth + 1) != 0)
            return -1;
    }
    return 0;
}

int saml_xml_register_ids(xmlDocPtr doc)
{
    return register_ids(doc, xmlDocGetRootElement(doc), 0);
}

static bool attr_is(const xmlNode *node, const char *name, const char *const *allowed)
{
    char v[128];
    if (saml_xml_attr(node, name, v, sizeof(v)) != 0)
        return false;
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return true;
    return false;
}

static const char *const c14n_algs[] = {"http://www.w3.org/2001/10/xml-exc-c14n#", NULL};
static const char *const sig_algs[] = {"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                                       "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
                                       "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", NULL};
static const char *const digest_algs[] = {"http://www.w3.org/2001/04/xmlenc#sha256",
                                          "http://www.w3.org/2001/04/xmldsig-more#sha384",
                                          "http://www.w3.org/2001/04/xmlenc#sha512", NULL};
static const char *const transform_algs[] = {
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#", NULL};

/* The SignedInfo must be what the SAML profile allows (SAML core §5.4) and no more: one
 * Reference to the enveloping element, two known transforms, strong algorithms. */
static int check_signed_info(const xmlNode *sig, const char *id, char *why, size_t why_len)
{
    xmlNodePtr si = saml_xml_child(sig, SAML_NS_DSIG, "SignedInfo");
    xmlNodePtr ref = saml_xml_child(si, SAML_NS_DSIG, "Reference");
    if (!si || saml_xml_count_children(sig, SAML_NS_DSIG, "SignedInfo") != 1 || !ref ||
        saml_xml_count_children(si, SAML_NS_DSIG, "Reference") != 1) {
        snprintf(why, why_len, "signature needs one SignedInfo with one Reference");
        return -1;
    }
    if (!attr_is(saml_xml_child(si, SAML_NS_DSIG, "CanonicalizationMethod"), "Algorithm",
                 c14n_algs) ||
        !attr_is(saml_xml_child(si, SAML_NS_DSIG, "SignatureMethod"), "Algorithm", sig_algs) ||
        !attr_is(saml_xml_child(ref, SAML_NS_DSIG, "DigestMethod"), "Algorithm", digest_algs)) {
        snprintf(why, why_len, "signature algorithm not allowed");
        return -1;
    }
    char uri[SAML_ID_MAX + 2];
    if (saml_xml_attr(ref, "URI", uri, sizeof(uri)) != 0 || uri[0] != '#' ||
        strcmp(uri + 1, id) != 0) {
        snprintf(why, why_len, "signature does not reference the element it is in");
        return -1;
    }
    xmlNodePtr transforms = saml_xml_child(ref, SAML_NS_DSIG, "Transforms");
    size_t count = 0;
    for (xmlNodePtr t = transforms ? transforms->children : NULL; t; t = t->next) {
        if (t->type != XML_ELEMENT_NODE)
            continue;
        if (!saml_xml_is(t, SAML_NS_DSIG, "Transform") ||
            !attr_is(t, "Algorithm", transform_algs) || ++count > 2) {
            snprintf(why, why_len, "signature transform not allowed");
            return -1;
        }
    }
    return 0;
}

int saml_xml_verify(xmlNodePtr elem, xmlSecKeyPtr const *keys, size_t key_count, char *why,
                    size_t why_len)
{
    char id[SAML_ID_MAX];
    xmlNodePtr sig = saml_xml_child(elem, SAML_NS_DSIG, "Signature");
    if (!sig || saml_xml_count_children(elem, SAML_NS_DSIG, "Signature") != 1) {
        snprintf(why, why_len, "not signed");
        return -1;
    }
    if (saml_xml_attr(elem, "ID", id, sizeof(id)) != 0) {
        snprintf(why, why_len, "signed element has no ID");
        return -1;
    }
    /* The reference is resolved by xmlsec through the document's ID table: it must lead back
     * to this very element, or a wrapped copy could be what was signed. */
    xmlAttrPtr found = xmlGetID(elem->doc, (const xmlChar *)id);
    if (!found || found->parent != elem) {
        snprintf(why, why_len, "signed element's ID is not registered to it");
        return -1;
    }
    if (check_signed_info(sig, id, why, why_len) != 0)
        return -1;
    for (size_t i = 0; i < key_count; i++) {
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL); /* no key manager: KeyInfo unused */
        if (!ctx)
            break;
        ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
        ctx->signKey = xmlSecKeyDuplicate(keys[i]);
        bool ok = ctx->signKey && xmlSecDSigCtxVerify(ctx, sig) == 0 &&
                  ctx->status == xmlSecDSigStatusSucceeded;
        xmlSecDSigCtxDestroy(ctx);
        if (ok)
            return 0;
    }
    snprintf(why, why_len, "signature does not verify with the IdP's keys");
    return -1;
}

int saml_xml_sign(xmlNodePtr elem, xmlNodePtr after, xmlSecKeyPtr key)
{
    char uri[SAML_ID_MAX + 2];
    uri[0] = '#';
    if (saml_xml_attr(elem, "ID", uri + 1, sizeof(uri) - 1) != 0)
        return -1;
    xmlNodePtr sig =
        xmlSecTmplSignatureCreateNsPref(elem->doc, xmlSecTransformExclC14NId,
                                        xmlSecTransformRsaSha256Id, NULL, (const xmlChar *)"ds");
    if (!sig)
        return -1;
    bool placed = after ? xmlAddNextSibling(after, sig) != NULL
                        : (elem->children ? xmlAddPrevSibling(elem->children, sig)
                                          : xmlAddChild(elem, sig)) != NULL;
    if (!placed) {
        xmlFreeNode(sig);
        return -1;
    }
    xmlNodePtr ref =
        xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, (xmlChar *)uri, NULL);
    xmlNodePtr ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
    if (!ref || !ki || !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ||
        !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) ||
        !xmlSecTmplKeyInfoAddX509Data(ki))
        return -1;
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    if (!ctx)
        return -1;
    ctx->signKey = xmlSecKeyDuplicate(key);
    int rc = ctx->signKey && xmlSecDSigCtxSign(ctx, sig) == 0 ? 0 : -1;
    xmlSecDSigCtxDestroy(ctx);
    return rc;
}

int saml_new_id(char out[SAML_ID_MAX])
{
    unsigned char r[20];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -1;
    out[0] = '_';
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(out + 1 + 2 * i, 3, "%02x", r[i]);
    return 0;
}

void saml_time_format(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000u);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int saml_time_parse(const char *text, uint64_t *ms)
{
    if (!text || strlen(text) < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
        text[13] != ':' || text[16] != ':')
        return -1;
    struct tm tm = {0};
    int y = digits(text, 4), mo = digits(text + 5, 2), d = digits(text + 8, 2);
    int h = digits(text + 11, 2), mi = digits(text + 14, 2), s = digits(text + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        s < 0 || s > 60)
        return -1;
    const char *p = text + 19;
    unsigned frac_ms = 0, scale = 100;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9')
            return -1;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac_ms += (unsigned)(*p - '0') * scale;
            scale /= 10;
        }
    }
    if (strcmp(p, "Z") != 0)
        return -1; /* SAML core §1.3.3: UTC, "Z", no offset */
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
    time_t t = timegm(&tm);
    if (t < 0)
        return -1;
    *ms = (uint64_t)t * 1000u + frac_ms;
    return 0;
}
