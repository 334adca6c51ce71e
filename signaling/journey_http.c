/* GET /auth/me/signals: the logged-in citizen's own journey signals, for the "Mijn
 * contactmomenten" page (signaling/web/contactmomenten.html). Only a citizen's session cookie
 * opens it, and it shows only that session's pseudonym's signals, newest first, as the agent
 * console shows them: date, channel, service, outcome, times and topic — no identifiers. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "balie/journey.h"
#include "balie/log.h"
#include "calls_internal.h"
#include "server_internal.h"

#define ME_SIGNALS_MAX 100 /* the page shows at most this many, newest first */

static int respond_json(struct server *srv, struct lws *wsi, struct http_session *hs,
                        unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return 1;
    return http_respond(srv, wsi, hs, status, "application/json", text, strlen(text), NULL);
}

static json_t *problem(const char *code, const char *message)
{
    return json_pack("{s:s, s:s}", "error", code, "message", message);
}

int journey_http_me_signals(struct server *srv, struct lws *wsi, struct http_session *hs,
                            const struct http_request *req)
{
    const struct session *sess =
        session_from_cookie_header(srv->sessions, req->cookie, server_now_ms());
    if (!sess || sess->role != SESSION_ROLE_CITIZEN)
        return respond_json(srv, wsi, hs, 401,
                            problem("not_logged_in", "Log eerst in. / Please log in first."));
    if (!srv->journey)
        return respond_json(srv, wsi, hs, 503,
                            problem("unavailable", "Nu niet beschikbaar. / Not available now."));
    struct journey_signal *list = calloc(ME_SIGNALS_MAX, sizeof(*list));
    int n = list ? journey_history(srv->journey, sess->pseudonym, list, ME_SIGNALS_MAX) : -1;
    json_t *signals = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(signals, calls_journey_history_entry(&list[i]));
    free(list);
    if (n < 0) {
        json_decref(signals);
        log_error("journey", "cannot read a citizen's own signals");
        return respond_json(srv, wsi, hs, 500,
                            problem("store_failed", "Er ging iets mis. / Something went wrong."));
    }
    return respond_json(srv, wsi, hs, 200, json_pack("{s:i, s:o}", "count", n, "signals", signals));
}
