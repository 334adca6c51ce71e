/* gateway/config.c: `[saml.<id>]` sections, their variables, checks and documentation. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "balie/config.h"

static struct balie_config cfg;
static struct config_errors errors;

static void reset(void)
{
    config_defaults(&cfg);
    memset(&errors, 0, sizeof(errors));
}

TestSuite(config_saml, .init = reset);

static int parse(const char *text)
{
    return config_parse_text(&cfg, "test.conf", text, strlen(text), &errors);
}

static const char saml_ok[] = "[http]\npublic_url = \"https://balie.example.nl/\"\n"
                              "[saml.digid]\nidp_metadata_file = /etc/balie/idp.xml\n"
                              "sp_key_file = /etc/balie/sp.key\nsp_cert_file = /etc/balie/sp.crt\n";

Test(config_saml, section_defaults_and_urls_from_public_url)
{
    cr_assert_eq(parse(saml_ok), 0, "%s", errors.messages[0]);
    cr_assert_eq(config_validate(&cfg, &errors), 0, "%s", errors.messages[0]);
    cr_assert_eq(cfg.saml_count, 1);
    const struct config_saml *s = &cfg.saml[0];
    cr_assert_str_eq(s->id, "digid");
    cr_assert_str_eq(s->acs_url, "https://balie.example.nl/auth/callback/digid");
    cr_assert_str_eq(s->sp_entity_id, "https://balie.example.nl/auth/metadata/digid");
    cr_assert_str_eq(s->sector, "s00000000");
    cr_assert_str_eq(s->binding, "artifact");
    cr_assert_eq(s->clock_skew_s, 60);
    cr_assert_not(s->force_authn);
    cr_assert(strstr(s->loa_map, "SmartcardPKI=hoog"));
}

Test(config_saml, environment_sets_keys)
{
    char *env[] = {"BALIE_SAML_MIJN_IDP_IDP_METADATA_FILE=/m.xml",
                   "BALIE_SAML_MIJN_IDP_SP_KEY_FILE=/k",
                   "BALIE_SAML_MIJN_IDP_SP_CERT_FILE=/c",
                   "BALIE_SAML_MIJN_IDP_TLS_CLIENT_KEY=/tk",
                   "BALIE_SAML_MIJN_IDP_BINDING=post",
                   "BALIE_SAML_MIJN_IDP_FORCE_AUTHN=true",
                   "BALIE_SAML_MIJN_IDP_ACS_URL=https://b.example/auth/callback/mijn-idp",
                   "BALIE_SAML_MIJN_IDP_SP_ENTITY_ID=urn:balie",
                   NULL};
    cr_assert_eq(config_apply_env(&cfg, env, &errors), 0, "%s", errors.messages[0]);
    cr_assert_eq(config_validate(&cfg, &errors), 0, "%s", errors.messages[0]);
    cr_assert_eq(cfg.saml_count, 1);
    cr_assert_str_eq(cfg.saml[0].id, "mijn-idp");
    cr_assert_str_eq(cfg.saml[0].tls_client_key, "/tk", "the longest key name wins over _KEY");
    cr_assert_str_eq(cfg.saml[0].binding, "post");
    cr_assert(cfg.saml[0].force_authn);
}

Test(config_saml, refusals)
{
    cr_assert_gt(parse("[saml.dev]\n"), 0, "dev is the test login's id");
    reset();
    cr_assert_gt(parse("[saml.digid]\nbinding = redirect\n"), 0);
    reset();
    cr_assert_gt(parse("[saml.digid]\nclock_skew_s = 3600\n"), 0);
    reset();
    cr_assert_gt(parse("[saml.digid]\nunknown = 1\n"), 0);
    reset();
    /* Missing files, and no public URL to make the URLs from. */
    cr_assert_eq(parse("[saml.digid]\n"), 0);
    cr_assert_geq(config_validate(&cfg, &errors), 4);
    reset();
    cr_assert_eq(parse(saml_ok), 0);
    cr_assert_eq(parse("[saml.digid]\nsector = \"s0:0\"\n"
                       "acs_url = \"http://balie.example.nl/auth/callback/digid\"\n"),
                 0);
    cr_assert_eq(config_validate(&cfg, &errors), 2, "bad sector, plain http ACS");
}

Test(config_saml, every_key_is_documented)
{
    FILE *f = fopen(BALIE_TEST_DATA "/../../docs/configuration.md", "r");
    cr_assert_not_null(f);
    static char doc[262144];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    doc[n] = '\0';
    fclose(f);
    size_t count;
    const struct config_key_info *keys = config_saml_keys(&count);
    cr_assert_geq(count, 14);
    for (size_t i = 0; i < count; i++) {
        char var[128], key[128];
        snprintf(var, sizeof(var), "BALIE_SAML_<ID>_%s", keys[i].key);
        for (char *p = var; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        snprintf(key, sizeof(key), "`saml.<id>.%s`", keys[i].key);
        cr_expect(strstr(doc, var), "docs/configuration.md does not mention %s", var);
        cr_expect(strstr(doc, key), "docs/configuration.md does not mention %s", key);
    }
}
