/* The dev provider (identity/idp_dev.c), driven like the HTTP routes drive it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "balie/idp.h"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
static struct login_store *ls;
static struct idp *dev;

static void setup(void)
{
    ls = login_store_new(16);
    dev = idp_dev_new(secret, 32, ls);
    cr_assert(ls && dev);
}

static void teardown(void)
{
    dev->destroy(dev);
    login_store_free(ls);
}

TestSuite(idp_dev, .init = setup, .fini = teardown);

/* Starts a login and returns its state. */
static void start(char state[IDP_STATE_LEN + 1], const char *ret)
{
    char url[1024];
    struct login_pending *p = login_begin(ls, "dev", ret, 0, state);
    cr_assert_eq(dev->start(dev, state, p, url, sizeof(url)), 0);
    char want[256];
    snprintf(want, sizeof(want), "/auth/dev/authorize?state=%s&return=", state);
    cr_assert_eq(strncmp(url, want, strlen(want)), 0, "%s", url);
}

static struct idp_params form(const char *state, const char *subject, const char *loa,
                              const char *role, const char *name)
{
    struct idp_params p = {0};
    const char *names[] = {"state", "subject", "loa", "role", "name"};
    const char *values[] = {state, subject, loa, role, name};
    for (int i = 0; i < 5; i++) {
        if (values[i]) {
            p.items[p.count].name = names[i];
            p.items[p.count].value = values[i];
            p.count++;
        }
    }
    return p;
}

/* Splits "/auth/callback/dev?code=C&state=S" into params. */
static struct idp_params callback_params(const char *url, char *buf, size_t len)
{
    snprintf(buf, len, "%s", strchr(url, '?') + 1);
    struct idp_params p = {0};
    for (char *save = NULL, *kv = strtok_r(buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        p.items[p.count].name = kv;
        p.items[p.count].value = eq + 1;
        p.count++;
    }
    return p;
}

Test(idp_dev, the_return_path_is_encoded_in_the_start_url)
{
    char state[IDP_STATE_LEN + 1], url[1024];
    struct login_pending *p = login_begin(ls, "dev", "/agent?x=1&y=2", 0, state);
    dev->start(dev, state, p, url, sizeof(url));
    cr_assert(strstr(url, "&return=/agent%3Fx%3D1%26y%3D2"), "%s", url);
}

Test(idp_dev, citizen_login_ends_in_a_pseudonymous_identity)
{
    char state[IDP_STATE_LEN + 1], url[512], buf[512];
    start(state, "/");
    struct idp_params f = form(state, "999991772", "substantieel", "citizen", "W. Testpersoon");
    struct idp_error err = {0};
    cr_assert_eq(idp_dev_authorize(dev, &f, 10, url, sizeof(url), &err), 0, "%s", err.message);
    cr_assert_eq(strncmp(url, "/auth/callback/dev?code=", 24), 0, "%s", url);
    cr_assert_null(strstr(url, "999991772"));

    struct login_pending login;
    cr_assert_eq(login_take(ls, state, "dev", 20, &login), 0);
    struct idp_params cb = callback_params(url, buf, sizeof(buf));
    struct identity_verified id;
    cr_assert_eq(dev->finish(dev, &cb, &login, 20, &id, &err), 0, "%s", err.message);
    cr_assert_eq(id.role, IDENTITY_ROLE_CITIZEN);
    cr_assert_eq(id.loa, LOA_SUBSTANTIEEL);
    cr_assert_str_eq(id.provider, "dev");
    cr_assert_str_eq(id.display_name, "W. Testpersoon");
    /* HMAC-SHA256 of the BSN under the secret, as in test_pseudonym.c. */
    cr_assert_str_eq(id.pseudonym,
                     "47381bcba226d281267ad7d8a6d9b47c7f8ba5d4456f4c107aa41d6ec55690dd");
    cr_assert_str_eq(id.subject, "", "the subject does not travel with the code");
    cr_assert_eq(dev->finish(dev, &cb, &login, 21, &id, &err), -1, "a replayed code");
    cr_assert_str_eq(err.code, "code_invalid");
}

Test(idp_dev, agent_pseudonyms_never_equal_citizen_pseudonyms)
{
    char state[IDP_STATE_LEN + 1], url[512], buf[512];
    start(state, "/agent");
    struct idp_params f = form(state, "999991772", "midden", "agent", NULL);
    struct idp_error err = {0};
    cr_assert_eq(idp_dev_authorize(dev, &f, 0, url, sizeof(url), &err), 0, "%s", err.message);
    struct login_pending login;
    login_take(ls, state, "dev", 1, &login);
    struct idp_params cb = callback_params(url, buf, sizeof(buf));
    struct identity_verified id;
    cr_assert_eq(dev->finish(dev, &cb, &login, 1, &id, &err), 0);
    cr_assert_eq(id.role, IDENTITY_ROLE_AGENT);
    cr_assert_str_neq(id.pseudonym,
                      "47381bcba226d281267ad7d8a6d9b47c7f8ba5d4456f4c107aa41d6ec55690dd");
}

Test(idp_dev, bad_fields_give_precise_bilingual_errors)
{
    char state[IDP_STATE_LEN + 1], url[512];
    start(state, "/");
    struct {
        struct idp_params f;
        const char *code;
    } cases[] = {
        {form(state, "123456789", "midden", "citizen", NULL), "bad_bsn"},
        {form(state, NULL, "midden", NULL, NULL), "bad_bsn"},
        {form(state, "999991772", "high", "citizen", NULL), "bad_loa"},
        {form(state, "999991772", NULL, "citizen", NULL), "bad_loa"},
        {form(state, "999991772", "midden", "admin", NULL), "bad_role"},
        {form(state, "a b", "midden", "agent", NULL), "bad_account"},
        {form(state, "999991772", "midden", "citizen", "line\nbreak"), "bad_name"},
        {form(state, "999991772", "midden", "citizen", "\xc3\x28"), "bad_name"},
        {form(state, "999991772", "midden", "citizen",
              "a name that is far too long to fit in sixty-four bytes of storage here"),
         "bad_name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct idp_error err = {0};
        cr_assert_eq(idp_dev_authorize(dev, &cases[i].f, 0, url, sizeof(url), &err), -1);
        cr_assert_str_eq(err.code, cases[i].code, "case %zu", i);
        cr_assert_eq(err.http_status, 400);
        cr_assert(strstr(err.message, " / "), "Dutch / English: %s", err.message);
        cr_assert_null(strstr(err.message, "123456789"), "never echoes the input");
    }
    /* The mistakes did not use up the state. */
    struct idp_params ok = form(state, "111222333", "basis", NULL, "Émile Zoë");
    struct idp_error err = {0};
    cr_assert_eq(idp_dev_authorize(dev, &ok, 0, url, sizeof(url), &err), 0, "%s", err.code);
}

Test(idp_dev, a_state_is_answered_once_and_must_be_pending)
{
    char state[IDP_STATE_LEN + 1], url[512];
    start(state, "/");
    struct idp_params f = form(state, "999991772", "midden", "citizen", NULL);
    struct idp_error err = {0};
    cr_assert_eq(idp_dev_authorize(dev, &f, 0, url, sizeof(url), &err), 0);
    cr_assert_eq(idp_dev_authorize(dev, &f, 0, url, sizeof(url), &err), -1, "replayed post");
    cr_assert_str_eq(err.code, "state_invalid");
    struct idp_params unknown = form("nope", "999991772", "midden", "citizen", NULL);
    cr_assert_eq(idp_dev_authorize(dev, &unknown, 0, url, sizeof(url), &err), -1);
    char late[IDP_STATE_LEN + 1];
    start(late, "/");
    struct idp_params expired = form(late, "999991772", "midden", "citizen", NULL);
    cr_assert_eq(idp_dev_authorize(dev, &expired, IDP_STATE_TTL_MS, url, sizeof(url), &err), -1);
    cr_assert_str_eq(err.code, "state_invalid");
}
