/* The `dev` identity provider: a stand-in IdP inside the gateway, so Balie can be tried on a
 * laptop and scripts can log in without a browser. It plays both sides of a real provider:
 * its form post (/auth/dev/authorize) is the IdP checking who you are and handing out a
 * one-time code, and `finish` is the gateway redeeming that code on the callback.
 * It is refused in production by config_validate() and announced loudly at start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "balie/idp.h"

#define DEV_MAX_CODES 256

struct idp_dev {
    struct idp base; /* first: a struct idp * is also a struct idp_dev * */
    const unsigned char *secret;
    size_t secret_len;
    struct login_store *logins;
    struct code_store *codes;
};

static void set_error(struct idp_error *err, const char *code, const char *message)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", message);
    err->http_status = 400;
}

bool identity_bsn_valid(const char *text)
{
    static const int weights[9] = {9, 8, 7, 6, 5, 4, 3, 2, -1};
    int sum = 0;
    bool all_zero = true;
    for (int i = 0; i < 9; i++) {
        if (!text || text[i] < '0' || text[i] > '9')
            return false;
        sum += weights[i] * (text[i] - '0');
        all_zero = all_zero && text[i] == '0';
    }
    return text[9] == '\0' && !all_zero && sum % 11 == 0;
}

/* An agent's account name in the dev form: what a staff directory might use. */
static bool account_valid(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n >= IDP_SUBJECT_MAX)
        return false;
    for (const char *c = text; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == '@' || *c == '-'))
            return false;
    return true;
}

/* Well-formed UTF-8 (RFC 3629 §4: no overlong forms, no surrogates, at most U+10FFFF) without
 * control characters, so the name can go into JSON and HTML as it is (after escaping). */
static bool display_name_valid(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    if (strlen(text) >= IDP_DISPLAY_NAME_MAX)
        return false;
    while (*p) {
        unsigned c = *p;
        int extra = c < 0x80             ? 0
                    : (c & 0xe0) == 0xc0 ? 1
                    : (c & 0xf0) == 0xe0 ? 2
                    : (c & 0xf8) == 0xf0 ? 3
                                         : -1;
        if (extra < 0 || c < 0x20 || c == 0x7f)
            return false;
        unsigned cp = extra == 0 ? c : c & (0x3f >> extra);
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        static const unsigned min_for[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp < 0xa0))
            return false;
        p += extra + 1;
    }
    return true;
}

/* Percent-encodes everything but RFC 3986 §2.3 unreserved characters and "/". */
static int pct_encode(const char *in, char *out, size_t out_len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)in; *c; c++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' || *c == '~' ||
                     *c == '/';
        if (n + (plain ? 1 : 3) >= out_len)
            return -1;
        if (plain) {
            out[n++] = (char)*c;
        } else {
            out[n++] = '%';
            out[n++] = hex[*c >> 4];
            out[n++] = hex[*c & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

static int dev_start(struct idp *idp, const char *state, struct login_pending *login, char *url,
                     size_t url_len)
{
    (void)idp;
    char ret[IDP_RETURN_MAX * 3];
    if (pct_encode(login->return_path, ret, sizeof(ret)) != 0)
        return -1;
    /* A level asked for (a service refused a lower one) is preselected on the form. */
    int n = snprintf(url, url_len, "/auth/dev/authorize?state=%s&return=%s%s%s", state, ret,
                     login->wanted_loa != LOA_NONE ? "&loa=" : "",
                     login->wanted_loa != LOA_NONE ? identity_loa_name(login->wanted_loa) : "");
    return n > 0 && (size_t)n < url_len ? 0 : -1;
}

static int dev_finish(struct idp *idp, const struct idp_params *params,
                      const struct login_pending *login, uint64_t now_ms,
                      struct identity_verified *out, struct idp_error *err)
{
    struct idp_dev *dev = (struct idp_dev *)idp;
    (void)login;
    if (code_redeem(dev->codes, idp_params_get(params, "code"), idp_params_get(params, "state"),
                    now_ms, out) != 0) {
        set_error(err, "code_invalid",
                  "Deze inlogcode is onbekend, verlopen of al gebruikt. Log opnieuw in. / "
                  "This login code is unknown, expired or already used. Please log in again.");
        return -1;
    }
    return 0;
}

static void dev_destroy(struct idp *idp)
{
    struct idp_dev *dev = (struct idp_dev *)idp;
    if (!dev)
        return;
    code_store_free(dev->codes);
    free(dev);
}

struct idp *idp_dev_new(const unsigned char *secret, size_t secret_len, struct login_store *logins)
{
    struct idp_dev *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return NULL;
    dev->codes = code_store_new(DEV_MAX_CODES);
    if (!dev->codes) {
        free(dev);
        return NULL;
    }
    dev->base.id = "dev";
    dev->base.display_name = "Testinlog (geen echte DigiD)";
    dev->base.start = dev_start;
    dev->base.finish = dev_finish;
    dev->base.destroy = dev_destroy;
    dev->secret = secret;
    dev->secret_len = secret_len;
    dev->logins = logins;
    return &dev->base;
}

/* Checks the form's role, level, subject and name into `id` (pseudonym made). */
static int dev_check_form(struct idp_dev *dev, const struct idp_params *form,
                          struct identity_verified *id, struct idp_error *err)
{
    const char *role = idp_params_get(form, "role");
    const char *loa = idp_params_get(form, "loa");
    const char *subject = idp_params_get(form, "subject");
    const char *name = idp_params_get(form, "name");
    if (identity_role_parse(role && role[0] ? role : "citizen", &id->role) != 0) {
        set_error(err, "bad_role", "Kies burger of medewerker. / Choose citizen or agent.");
        return -1;
    }
    if (!loa || identity_loa_parse(loa, &id->loa) != 0) {
        set_error(err, "bad_loa",
                  "Kies een betrouwbaarheidsniveau: basis, midden, substantieel of hoog. / "
                  "Choose an assurance level: basis, midden, substantieel or hoog.");
        return -1;
    }
    if (id->role == IDENTITY_ROLE_CITIZEN && !identity_bsn_valid(subject)) {
        set_error(err, "bad_bsn",
                  "Dit is geen geldig burgerservicenummer (BSN): een BSN heeft 9 cijfers en "
                  "doorstaat de elfproef. / This is not a valid citizen service number (BSN): a "
                  "BSN has 9 digits and passes the eleven test.");
        return -1;
    }
    if (id->role == IDENTITY_ROLE_AGENT && !account_valid(subject)) {
        set_error(err, "bad_account",
                  "Vul een accountnaam in: letters, cijfers en . _ @ - (hoogstens 63 tekens). / "
                  "Enter an account name: letters, digits and . _ @ - (at most 63 characters).");
        return -1;
    }
    if (name && !display_name_valid(name)) {
        set_error(err, "bad_name",
                  "De naam is te lang of bevat tekens die niet kunnen. / "
                  "The name is too long or contains characters that are not allowed.");
        return -1;
    }
    snprintf(id->subject, sizeof(id->subject), "%s", subject);
    snprintf(id->display_name, sizeof(id->display_name), "%s", name ? name : "");
    snprintf(id->provider, sizeof(id->provider), "dev");
    /* Agents and citizens are separate namespaces: an account name must never share a
     * pseudonym with a BSN. Citizens get the bare subject, so the same BSN has the same
     * pseudonym whichever provider verified it. */
    char input[IDP_SUBJECT_MAX + 8];
    snprintf(input, sizeof(input), "%s%s", id->role == IDENTITY_ROLE_AGENT ? "agent:" : "",
             subject);
    int rc = identity_pseudonym(dev->secret, dev->secret_len, input, id->pseudonym);
    OPENSSL_cleanse(input, sizeof(input));
    if (rc != 0) {
        set_error(err, "no_secret", "Inloggen kan nu niet. / Logging in is not possible now.");
        err->http_status = 503;
        return -1;
    }
    return 0;
}

int idp_dev_authorize(struct idp *idp, const struct idp_params *form, uint64_t now_ms, char *url,
                      size_t url_len, struct idp_error *err)
{
    struct idp_dev *dev = (struct idp_dev *)idp;
    struct identity_verified id;
    memset(&id, 0, sizeof(id));
    if (dev_check_form(dev, form, &id, err) != 0) {
        identity_verified_clear(&id);
        return -1;
    }
    /* The state is checked last, so a person who mistyped can correct the form and send it
     * again; it is answered only once (RFC 6749 §10.12: the state binds the callback to the
     * login this browser started). */
    const char *state = idp_params_get(form, "state");
    int rc = -1;
    char code[IDP_CODE_LEN + 1];
    if (!login_claim(dev->logins, state, "dev", now_ms)) {
        set_error(err, "state_invalid",
                  "Deze inlogpoging is verlopen of al gebruikt. Begin opnieuw. / "
                  "This login attempt has expired or was already used. Please start again.");
    } else if (code_issue(dev->codes, state, &id, now_ms, code) != 0) {
        set_error(err, "busy",
                  "Het is te druk om in te loggen; probeer het over een minuut. / "
                  "Too many logins at once; try again in a minute.");
        err->http_status = 503;
    } else {
        int n = snprintf(url, url_len, "/auth/callback/dev?code=%s&state=%s", code, state);
        rc = n > 0 && (size_t)n < url_len ? 0 : -1;
        if (rc != 0) {
            set_error(err, "internal", "Er ging iets mis. / Something went wrong.");
            err->http_status = 500;
        }
    }
    OPENSSL_cleanse(code, sizeof(code));
    identity_verified_clear(&id);
    return rc;
}
