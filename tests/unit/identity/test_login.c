/* Pending logins and one-time codes (identity/login.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "balie/idp.h"

static struct login_store *ls;
static struct code_store *cs;

static void setup(void)
{
    ls = login_store_new(4);
    cs = code_store_new(2);
    cr_assert(ls && cs);
}

static void teardown(void)
{
    login_store_free(ls);
    code_store_free(cs);
}

TestSuite(login, .init = setup, .fini = teardown);

Test(login, state_is_single_use_and_keeps_the_return_path)
{
    char state[IDP_STATE_LEN + 1];
    struct login_pending *p = login_begin(ls, "dev", "/agent", 1000, state);
    cr_assert_not_null(p);
    cr_assert_eq(strlen(state), IDP_STATE_LEN);
    strcpy(p->extra, "pkce-verifier");
    struct login_pending out;
    cr_assert_eq(login_take(ls, state, "dev", 2000, &out), 0);
    cr_assert_str_eq(out.return_path, "/agent");
    cr_assert_str_eq(out.provider, "dev");
    cr_assert_str_eq(out.extra, "pkce-verifier");
    cr_assert_eq(out.created_ms, 1000);
    cr_assert_eq(login_take(ls, state, "dev", 2000, &out), -1, "a replayed state");
    cr_assert_eq(login_count(ls), 0);
}

Test(login, unsafe_return_paths_become_root)
{
    char state[IDP_STATE_LEN + 1];
    struct login_pending *p = login_begin(ls, "dev", "//evil.example", 0, state);
    cr_assert_str_eq(p->return_path, "/");
    p = login_begin(ls, "dev", "https://evil.example/", 0, state);
    cr_assert_str_eq(p->return_path, "/");
}

Test(login, state_is_bound_to_its_provider)
{
    char state[IDP_STATE_LEN + 1];
    login_begin(ls, "dev", "/", 0, state);
    struct login_pending out;
    cr_assert_eq(login_take(ls, state, "oidc", 1, &out), -1);
    cr_assert_eq(login_take(ls, state, "dev", 1, &out), 0, "the wrong provider did not burn it");
}

Test(login, state_expires_after_ten_minutes)
{
    char a[IDP_STATE_LEN + 1], b[IDP_STATE_LEN + 1];
    login_begin(ls, "dev", "/", 0, a);
    login_begin(ls, "dev", "/", 0, b);
    struct login_pending out;
    cr_assert_eq(login_take(ls, a, "dev", IDP_STATE_TTL_MS - 1, &out), 0);
    cr_assert_eq(login_take(ls, b, "dev", IDP_STATE_TTL_MS, &out), -1);
    login_begin(ls, "dev", "/", 0, a);
    cr_assert_eq(login_sweep(ls, IDP_STATE_TTL_MS), 1);
    cr_assert_eq(login_count(ls), 0);
}

Test(login, unknown_and_malformed_states_are_refused)
{
    struct login_pending out;
    cr_assert_eq(login_take(ls, "nope", "dev", 0, &out), -1);
    cr_assert_eq(login_take(ls, NULL, "dev", 0, &out), -1);
    cr_assert_eq(login_take(ls, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "dev", 0, &out), -1);
    cr_assert_not(login_claim(ls, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "dev", 0));
}

Test(login, claim_answers_a_state_once_and_leaves_it_pending)
{
    char state[IDP_STATE_LEN + 1];
    login_begin(ls, "dev", "/", 0, state);
    cr_assert(login_claim(ls, state, "dev", 1));
    cr_assert_not(login_claim(ls, state, "dev", 2), "a replayed form post");
    struct login_pending out;
    cr_assert_eq(login_take(ls, state, "dev", 3, &out), 0);
    cr_assert(out.claimed);
}

Test(login, full_store_drops_the_oldest)
{
    char states[5][IDP_STATE_LEN + 1];
    for (int i = 0; i < 5; i++)
        cr_assert_not_null(login_begin(ls, "dev", "/", (uint64_t)i, states[i]));
    cr_assert_eq(login_count(ls), 4);
    struct login_pending out;
    cr_assert_eq(login_take(ls, states[0], "dev", 10, &out), -1, "the oldest went");
    for (int i = 1; i < 5; i++)
        cr_assert_eq(login_take(ls, states[i], "dev", 10, &out), 0);
}

static struct identity_verified someone(void)
{
    struct identity_verified id;
    memset(&id, 0, sizeof(id));
    strcpy(id.subject, "999991772");
    strcpy(id.pseudonym, "abc");
    id.loa = LOA_HOOG;
    return id;
}

Test(login, code_is_single_use_bound_to_its_state)
{
    struct identity_verified id = someone(), out;
    char code[IDP_CODE_LEN + 1];
    const char *state = "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS";
    cr_assert_eq(code_issue(cs, state, &id, 0, code), 0);
    cr_assert_eq(strlen(code), IDP_CODE_LEN);
    cr_assert_eq(code_redeem(cs, code, state, 100, &out), 0);
    cr_assert_eq(out.loa, LOA_HOOG);
    cr_assert_str_eq(out.pseudonym, "abc");
    cr_assert_str_eq(out.subject, "", "the kept identity has no subject");
    cr_assert_eq(code_redeem(cs, code, state, 100, &out), -1, "a replayed code");
}

Test(login, code_with_the_wrong_state_is_burnt)
{
    struct identity_verified id = someone(), out;
    char code[IDP_CODE_LEN + 1];
    code_issue(cs, "state-one", &id, 0, code);
    cr_assert_eq(code_redeem(cs, code, "state-two", 1, &out), -1);
    cr_assert_eq(code_redeem(cs, code, "state-one", 2, &out), -1);
}

Test(login, code_expires_after_a_minute)
{
    struct identity_verified id = someone(), out;
    char code[IDP_CODE_LEN + 1];
    code_issue(cs, "s", &id, 0, code);
    cr_assert_eq(code_redeem(cs, code, "s", IDP_CODE_TTL_MS, &out), -1);
    code_issue(cs, "s", &id, 0, code);
    cr_assert_eq(code_redeem(cs, code, "s", IDP_CODE_TTL_MS - 1, &out), 0);
}

Test(login, full_code_store_refuses_until_codes_expire)
{
    struct identity_verified id = someone();
    char code[IDP_CODE_LEN + 1];
    cr_assert_eq(code_issue(cs, "s", &id, 0, code), 0);
    cr_assert_eq(code_issue(cs, "s", &id, 0, code), 0);
    cr_assert_eq(code_issue(cs, "s", &id, 1, code), -1);
    cr_assert_eq(code_issue(cs, "s", &id, IDP_CODE_TTL_MS, code), 0);
}

Test(login, roles_and_params)
{
    enum identity_role r;
    cr_assert_eq(identity_role_parse("agent", &r), 0);
    cr_assert_eq(r, IDENTITY_ROLE_AGENT);
    cr_assert_eq(identity_role_parse("admin", &r), -1);
    cr_assert_eq(identity_role_parse(NULL, &r), -1);
    cr_assert_str_eq(identity_role_name(IDENTITY_ROLE_CITIZEN), "citizen");
    struct idp_params p = {.count = 2,
                           .items = {{.name = "a", .value = "1"}, {.name = "b", .value = "2"}}};
    cr_assert_str_eq(idp_params_get(&p, "b"), "2");
    cr_assert_null(idp_params_get(&p, "c"));
}
