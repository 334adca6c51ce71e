/* The admin API under /admin/v1/ (DESIGN.md §5): a bearer token from admin.token_file (or one
 * made at first start in data_dir/admin.token), errors as application/problem+json (RFC 9457).
 * For now it holds the AVG requests on journey signals: GET (access, art. 15) and DELETE
 * (erasure, art. 17) of one citizen's signals, named by subject. The subject is turned into
 * the pseudonym at once and never logged or stored. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "balie/identity.h"
#include "balie/journey.h"
#include "balie/log.h"
#include "server_internal.h"

#define TOKEN_BYTES 32
#define TOKEN_TEXT_MAX 256

/* 32 random bytes as base64url without padding (RFC 4648 §5): 43 characters. */
static int make_token(char *out, size_t out_len)
{
    unsigned char raw[TOKEN_BYTES], b64[64];
    if (out_len < 44 || RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    int n = EVP_EncodeBlock(b64, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    size_t j = 0;
    for (int i = 0; i < n && b64[i] != '='; i++)
        out[j++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[j] = '\0';
    OPENSSL_cleanse(b64, sizeof(b64));
    return 0;
}

static int write_token(const char *path, const char *token)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t len = strlen(token);
    int err = write(fd, token, len) == (ssize_t)len && write(fd, "\n", 1) == 1 ? 0 : -EIO;
    if (fsync(fd) != 0)
        err = -EIO;
    close(fd);
    return err;
}

static int read_token(const char *path, char *out, size_t out_len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = fread(out, 1, out_len - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    return n >= 16 ? 0 : -EINVAL; /* a short token is guessable: refuse to serve with it */
}

int admin_init(struct server *srv)
{
    char path[PATH_MAX];
    const char *configured = srv->cfg->admin.token_file;
    bool created = false;
    if (configured[0]) {
        snprintf(path, sizeof(path), "%s", configured);
    } else {
        snprintf(path, sizeof(path), "%s/admin.token", srv->cfg->general.data_dir);
        if (access(path, F_OK) != 0) {
            char token[64];
            int err = make_token(token, sizeof(token));
            if (!err)
                err = write_token(path, token);
            OPENSSL_cleanse(token, sizeof(token));
            if (err) {
                log_error("admin", "cannot create the admin token %s: %s", path, strerror(-err));
                return err;
            }
            created = true;
        }
    }
    int err = read_token(path, srv->admin_token, sizeof(srv->admin_token));
    if (err) {
        log_error("admin", "cannot read the admin token from %s (%s)", path,
                  err == -EINVAL ? "shorter than 16 characters" : strerror(-err));
        return err;
    }
    log_info("admin", "admin API token %s %s", created ? "created (mode 0600) in" : "read from",
             path);
    return 0;
}

void admin_free(struct server *srv)
{
    OPENSSL_cleanse(srv->admin_token, sizeof(srv->admin_token));
}

/* RFC 9457 problem details. */
static int problem(struct server *srv, struct lws *wsi, struct http_session *hs, unsigned status,
                   const char *title, const char *detail)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title, "status",
                          (int)status, "detail", detail);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return 1;
    struct http_extra extra = {.www_authenticate =
                                   status == 401 ? "Bearer realm=\"balie-admin\"" : NULL};
    return http_respond(srv, wsi, hs, status, "application/problem+json", body, strlen(body),
                        &extra);
}

/* RFC 6750 §2.1: "Authorization: Bearer <token>", compared in constant time. */
static bool authorized(const struct server *srv, struct lws *wsi)
{
    char header[TOKEN_TEXT_MAX + 16];
    if (!srv->admin_token[0] ||
        lws_hdr_copy(wsi, header, sizeof(header), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0)
        return false;
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *given = header + 7;
    size_t len = strlen(given), want = strlen(srv->admin_token);
    bool ok = len == want && CRYPTO_memcmp(given, srv->admin_token, want) == 0;
    OPENSSL_cleanse(header, sizeof(header));
    return ok;
}

static int signals(struct server *srv, struct lws *wsi, struct http_session *hs, bool erase)
{
    char subject[160] = "", pseudonym[IDENTITY_PSEUDONYM_LEN + 1];
    if (!lws_get_urlarg_by_name(wsi, "subject=", subject, sizeof(subject)))
        subject[0] = '\0';
    const char *value = strncmp(subject, "subject=", 8) == 0 ? subject + 8 : subject;
    if (!value[0] || strlen(value) > 128)
        return problem(srv, wsi, hs, 400, "Bad Request", "give ?subject= (1 to 128 characters)");
    int rc = auth_pseudonym(srv, value, pseudonym);
    OPENSSL_cleanse(subject, sizeof(subject));
    if (rc != 0 || !srv->journey)
        return problem(srv, wsi, hs, 503, "Service Unavailable", "the signal store is not open");
    if (erase) {
        int n = journey_erase(srv->journey, pseudonym);
        if (n >= 0 && journey_flush(srv->journey) != 0) /* "erased" only once it is committed */
            n = -EIO;
        if (n < 0)
            return problem(srv, wsi, hs, 500, "Internal Server Error", "the erase failed");
        log_info("admin", "erased %d journey signals of one citizen (AVG art. 17)", n);
        char *body = NULL;
        if (asprintf(&body, "{\"erased\":%d}", n) < 0)
            return 1;
        return http_respond(srv, wsi, hs, 200, "application/json", body, strlen(body), NULL);
    }
    char *list = NULL;
    int n = journey_export(srv->journey, pseudonym, &list);
    if (n < 0)
        return problem(srv, wsi, hs, 500, "Internal Server Error", "the export failed");
    log_info("admin", "exported %d journey signals of one citizen (AVG art. 15)", n);
    char *body = NULL;
    int len = asprintf(&body, "{\"count\":%d,\"signals\":%s}", n, list);
    free(list);
    if (len < 0)
        return 1;
    return http_respond(srv, wsi, hs, 200, "application/json", body, (size_t)len, NULL);
}

int admin_problem(struct server *srv, struct lws *wsi, struct http_session *hs, unsigned status,
                  const char *title, const char *detail)
{
    return problem(srv, wsi, hs, status, title, detail);
}

bool admin_authorized(const struct server *srv, const char *header)
{
    if (!srv->admin_token[0] || strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *given = header + 7;
    size_t len = strlen(given), want = strlen(srv->admin_token);
    return len == want && CRYPTO_memcmp(given, srv->admin_token, want) == 0;
}

int admin_handle(struct server *srv, struct lws *wsi, struct http_session *hs, const char *uri,
                 enum admin_method method)
{
    hs->close_after = true; /* admin requests carry no body we read */
    if (!authorized(srv, wsi)) {
        srv->admin_refused++;
        return problem(srv, wsi, hs, 401, "Unauthorized",
                       "send Authorization: Bearer <the token in admin.token_file>");
    }
    if (strcmp(uri, "/admin/v1/signals") == 0) {
        if (method == ADMIN_GET || method == ADMIN_DELETE)
            return signals(srv, wsi, hs, method == ADMIN_DELETE);
        return problem(srv, wsi, hs, 405, "Method Not Allowed", "GET or DELETE");
    }
    return problem(srv, wsi, hs, 404, "Not Found", "no such admin resource");
}
