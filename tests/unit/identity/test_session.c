/* Sessions (identity/session.c), and the two checks every login relies on: the BSN elfproef
 * and the local return path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "balie/idp.h"
#include "balie/session.h"

#define MIN_MS (60u * 1000u)
#define HOUR_MS (60u * MIN_MS)

static struct session_store *store;

static void setup(void)
{
    store = session_store_new(SESSION_IDLE_MS, SESSION_ABSOLUTE_MS, 100);
    cr_assert_not_null(store);
}

static void teardown(void)
{
    session_store_free(store);
}

static struct identity_verified citizen(void)
{
    struct identity_verified id;
    memset(&id, 0, sizeof(id));
    strcpy(id.subject, "999991772");
    strcpy(id.pseudonym, "47381bcba226d281267ad7d8a6d9b47c7f8ba5d4456f4c107aa41d6ec55690dd");
    id.loa = LOA_SUBSTANTIEEL;
    strcpy(id.provider, "dev");
    strcpy(id.display_name, "Wilhelmina Testpersoon");
    id.role = IDENTITY_ROLE_CITIZEN;
    return id;
}

TestSuite(session, .init = setup, .fini = teardown);

Test(session, create_then_find_by_cookie_value)
{
    struct identity_verified id = citizen();
    char value[64];
    struct session *s = session_create(store, &id, 1000, value);
    cr_assert_not_null(s);
    cr_assert_eq(strlen(value), SESSION_COOKIE_VALUE_LEN);
    for (const char *c = value; *c; c++)
        cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *c),
                  "not base64url: %s", value);
    cr_assert_eq(session_find(store, value, strlen(value), 2000), s);
    cr_assert_eq(s->role, SESSION_ROLE_CITIZEN);
    cr_assert_eq(s->loa, LOA_SUBSTANTIEEL);
    cr_assert_str_eq(s->provider, "dev");
    cr_assert_str_eq(s->pseudonym, id.pseudonym);
    cr_assert_str_eq(s->display_name, "Wilhelmina Testpersoon");
    cr_assert_str_eq(s->agent_id, "", "citizens have no agent id");
    cr_assert_eq(s->created_ms, 1000);
    cr_assert_eq(s->last_seen_ms, 2000, "finding a session refreshes it");
    cr_assert_eq(s->expires_ms, 1000 + SESSION_ABSOLUTE_MS);
    cr_assert_eq(session_count(store), 1);
}

Test(session, keeps_neither_the_subject_nor_the_cookie_value)
{
    struct identity_verified id = citizen();
    char value[64];
    struct session *s = session_create(store, &id, 0, value);
    cr_assert_not_null(s);
    const char *bytes = (const char *)s;
    for (size_t i = 0; i + 9 <= sizeof(*s); i++)
        cr_assert_neq(memcmp(bytes + i, "999991772", 9), 0, "the BSN is in the session");
    for (size_t i = 0; i + 16 <= sizeof(*s); i++)
        cr_assert_neq(memcmp(bytes + i, value, 16), 0, "the cookie value is in the session");
}

Test(session, two_sessions_have_different_cookies)
{
    struct identity_verified id = citizen();
    char a[64], b[64];
    session_create(store, &id, 0, a);
    session_create(store, &id, 0, b);
    cr_assert_str_neq(a, b);
    cr_assert_neq(session_find(store, a, strlen(a), 1), session_find(store, b, strlen(b), 1));
}

Test(session, unknown_and_malformed_cookies_find_nothing)
{
    struct identity_verified id = citizen();
    char value[64];
    session_create(store, &id, 0, value);
    cr_assert_null(session_find(store, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 43, 1));
    cr_assert_null(session_find(store, value, 42, 1), "a prefix is not the cookie");
    cr_assert_null(session_find(store, "", 0, 1));
    char longer[80];
    snprintf(longer, sizeof(longer), "%sA", value);
    cr_assert_null(session_find(store, longer, strlen(longer), 1));
    char bad[64];
    strcpy(bad, value);
    bad[10] = '=';
    cr_assert_null(session_find(store, bad, strlen(bad), 1), "not base64url");
}

/* Every one-character change of a live cookie misses, in a store full enough that buckets
 * hold several sessions: the full hash is compared, not only the part that picks a bucket. */
Test(session, near_misses_never_match_in_crowded_buckets)
{
    struct session_store *big = session_store_new(SESSION_IDLE_MS, SESSION_ABSOLUTE_MS, 1000);
    struct identity_verified id = citizen();
    static char values[1000][64];
    struct session *sessions[1000];
    for (int i = 0; i < 1000; i++) {
        sessions[i] = session_create(big, &id, 0, values[i]);
        cr_assert_not_null(sessions[i]);
    }
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(session_find(big, values[i], SESSION_COOKIE_VALUE_LEN, 1), sessions[i]);
    for (int pos = 0; pos < SESSION_COOKIE_VALUE_LEN; pos++) {
        char v[64];
        strcpy(v, values[7]);
        v[pos] = v[pos] == 'A' ? 'B' : 'A';
        cr_assert_null(session_find(big, v, SESSION_COOKIE_VALUE_LEN, 1), "position %d", pos);
    }
    session_store_free(big);
}

Test(session, idle_timeout_ends_a_session)
{
    struct identity_verified id = citizen();
    char value[64];
    session_create(store, &id, 0, value);
    cr_assert_not_null(session_find(store, value, 43, 29 * MIN_MS));
    cr_assert_not_null(session_find(store, value, 43, 58 * MIN_MS), "use keeps it alive");
    cr_assert_null(session_find(store, value, 43, 88 * MIN_MS + 1), "31 idle minutes end it");
    cr_assert_eq(session_count(store), 0, "an expired session found on the way is destroyed");
}

Test(session, absolute_timeout_ends_even_a_busy_session)
{
    struct identity_verified id = citizen();
    char value[64];
    session_create(store, &id, 0, value);
    uint64_t t = 0;
    for (; t + 20 * MIN_MS < 8 * HOUR_MS; t += 20 * MIN_MS)
        cr_assert_not_null(session_find(store, value, 43, t), "at %llu ms", (unsigned long long)t);
    cr_assert_null(session_find(store, value, 43, 8 * HOUR_MS));
}

Test(session, the_providers_end_comes_first_when_sooner)
{
    struct identity_verified id = citizen();
    id.expires_ms = 5 * MIN_MS;
    char value[64];
    struct session *s = session_create(store, &id, 0, value);
    cr_assert_eq(s->expires_ms, 5 * MIN_MS);
    cr_assert_null(session_find(store, value, 43, 5 * MIN_MS));
}

Test(session, sweep_removes_only_expired_sessions)
{
    struct identity_verified id = citizen();
    char a[64], b[64];
    session_create(store, &id, 0, a);
    session_create(store, &id, 20 * MIN_MS, b);
    cr_assert_eq(session_sweep(store, 25 * MIN_MS), 0);
    cr_assert_eq(session_sweep(store, 31 * MIN_MS), 1);
    cr_assert_eq(session_count(store), 1);
    cr_assert_null(session_find(store, a, 43, 31 * MIN_MS));
    cr_assert_not_null(session_find(store, b, 43, 31 * MIN_MS));
}

Test(session, destroy_ends_a_session)
{
    struct identity_verified id = citizen();
    char a[64], b[64];
    struct session *sa = session_create(store, &id, 0, a);
    session_create(store, &id, 0, b);
    session_destroy(store, sa);
    cr_assert_null(session_find(store, a, 43, 1));
    cr_assert_not_null(session_find(store, b, 43, 1));
    cr_assert_eq(session_count(store), 1);
    session_destroy(store, NULL); /* harmless */
}

Test(session, full_store_refuses_until_a_session_expires)
{
    struct session_store *small = session_store_new(SESSION_IDLE_MS, SESSION_ABSOLUTE_MS, 2);
    struct identity_verified id = citizen();
    char v[64];
    cr_assert_not_null(session_create(small, &id, 0, v));
    cr_assert_not_null(session_create(small, &id, 0, v));
    cr_assert_null(session_create(small, &id, 1, v), "no live session is pushed out");
    cr_assert_str_eq(v, "");
    cr_assert_not_null(session_create(small, &id, 31 * MIN_MS, v), "expired ones make room");
    session_store_free(small);
}

Test(session, agents_get_an_agent_id)
{
    struct identity_verified id = citizen();
    id.role = IDENTITY_ROLE_AGENT;
    char v[64];
    struct session *s = session_create(store, &id, 0, v);
    cr_assert_eq(s->role, SESSION_ROLE_AGENT);
    cr_assert_str_eq(s->agent_id, "agent-47381bcba226");
    cr_assert_str_eq(session_role_name(s->role), "agent");
    strcpy(id.agent_id, "a.jansen");
    s = session_create(store, &id, 0, v);
    cr_assert_str_eq(s->agent_id, "a.jansen", "a provider's own agent id is kept");
}

/* Writes `pattern` with each '@' replaced by `value`. */
static void fill(char *out, size_t len, const char *pattern, const char *value)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 1 < len; p++) {
        if (*p == '@') {
            size_t v = strlen(value);
            cr_assert_lt(n + v, len);
            memcpy(out + n, value, v);
            n += v;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

Test(session, cookie_header_with_other_cookies_around)
{
    struct identity_verified id = citizen();
    char v[64], header[512];
    struct session *s = session_create(store, &id, 0, v);
    const char *forms[] = {
        "balie_session=@",
        "theme=dark; balie_session=@; lang=nl",
        "a=1;balie_session=@",
        "  balie_session = @  ; x=y",
        "balie_session=\"@\"",
        "balie_session=stale; other=1; balie_session=@",
        "xbalie_session=nope; balie_sessionx=nope; balie_session=@",
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        fill(header, sizeof(header), forms[i], v);
        cr_assert_eq(session_from_cookie_header(store, header, 1), s, "header: %s", header);
    }
    const char *misses[] = {
        "xbalie_session=@",
        "balie_sessionx=@",
        "other=@",
        "balie_session",
        "balie_session=",
        "",
        ";;;",
        "balie_session=@0",
        "Balie_Session=@",
    };
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
        fill(header, sizeof(header), misses[i], v);
        cr_assert_null(session_from_cookie_header(store, header, 1), "header: %s", header);
    }
    cr_assert_null(session_from_cookie_header(store, NULL, 1));
}

/* ---- The BSN elfproef ---- */

Test(bsn, valid_numbers_pass_the_eleven_test)
{
    /* 9·9+8·9+7·9+6·9+5·9+4·1+3·7+2·7−2 = 352 = 32·11 */
    cr_assert(identity_bsn_valid("999991772"));
    cr_assert(identity_bsn_valid("111222333")); /* 66 = 6·11 */
    cr_assert(identity_bsn_valid("123456782")); /* 154 = 14·11 */
    cr_assert(identity_bsn_valid("010000008")); /* 8·1 − 8 = 0: a leading zero is fine */
}

Test(bsn, invalid_numbers_fail)
{
    const char *bad[] = {"123456789", /* 147, not a multiple of 11 */
                         "999991773", "000000000", "12345678", "1234567820", "12345678a",
                         " 99999177", "99999177 ", "",         "+99999177",  "999-99-1772"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(identity_bsn_valid(bad[i]), "'%s' passed", bad[i]);
    cr_assert_not(identity_bsn_valid(NULL));
}

/* ---- Return paths ---- */

Test(return_path, local_paths_are_safe)
{
    const char *good[] = {"/", "/agent", "/a/b?x=1&y=2", "/#top", "/%2F%2Fevil.example"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert(login_return_path_safe(good[i]), "'%s' refused", good[i]);
}

Test(return_path, other_hosts_and_tricks_are_not)
{
    const char *bad[] = {"//evil.example",
                         "/\\evil.example",
                         "https://evil.example",
                         "evil.example",
                         "",
                         "/\t/evil.example",
                         "/\n/evil.example",
                         "/ /evil",
                         "/a\\b",
                         "/caf\xc3\xa9",
                         "javascript:alert(1)",
                         "\\\\evil.example",
                         "/\r\nSet-Cookie: x=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(login_return_path_safe(bad[i]), "'%s' accepted", bad[i]);
    cr_assert_not(login_return_path_safe(NULL));
    char longer[IDP_RETURN_MAX + 1];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[0] = '/';
    longer[IDP_RETURN_MAX] = '\0';
    cr_assert_not(login_return_path_safe(longer));
    longer[IDP_RETURN_MAX - 1] = '\0';
    cr_assert(login_return_path_safe(longer), "255 bytes still fit");
}

Test(session, agents_keep_their_services_and_citizens_have_none)
{
    struct identity_verified id = citizen();
    strcpy(id.services, "paspoort");
    char value[64];
    struct session *s = session_create(store, &id, 1000, value);
    cr_assert_not_null(s);
    cr_assert_str_eq(s->services, "", "a citizen takes no services");
    id.role = IDENTITY_ROLE_AGENT;
    strcpy(id.provider, "local");
    s = session_create(store, &id, 1000, value);
    cr_assert_not_null(s);
    cr_assert_str_eq(s->services, "paspoort");
    cr_assert_str_eq(s->provider, "local");
}
