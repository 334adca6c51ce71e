/* identity/saml_*.c: Responses signed at run time with a key made by the test, checked the way
 * a DigiD answer is checked; every refusal a real attack or mistake would cause. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "saml_fixture.h"
#include "saml_internal.h"

static struct fx_keypair idp_kp, other_kp;
static struct saml_idp_meta *idp;
static struct saml_sp sp;
static struct saml_replay *replay;

static void setup(void)
{
    fx_keypair_make(&idp_kp, "idp.example.nl");
    size_t len;
    char *md = fx_idp_metadata(&idp_kp, &len);
    char why[128] = "";
    idp = saml_idp_meta_parse((const uint8_t *)md, len, why, sizeof(why));
    free(md);
    cr_assert_not_null(idp, "%s", why);
    fx_sp(&sp);
    replay = saml_replay_new(64);
}

/* Runs after the suite's setup (Criterion runs both). */
static void setup_two(void)
{
    fx_keypair_make(&other_kp, "evil.example");
}

static void teardown(void)
{
    saml_replay_free(replay);
    saml_idp_meta_free(idp);
    fx_keypair_free(&idp_kp);
    if (other_kp.key)
        fx_keypair_free(&other_kp);
}

/* Checks serialised bytes; returns the error code ("" on success). */
static const char *check_bytes(const char *xml, size_t len, struct saml_result *res)
{
    static struct idp_error err;
    memset(&err, 0, sizeof(err));
    if (saml_response_check(&sp, idp, replay, (const uint8_t *)xml, len, FX_REQ, NULL, FX_NOW_MS,
                            res, &err) == 0)
        return "";
    cr_assert(err.code[0], "a refusal has a code");
    cr_assert(strstr(err.message, " / "), "message is Dutch / English");
    return err.code;
}

static const char *check_doc(xmlDocPtr doc, struct saml_result *res)
{
    size_t len;
    char *xml = fx_dump(doc, &len);
    xmlFreeDoc(doc);
    const char *code = check_bytes(xml, len, res);
    free(xml);
    return code;
}

static const char *check_opts(const struct fx_resp *o, const struct fx_keypair *signer)
{
    struct saml_result res;
    return check_doc(fx_response_doc(o, signer), &res);
}

TestSuite(saml, .init = setup, .fini = teardown, .timeout = 30);

Test(saml, metadata_parsed)
{
    cr_assert_str_eq(saml_idp_meta_entity_id(idp), FX_IDP);
    cr_assert_str_eq(saml_idp_meta_sso_url(idp), "https://idp.example.nl/sso");
    cr_assert_str_eq(saml_idp_meta_artifact_url(idp, 1), "https://idp.example.nl/ars");
    cr_assert_null(saml_idp_meta_artifact_url(idp, 0));
    cr_assert_eq(saml_idp_meta_key_count(idp), 1);
}

Test(saml, valid_response_accepted)
{
    struct fx_resp o = fx_resp_default();
    struct saml_result res;
    cr_assert_str_eq(check_doc(fx_response_doc(&o, &idp_kp), &res), "");
    cr_assert_str_eq(res.subject, FX_BSN);
    cr_assert_eq(res.loa, LOA_MIDDEN);
    cr_assert_str_eq(res.assertion_id, o.assertion_id);
}

Test(saml, response_and_assertion_signed_accepted)
{
    struct fx_resp o = fx_resp_default();
    o.sign_response = true;
    o.class_ref = SAML_AC_PREFIX "SmartcardPKI";
    struct saml_result res;
    cr_assert_str_eq(check_doc(fx_response_doc(&o, &idp_kp), &res), "");
    cr_assert_eq(res.loa, LOA_HOOG);
}

Test(saml, every_level_mapped)
{
    const char *refs[] = {"PasswordProtectedTransport", "MobileTwoFactorContract", "Smartcard",
                          "SmartcardPKI"};
    enum identity_loa want[] = {LOA_BASIS, LOA_MIDDEN, LOA_SUBSTANTIEEL, LOA_HOOG};
    for (int i = 0; i < 4; i++) {
        char ref[128], id[64];
        snprintf(ref, sizeof(ref), SAML_AC_PREFIX "%s", refs[i]);
        snprintf(id, sizeof(id), "_level%d", i);
        struct fx_resp o = fx_resp_default();
        o.class_ref = ref;
        o.assertion_id = id;
        struct saml_result res;
        cr_assert_str_eq(check_doc(fx_response_doc(&o, &idp_kp), &res), "");
        cr_assert_eq(res.loa, want[i], "%s", refs[i]);
    }
}

Test(saml, unsigned_refused)
{
    struct fx_resp o = fx_resp_default();
    o.sign_assertion = false;
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_signature");
}

Test(saml, signed_by_another_key_refused, .init = setup_two)
{
    /* The signature carries the other key's certificate in KeyInfo: it must not matter. */
    struct fx_resp o = fx_resp_default();
    cr_assert_str_eq(check_opts(&o, &other_kp), "saml_signature");
}

Test(saml, tampered_after_signing_refused)
{
    struct fx_resp o = fx_resp_default();
    size_t len;
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    char *xml = fx_dump(doc, &len);
    xmlFreeDoc(doc);
    char *at = strstr(xml, FX_BSN);
    cr_assert_not_null(at);
    memcpy(at, "111222333", 9); /* another valid BSN */
    struct saml_result res;
    cr_assert_str_eq(check_bytes(xml, len, &res), "saml_signature");
    free(xml);
}

/* An unsigned copy of the assertion with another subject, beside the signed one. */
static xmlNodePtr evil_copy(xmlNodePtr assertion, const char *id)
{
    xmlNodePtr evil = xmlCopyNode(assertion, 1);
    xmlNodePtr sig = saml_xml_child(evil, SAML_NS_DSIG, "Signature");
    if (sig) {
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
    }
    if (id)
        xmlSetProp(evil, (const xmlChar *)"ID", (const xmlChar *)id);
    xmlNodePtr nid = saml_xml_child(saml_xml_child(evil, SAML_NS_ASSERTION, "Subject"),
                                    SAML_NS_ASSERTION, "NameID");
    xmlNodeSetContent(nid, (const xmlChar *)"s00000000:111222333");
    return evil;
}

Test(saml, xsw_unsigned_assertion_before_signed_refused)
{
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    xmlNodePtr a = saml_xml_child(xmlDocGetRootElement(doc), SAML_NS_ASSERTION, "Assertion");
    xmlAddPrevSibling(a, evil_copy(a, "_evil1"));
    struct saml_result res;
    cr_assert_str_eq(check_doc(doc, &res), "saml_structure");
}

Test(saml, xsw_unsigned_assertion_after_signed_refused)
{
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    xmlNodePtr a = saml_xml_child(xmlDocGetRootElement(doc), SAML_NS_ASSERTION, "Assertion");
    xmlAddNextSibling(a, evil_copy(a, "_evil2"));
    struct saml_result res;
    cr_assert_str_eq(check_doc(doc, &res), "saml_structure");
}

Test(saml, xsw_signed_response_wrapping_unsigned_assertion_refused)
{
    /* The Response's signature is valid, but the assertion inside is not signed itself. */
    struct fx_resp o = fx_resp_default();
    o.sign_assertion = false;
    o.sign_response = true;
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_signature");
}

Test(saml, xsw_signed_assertion_moved_into_extensions_refused)
{
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    xmlNodePtr resp = xmlDocGetRootElement(doc);
    xmlNodePtr a = saml_xml_child(resp, SAML_NS_ASSERTION, "Assertion");
    xmlNodePtr evil = evil_copy(a, NULL);
    /* Moved with its ID; the evil copy takes that ID after the original is serialised away. */
    xmlUnlinkNode(a);
    xmlNodePtr ext =
        xmlNewChild(resp, resp->ns, (const xmlChar *)"Extensions", NULL); /* samlp:Extensions */
    xmlAddChild(ext, a);
    xmlAddPrevSibling(ext, evil);
    struct saml_result res;
    /* Same ID twice: refused when IDs are registered; with another ID: two assertions. */
    cr_assert_str_eq(check_doc(doc, &res), "saml_structure");
}

Test(saml, xsw_signed_assertion_moved_into_signature_object_refused)
{
    /* The evil assertion carries the original's signature, and the signed original hides in
     * that signature's ds:Object, where a careless verifier still finds it by ID. */
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    xmlNodePtr resp = xmlDocGetRootElement(doc);
    xmlNodePtr a = saml_xml_child(resp, SAML_NS_ASSERTION, "Assertion");
    xmlNodePtr evil = evil_copy(a, "_evil3");
    xmlNodePtr sig_copy = xmlCopyNode(saml_xml_child(a, SAML_NS_DSIG, "Signature"), 1);
    xmlAddNextSibling(saml_xml_child(evil, SAML_NS_ASSERTION, "Issuer"), sig_copy);
    xmlUnlinkNode(a);
    xmlNodePtr object = xmlNewChild(sig_copy, sig_copy->ns, (const xmlChar *)"Object", NULL);
    xmlAddChild(object, a);
    xmlAddChild(resp, evil);
    struct saml_result res;
    cr_assert_str_eq(check_doc(doc, &res), "saml_structure");
}

Test(saml, signed_response_tampered_refused)
{
    /* Moving anything inside a signed Response breaks the Response's own signature. */
    struct fx_resp o = fx_resp_default();
    o.sign_response = true;
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    xmlNodePtr resp = xmlDocGetRootElement(doc);
    xmlNodePtr a = saml_xml_child(resp, SAML_NS_ASSERTION, "Assertion");
    xmlAddNextSibling(a, evil_copy(a, "_evil4"));
    struct saml_result res;
    cr_assert_str_eq(check_doc(doc, &res), "saml_signature");
}

Test(saml, xsw_duplicate_id_refused)
{
    /* The evil copy carries the signed assertion's ID; the original sits in Extensions. */
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    size_t len;
    char *xml = fx_dump(doc, &len);
    xmlFreeDoc(doc);
    char *start = strstr(xml, "<saml:Assertion"), *end = strstr(xml, "</samlp:Response>");
    char *evil = NULL;
    int n = asprintf(&evil, "%.*s<samlp:Extensions>%.*s</samlp:Extensions>%s", (int)(start - xml),
                     xml, (int)(end - start), start, start);
    cr_assert(n > 0);
    char *second = strstr(strstr(evil, "</samlp:Extensions>"), FX_BSN);
    memcpy(second, "111222333", 9);
    struct saml_result res;
    cr_assert_str_eq(check_bytes(evil, (size_t)n, &res), "saml_structure");
    free(evil);
    free(xml);
}

Test(saml, wrong_audience_refused)
{
    struct fx_resp o = fx_resp_default();
    o.audience = "https://other-sp.example.nl";
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_audience");
}

Test(saml, wrong_recipient_refused)
{
    struct fx_resp o = fx_resp_default();
    o.recipient = "https://evil.example/acs";
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_confirmation");
}

Test(saml, wrong_destination_refused)
{
    struct fx_resp o = fx_resp_default();
    o.destination = "https://evil.example/acs";
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_destination");
}

Test(saml, expired_refused)
{
    struct fx_resp o = fx_resp_default();
    o.not_before_s = -900;
    o.not_on_or_after_s = -61; /* past the 60 s skew */
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_confirmation");
}

Test(saml, expired_within_skew_accepted)
{
    struct fx_resp o = fx_resp_default();
    o.not_on_or_after_s = -30;
    cr_assert_str_eq(check_opts(&o, &idp_kp), "");
}

Test(saml, not_yet_valid_refused)
{
    struct fx_resp o = fx_resp_default();
    o.not_before_s = 120;
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_expired");
}

Test(saml, in_response_to_mismatch_refused)
{
    struct fx_resp o = fx_resp_default();
    o.in_response_to = "_another_request";
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_in_response_to");
}

Test(saml, replayed_assertion_refused)
{
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    size_t len;
    char *xml = fx_dump(doc, &len);
    xmlFreeDoc(doc);
    struct saml_result res;
    cr_assert_str_eq(check_bytes(xml, len, &res), "");
    cr_assert_str_eq(check_bytes(xml, len, &res), "saml_replay");
    free(xml);
}

Test(saml, wrong_sector_refused)
{
    struct fx_resp o = fx_resp_default();
    o.name_id = "s00000001:" FX_BSN;
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_sector");
}

Test(saml, bad_bsn_refused)
{
    struct fx_resp o = fx_resp_default();
    o.name_id = "s00000000:123456789"; /* fails the elfproef */
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_bsn");
}

Test(saml, unknown_class_ref_refused)
{
    struct fx_resp o = fx_resp_default();
    o.class_ref = SAML_AC_PREFIX "Password";
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_classref");
}

Test(saml, cancelled_status_explained)
{
    struct fx_resp o = fx_resp_default();
    o.status = "AuthnFailed";
    cr_assert_str_eq(check_opts(&o, &idp_kp), "saml_cancelled");
}

Test(saml, doctype_and_xxe_refused)
{
    static const char *docs[] = {
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">&x;"
        "</samlp:Response>",
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
        "\"&a;&a;&a;&a;&a;&a;&a;&a;\">]><r>&b;</r>",
        "<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/evil.dtd\"><r/>",
        "<r>&undeclared;</r>",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct saml_result res;
        cr_assert_str_eq(check_bytes(docs[i], strlen(docs[i]), &res), "saml_xml", "doc %zu", i);
    }
}

Test(saml, oversized_refused)
{
    size_t len = SAML_XML_MAX + 1;
    char *big = malloc(len);
    memset(big, ' ', len);
    memcpy(big, "<r>", 3);
    memcpy(big + len - 4, "</r>", 4);
    struct saml_result res;
    cr_assert_str_eq(check_bytes(big, len, &res), "saml_xml");
    free(big);
}

Test(saml, loa_map_parse)
{
    struct saml_sp s = {0};
    char why[128];
    cr_assert_eq(saml_loa_map_parse(&s, "urn:x:y=hoog,Smartcard=midden", why, sizeof(why)), 0);
    cr_assert_str_eq(s.loa_map[0].class_ref, "urn:x:y");
    cr_assert_str_eq(s.loa_map[1].class_ref, SAML_AC_PREFIX "Smartcard");
    cr_assert_str_eq(saml_loa_class_ref(&s, LOA_BASIS), SAML_AC_PREFIX "Smartcard");
    cr_assert_str_eq(saml_loa_class_ref(&s, LOA_SUBSTANTIEEL), "urn:x:y");
    cr_assert_neq(saml_loa_map_parse(&s, "Smartcard=super", why, sizeof(why)), 0);
    cr_assert_neq(saml_loa_map_parse(&s, "", why, sizeof(why)), 0);
    cr_assert_neq(saml_loa_map_parse(&s, "A=basis,A=hoog", why, sizeof(why)), 0);
}

Test(saml, base64_rfc4648_vectors)
{
    /* RFC 4648 §10. */
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *dec[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    for (int i = 0; i < 7; i++) {
        uint8_t out[16];
        long n = saml_base64_decode(enc[i], strlen(enc[i]), out, sizeof(out));
        cr_assert_eq(n, (long)strlen(dec[i]));
        cr_assert_eq(memcmp(out, dec[i], (size_t)n), 0);
    }
    uint8_t out[16];
    cr_assert_eq(saml_base64_decode("Zm9v\r\nYmFy", 10, out, sizeof(out)), 6);
    cr_assert_eq(saml_base64_decode("Zm9=v", 5, out, sizeof(out)), -1);
    cr_assert_eq(saml_base64_decode("Zh==", 4, out, sizeof(out)), -1); /* nonzero pad bits */
    cr_assert_eq(saml_base64_decode("Zm9vYmFy", 8, out, 5), -1);
}

Test(saml, time_parse)
{
    uint64_t ms;
    cr_assert_eq(saml_time_parse("2026-11-22T16:00:00Z", &ms), 0);
    cr_assert_eq(ms, 1795363200000ull);
    cr_assert_eq(saml_time_parse("2026-11-22T16:00:00.250Z", &ms), 0);
    cr_assert_eq(ms, 1795363200250ull);
    cr_assert_eq(saml_time_parse("2026-11-22T16:00:00+01:00", &ms), -1);
    cr_assert_eq(saml_time_parse("2026-11-22 16:00:00Z", &ms), -1);
}

/* Undoes the redirect binding's DEFLATE (RFC 1951). */
static char *inflate_raw(const uint8_t *in, size_t len)
{
    static char out[8192];
    z_stream z = {0};
    cr_assert_eq(inflateInit2(&z, -15), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = sizeof(out) - 1;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    out[sizeof(out) - 1 - z.avail_out] = '\0';
    inflateEnd(&z);
    return out;
}

static void url_decode(const char *in, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%') {
            unsigned v;
            sscanf(in + i + 1, "%2x", &v);
            out[n++] = (char)v;
            i += 2;
        } else {
            out[n++] = in[i];
        }
    }
    out[n] = '\0';
}

static const char *query_value(const char *url, const char *name, char *out)
{
    char key[32];
    snprintf(key, sizeof(key), "%s=", name);
    const char *at = strstr(url, key);
    cr_assert_not_null(at, "%s missing", name);
    at += strlen(key);
    url_decode(at, strcspn(at, "&"), out);
    return out;
}

Test(saml, authn_request_signed_over_the_query)
{
    /* The SP key is the fixture's IdP key here: any RSA key shows the signature is right. */
    char url[4096], id[SAML_ID_MAX];
    sp.force_authn = true;
    cr_assert_eq(saml_authn_request_url(&sp, idp, idp_kp.key, LOA_SUBSTANTIEEL, "st4te", FX_NOW_MS,
                                        url, sizeof(url), id),
                 0);
    cr_assert(strncmp(url, "https://idp.example.nl/sso?SAMLRequest=", 39) == 0, "%s", url);
    static char b64[6000], sig64[1400], relay[64], alg[128];
    query_value(url, "SAMLRequest", b64);
    query_value(url, "Signature", sig64);
    cr_assert_str_eq(query_value(url, "RelayState", relay), "st4te");
    cr_assert_str_eq(query_value(url, "SigAlg", alg),
                     "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    static uint8_t raw[6000];
    long n = saml_base64_decode(b64, strlen(b64), raw, sizeof(raw));
    cr_assert_gt(n, 0);
    const char *xml = inflate_raw(raw, (size_t)n);
    char want[128];
    snprintf(want, sizeof(want), "ID=\"%s\"", id);
    cr_assert(strstr(xml, want), "%s", xml);
    cr_assert(strstr(xml, "Comparison=\"minimum\""));
    cr_assert(strstr(xml, SAML_AC_PREFIX "Smartcard<"), "the class ref of substantieel: %s", xml);
    cr_assert(strstr(xml, "ForceAuthn=\"true\""));
    cr_assert(strstr(xml, "AssertionConsumerServiceURL=\"" FX_ACS "\""));
    cr_assert(strstr(xml, "<saml:Issuer>" FX_SP "</saml:Issuer>"));
    /* Bindings §3.4.4.1: the signature covers the query up to, not including, &Signature. */
    const char *q = strchr(url, '?') + 1;
    size_t signed_len = (size_t)(strstr(url, "&Signature=") - q);
    uint8_t sig[512];
    long sig_len = saml_base64_decode(sig64, strlen(sig64), sig, sizeof(sig));
    FILE *f = fopen(idp_kp.cert_file, "r");
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)), 1);
    cr_assert_eq(EVP_DigestVerify(md, sig, (size_t)sig_len, (const uint8_t *)q, signed_len), 1);
    EVP_MD_CTX_free(md);
    X509_free(cert);
}

Test(saml, sp_metadata)
{
    size_t len;
    sp.artifact = true;
    char *md = saml_sp_metadata(&sp, idp_kp.key, &len);
    cr_assert_not_null(md);
    cr_assert(strstr(md, "entityID=\"" FX_SP "\""));
    cr_assert(strstr(md, "AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"true\""));
    cr_assert(strstr(md, idp_kp.cert_b64), "our certificate is in it");
    cr_assert(strstr(md, SAML_BINDING_POST "\" Location=\"" FX_ACS "\" index=\"0\"/>"));
    cr_assert(strstr(md, SAML_BINDING_ARTIFACT "\" Location=\"" FX_ACS
                                               "\" index=\"1\" isDefault=\"true\""));
    /* Well-formed, and what a metadata reader expects at the top. */
    char why[64];
    xmlDocPtr doc = saml_xml_parse((const uint8_t *)md, len, SAML_XML_MAX, why, sizeof(why));
    cr_assert_not_null(doc, "%s", why);
    cr_assert(saml_xml_is(xmlDocGetRootElement(doc), SAML_NS_METADATA, "EntityDescriptor"));
    xmlFreeDoc(doc);
    free(md);
}

/* A type 0x0004 artifact from this IdP, for endpoint `index`. */
static void make_artifact(const char *entity_id, unsigned index, char out[SAML_ARTIFACT_MAX])
{
    uint8_t raw[44] = {0, 4, (uint8_t)(index >> 8), (uint8_t)index};
    SHA1((const unsigned char *)entity_id, strlen(entity_id), raw + 4);
    memset(raw + 24, 0x5a, 20);
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
}

Test(saml, artifact_parse)
{
    char art[SAML_ARTIFACT_MAX];
    unsigned index = 99;
    make_artifact(FX_IDP, 1, art);
    cr_assert_eq(saml_artifact_parse(art, idp, &index), 0);
    cr_assert_eq(index, 1);
    make_artifact("https://other-idp.example", 1, art);
    cr_assert_eq(saml_artifact_parse(art, idp, &index), -1, "another IdP's SourceID");
    cr_assert_eq(saml_artifact_parse("AAQAAA==", idp, &index), -1, "too short");
    cr_assert_eq(saml_artifact_parse("", idp, &index), -1);
}

/* The ArtifactResolve we send, wrapped by the "IdP" into a signed ArtifactResponse. */
static char *artifact_response(const char *resolve_id, bool sign, bool tamper, size_t *len)
{
    struct fx_resp o = fx_resp_default();
    xmlDocPtr inner = fx_response_doc(&o, &idp_kp);
    size_t n;
    char *resp = fx_dump(inner, &n);
    xmlFreeDoc(inner);
    char *body = strstr(resp, "<samlp:Response");
    char *xml = NULL;
    cr_assert(asprintf(&xml,
                       "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" SAML_NS_SOAP "\"><SOAP-ENV:Body>"
                       "<samlp:ArtifactResponse xmlns:samlp=\"" SAML_NS_PROTOCOL
                       "\" xmlns:saml=\"" SAML_NS_ASSERTION
                       "\" ID=\"_ar1\" Version=\"2.0\" IssueInstant=\"2026-11-18T00:00:00Z\" "
                       "InResponseTo=\"%s\"><saml:Issuer>" FX_IDP "</saml:Issuer>"
                       "<samlp:Status><samlp:StatusCode "
                       "Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>"
                       "%s</samlp:ArtifactResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>",
                       resolve_id, body) > 0);
    free(resp);
    char why[64];
    xmlDocPtr doc =
        saml_xml_parse((const uint8_t *)xml, strlen(xml), SAML_XML_MAX, why, sizeof(why));
    free(xml);
    cr_assert_not_null(doc, "%s", why);
    cr_assert_eq(saml_xml_register_ids(doc), 0);
    xmlNodePtr ar = saml_xml_child(saml_xml_child(xmlDocGetRootElement(doc), SAML_NS_SOAP, "Body"),
                                   SAML_NS_PROTOCOL, "ArtifactResponse");
    if (sign)
        cr_assert_eq(
            saml_xml_sign(ar, saml_xml_child(ar, SAML_NS_ASSERTION, "Issuer"), idp_kp.key->key), 0);
    if (tamper)
        xmlSetProp(ar, (const xmlChar *)"IssueInstant", (const xmlChar *)"2026-11-18T00:00:01Z");
    char *out = fx_dump(doc, len);
    xmlFreeDoc(doc);
    return out;
}

static const char *check_artifact(const char *xml, size_t len, const char *resolve_id)
{
    static struct idp_error err;
    struct saml_result res;
    memset(&err, 0, sizeof(err));
    if (saml_response_check(&sp, idp, replay, (const uint8_t *)xml, len, FX_REQ, resolve_id,
                            FX_NOW_MS, &res, &err) == 0)
        return res.loa == LOA_MIDDEN && strcmp(res.subject, FX_BSN) == 0 ? "" : "wrong result";
    return err.code;
}

Test(saml, artifact_resolve_signed_and_response_checked)
{
    char art[SAML_ARTIFACT_MAX], rid[SAML_ID_MAX];
    make_artifact(FX_IDP, 1, art);
    size_t len;
    char *soap = saml_artifact_resolve(&sp, idp, idp_kp.key, art, FX_NOW_MS, &len, rid);
    cr_assert_not_null(soap);
    cr_assert(strstr(soap, "Destination=\"https://idp.example.nl/ars\""));
    cr_assert(strstr(soap, art));
    /* Our own signature verifies with our certificate (what the IdP does). */
    char why[128];
    xmlDocPtr doc = saml_xml_parse((const uint8_t *)soap, len, SAML_XML_MAX, why, sizeof(why));
    cr_assert_not_null(doc);
    cr_assert_eq(saml_xml_register_ids(doc), 0);
    xmlNodePtr req = saml_xml_child(saml_xml_child(xmlDocGetRootElement(doc), SAML_NS_SOAP, "Body"),
                                    SAML_NS_PROTOCOL, "ArtifactResolve");
    cr_assert_eq(saml_xml_verify(req, idp->keys, idp->key_count, why, sizeof(why)), 0, "%s", why);
    xmlFreeDoc(doc);
    free(soap);

    char *ok = artifact_response(rid, true, false, &len);
    cr_assert_str_eq(check_artifact(ok, len, rid), "");
    free(ok);
}

Test(saml, artifact_response_refusals)
{
    size_t len;
    char *other = artifact_response("_not_ours", true, false, &len);
    cr_assert_str_eq(check_artifact(other, len, "_ours"), "saml_in_response_to");
    free(other);
    char *tampered = artifact_response("_ours", true, true, &len);
    cr_assert_str_eq(check_artifact(tampered, len, "_ours"), "saml_signature");
    free(tampered);
    char *unsigned_ar = artifact_response("_ours", false, false, &len);
    cr_assert_str_eq(check_artifact(unsigned_ar, len, "_ours"), "saml_signature");
    free(unsigned_ar);
    /* A bare Response where an ArtifactResponse is expected. */
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    char *bare = fx_dump(doc, &len);
    xmlFreeDoc(doc);
    cr_assert_str_eq(check_artifact(bare, len, "_ours"), "saml_invalid");
    free(bare);
}

Test(saml, encrypted_assertion_refused)
{
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    xmlNodePtr resp = xmlDocGetRootElement(doc);
    xmlNodePtr a = saml_xml_child(resp, SAML_NS_ASSERTION, "Assertion");
    xmlNodePtr enc = xmlNewNode(a->ns, (const xmlChar *)"EncryptedAssertion");
    xmlAddNextSibling(a, enc);
    struct saml_result res;
    cr_assert_str_eq(check_doc(doc, &res), "saml_structure");
}

/* A signed assertion whose SignedInfo is changed: no signature can hold any more, but the
 * refusal must come from the allowlist, before any transform runs. */
static const char *check_with_signed_info_change(const char *from, const char *to)
{
    struct fx_resp o = fx_resp_default();
    xmlDocPtr doc = fx_response_doc(&o, &idp_kp);
    size_t len;
    char *xml = fx_dump(doc, &len);
    xmlFreeDoc(doc);
    char *at = strstr(xml, from);
    cr_assert_not_null(at, "%s", from);
    char *changed = NULL;
    int n = asprintf(&changed, "%.*s%s%s", (int)(at - xml), xml, to, at + strlen(from));
    free(xml);
    cr_assert(n > 0);
    xmlDocPtr d =
        saml_xml_parse((const uint8_t *)changed, (size_t)n, SAML_XML_MAX, (char[64]){0}, 64);
    free(changed);
    cr_assert_not_null(d);
    cr_assert_eq(saml_xml_register_ids(d), 0);
    xmlNodePtr a = saml_xml_child(xmlDocGetRootElement(d), SAML_NS_ASSERTION, "Assertion");
    static char why[128];
    int rc = saml_xml_verify(a, idp->keys, idp->key_count, why, sizeof(why));
    xmlFreeDoc(d);
    cr_assert_eq(rc, -1);
    return why;
}

Test(saml, signed_info_allowlist)
{
    cr_assert_str_eq(check_with_signed_info_change(
                         "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
                         "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">"
                         "<ds:XPath>1</ds:XPath></ds:Transform>"),
                     "signature transform not allowed");
    cr_assert_str_eq(check_with_signed_info_change("xmldsig-more#rsa-sha256", "xmldsig#rsa-sha1"),
                     "signature algorithm not allowed");
    cr_assert_str_eq(check_with_signed_info_change("URI=\"#_a", "URI=\"#_b"),
                     "signature does not reference the element it is in");
    cr_assert_str_eq(check_with_signed_info_change(
                         "<ds:Reference URI=\"", "<ds:Reference URI=\"#_r00000000000000000000001\">"
                                                 "<ds:DigestMethod/></ds:Reference>"
                                                 "<ds:Reference URI=\""),
                     "signature needs one SignedInfo with one Reference");
}
