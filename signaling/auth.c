/* The login routes (DESIGN.md §5, §6):
 *   GET  /auth/login?provider=…&return=…  → 302 to the provider (state kept, single use)
 *   GET  /auth/callback/<provider>        → session, cookie, 303 to the return path
 *   GET  /auth/session                    → who is logged in, services, providers (JSON)
 *   POST /auth/logout                     → session ended, cookie cleared, 303 to /
 *   GET  /auth/dev/authorize              → the dev provider's login page
 *   POST /auth/dev/authorize              → the dev provider's form: 303 to the callback
 *   GET  /auth/local/authorize            → the agents' password page (users file)
 *   POST /auth/local/authorize            → its form: 303 to the callback
 *   POST /auth/callback/<saml provider>   → SAML HTTP-POST binding (the IdP's form post)
 *   GET  /auth/metadata/<saml provider>   → the SAML SP metadata
 * A POST must come from our own origin (CSRF). Logs name at most the first 8 hex characters of
 * a pseudonym: never a subject, a name or a client address. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "balie/httpc.h"
#include "balie/idp.h"
#include "balie/idp_saml.h"
#include "balie/log.h"
#include "balie/oidc.h"
#include "balie/metrics.h"
#include "balie/server.h"
#include "balie/session.h"
#include "balie/strbuf.h"
#include "balie/users.h"
#include "auth_local.h"
#include "auth_saml.h"
#include "form.h"
#include "ratelimit.h"
#include "server_internal.h"

#define AUTH_MAX_PROVIDERS (1 + CONFIG_MAX_OIDC + CONFIG_MAX_SAML + 3)
#define AUTH_MAX_PENDING 1024
#define AUTH_FAILURES_PER_MINUTE 10
#define DEV_PAGE "dev-login.html"
#define LOCAL_PAGE "agent-login.html"

/* Why logins failed, as counted in /metrics. The idp_error codes, and the gateway's own. */
static const char *const failure_reasons[] = {
    "bad_form",
    "bad_role",
    "bad_loa",
    "bad_bsn",
    "bad_account",
    "bad_name",
    "state_invalid",
    "code_invalid",
    "busy",
    "rate_limited",
    /* OpenID Connect (identity/oidc*.c) */
    "provider_unavailable",
    "access_denied",
    "provider_error",
    "iss_mismatch",
    "iss_missing",
    "code_missing",
    "token_unreachable",
    "token_refused",
    "keys_unavailable",
    "id_token_invalid",
    "alg_refused",
    "unknown_kid",
    "bad_signature",
    "claim_invalid",
    "aud_mismatch",
    "azp_mismatch",
    "nonce_mismatch",
    "token_expired",
    "token_not_yet_valid",
    "token_too_old",
    "loa_unknown",
    "loa_too_low",
    "subject_missing",
    "role_unknown",
    "internal",
    "connection_closed",
    /* SAML (identity/saml_response.c, idp_saml*.c): which check refused the answer. */
    "saml_xml",
    "saml_invalid",
    "saml_structure",
    "saml_signature",
    "saml_destination",
    "saml_in_response_to",
    "saml_confirmation",
    "saml_conditions",
    "saml_expired",
    "saml_audience",
    "saml_sector",
    "saml_bsn",
    "saml_authn",
    "saml_classref",
    "saml_replay",
    "saml_cancelled",
    "saml_level",
    "saml_status",
    "saml_missing",
    "saml_artifact",
    "saml_artifact_unreachable",
    /* Agents' password login (identity/idp_local.c) */
    "bad_credentials",
    "account_locked",
    "users_unreadable",
    "other",
};
#define FAILURE_COUNT (sizeof(failure_reasons) / sizeof(failure_reasons[0]))

struct auth {
    unsigned char secret[IDENTITY_SECRET_MAX];
    size_t secret_len;
    struct login_store *logins;
    struct idp *providers[AUTH_MAX_PROVIDERS];
    size_t provider_count;
    struct idp *dev;   /* also in providers[] when enabled */
    struct idp *local; /* the users file's agents; also in providers[] when enabled */
    struct auth_local *local_limits;
    struct ratelimit limiter;
    uint64_t logins_by[AUTH_MAX_PROVIDERS][2]; /* [provider][role] */
    uint64_t failures[FAILURE_COUNT];
    uint64_t failures_by[AUTH_MAX_PROVIDERS][FAILURE_COUNT]; /* those of a known provider */
    struct httpc *httpc; /* calls to remote providers (token, discovery, keys); NULL when none */
    uint64_t logouts;
    uint64_t refused_origin;
};

/* ---- Responses ---- */

/* A small page in Dutch and English: `message` is "Nederlands / English". */
static int respond_page(struct server *srv, struct lws *wsi, struct http_session *hs,
                        unsigned status, const char *message)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_appendf(&sb, "<!doctype html>\n<html lang=\"nl\">\n<head><meta charset=\"utf-8\">"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                        "<title>Inloggen / Log in</title></head>\n<body>\n<main>\n"
                        "<h1>Inloggen lukt niet / Login failed</h1>\n<p role=\"alert\">");
    strbuf_append_markup_escaped(&sb, message);
    strbuf_appendf(&sb, "</p>\n<p><a href=\"/\">Terug naar het begin / Back to the start</a></p>\n"
                        "</main>\n</body>\n</html>\n");
    if (sb.failed) {
        strbuf_free(&sb);
        return 1;
    }
    return http_respond(srv, wsi, hs, status, "text/html; charset=utf-8", sb.data, sb.len, NULL);
}

static int redirect(struct server *srv, struct lws *wsi, struct http_session *hs, unsigned status,
                    const char *location, const char *set_cookie)
{
    struct http_extra extra = {.location = location, .set_cookie = set_cookie};
    char *body = strdup("");
    if (!body)
        return 1;
    return http_respond(srv, wsi, hs, status, "text/plain; charset=utf-8", body, 0, &extra);
}

/* RFC 6265 §4.1.2: HttpOnly keeps scripts away from it, SameSite=Lax keeps it off cross-site
 * POSTs, Secure keeps it off plain HTTP, except for a developer on http://localhost. */
static void session_cookie(const struct http_request *req, const char *value, char *out, size_t len)
{
    snprintf(out, len, "%s=%s; Path=/; %sHttpOnly; SameSite=Lax%s", SESSION_COOKIE_NAME, value,
             value[0] ? "" : "Max-Age=0; ", req->plain_loopback ? "" : "; Secure");
}

/* ---- Checks ---- */

static bool origin_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && a_len > 0 && strncasecmp(a, b, a_len) == 0;
}

/* Whether `candidate` (an origin, or the origin part of a Referer) is the gateway's own: the
 * configured public URL's origin, or this request's Host under the scheme it came in on. */
static bool own_origin(const struct server *srv, const struct http_request *req,
                       const char *candidate, size_t len)
{
    const char *pub = srv->cfg->http.public_url;
    const char *sep = strstr(pub, "://");
    if (pub[0] && sep) {
        const char *slash = strchr(sep + 3, '/');
        size_t n = slash ? (size_t)(slash - pub) : strlen(pub);
        if (origin_equal(candidate, len, pub, n))
            return true;
    }
    if (!req->host[0])
        return false;
    char mine[320];
    bool https = srv->tls || srv->cfg->http.behind_proxy;
    int n = snprintf(mine, sizeof(mine), "%s://%s", https ? "https" : "http", req->host);
    return n > 0 && (size_t)n < sizeof(mine) && origin_equal(candidate, len, mine, (size_t)n);
}

/* CSRF defence for every POST to /auth/… (OWASP: verifying origin with standard headers).
 * Origin must be ours; without it, the Referer's origin. A page served with
 * "Referrer-Policy: no-referrer" makes browsers send "Origin: null" even to their own origin
 * (Fetch standard, "serializing a request origin"); then Sec-Fetch-Site, which pages cannot
 * forge, must say same-origin. */
static bool post_origin_ok(const struct server *srv, const struct http_request *req)
{
    if (req->origin[0] && strcmp(req->origin, "null") != 0)
        return own_origin(srv, req, req->origin, strlen(req->origin));
    if (req->origin[0])
        return strcmp(req->fetch_site, "same-origin") == 0;
    const char *ref = req->referer, *sep = strstr(ref, "://");
    if (!ref[0] || !sep)
        return false;
    const char *slash = strchr(sep + 3, '/');
    return own_origin(srv, req, ref, slash ? (size_t)(slash - ref) : strlen(ref));
}

static const char *client_key(const struct http_request *req)
{
    return req->peer[0] ? req->peer : "unknown";
}

static size_t provider_index(const struct auth *auth, const char *id)
{
    for (size_t i = 0; i < auth->provider_count; i++)
        if (strcmp(auth->providers[i]->id, id) == 0)
            return i;
    return 0;
}

/* Counts a refusal by reason, and by provider too when one is known. */
static void count_failure_of(struct auth *auth, const struct idp *idp, const char *reason)
{
    size_t i = 0;
    while (i < FAILURE_COUNT - 1 && strcmp(failure_reasons[i], reason) != 0)
        i++;
    auth->failures[i]++;
    if (idp)
        auth->failures_by[provider_index(auth, idp->id)][i]++;
}

static void count_failure(struct auth *auth, const char *reason)
{
    count_failure_of(auth, NULL, reason);
}

/* A failed login attempt of `client` (at provider `idp`, if known): counted, logged without
 * personal data, answered with a page. */
static int login_failed_of(struct server *srv, struct lws *wsi, struct http_session *hs,
                           const char *client, const struct idp *idp, const struct idp_error *err)
{
    count_failure_of(srv->auth, idp, err->code);
    if (err->http_status != 503) /* the gateway was busy: not the client's failure */
        ratelimit_fail(&srv->auth->limiter, client, server_now_ms());
    log_info("auth", "login refused: %s%s%s", idp ? idp->id : "", idp ? ": " : "", err->code);
    return respond_page(srv, wsi, hs, err->http_status ? err->http_status : 400, err->message);
}

static int login_failed(struct server *srv, struct lws *wsi, struct http_session *hs,
                        const struct http_request *req, const struct idp_error *err)
{
    return login_failed_of(srv, wsi, hs, client_key(req), NULL, err);
}

static struct idp *find_provider(const struct auth *auth, const char *id)
{
    for (size_t i = 0; id && i < auth->provider_count; i++)
        if (strcmp(auth->providers[i]->id, id) == 0)
            return auth->providers[i];
    return NULL;
}

/* ---- Routes ---- */

static int route_login(struct server *srv, struct lws *wsi, struct http_session *hs,
                       const struct http_request *req)
{
    struct auth *auth = srv->auth;
    const char *id = http_query_get(req, "provider");
    struct idp *idp =
        id ? find_provider(auth, id) : (auth->provider_count == 1 ? auth->providers[0] : NULL);
    if (!idp)
        return respond_page(srv, wsi, hs, auth->provider_count ? 400 : 503,
                            auth->provider_count
                                ? "Deze inlogmethode bestaat hier niet. / Unknown login method."
                                : "Er is geen inlogmethode ingesteld. / No login method is "
                                  "configured.");
    if (idp->available && !idp->available(idp)) {
        count_failure_of(auth, idp, "provider_unavailable");
        return respond_page(srv, wsi, hs, 503,
                            "Inloggen via deze dienst kan nog niet: Balie maakt verbinding met de "
                            "inlogdienst. Probeer het over een minuut opnieuw. / Logging in "
                            "through this service is not possible yet: Balie is connecting to "
                            "the login service. Please try again in a minute.");
    }
    const char *ret = http_query_get(req, "return");
    char state[IDP_STATE_LEN + 1], url[4096]; /* a signed SAML redirect is long */
    struct login_pending *login =
        login_begin(auth->logins, idp->id, ret ? ret : "/", server_now_ms(), state);
    const char *loa = http_query_get(req, "loa");
    if (login && loa && identity_loa_parse(loa, &login->wanted_loa) != 0)
        login->wanted_loa = LOA_NONE; /* a level we do not know is not asked for */
    int rc = login ? idp->start(idp, state, login, url, sizeof(url)) : -1;
    OPENSSL_cleanse(state, sizeof(state));
    if (rc != 0)
        return respond_page(srv, wsi, hs, 500, "Er ging iets mis. / Something went wrong.");
    return redirect(srv, wsi, hs, 302, url, NULL);
}

static void params_from_form(const struct form *f, struct idp_params *p)
{
    p->count = 0;
    for (size_t i = 0; i < f->count && i < IDP_PARAMS_MAX; i++) {
        p->items[p->count].name = f->fields[i].name;
        p->items[p->count].value = f->fields[i].value;
        p->count++;
    }
}

static void params_from_query(const struct http_request *req, struct idp_params *p)
{
    p->count = 0;
    size_t at = 0;
    while (at < req->query_len && p->count < IDP_PARAMS_MAX) {
        const char *name = req->query + at;
        const char *value = name + strlen(name) + 1;
        p->items[p->count].name = name;
        p->items[p->count].value = value;
        p->count++;
        at = (size_t)(value + strlen(value) + 1 - req->query);
    }
}

/* What a callback answers, made when the login ends (at once, or when a provider's token call
 * returns) and sent when the connection can take it. */
struct login_answer {
    unsigned status;
    char location[IDP_RETURN_MAX];
    char cookie[192];
    char message[320]; /* a page's text when there is no location */
};

static void answer_page(struct login_answer *a, unsigned status, const char *message)
{
    a->status = status;
    a->location[0] = '\0';
    snprintf(a->message, sizeof(a->message), "%s", message);
}

static void answer_refusal(struct server *srv, const struct http_request *req,
                           const struct idp *idp, const struct idp_error *err,
                           struct login_answer *a)
{
    count_failure_of(srv->auth, idp, err->code);
    ratelimit_fail(&srv->auth->limiter, client_key(req), server_now_ms());
    log_info("auth", "login refused: %s: %s", idp->id, err->code);
    answer_page(a, err->http_status ? err->http_status : 400, err->message);
}

/* A verified identity becomes a session; the answer sets its cookie and goes to the return
 * path. */
static void answer_login(struct server *srv, const struct http_request *req, const struct idp *idp,
                         const struct login_pending *login, struct identity_verified *id,
                         struct login_answer *a)
{
    struct auth *auth = srv->auth;
    uint64_t now = server_now_ms();
    /* A new login replaces the session this browser had (another person, another role). */
    session_destroy(srv->sessions, session_from_cookie_header(srv->sessions, req->cookie, now));
    char value[64];
    struct session *sess = session_create(srv->sessions, id, now, value);
    identity_verified_clear(id);
    if (!sess) {
        log_warn("auth", "no room for another session (%zu live)", session_count(srv->sessions));
        answer_page(a, 503,
                    "Het is te druk om in te loggen; probeer het straks. / "
                    "Too many people are logged in; please try again later.");
        return;
    }
    auth->logins_by[provider_index(auth, idp->id)][sess->role == SESSION_ROLE_AGENT]++;
    log_info("auth", "login: provider %s, role %s, level %s, pseudonym %.8s…", sess->provider,
             session_role_name(sess->role), identity_loa_name(sess->loa), sess->pseudonym);
    session_cookie(req, value, a->cookie, sizeof(a->cookie));
    OPENSSL_cleanse(value, sizeof(value));
    a->status = 303;
    snprintf(a->location, sizeof(a->location), "%s", login->return_path);
}

static int send_answer(struct server *srv, struct lws *wsi, struct http_session *hs,
                       struct login_answer *a)
{
    int rc = a->location[0]
                 ? redirect(srv, wsi, hs, a->status, a->location, a->cookie[0] ? a->cookie : NULL)
                 : respond_page(srv, wsi, hs, a->status, a->message);
    OPENSSL_cleanse(a, sizeof(*a));
    return rc;
}

/* A callback whose provider is still calling its server: the connection waits (DESIGN.md §6). */
struct auth_deferred {
    struct server *srv;
    struct lws *wsi;
    struct idp *idp;
    struct http_request req;
    struct login_pending login;
    bool ready;
    bool verified;               /* `id` holds the provider's answer; else `err` */
    struct identity_verified id; /* kept only until the connection can take the answer */
    struct idp_error err;
};

#define DEFERRED_TIMEOUT_S 30 /* longer than a token call and a key refetch (10 s each) */

static void deferred_free(struct auth_deferred *d)
{
    identity_verified_clear(&d->id);
    OPENSSL_cleanse(d, sizeof(*d));
    free(d);
}

static void deferred_done(void *arg, int rc, struct identity_verified *id,
                          const struct idp_error *err)
{
    struct auth_deferred *d = arg;
    d->verified = rc == 0;
    if (rc == 0)
        d->id = *id;
    else
        d->err = *err;
    d->ready = true;
    lws_callback_on_writable(d->wsi);
}

/* Whether the browser has closed its side: a read would give end-of-file. libwebsockets does not
 * read a connection while its request is being answered, so it would not notice by itself. */
static bool peer_gone(struct lws *wsi)
{
    char c;
    ssize_t n = recv(lws_get_socket_fd(wsi), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The answer is made only now, so that a browser that left makes no session. */
int auth_deferred_writable(struct server *srv, struct lws *wsi, struct http_session *hs)
{
    struct auth_deferred *d = hs->deferred;
    if (!d->ready)
        return 0;
    hs->deferred = NULL;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    int rc;
    if (d->verified && peer_gone(wsi)) {
        count_failure_of(srv->auth, d->idp, "connection_closed");
        log_info("auth", "login dropped: %s: the browser left before the provider answered",
                 d->idp->id);
        rc = -1;
    } else {
        struct login_answer answer;
        memset(&answer, 0, sizeof(answer));
        if (d->verified)
            answer_login(srv, &d->req, d->idp, &d->login, &d->id, &answer);
        else
            answer_refusal(srv, &d->req, d->idp, &d->err, &answer);
        rc = send_answer(srv, wsi, hs, &answer);
    }
    deferred_free(d);
    return rc;
}

void auth_deferred_closed(struct server *srv, struct http_session *hs)
{
    struct auth_deferred *d = hs->deferred;
    hs->deferred = NULL;
    if (!d)
        return;
    if (!d->ready && d->idp->cancel)
        d->idp->cancel(d->idp, d); /* its token call's answer is dropped */
    if (!d->ready || d->verified)
        count_failure_of(srv->auth, d->idp, "connection_closed");
    else
        count_failure_of(srv->auth, d->idp, d->err.code);
    deferred_free(d);
}

static int callback_async(struct server *srv, struct lws *wsi, struct http_session *hs,
                          const struct http_request *req, struct idp *idp,
                          const struct login_pending *login, const struct idp_params *params)
{
    struct auth_deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return respond_page(srv, wsi, hs, 500, "Er ging iets mis. / Something went wrong.");
    d->srv = srv;
    d->wsi = wsi;
    d->idp = idp;
    d->req = *req;
    d->req.body = NULL; /* a callback is a GET; nothing of the request's own is kept */
    d->login = *login;
    struct idp_error err = {.http_status = 400};
    if (idp->finish_async(idp, params, login, server_now_ms(), deferred_done, d, &err) != 0) {
        deferred_free(d);
        return login_failed_of(srv, wsi, hs, client_key(req), idp, &err);
    }
    free(hs->deferred); /* none is expected: one request at a time per connection */
    hs->deferred = d;
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, DEFERRED_TIMEOUT_S);
    return 0;
}

static int route_callback(struct server *srv, struct lws *wsi, struct http_session *hs,
                          const struct http_request *req, const char *provider_id)
{
    struct auth *auth = srv->auth;
    struct idp *idp = find_provider(auth, provider_id);
    if (!idp)
        return respond_page(srv, wsi, hs, 404,
                            "Deze inlogmethode bestaat hier niet. / Unknown login method.");
    uint64_t now = server_now_ms();
    struct idp_error err = {.http_status = 400};
    struct login_pending login;
    /* A SAML HTTP-POST binding brings its answer in a form post (auth_saml.c). */
    struct idp_params params = {0};
    char *storage = NULL;
    if (req->post &&
        auth_callback_form(req->body ? req->body : "", req->body_len, &params, &storage) != 0)
        params.count = 0;
    if (!req->post)
        params_from_query(req, &params);
    /* The SAML bindings carry our state as RelayState (bindings §3.4.3, §3.5.3, §3.6.3). */
    const char *state = idp_params_get(&params, "state");
    if (!state)
        state = idp_params_get(&params, "RelayState");
    int rc;
    if (login_take(auth->logins, state, idp->id, now, &login) != 0) {
        snprintf(err.code, sizeof(err.code), "state_invalid");
        snprintf(err.message, sizeof(err.message),
                 "Deze inlogpoging is verlopen of al gebruikt. Begin opnieuw. / "
                 "This login attempt has expired or was already used. Please start again.");
        rc = login_failed_of(srv, wsi, hs, client_key(req), idp, &err);
    } else if (idp->finish_async && !(idp->finish && auth_answer_in_request(idp, &params))) {
        rc = callback_async(srv, wsi, hs, req, idp, &login, &params);
    } else {
        struct identity_verified id;
        memset(&id, 0, sizeof(id));
        struct login_answer answer;
        if (idp->finish(idp, &params, &login, now, &id, &err) != 0) {
            identity_verified_clear(&id);
            rc = login_failed_of(srv, wsi, hs, client_key(req), idp, &err);
        } else {
            answer_login(srv, req, idp, &login, &id, &answer);
            rc = send_answer(srv, wsi, hs, &answer);
        }
    }
    OPENSSL_cleanse(&login, sizeof(login));
    if (storage) {
        OPENSSL_cleanse(storage, req->body_len); /* a SAML Response holds the BSN */
        free(storage);
    }
    return rc;
}

static void append_json_field(struct strbuf *sb, const char *name, const char *value)
{
    strbuf_appendf(sb, ",\"%s\":\"", name);
    strbuf_append_json_escaped(sb, value);
    strbuf_append(sb, "\"", 1);
}

static int route_session(struct server *srv, struct lws *wsi, struct http_session *hs,
                         const struct http_request *req)
{
    const struct session *sess =
        session_from_cookie_header(srv->sessions, req->cookie, server_now_ms());
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_appendf(&sb, "{\"authenticated\":%s", sess ? "true" : "false");
    if (sess) {
        append_json_field(&sb, "role", session_role_name(sess->role));
        append_json_field(&sb, "loa", identity_loa_name(sess->loa));
        append_json_field(&sb, "provider", sess->provider);
    }
    strbuf_appendf(&sb, ",\"dev_mode\":%s", srv->auth->dev ? "true" : "false");
    if (sess && sess->display_name[0])
        append_json_field(&sb, "display_name", sess->display_name);
    if (sess && sess->agent_id[0])
        append_json_field(&sb, "agent_id", sess->agent_id);
    strbuf_appendf(&sb, ",\"services\":[");
    /* An agent's list holds only the services its account may take. */
    for (int i = 0, shown = 0; i < srv->cfg->service_count; i++) {
        const struct config_service *svc = &srv->cfg->services[i];
        if (sess && sess->role == SESSION_ROLE_AGENT &&
            !users_service_allowed(sess->services, svc->id))
            continue;
        strbuf_appendf(&sb, "%s{\"id\":\"", shown++ ? "," : "");
        strbuf_append_json_escaped(&sb, svc->id);
        strbuf_appendf(&sb, "\",\"name\":{\"nl\":\"");
        strbuf_append_json_escaped(&sb, svc->name_nl);
        strbuf_appendf(&sb, "\",\"en\":\"");
        strbuf_append_json_escaped(&sb, svc->name_en);
        strbuf_appendf(&sb, "\"},\"min_loa\":\"");
        strbuf_append_json_escaped(&sb, svc->min_loa);
        strbuf_appendf(&sb, "\"");
        calls_service_status_json(srv->calls, i, &sb); /* open now, and when it opens */
        strbuf_appendf(&sb, "}");
    }
    strbuf_appendf(&sb, "],\"providers\":[");
    for (size_t i = 0; i < srv->auth->provider_count; i++) {
        const struct idp *idp = srv->auth->providers[i];
        strbuf_appendf(&sb, "%s{\"id\":\"", i ? "," : "");
        strbuf_append_json_escaped(&sb, idp->id);
        strbuf_appendf(&sb, "\",\"name\":\"");
        strbuf_append_json_escaped(&sb, idp->display_name);
        if (idp->role)
            strbuf_appendf(&sb, "\",\"role\":\"%s", idp->role);
        strbuf_appendf(&sb, "\"}");
    }
    strbuf_appendf(&sb, "]}\n");
    if (sb.failed) {
        strbuf_free(&sb);
        return 1;
    }
    return http_respond(srv, wsi, hs, 200, "application/json", sb.data, sb.len, NULL);
}

static int route_logout(struct server *srv, struct lws *wsi, struct http_session *hs,
                        const struct http_request *req)
{
    struct session *sess = session_from_cookie_header(srv->sessions, req->cookie, server_now_ms());
    if (sess) {
        log_info("auth", "logout: pseudonym %.8s…", sess->pseudonym);
        session_destroy(srv->sessions, sess);
        srv->auth->logouts++;
    }
    char cookie[192];
    session_cookie(req, "", cookie, sizeof(cookie));
    return redirect(srv, wsi, hs, 303, "/", cookie);
}

/* The dev provider's page. Served with "Referrer-Policy: same-origin" so that its form post
 * carries a real Origin header (see post_origin_ok). */
static int route_dev_page(struct server *srv, struct lws *wsi, struct http_session *hs,
                          const char *page)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", srv->web_root, page);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size > 256 * 1024) {
        if (fd >= 0)
            close(fd);
        return respond_page(srv, wsi, hs, 404, "Deze pagina ontbreekt. / This page is missing.");
    }
    size_t size = (size_t)st.st_size;
    char *body = malloc(size + 1);
    ssize_t n = body ? read(fd, body, size) : -1;
    close(fd);
    if (n != (ssize_t)size) {
        free(body);
        return respond_page(srv, wsi, hs, 500, "Er ging iets mis. / Something went wrong.");
    }
    struct http_extra extra = {.referrer_policy = "same-origin"};
    return http_respond(srv, wsi, hs, 200, "text/html; charset=utf-8", body, size, &extra);
}

/* A page without script can post to its own URL, which carries the state: an empty or missing
 * state field takes the URL's. */
static void use_query_state(const struct http_request *req, struct idp_params *params)
{
    const char *query_state = http_query_get(req, "state");
    if (!query_state || !query_state[0])
        return;
    for (size_t i = 0; i < params->count; i++) {
        if (strcmp(params->items[i].name, "state") == 0) {
            if (!params->items[i].value[0])
                params->items[i].value = query_state;
            return;
        }
    }
    if (params->count < IDP_PARAMS_MAX) {
        params->items[params->count].name = "state";
        params->items[params->count].value = query_state;
        params->count++;
    }
}

static int route_dev_post(struct server *srv, struct lws *wsi, struct http_session *hs,
                          const struct http_request *req, bool local)
{
    struct auth *auth = srv->auth;
    struct idp_error err = {.http_status = 400};
    struct form *form = malloc(sizeof(*form));
    if (!form)
        return 1;
    int rc;
    char url[512];
    /* HTML §4.10.21.7: a form without enctype posts application/x-www-form-urlencoded. */
    if (strncasecmp(req->content_type, "application/x-www-form-urlencoded", 33) != 0) {
        free(form);
        return respond_page(srv, wsi, hs, 415,
                            "Stuur het formulier als application/x-www-form-urlencoded. / "
                            "Send the form as application/x-www-form-urlencoded.");
    }
    if (form_decode((const uint8_t *)(req->body ? req->body : ""), req->body_len, form) != 0) {
        snprintf(err.code, sizeof(err.code), "bad_form");
        snprintf(err.message, sizeof(err.message),
                 "Het formulier is niet goed verstuurd. / The form was not sent correctly.");
        rc = login_failed(srv, wsi, hs, req, &err);
    } else {
        struct idp_params params;
        params_from_form(form, &params);
        use_query_state(req, &params);
        uint64_t now = server_now_ms();
        /* A password check runs on the verifier thread: the answer is written when it is
         * done (auth_poll, auth_answer_deferred). */
        int started = local ? auth_local_submit(auth->local_limits, auth->local, &params, now,
                                                client_key(req), hs, wsi, &err)
                            : 0;
        if (started == 1)
            rc = 0;
        else if (local || idp_dev_authorize(auth->dev, &params, now, url, sizeof(url), &err) != 0)
            rc = login_failed(srv, wsi, hs, req, &err);
        else
            rc = redirect(srv, wsi, hs, 303, url, NULL);
    }
    OPENSSL_cleanse(form, sizeof(*form)); /* it held a BSN and a name, or a password */
    free(form);
    return rc;
}

int auth_handle(struct server *srv, struct lws *wsi, struct http_session *hs,
                const struct http_request *req)
{
    struct auth *auth = srv->auth;
    const char *uri = req->uri;
    bool dev_route = auth->dev && strcmp(uri, "/auth/dev/authorize") == 0;
    bool local_route = auth->local && strcmp(uri, "/auth/local/authorize") == 0;
    /* The SAML HTTP-POST binding: the IdP's page posts the Response here from the IdP's own
     * origin, so the origin check cannot apply; the signed Response, bound to this login's
     * request ID and state, is what is trusted instead (profiles §4.1.4.3). */
    bool saml_post =
        strncmp(uri, "/auth/callback/", 15) == 0 && idp_is_saml(find_provider(auth, uri + 15));
    bool post_route = strcmp(uri, "/auth/logout") == 0 || dev_route || local_route || saml_post;
    srv->http_requests[ROUTE_AUTH]++;
    if (req->post && !post_route)
        return respond_page(srv, wsi, hs, 405, "Methode niet toegestaan. / Method not allowed.");
    if (req->post && !saml_post && !post_origin_ok(srv, req)) {
        auth->refused_origin++;
        log_info("auth", "POST %s refused: not from this site's own origin", uri);
        return respond_page(srv, wsi, hs, 403,
                            "Dit verzoek kwam niet van deze website. / "
                            "This request did not come from this website.");
    }
    bool limited = strcmp(uri, "/auth/logout") != 0 && strcmp(uri, "/auth/session") != 0;
    if (limited && ratelimit_blocked(&auth->limiter, client_key(req), server_now_ms())) {
        count_failure(auth, "rate_limited");
        return respond_page(srv, wsi, hs, 429,
                            "Te veel mislukte pogingen. Wacht een minuut. / "
                            "Too many failed attempts. Please wait a minute.");
    }
    if (strcmp(uri, "/auth/session") == 0)
        return route_session(srv, wsi, hs, req);
    if (strcmp(uri, "/auth/me/signals") == 0)
        return journey_http_me_signals(srv, wsi, hs, req);
    if (strcmp(uri, "/auth/login") == 0)
        return route_login(srv, wsi, hs, req);
    if (strncmp(uri, "/auth/callback/", 15) == 0)
        return route_callback(srv, wsi, hs, req, uri + 15);
    if (strncmp(uri, "/auth/metadata/", 15) == 0 && idp_is_saml(find_provider(auth, uri + 15)))
        return auth_saml_metadata(srv, wsi, hs, find_provider(auth, uri + 15));
    if (strcmp(uri, "/auth/logout") == 0)
        return req->post ? route_logout(srv, wsi, hs, req)
                         : respond_page(srv, wsi, hs, 405,
                                        "Uitloggen gaat met POST. / Log out with a POST.");
    if (dev_route || local_route)
        return req->post ? route_dev_post(srv, wsi, hs, req, local_route)
                         : route_dev_page(srv, wsi, hs, local_route ? LOCAL_PAGE : DEV_PAGE);
    return respond_page(srv, wsi, hs, 404, "Niet gevonden. / Not found.");
}

/* ---- Lifecycle ---- */

static void collect_auth_metrics(struct strbuf *out, void *arg)
{
    struct server *srv = arg;
    struct auth *auth = srv->auth;
    strbuf_appendf(out, "# HELP balie_auth_logins_total Completed logins by provider and role.\n"
                        "# TYPE balie_auth_logins_total counter\n");
    for (size_t p = 0; p < auth->provider_count; p++)
        for (int r = 0; r < 2; r++)
            strbuf_appendf(out, "balie_auth_logins_total{provider=\"%s\",role=\"%s\"} %llu\n",
                           auth->providers[p]->id, r ? "agent" : "citizen",
                           (unsigned long long)auth->logins_by[p][r]);
    strbuf_appendf(out, "# HELP balie_auth_login_failures_total Refused login steps by reason.\n"
                        "# TYPE balie_auth_login_failures_total counter\n");
    for (size_t i = 0; i < FAILURE_COUNT; i++)
        strbuf_appendf(out, "balie_auth_login_failures_total{reason=\"%s\"} %llu\n",
                       failure_reasons[i], (unsigned long long)auth->failures[i]);
    strbuf_appendf(out, "# HELP balie_auth_provider_failures_total Refused logins by provider "
                        "and reason (reasons seen so far).\n"
                        "# TYPE balie_auth_provider_failures_total counter\n");
    for (size_t p = 0; p < auth->provider_count; p++)
        for (size_t i = 0; i < FAILURE_COUNT; i++)
            if (auth->failures_by[p][i])
                strbuf_appendf(out,
                               "balie_auth_provider_failures_total{provider=\"%s\",reason=\"%s\"} "
                               "%llu\n",
                               auth->providers[p]->id, failure_reasons[i],
                               (unsigned long long)auth->failures_by[p][i]);
    metrics_write_simple(out, "balie_auth_logouts_total", "counter", "Logouts.",
                         (double)auth->logouts);
    metrics_write_simple(out, "balie_auth_refused_origin_total", "counter",
                         "POSTs to /auth refused because they came from another origin.",
                         (double)auth->refused_origin);
    metrics_write_simple(out, "balie_sessions_active", "gauge", "Live login sessions.",
                         (double)session_count(srv->sessions));
}

static int load_secret(struct server *srv)
{
    struct auth *auth = srv->auth;
    char path[PATH_MAX], why[PATH_MAX + 128];
    enum identity_secret_source source;
    if (identity_secret_load(srv->cfg->identity.pseudonym_secret, srv->cfg->general.data_dir,
                             auth->secret, &auth->secret_len, &source, path, sizeof(path), why,
                             sizeof(why)) != 0) {
        log_error("identity", "no pseudonym secret: %s", why);
        return -EIO;
    }
    struct stat st;
    if (source == SECRET_CONFIGURED)
        log_info("identity", "pseudonym secret: from the configuration");
    else
        log_info("identity", "pseudonym secret: %s %s",
                 source == SECRET_FILE_CREATED ? "created (mode 0600) in" : "read from", path);
    if (source != SECRET_CONFIGURED && stat(path, &st) == 0 && (st.st_mode & 077))
        log_warn("identity", "%s can be read by other users: chmod 600 it", path);
    return 0;
}

/* The local provider: on with identity.local_provider = true, or with auto when the users
 * file has agents. The file is read again when it changes, but whether the provider exists
 * is decided here, at start. */
static int init_local(struct server *srv)
{
    struct auth *auth = srv->auth;
    const char *mode = srv->cfg->identity.local_provider;
    char path[PATH_MAX], why[PATH_MAX + 128];
    if (strcmp(mode, "false") == 0)
        return 0;
    if (users_file_path(srv->cfg, path, sizeof(path)) != 0) {
        log_error("identity", "the users file's path is too long");
        return -EINVAL;
    }
    auth->local =
        idp_local_new(auth->secret, auth->secret_len, auth->logins, path, why, sizeof(why));
    if (!auth->local) {
        log_error("identity", "local agent login: %s", why);
        return strcmp(mode, "true") == 0 ? -EIO : 0;
    }
    size_t agents = idp_local_agent_count(auth->local);
    if (agents == 0 && strcmp(mode, "auto") == 0) {
        auth->local->destroy(auth->local);
        auth->local = NULL;
        return 0;
    }
    auth->local_limits = auth_local_new(server_wake, srv);
    if (!auth->local_limits)
        return -ENOMEM;
    auth->providers[auth->provider_count++] = auth->local;
    log_info("identity", "local agent login enabled: %zu agent(s) in %s", agents, path);
    return 0;
}

/* The [oidc.<id>] providers, with the HTTP client they share (woken into server_on_wake). */
static int add_oidc_providers(struct server *srv)
{
    struct auth *auth = srv->auth;
    const struct balie_config *cfg = srv->cfg;
    if (cfg->oidc_count == 0)
        return 0;
    auth->httpc = httpc_new(server_wake, srv);
    if (!auth->httpc) {
        log_error("identity", "cannot start the HTTP client for OpenID Connect");
        return -ENOMEM;
    }
    for (int i = 0; i < cfg->oidc_count; i++) {
        char why[256];
        struct idp *idp = idp_oidc_new(&cfg->oidc[i], cfg, auth->secret, auth->secret_len,
                                       auth->httpc, why, sizeof(why));
        if (!idp) {
            log_error("identity", "oidc.%s: %s", cfg->oidc[i].id, why);
            return -EINVAL;
        }
        auth->providers[auth->provider_count++] = idp;
        log_info("identity", "OpenID Provider %s (%s): fetching its discovery document", idp->id,
                 cfg->oidc[i].role);
    }
    return 0;
}

/* The level every SAML AuthnRequest asks for at least: the lowest any service accepts, so the
 * citizen can reach every service that level allows (each service still checks its own). */
static enum identity_loa lowest_service_loa(const struct balie_config *cfg)
{
    enum identity_loa lowest = LOA_HOOG, loa;
    for (int i = 0; i < cfg->service_count; i++)
        if (identity_loa_parse(cfg->services[i].min_loa, &loa) == 0 && loa < lowest)
            lowest = loa;
    return lowest;
}

/* The [saml.<id>] providers; those with the artifact binding share the HTTP client. */
static int add_saml_providers(struct server *srv)
{
    struct auth *auth = srv->auth;
    const struct balie_config *cfg = srv->cfg;
    for (int i = 0; i < cfg->saml_count; i++) {
        char why[320];
        if (!auth->httpc && strcmp(cfg->saml[i].binding, "artifact") == 0 &&
            !(auth->httpc = httpc_new(server_wake, srv))) {
            log_error("identity", "cannot start the HTTP client for SAML artifact resolution");
            return -ENOMEM;
        }
        struct idp *idp = idp_saml_new(&cfg->saml[i], lowest_service_loa(cfg), auth->secret,
                                       auth->secret_len, auth->httpc, why, sizeof(why));
        if (!idp) {
            log_error("identity", "saml.%s: %s", cfg->saml[i].id, why);
            return -EINVAL;
        }
        auth->providers[auth->provider_count++] = idp;
        log_info("identity", "SAML provider %s: SP %s, ACS %s, binding %s", idp->id,
                 cfg->saml[i].sp_entity_id, cfg->saml[i].acs_url, cfg->saml[i].binding);
    }
    return 0;
}

int auth_init(struct server *srv)
{
    struct auth *auth = calloc(1, sizeof(*auth));
    if (!auth)
        return -ENOMEM;
    srv->auth = auth;
    int err = load_secret(srv);
    if (err)
        return err;
    srv->sessions = session_store_new(SESSION_IDLE_MS, SESSION_ABSOLUTE_MS, SESSION_MAX_DEFAULT);
    auth->logins = login_store_new(AUTH_MAX_PENDING);
    if (!srv->sessions || !auth->logins)
        return -ENOMEM;
    if (config_dev_provider_enabled(srv->cfg)) {
        auth->dev = idp_dev_new(auth->secret, auth->secret_len, auth->logins);
        if (!auth->dev)
            return -ENOMEM;
        auth->providers[auth->provider_count++] = auth->dev;
        log_warn("identity", "dev identity provider enabled: not for production (anyone can "
                             "log in as any BSN; set identity.dev_provider = false)");
    }
    err = init_local(srv);
    if (!err)
        err = add_oidc_providers(srv);
    if (!err)
        err = add_saml_providers(srv);
    if (err)
        return err;
    ratelimit_init(&auth->limiter, AUTH_FAILURES_PER_MINUTE, 60u * 1000u);
    metrics_add_collector(collect_auth_metrics, srv);
    return 0;
}

void auth_free(struct server *srv)
{
    struct auth *auth = srv->auth;
    auth_stop_threads(srv);
    session_store_free(srv->sessions);
    srv->sessions = NULL;
    if (!auth)
        return;
    for (size_t i = 0; i < auth->provider_count; i++)
        auth->providers[i]->destroy(auth->providers[i]);
    httpc_free(auth->httpc); /* after the providers, which cancel their requests */
    login_store_free(auth->logins);
    OPENSSL_cleanse(auth, sizeof(*auth));
    free(auth);
    srv->auth = NULL;
}

static void local_ready(void *owner, void *wsi, void *arg)
{
    (void)arg;
    struct http_session *hs = owner;
    hs->deferred_ready = true;
    lws_callback_on_writable(wsi);
}

/* On every wake of the event loop: finished password checks mark their connections
 * writable, and the answers of remote providers (token, discovery, keys, artifacts) run. */
void auth_poll(struct server *srv)
{
    if (srv->auth && srv->auth->local_limits)
        auth_local_poll(srv->auth->local_limits, srv->auth->local, server_now_ms(), local_ready,
                        srv);
    if (srv->auth && srv->auth->httpc)
        httpc_poll(srv->auth->httpc);
}

int auth_answer_deferred(struct server *srv, struct lws *wsi, struct http_session *hs)
{
    struct auth *auth = srv->auth;
    int rc = 0;
    char url[512], client[AUTH_LOCAL_KEY_MAX];
    struct idp_error err = {.http_status = 400};
    if (!auth || !auth->local_limits ||
        !auth_local_take(auth->local_limits, hs, &rc, url, sizeof(url), &err, client))
        return 0;
    int out = rc == 0 ? redirect(srv, wsi, hs, 303, url, NULL)
                      : login_failed_of(srv, wsi, hs, client, auth->local, &err);
    OPENSSL_cleanse(url, sizeof(url));
    return out;
}

void auth_stop_threads(struct server *srv)
{
    if (!srv->auth)
        return;
    auth_local_free(srv->auth->local_limits);
    srv->auth->local_limits = NULL;
}

void auth_forget(struct server *srv, struct http_session *hs)
{
    if (srv->auth)
        auth_local_forget(srv->auth->local_limits, hs);
}

void auth_tick(struct server *srv, uint64_t now_ms)
{
    if (srv->sessions)
        session_sweep(srv->sessions, now_ms);
    if (srv->auth && srv->auth->logins)
        login_sweep(srv->auth->logins, now_ms);
    for (size_t i = 0; srv->auth && i < srv->auth->provider_count; i++)
        if (srv->auth->providers[i]->tick)
            srv->auth->providers[i]->tick(srv->auth->providers[i], now_ms);
}

int auth_pseudonym(const struct server *srv, const char *subject,
                   char out[IDENTITY_PSEUDONYM_LEN + 1])
{
    if (!srv->auth)
        return -1;
    return identity_pseudonym(srv->auth->secret, srv->auth->secret_len, subject, out);
}
