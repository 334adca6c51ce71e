#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "balie/ice.h"
#include "balie/stun.h"

#define SEC 1000000ull
#define T0 (1000 * SEC)

static const char BROWSER_UFRAG[] = "BrwS";
static const char BROWSER_PWD[] = "BrowserPasswordBrowser+/";

/* The browser side of the test: builds checks the way a controlling full agent does. */
struct browser {
    uint8_t next_txid;
    uint8_t buf[256];
    size_t len;
    uint8_t txid[12];
};

struct check_opts {
    const char *local_ufrag; /* the agent's ufrag as the browser knows it */
    const char *remote_ufrag;
    const char *pwd; /* the agent's password as the browser knows it */
    bool use_candidate;
    bool controlled; /* claim ICE-CONTROLLED: a role conflict */
    bool no_integrity;
    bool no_username;
};

static void build_check(struct browser *br, const struct check_opts *o)
{
    memset(br->txid, 0, sizeof(br->txid));
    br->txid[0] = 0xB0;
    br->txid[11] = ++br->next_txid;
    char username[300];
    snprintf(username, sizeof(username), "%s:%s", o->local_ufrag,
             o->remote_ufrag ? o->remote_ufrag : BROWSER_UFRAG);
    struct stun_builder b;
    stun_builder_init(&b, br->buf, sizeof(br->buf), STUN_BINDING_REQUEST, br->txid);
    if (!o->no_username)
        stun_add_attr(&b, STUN_ATTR_USERNAME, username, strlen(username));
    stun_add_u32(&b, STUN_ATTR_PRIORITY, 0x6e7f1eff);
    stun_add_u64(&b, o->controlled ? STUN_ATTR_ICE_CONTROLLED : STUN_ATTR_ICE_CONTROLLING,
                 0x1122334455667788ull);
    if (o->use_candidate)
        stun_add_attr(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0);
    if (!o->no_integrity)
        stun_add_integrity(&b, (const uint8_t *)o->pwd, strlen(o->pwd));
    stun_add_fingerprint(&b);
    int n = stun_builder_finish(&b);
    cr_assert_gt(n, 0);
    br->len = (size_t)n;
}

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    cr_assert_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
    return sin;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    cr_assert_eq(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
    return sin6;
}

struct result {
    int rc;
    uint8_t resp[ICE_RESPONSE_MAX];
    size_t resp_len;
    unsigned events;
    struct stun_msg msg; /* the parsed response, when there is one */
};

static struct result deliver(struct ice_agent *a, uint64_t now, const struct browser *br,
                             const void *from, socklen_t from_len)
{
    struct result r;
    memset(&r, 0, sizeof(r));
    r.rc = ice_handle_stun(a, now, br->buf, br->len, (const struct sockaddr *)from, from_len,
                           r.resp, sizeof(r.resp), &r.resp_len, &r.events);
    if (r.resp_len > 0) {
        cr_assert_eq(stun_parse(r.resp, r.resp_len, &r.msg), 0, "our response must parse");
        cr_assert_arr_eq(r.msg.txid, br->txid, 12, "the response echoes the transaction ID");
        cr_assert(r.msg.has_fingerprint);
    }
    return r;
}

static struct check_opts good_check(const struct ice_agent *a)
{
    return (struct check_opts){.local_ufrag = a->local_ufrag, .pwd = a->local_pwd};
}

static void setup(struct ice_agent *a)
{
    cr_assert_eq(ice_agent_init(a, T0), 0);
    cr_assert_eq(ice_set_remote_credentials(a, BROWSER_UFRAG, BROWSER_PWD), 0);
}

static void assert_error(const struct result *r, int code, const char *pwd)
{
    cr_assert_eq(r->rc, 0);
    cr_assert_gt(r->resp_len, 0);
    cr_assert_eq(r->msg.type, STUN_BINDING_ERROR);
    cr_assert(r->msg.has_error);
    cr_assert_eq(r->msg.error_code, code);
    cr_assert(r->events & ICE_EVT_REJECTED);
    cr_assert_not(r->events & ICE_EVT_CHECK_OK);
    cr_assert_eq(r->msg.has_integrity, pwd != NULL);
    if (pwd)
        cr_assert_eq(
            stun_check_integrity(r->resp, r->resp_len, &r->msg, (const uint8_t *)pwd, strlen(pwd)),
            0);
}

Test(ice, init_makes_random_ice_credentials)
{
    struct ice_agent a, b;
    cr_assert_eq(ice_agent_init(&a, T0), 0);
    cr_assert_eq(ice_agent_init(&b, T0), 0);
    cr_assert_eq(strlen(a.local_ufrag), ICE_UFRAG_LEN);
    cr_assert_eq(strlen(a.local_pwd), ICE_PWD_LEN);
    const char *ice_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    cr_assert_eq(strspn(a.local_ufrag, ice_chars), ICE_UFRAG_LEN);
    cr_assert_eq(strspn(a.local_pwd, ice_chars), ICE_PWD_LEN);
    cr_assert_str_neq(a.local_pwd, b.local_pwd);
    cr_assert_null(ice_selected_address(&a, NULL));
}

Test(ice, remote_credentials_are_validated)
{
    struct ice_agent a;
    cr_assert_eq(ice_agent_init(&a, T0), 0);
    cr_assert_eq(ice_set_remote_credentials(&a, "abc", BROWSER_PWD), -EINVAL, "ufrag too short");
    cr_assert_eq(ice_set_remote_credentials(&a, "ab:c", BROWSER_PWD), -EINVAL, "':' not ice-char");
    cr_assert_eq(ice_set_remote_credentials(&a, "abcd", "short"), -EINVAL);
    cr_assert_eq(ice_set_remote_credentials(&a, "abcd", BROWSER_PWD), 0);
    cr_assert_str_eq(a.remote_ufrag, "abcd");
}

Test(ice, valid_check_is_answered)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    build_check(&br, &o);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct result r = deliver(&a, T0 + SEC, &br, &from, sizeof(from));

    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK);
    cr_assert_eq(r.msg.type, STUN_BINDING_SUCCESS);
    cr_assert(r.msg.has_xor_mapped);
    const struct sockaddr_in *mapped = (const struct sockaddr_in *)&r.msg.xor_mapped;
    cr_assert_eq(mapped->sin_family, AF_INET);
    cr_assert_eq(mapped->sin_port, from.sin_port);
    cr_assert_eq(mapped->sin_addr.s_addr, from.sin_addr.s_addr);
    /* RFC 8445 §7.3: the response is signed with our (the receiver's) password. */
    cr_assert_eq(
        stun_check_integrity(r.resp, r.resp_len, &r.msg, (const uint8_t *)a.local_pwd, ICE_PWD_LEN),
        0);
    cr_assert_eq(a.last_consent_us, T0 + SEC);
    cr_assert(ice_address_validated(&a, (const struct sockaddr *)&from, sizeof(from)));
    cr_assert_null(ice_selected_address(&a, NULL), "no USE-CANDIDATE yet");
    cr_assert_eq(a.checks_ok, 1);
}

Test(ice, use_candidate_nominates)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.use_candidate = true;
    build_check(&br, &o);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct result r = deliver(&a, T0, &br, &from, sizeof(from));
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK | ICE_EVT_NOMINATED);

    socklen_t len = 0;
    const struct sockaddr_in *sel = (const struct sockaddr_in *)ice_selected_address(&a, &len);
    cr_assert_not_null(sel);
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(sel->sin_addr.s_addr, from.sin_addr.s_addr);
    cr_assert_eq(sel->sin_port, from.sin_port);

    /* Consent checks keep USE-CANDIDATE on the same pair: no new event. */
    build_check(&br, &o);
    r = deliver(&a, T0 + 2 * SEC, &br, &from, sizeof(from));
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK);
}

Test(ice, later_nomination_moves_the_address)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.use_candidate = true;
    struct sockaddr_in wifi = v4("192.0.2.7", 50000);
    struct sockaddr_in6 cell = v6("2001:db8::42", 40000);
    struct sockaddr_in other = v4("198.51.100.9", 1234);

    build_check(&br, &o);
    cr_assert(deliver(&a, T0, &br, &wifi, sizeof(wifi)).events & ICE_EVT_NOMINATED);

    /* A plain check from elsewhere validates that address but does not move media. */
    o.use_candidate = false;
    build_check(&br, &o);
    struct result r = deliver(&a, T0 + SEC, &br, &other, sizeof(other));
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK);
    const struct sockaddr *sel = ice_selected_address(&a, NULL);
    cr_assert_eq(((const struct sockaddr_in *)sel)->sin_port, wifi.sin_port);

    /* The network changed: the browser nominates the new pair. */
    o.use_candidate = true;
    build_check(&br, &o);
    r = deliver(&a, T0 + 2 * SEC, &br, &cell, sizeof(cell));
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK | ICE_EVT_ADDRESS_CHANGED);
    cr_assert_eq(r.msg.xor_mapped.ss_family, AF_INET6);
    socklen_t len = 0;
    const struct sockaddr_in6 *sel6 = (const struct sockaddr_in6 *)ice_selected_address(&a, &len);
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
    cr_assert_eq(sel6->sin6_family, AF_INET6);
    cr_assert_arr_eq(&sel6->sin6_addr, &cell.sin6_addr, 16);
    cr_assert_eq(sel6->sin6_port, cell.sin6_port);
    cr_assert(ice_address_validated(&a, (const struct sockaddr *)&other, sizeof(other)));
}

Test(ice, wrong_password_gets_401)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.pwd = "NotTheRightPasswordAtAll";
    o.use_candidate = true;
    build_check(&br, &o);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct result r = deliver(&a, T0 + SEC, &br, &from, sizeof(from));
    assert_error(&r, STUN_ERR_UNAUTHORIZED, NULL);
    cr_assert_null(ice_selected_address(&a, NULL));
    cr_assert_not(ice_address_validated(&a, (const struct sockaddr *)&from, sizeof(from)));
    cr_assert_not(a.connected);
    cr_assert_eq(a.checks_rejected, 1);
}

Test(ice, wrong_ufrag_gets_401)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct check_opts o = good_check(&a);
    o.local_ufrag = "someoneElse";
    build_check(&br, &o);
    assert_error((struct result[]){deliver(&a, T0, &br, &from, sizeof(from))},
                 STUN_ERR_UNAUTHORIZED, NULL);

    /* Our ufrag but not the browser's from its answer. */
    o = good_check(&a);
    o.remote_ufrag = "Imposter";
    build_check(&br, &o);
    assert_error((struct result[]){deliver(&a, T0, &br, &from, sizeof(from))},
                 STUN_ERR_UNAUTHORIZED, NULL);
    cr_assert_not(a.connected);
}

Test(ice, check_before_the_answer_is_accepted)
{
    /* The browser may check before its answer reaches us; our password authenticates it. */
    struct ice_agent a;
    cr_assert_eq(ice_agent_init(&a, T0), 0);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.remote_ufrag = "AnyUfrag";
    build_check(&br, &o);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    cr_assert_eq(deliver(&a, T0, &br, &from, sizeof(from)).events, ICE_EVT_CHECK_OK);
}

Test(ice, missing_integrity_or_username_gets_400)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct check_opts o = good_check(&a);
    o.no_integrity = true;
    o.use_candidate = true;
    build_check(&br, &o);
    struct result r = deliver(&a, T0, &br, &from, sizeof(from));
    assert_error(&r, STUN_ERR_BAD_REQUEST, NULL);
    cr_assert_null(ice_selected_address(&a, NULL));

    o = good_check(&a);
    o.no_username = true;
    build_check(&br, &o);
    r = deliver(&a, T0, &br, &from, sizeof(from));
    assert_error(&r, STUN_ERR_BAD_REQUEST, NULL);
    cr_assert_not(a.connected);
}

Test(ice, ice_controlled_peer_gets_487)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.controlled = true;
    o.use_candidate = true;
    build_check(&br, &o);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct result r = deliver(&a, T0, &br, &from, sizeof(from));
    assert_error(&r, STUN_ERR_ROLE_CONFLICT, a.local_pwd);
    cr_assert_null(ice_selected_address(&a, NULL));
    cr_assert_not(a.connected);
}

Test(ice, rfc5769_sample_request_is_a_role_conflict)
{
    /* RFC 5769 §2.1 is a check from a controlled agent to "evtj" with the password below. */
    static const uint8_t req[] = {
        0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
        0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e,
        0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24,
        0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
        0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68,
        0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
        0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5,
        0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
    };
    struct ice_agent a;
    cr_assert_eq(ice_agent_init(&a, T0), 0);
    strcpy(a.local_ufrag, "evtj");
    strcpy(a.local_pwd, "VOkJxbRl1RmTxUk/WvJxBt");
    struct browser br = {0};
    memcpy(br.buf, req, sizeof(req));
    br.len = sizeof(req);
    memcpy(br.txid, req + 8, 12);
    struct sockaddr_in from = v4("192.0.2.1", 32853);
    struct result r = deliver(&a, T0, &br, &from, sizeof(from));
    assert_error(&r, STUN_ERR_ROLE_CONFLICT, "VOkJxbRl1RmTxUk/WvJxBt");
}

Test(ice, unknown_required_attribute_gets_420)
{
    struct ice_agent a;
    setup(&a);
    uint8_t txid[12] = {0x42};
    char username[64];
    snprintf(username, sizeof(username), "%s:%s", a.local_ufrag, BROWSER_UFRAG);
    struct browser br = {0};
    struct stun_builder b;
    stun_builder_init(&b, br.buf, sizeof(br.buf), STUN_BINDING_REQUEST, txid);
    stun_add_attr(&b, STUN_ATTR_USERNAME, username, strlen(username));
    stun_add_attr(&b, 0x0031, "??", 2);
    stun_add_integrity(&b, (const uint8_t *)a.local_pwd, ICE_PWD_LEN);
    stun_add_fingerprint(&b);
    br.len = (size_t)stun_builder_finish(&b);
    memcpy(br.txid, txid, 12);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct result r = deliver(&a, T0, &br, &from, sizeof(from));
    assert_error(&r, STUN_ERR_UNKNOWN_ATTRIBUTE, a.local_pwd);
    /* UNKNOWN-ATTRIBUTES lists 0x0031; it sits just before MESSAGE-INTEGRITY. */
    size_t ua = r.msg.integrity_offset - 8;
    cr_assert_eq(r.resp[ua + 1], 0x0A);
    cr_assert_eq(r.resp[ua + 3], 2);
    cr_assert_eq(r.resp[ua + 5], 0x31);
}

Test(ice, consent_expires_30_seconds_after_the_last_check)
{
    struct ice_agent a;
    setup(&a);
    /* Before any check: the initial timeout runs from init. */
    cr_assert_not(ice_consent_expired(&a, T0 + 29 * SEC));
    cr_assert(ice_consent_expired(&a, T0 + 30 * SEC));

    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.use_candidate = true;
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    uint64_t t = T0 + 10 * SEC;
    build_check(&br, &o);
    cr_assert_eq(deliver(&a, t, &br, &from, sizeof(from)).rc, 0);
    cr_assert_not(ice_consent_expired(&a, t + 29 * SEC));
    cr_assert(ice_consent_expired(&a, t + 30 * SEC));

    /* Each consent check pushes the deadline. */
    for (int i = 1; i <= 5; i++) {
        build_check(&br, &o);
        cr_assert_eq(deliver(&a, t + (uint64_t)i * 20 * SEC, &br, &from, sizeof(from)).rc, 0);
    }
    cr_assert_not(ice_consent_expired(&a, t + 100 * SEC + 29 * SEC));
    cr_assert(ice_consent_expired(&a, t + 100 * SEC + 30 * SEC));

    /* A rejected check does not refresh consent. */
    o.pwd = "NotTheRightPasswordAtAll";
    build_check(&br, &o);
    cr_assert(deliver(&a, t + 125 * SEC, &br, &from, sizeof(from)).events & ICE_EVT_REJECTED);
    cr_assert(ice_consent_expired(&a, t + 130 * SEC));
}

Test(ice, initial_timeout_is_configurable)
{
    struct ice_agent a;
    setup(&a);
    a.initial_timeout_us = 5 * SEC;
    cr_assert_not(ice_consent_expired(&a, T0 + 4 * SEC));
    cr_assert(ice_consent_expired(&a, T0 + 5 * SEC));
}

Test(ice, restart_switches_credentials_after_the_first_new_check)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct sockaddr_in moved = v4("203.0.113.5", 40000);
    struct check_opts old = good_check(&a);
    char old_ufrag[ICE_UFRAG_LEN + 1], old_pwd[ICE_PWD_LEN + 1];
    strcpy(old_ufrag, a.local_ufrag);
    strcpy(old_pwd, a.local_pwd);
    old.local_ufrag = old_ufrag;
    old.pwd = old_pwd;
    old.use_candidate = true;
    build_check(&br, &old);
    cr_assert(deliver(&a, T0, &br, &from, sizeof(from)).events & ICE_EVT_NOMINATED);

    cr_assert_eq(ice_restart(&a), 0);
    cr_assert_str_neq(a.local_ufrag, old_ufrag);
    cr_assert_str_neq(a.local_pwd, old_pwd);
    cr_assert_str_eq(a.remote_ufrag, "");
    cr_assert_not_null(ice_selected_address(&a, NULL), "media keeps flowing");

    /* The running session's consent checks still work until the new credentials do. */
    build_check(&br, &old);
    struct result r = deliver(&a, T0 + SEC, &br, &from, sizeof(from));
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK);
    cr_assert_eq(
        stun_check_integrity(r.resp, r.resp_len, &r.msg, (const uint8_t *)old_pwd, strlen(old_pwd)),
        0);

    /* The new answer has a new browser ufrag; a check with the new credentials completes it. */
    cr_assert_eq(ice_set_remote_credentials(&a, "NewB", BROWSER_PWD), 0);
    struct check_opts fresh = good_check(&a);
    fresh.remote_ufrag = "NewB";
    build_check(&br, &fresh);
    r = deliver(&a, T0 + 2 * SEC, &br, &moved, sizeof(moved));
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK | ICE_EVT_RESTART_DONE);
    const struct sockaddr_in *sel = (const struct sockaddr_in *)ice_selected_address(&a, NULL);
    cr_assert_eq(sel->sin_addr.s_addr, from.sin_addr.s_addr, "not nominated yet: kept");

    fresh.use_candidate = true;
    build_check(&br, &fresh);
    r = deliver(&a, T0 + 3 * SEC, &br, &moved, sizeof(moved));
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK | ICE_EVT_ADDRESS_CHANGED);
    sel = (const struct sockaddr_in *)ice_selected_address(&a, NULL);
    cr_assert_eq(sel->sin_addr.s_addr, moved.sin_addr.s_addr);

    /* The old credentials are retired now. */
    build_check(&br, &old);
    assert_error((struct result[]){deliver(&a, T0 + 4 * SEC, &br, &from, sizeof(from))},
                 STUN_ERR_UNAUTHORIZED, NULL);
}

Test(ice, indications_and_responses_are_ignored)
{
    struct ice_agent a;
    setup(&a);
    uint8_t txid[12] = {1};
    struct browser br = {0};
    struct stun_builder b;
    stun_builder_init(&b, br.buf, sizeof(br.buf), STUN_BINDING_INDICATION, txid);
    stun_add_fingerprint(&b);
    br.len = (size_t)stun_builder_finish(&b);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct result r = deliver(&a, T0, &br, &from, sizeof(from));
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.resp_len, 0);
    cr_assert_eq(r.events, 0);

    stun_builder_init(&b, br.buf, sizeof(br.buf), STUN_BINDING_SUCCESS, txid);
    stun_add_xor_mapped_address(&b, (const struct sockaddr *)&from);
    stun_add_integrity(&b, (const uint8_t *)a.local_pwd, ICE_PWD_LEN);
    br.len = (size_t)stun_builder_finish(&b);
    r = deliver(&a, T0, &br, &from, sizeof(from));
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.resp_len, 0);
    cr_assert_not(a.connected);
}

Test(ice, garbage_is_dropped)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    memset(br.buf, 0x80, 60); /* RTP-looking */
    br.len = 60;
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct result r = deliver(&a, T0, &br, &from, sizeof(from));
    cr_assert_lt(r.rc, 0);
    cr_assert_eq(r.resp_len, 0);
    cr_assert_eq(a.checks_dropped, 1);
}

Test(ice, replay_from_another_address_is_dropped)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.use_candidate = true;
    build_check(&br, &o);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct sockaddr_in attacker = v4("198.51.100.66", 6666);
    cr_assert(deliver(&a, T0, &br, &from, sizeof(from)).events & ICE_EVT_NOMINATED);

    struct result r = deliver(&a, T0 + SEC, &br, &attacker, sizeof(attacker));
    cr_assert_eq(r.rc, -EALREADY);
    cr_assert_eq(r.resp_len, 0);
    const struct sockaddr_in *sel = (const struct sockaddr_in *)ice_selected_address(&a, NULL);
    cr_assert_eq(sel->sin_addr.s_addr, from.sin_addr.s_addr);

    /* A retransmission from the browser itself is answered again. */
    r = deliver(&a, T0 + SEC, &br, &from, sizeof(from));
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.events, ICE_EVT_CHECK_OK);
}

Test(ice, v4_mapped_source_is_reported_as_ipv4)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.use_candidate = true;
    build_check(&br, &o);
    struct sockaddr_in6 from = v6("::ffff:192.0.2.7", 50000);
    struct result r = deliver(&a, T0, &br, &from, sizeof(from));
    cr_assert_eq(r.msg.xor_mapped.ss_family, AF_INET);
    const struct sockaddr_in *mapped = (const struct sockaddr_in *)&r.msg.xor_mapped;
    cr_assert_eq(mapped->sin_addr.s_addr, inet_addr("192.0.2.7"));
    /* Media still goes back through the socket's own address form. */
    socklen_t len = 0;
    cr_assert_eq(ice_selected_address(&a, &len)->sa_family, AF_INET6);
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
}

Test(ice, small_response_buffer_changes_nothing)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    o.use_candidate = true;
    build_check(&br, &o);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    uint8_t resp[40];
    size_t resp_len = 1;
    unsigned events = 1;
    int rc = ice_handle_stun(&a, T0, br.buf, br.len, (const struct sockaddr *)&from, sizeof(from),
                             resp, sizeof(resp), &resp_len, &events);
    cr_assert_eq(rc, -ENOBUFS);
    cr_assert_eq(events, 0);
    cr_assert_null(ice_selected_address(&a, NULL));
    cr_assert_not(a.connected);
}

Test(ice, bad_source_address_is_refused)
{
    struct ice_agent a;
    setup(&a);
    struct browser br = {0};
    struct check_opts o = good_check(&a);
    build_check(&br, &o);
    struct sockaddr_in from = v4("192.0.2.7", 50000);
    struct result r = deliver(&a, T0, &br, &from, 4);
    cr_assert_eq(r.rc, -EAFNOSUPPORT);
    cr_assert_eq(r.resp_len, 0);
}
