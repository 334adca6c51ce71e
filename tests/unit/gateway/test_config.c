#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balie/config.h"

static struct balie_config cfg;
static struct config_errors errors;

static void reset(void)
{
    config_defaults(&cfg);
    memset(&errors, 0, sizeof(errors));
}

static int parse(const char *text)
{
    reset();
    return config_parse_text(&cfg, "test.conf", text, strlen(text), &errors);
}

TestSuite(config, .init = reset);

Test(config, defaults_are_valid_and_local)
{
    cr_assert_eq(config_validate(&cfg, &errors), 0, "%s", errors.messages[0]);
    cr_assert_str_eq(cfg.http.listen, "127.0.0.1");
    cr_assert_eq(cfg.http.port, 8080);
    cr_assert_str_eq(cfg.general.environment, "development");
    cr_assert_eq(cfg.shutdown.grace_s, 30);
    cr_assert_eq(cfg.media.workers, 0);
}

Test(config, parses_sections_values_and_comments)
{
    int n = parse("# a comment\n"
                  "[http]\n"
                  "port = 9090   # trailing comment\n"
                  "listen = \"127.0.0.2\"\n"
                  "behind_proxy = true\n"
                  "public_url = \"https://balie.example.nl/x\\\"y\"\n"
                  "\n"
                  "[media]\r\n"
                  "workers = 3\r\n"
                  "[log]\n"
                  "level = debug\n");
    cr_assert_eq(n, 0, "%s", errors.messages[0]);
    cr_assert_eq(cfg.http.port, 9090);
    cr_assert_str_eq(cfg.http.listen, "127.0.0.2");
    cr_assert(cfg.http.behind_proxy);
    cr_assert_str_eq(cfg.http.public_url, "https://balie.example.nl/x\"y");
    cr_assert_eq(cfg.media.workers, 3);
    cr_assert_str_eq(cfg.log.level, "debug");
}

Test(config, unknown_key_names_file_line_and_key)
{
    cr_assert_eq(parse("[http]\nport = 1\nprot = 2\n"), 1);
    cr_assert_str_eq(errors.messages[0], "test.conf:3: unknown key 'prot' in [http]");
}

Test(config, unknown_section_is_an_error)
{
    cr_assert_eq(parse("[htp]\nport = 1\n"), 1);
    cr_assert_str_eq(errors.messages[0], "test.conf:1: unknown section [htp]");
}

Test(config, key_before_section)
{
    cr_assert_eq(parse("port = 1\n"), 1);
    cr_assert(strstr(errors.messages[0], "test.conf:1: key 'port' comes before any [section]"));
}

Test(config, bad_values_say_why)
{
    cr_assert_eq(parse("[http]\nport = 70000\nbehind_proxy = yes\n[log]\nlevel = loud\n"
                       "[media]\nworkers = 2x\n"),
                 4);
    cr_assert_str_eq(errors.messages[0], "test.conf:2: key 'http.port': 70000 is outside 0..65535");
    cr_assert_str_eq(errors.messages[1],
                     "test.conf:3: key 'http.behind_proxy': 'yes' is not true or false");
    cr_assert_str_eq(errors.messages[2],
                     "test.conf:5: key 'log.level': 'loud' is not one of debug|info|warn|error");
    cr_assert_str_eq(errors.messages[3], "test.conf:7: key 'media.workers': '2x' is not a whole "
                                         "number");
}

Test(config, malformed_lines)
{
    cr_assert_eq(parse("[http\n"), 1);
    cr_assert(strstr(errors.messages[0], ":1: malformed section header"));
    cr_assert_eq(parse("[http]\nport 8080\n"), 1);
    cr_assert(strstr(errors.messages[0], ":2: expected 'key = value'"));
    cr_assert_eq(parse("[http]\nlisten = \"127.0.0.1\n"), 1);
    cr_assert(strstr(errors.messages[0], "unterminated quoted string"));
    cr_assert_eq(parse("[http]\nlisten = 127.0.0.1 extra\n"), 1);
    cr_assert(strstr(errors.messages[0], "unexpected text after the value"));
    cr_assert_eq(parse("[http]\nlisten =\n"), 1);
    cr_assert(strstr(errors.messages[0], "missing value"));
}

Test(config, nul_byte_is_refused)
{
    reset();
    static const char text[] = "[http]\nport = 8\0\n";
    cr_assert_eq(config_parse_text(&cfg, "t", text, sizeof(text) - 1, &errors), 1);
    cr_assert(strstr(errors.messages[0], "NUL"));
}

Test(config, too_long_string)
{
    char text[1200];
    snprintf(text, sizeof(text), "[general]\ndata_dir = \"%0300d\"\n", 0);
    cr_assert_eq(parse(text), 1);
    cr_assert(strstr(errors.messages[0], "longer than 255"), "%s", errors.messages[0]);
}

Test(config, environment_overrides_and_unknown_variables)
{
    char *env[] = {"PATH=/bin",
                   "BALIE_HTTP_PORT=7000",
                   "BALIE_MEDIA_ANNOUNCE=203.0.113.7",
                   "BALIE_CONFIG=/x",
                   "BALIE_PRINT_URLS=1",
                   "BALIE_HTTP_PROT=1",
                   NULL};
    cr_assert_eq(config_apply_env(&cfg, env, &errors), 1);
    cr_assert_eq(cfg.http.port, 7000);
    cr_assert_str_eq(cfg.media.announce, "203.0.113.7");
    cr_assert_str_eq(errors.messages[0], "environment: unknown variable BALIE_HTTP_PROT");
}

Test(config, environment_bad_value)
{
    char *env[] = {"BALIE_SHUTDOWN_GRACE_S=-1", NULL};
    cr_assert_eq(config_apply_env(&cfg, env, &errors), 1);
    cr_assert_str_eq(errors.messages[0],
                     "environment: BALIE_SHUTDOWN_GRACE_S: -1 is outside 0..86400");
}

Test(config, environment_file_convention_for_secrets)
{
    char path[] = "/tmp/balie-secret-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "/etc/ssl/x.pem\n", 15), 15);
    close(fd);
    char var[128];
    snprintf(var, sizeof(var), "BALIE_HTTP_TLS_CERT_FILE=%s", path);
    char *env[] = {var, "BALIE_HTTP_TLS_KEY_FILE=/nonexistent/balie", NULL};
    cr_assert_eq(config_apply_env(&cfg, env, &errors), 1);
    cr_assert_str_eq(cfg.http.tls_cert, "/etc/ssl/x.pem");
    cr_assert(strstr(errors.messages[0], "BALIE_HTTP_TLS_KEY_FILE: /nonexistent/balie: cannot "
                                         "open"));
    unlink(path);
}

Test(config, validate_refuses_plain_http_on_public_address)
{
    strcpy(cfg.http.listen, "0.0.0.0");
    cr_assert_eq(config_validate(&cfg, &errors), 1);
    cr_assert(strstr(errors.messages[0], "plain HTTP on '0.0.0.0' is refused"));
    memset(&errors, 0, sizeof(errors));
    cfg.http.behind_proxy = true;
    cr_assert_eq(config_validate(&cfg, &errors), 0);
}

Test(config, validate_tls_pair_and_production)
{
    strcpy(cfg.http.tls_cert, "/c.pem");
    cr_assert_eq(config_validate(&cfg, &errors), 1);
    cr_assert(strstr(errors.messages[0], "tls_cert and tls_key must be set together"));
    reset();
    strcpy(cfg.general.environment, "production");
    cr_assert_eq(config_validate(&cfg, &errors), 1);
    cr_assert(strstr(errors.messages[0], "production needs TLS"));
}

Test(config, validate_addresses)
{
    strcpy(cfg.media.bind, "example.org");
    cr_assert_eq(config_validate(&cfg, &errors), 1);
    cr_assert(strstr(errors.messages[0], "media: bind 'example.org' is not an IP address"));
}

Test(config, unreadable_file)
{
    cr_assert_eq(config_load_file(&cfg, "/nonexistent/balie.conf", &errors), 1);
    cr_assert(strstr(errors.messages[0], "/nonexistent/balie.conf: cannot open"));
}

Test(config, many_errors_are_all_counted)
{
    char text[4096] = "[http]\n";
    for (int i = 0; i < 40; i++)
        strcat(text, "nope = 1\n");
    cr_assert_eq(parse(text), 40);
    cr_assert_eq(errors.count, 40);
}

Test(config, loopback_detection)
{
    cr_assert(config_is_loopback("127.0.0.1"));
    cr_assert(config_is_loopback("127.9.9.9"));
    cr_assert(config_is_loopback("::1"));
    cr_assert(config_is_loopback("localhost"));
    cr_assert_not(config_is_loopback("0.0.0.0"));
    cr_assert_not(config_is_loopback("10.0.0.1"));
}

/* docs/configuration.md must name every key with its variable and default: a key added to
 * the table without documentation fails here. */
Test(config, every_key_is_documented)
{
    FILE *f = fopen(BALIE_TEST_DATA "/../../docs/configuration.md", "r");
    cr_assert_not_null(f, "docs/configuration.md is missing");
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    doc[n] = '\0';
    fclose(f);
    size_t count;
    const struct config_key_info *keys = config_keys(&count);
    for (size_t i = 0; i < count; i++) {
        char var[128];
        snprintf(var, sizeof(var), "BALIE_%s_%s", keys[i].section, keys[i].key);
        for (char *p = var; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        cr_expect(strstr(doc, var), "docs/configuration.md does not mention %s", var);
    }
}

Test(config, services_from_sections_and_environment)
{
    cr_assert_eq(parse("[service.paspoort]\nname_nl = \"Paspoort en ID-kaart\"\n"
                       "min_loa = substantieel\n[service.afval]\nname_nl = Afval\n"),
                 0, "%s", errors.messages[0]);
    char *env[] = {"BALIE_SERVICE_AFVAL_MIN_LOA=basis",
                   "BALIE_SERVICE_PARKEREN_ZONE_NAME_EN=Parking", NULL};
    cr_assert_eq(config_apply_env(&cfg, env, &errors), 0, "%s", errors.messages[0]);
    cr_assert_eq(config_validate(&cfg, &errors), 0);
    cr_assert_eq(cfg.service_count, 3);
    const struct config_service *p = config_service_find(&cfg, "paspoort");
    cr_assert_not_null(p);
    cr_assert_str_eq(p->min_loa, "substantieel");
    cr_assert_str_eq(p->name_en, "Paspoort en ID-kaart", "English falls back to Dutch");
    cr_assert_str_eq(config_service_find(&cfg, "afval")->min_loa, "basis");
    const struct config_service *z = config_service_find(&cfg, "parkeren-zone");
    cr_assert_not_null(z);
    cr_assert_str_eq(z->min_loa, "midden", "the default level");
    cr_assert_str_eq(z->name_en, "Parking");
}

Test(config, default_service_when_none_configured)
{
    cr_assert_eq(config_validate(&cfg, &errors), 0);
    cr_assert_eq(cfg.service_count, 1);
    cr_assert_str_eq(cfg.services[0].id, "algemeen");
    cr_assert_str_eq(cfg.services[0].name_nl, "Algemene vragen");
}

Test(config, bad_services)
{
    cr_assert_eq(
        parse("[service.Pas_poort]\nname_nl = x\n[service.ok]\nmin_loa = high\ncolour = red\n"), 3);
    cr_assert(strstr(errors.messages[0], "test.conf:1: [service.Pas_poort]: service id"), "%s",
              errors.messages[0]);
    cr_assert(
        strstr(errors.messages[1], "test.conf:4: key 'service.ok.min_loa': 'high' is not one of"),
        "%s", errors.messages[1]);
    cr_assert(strstr(errors.messages[2], "test.conf:5: unknown key 'colour' in [service.ok]"), "%s",
              errors.messages[2]);
}

Test(config, wildcard_bind_needs_announced_addresses)
{
    strcpy(cfg.media.bind, "0.0.0.0");
    cr_assert_eq(config_validate(&cfg, &errors), 1);
    cr_assert(strstr(errors.messages[0], "media: bind '0.0.0.0' is a wildcard"), "%s",
              errors.messages[0]);
    memset(&errors, 0, sizeof(errors));
    strcpy(cfg.media.announce, "203.0.113.7, 2001:db8::7");
    cr_assert_eq(config_validate(&cfg, &errors), 0, "%s", errors.messages[0]);
    strcpy(cfg.media.announce, "203.0.113.7,balie.example.nl");
    cr_assert_eq(config_validate(&cfg, &errors), 1);
    cr_assert(strstr(errors.messages[0], "announce entry 'balie.example.nl' is not an IP address"),
              "%s", errors.messages[0]);
}

Test(config, agent_login_keys_and_trusted_proxies)
{
    cr_assert_str_eq(cfg.identity.local_provider, "auto");
    cr_assert_not(cfg.identity.show_citizen_name, "names stay hidden unless chosen");
    cr_assert_str_eq(cfg.identity.users_file, "");
    cr_assert_eq(parse("[identity]\nlocal_provider = true\nshow_citizen_name = true\n"
                       "users_file = \"/etc/balie/users\"\n[http]\n"
                       "trusted_proxies = \"10.0.0.1, ::1\"\n"),
                 0, "%s", errors.messages[0]);
    cr_assert_eq(config_validate(&cfg, &errors), 0, "%s", errors.messages[0]);
    cr_assert(cfg.identity.show_citizen_name);
    cr_assert_eq(parse("[identity]\nlocal_provider = maybe\n"), 1);
    reset();
    cr_assert_eq(parse("[http]\ntrusted_proxies = \"10.0.0.1, proxy.example\"\n"), 0);
    cr_assert_eq(config_validate(&cfg, &errors), 1);
    cr_assert(strstr(errors.messages[0], "trusted_proxies entry 'proxy.example'"), "%s",
              errors.messages[0]);
}

/* Every `[oidc.<id>]` key is documented with its variable. */
Test(config, every_oidc_key_is_documented)
{
    FILE *f = fopen(BALIE_TEST_DATA "/../../docs/configuration.md", "r");
    cr_assert_not_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    doc[n] = '\0';
    fclose(f);
    size_t count;
    const struct config_key_info *keys = config_oidc_keys(&count);
    cr_assert_gt(count, 15);
    for (size_t i = 0; i < count; i++) {
        char var[128], key[128];
        snprintf(var, sizeof(var), "BALIE_OIDC_<ID>_%s", keys[i].key);
        for (char *p = var; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        snprintf(key, sizeof(key), "`oidc.<id>.%s`", keys[i].key);
        cr_expect(strstr(doc, var), "docs/configuration.md does not mention %s", var);
        cr_expect(strstr(doc, key), "docs/configuration.md does not mention %s", key);
    }
}

static const char oidc_ok[] = "[oidc.digid]\n"
                              "issuer = \"https://broker.example.nl\"\n"
                              "client_id = balie\n"
                              "private_key_file = /etc/balie/k.pem\n"
                              "redirect_uri = \"https://balie.example.nl/auth/callback/digid\"\n"
                              "subject_claim = \"urn:nl-eid-gdi:1.0:id:BSN\"\n";

Test(config, oidc_sections_and_environment)
{
    cr_assert_eq(parse(oidc_ok), 0, "%s", errors.messages[0]);
    cr_assert_eq(cfg.oidc_count, 1);
    cr_assert_str_eq(cfg.oidc[0].id, "digid");
    cr_assert_str_eq(cfg.oidc[0].client_auth, "private_key_jwt");
    cr_assert_str_eq(cfg.oidc[0].scope, "openid");
    cr_assert_str_eq(cfg.oidc[0].loa_claim, "acr");
    cr_assert_str_eq(cfg.oidc[0].subject_claim, "urn:nl-eid-gdi:1.0:id:BSN");
    cr_assert_eq(config_validate(&cfg, &errors), 0, "%s", errors.messages[0]);
    char *env[] = {"BALIE_OIDC_DIGID_CLIENT_SECRET_FILE=/run/secrets/s",
                   "BALIE_OIDC_STAFF_DIR_DISPLAY_NAME_CLAIM=name",
                   "BALIE_OIDC_STAFF_DIR_DISPLAY_NAME=Medewerkers", NULL};
    cr_assert_eq(config_apply_env(&cfg, env, &errors), 0, "%s", errors.messages[0]);
    cr_assert_str_eq(cfg.oidc[0].client_secret_file, "/run/secrets/s");
    cr_assert_eq(cfg.oidc_count, 2);
    cr_assert_str_eq(cfg.oidc[1].id, "staff-dir");
    cr_assert_str_eq(cfg.oidc[1].display_name_claim, "name", "the longest key name wins");
    cr_assert_str_eq(cfg.oidc[1].display_name, "Medewerkers");
}

Test(config, oidc_refusals)
{
    cr_assert_eq(parse("[oidc.dev]\n"), 1, "the dev provider's id is taken");
    cr_assert_eq(parse("[oidc.digid]\nclient_auth = client_secret_post\n"), 1);
    cr_assert_eq(parse("[oidc.digid]\nissuer = \"http://broker.example.nl\"\n"), 0);
    cr_assert_gt(config_validate(&cfg, &errors), 3, "http issuer, client id, redirect, key");
    cr_assert_eq(parse("[oidc.digid]\nissuer = \"http://127.0.0.1:3001\"\nclient_id = b\n"
                       "client_auth = client_secret_basic\nclient_secret = s\n"
                       "redirect_uri = \"http://localhost:8080/auth/callback/digid\"\n"),
                 0);
    cr_assert_eq(config_validate(&cfg, &errors), 0, "loopback http in development: %s",
                 errors.messages[0]);
    cr_assert_eq(parse("[general]\nenvironment = production\n[http]\nbehind_proxy = true\n"
                       "[identity]\ndev_provider = false\n"
                       "[oidc.digid]\nissuer = \"http://127.0.0.1:3001\"\nclient_id = b\n"
                       "client_auth = client_secret_basic\nclient_secret = s\n"
                       "redirect_uri = \"https://b.example/auth/callback/other\"\n"
                       "role = agent\n"),
                 0);
    cr_assert_eq(config_validate(&cfg, &errors), 3, "http in production, wrong callback, no map");
}
