/* The agents' users file: parse, format, save atomically, and check passwords with scrypt
 * (RFC 7914) through OpenSSL's EVP_KDF "SCRYPT". See include/balie/users.h. */
#include "balie/users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define KDF_MEM_MAX (256u * 1024u * 1024u) /* 128·r·N bytes a line may ask for */

/* ---- Field checks ---- */

static bool id_char(char c, bool first)
{
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '.' || c == '_' || c == '@' || c == '-'));
}

bool users_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= USERS_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!id_char(id[i], i == 0))
            return false;
    return true;
}

bool users_services_valid(const char *list)
{
    if (!list)
        return false;
    size_t n = strlen(list);
    if (n >= USERS_SERVICES_MAX)
        return false;
    if (n == 0 || strcmp(list, "*") == 0)
        return true;
    size_t run = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = list[i];
        if (c == ',' || c == '\0') {
            if (run == 0 || run >= 32) /* config.h: service ids are 1..31 characters */
                return false;
            run = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            run++;
        } else {
            return false;
        }
    }
    return true;
}

bool users_service_allowed(const char *list, const char *service)
{
    if (!list || !list[0] || strcmp(list, "*") == 0)
        return true;
    size_t want = service ? strlen(service) : 0;
    if (want == 0)
        return false;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == want && strncmp(p, service, len) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

/* RFC 3629 §4: no overlong forms, no surrogates, at most U+10FFFF; and no C0/C1 controls. */
bool users_name_valid(const char *name)
{
    if (!name || strlen(name) >= USERS_NAME_MAX)
        return false;
    static const unsigned min_for[4] = {0, 0x80, 0x800, 0x10000};
    for (const unsigned char *p = (const unsigned char *)name; *p;) {
        unsigned c = *p;
        int more = c < 0x80             ? 0
                   : (c & 0xe0) == 0xc0 ? 1
                   : (c & 0xf0) == 0xe0 ? 2
                   : (c & 0xf8) == 0xf0 ? 3
                                        : -1;
        if (more < 0 || c < 0x20 || c == 0x7f)
            return false;
        unsigned cp = more == 0 ? c : c & (0x3fu >> more);
        for (int i = 1; i <= more; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3fu);
        }
        if (cp < min_for[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp < 0xa0))
            return false;
        p += more + 1;
    }
    return true;
}

static bool kdf_valid(const struct users_kdf *k)
{
    if (k->log2_n < 10 || k->log2_n > 22 || k->r < 1 || k->r > 32 || k->p < 1 || k->p > 16)
        return false;
    return 128ull * k->r * (1ull << k->log2_n) <= KDF_MEM_MAX;
}

/* ---- The KDF ---- */

static int scrypt(const struct users_kdf *k, const unsigned char *salt, const char *password,
                  size_t len, unsigned char out[USERS_HASH_LEN])
{
    if (!kdf_valid(k))
        return -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = 1ull << k->log2_n;
    uint32_t r = k->r, p = k->p;
    /* OpenSSL refuses past maxmem (32 MiB by default, just below what N=2^15 r=8 needs). */
    uint64_t maxmem = 128ull * r * (n + p + 2) + (1u << 20);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)password, len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, USERS_SALT_LEN),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int rc = ctx && EVP_KDF_derive(ctx, out, USERS_HASH_LEN, params) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

int users_set_password(struct user *u, const char *password, size_t len,
                       const struct users_kdf *kdf)
{
    if (!password || len < USERS_PASSWORD_MIN || len > USERS_PASSWORD_MAX)
        return -1;
    if (RAND_bytes(u->salt, USERS_SALT_LEN) != 1)
        return -1;
    u->kdf = *kdf;
    return scrypt(kdf, u->salt, password, len, u->hash);
}

void users_dummy(const struct users *u, struct user *out)
{
    memset(out, 0, sizeof(*out));
    out->kdf = u->count ? u->list[0].kdf : USERS_KDF_DEFAULT;
}

bool users_password_matches(const struct user *u, const char *password, size_t len)
{
    unsigned char got[USERS_HASH_LEN];
    bool usable = password && len <= USERS_PASSWORD_MAX;
    int rc = scrypt(&u->kdf, u->salt, usable ? password : "", usable ? len : 0, got);
    bool equal = CRYPTO_memcmp(got, u->hash, USERS_HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    return rc == 0 && usable && equal;
}

const struct user *users_verify(const struct users *u, const char *id, const char *password,
                                size_t len)
{
    const struct user *found = id ? users_find(u, id) : NULL;
    /* The same work whether or not the id exists: a dummy with the cost real lines have. */
    struct user dummy;
    users_dummy(u, &dummy);
    bool matches = users_password_matches(found ? found : &dummy, password, len);
    return found && matches ? found : NULL;
}

/* ---- The list ---- */

const struct user *users_find(const struct users *u, const char *id)
{
    for (size_t i = 0; id && i < u->count; i++)
        if (strcmp(u->list[i].id, id) == 0)
            return &u->list[i];
    return NULL;
}

int users_add(struct users *u, const struct user *user)
{
    if (!users_id_valid(user->id))
        return -EINVAL;
    if (users_find(u, user->id))
        return -EEXIST;
    if (u->count >= USERS_MAX)
        return -ENOSPC;
    if (u->count == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 16;
        struct user *list = realloc(u->list, cap * sizeof(*list));
        if (!list)
            return -ENOMEM;
        u->list = list;
        u->cap = cap;
    }
    u->list[u->count++] = *user;
    return 0;
}

int users_remove(struct users *u, const char *id)
{
    for (size_t i = 0; i < u->count; i++) {
        if (strcmp(u->list[i].id, id) == 0) {
            memmove(&u->list[i], &u->list[i + 1], (u->count - i - 1) * sizeof(u->list[0]));
            u->count--;
            OPENSSL_cleanse(&u->list[u->count], sizeof(u->list[0]));
            return 0;
        }
    }
    return -ENOENT;
}

void users_free(struct users *u)
{
    if (u->list)
        OPENSSL_cleanse(u->list, u->cap * sizeof(u->list[0]));
    free(u->list);
    memset(u, 0, sizeof(*u));
}
