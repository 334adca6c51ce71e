/* The users file on disk: parse (every length checked), format, load, and save atomically.
 * The line format is in include/balie/users.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "balie/strbuf.h"
#include "balie/users.h"

#define LINE_MAX_BYTES 1024

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Exactly 2·n lower-case hex digits into `out`. */
static int hex_decode(const uint8_t *in, size_t in_len, unsigned char *out, size_t n)
{
    if (in_len != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* A decimal number of 1..3 digits up to '$'; advances *at. */
static int small_number(const uint8_t *s, size_t len, size_t *at, unsigned *out)
{
    unsigned v = 0;
    size_t start = *at;
    while (*at < len && s[*at] >= '0' && s[*at] <= '9' && *at - start < 3)
        v = v * 10 + (unsigned)(s[(*at)++] - '0');
    if (*at == start || *at >= len || s[*at] != '$')
        return -1;
    (*at)++;
    *out = v;
    return 0;
}

/* "scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>" */
static int parse_hash(const uint8_t *s, size_t len, struct user *u)
{
    size_t pre = strlen("scrypt$"), at = pre;
    if (len < pre || memcmp(s, "scrypt$", pre) != 0)
        return -1;
    if (small_number(s, len, &at, &u->kdf.log2_n) != 0 ||
        small_number(s, len, &at, &u->kdf.r) != 0 || small_number(s, len, &at, &u->kdf.p) != 0)
        return -1;
    if (len - at != 2 * USERS_SALT_LEN + 1 + 2 * USERS_HASH_LEN ||
        s[at + 2 * USERS_SALT_LEN] != '$')
        return -1;
    if (hex_decode(s + at, 2 * USERS_SALT_LEN, u->salt, USERS_SALT_LEN) != 0 ||
        hex_decode(s + at + 2 * USERS_SALT_LEN + 1, 2 * USERS_HASH_LEN, u->hash, USERS_HASH_LEN) !=
            0)
        return -1;
    if (u->kdf.log2_n < 10 || u->kdf.log2_n > 22 || u->kdf.r < 1 || u->kdf.r > 32 || u->kdf.p < 1 ||
        u->kdf.p > 16 || 128ull * u->kdf.r * (1ull << u->kdf.log2_n) > 256ull * 1024 * 1024)
        return -1;
    return 0;
}

/* Copies field [s, s+len) into `out` (size `cap`) as a string. */
static int copy_field(const uint8_t *s, size_t len, char *out, size_t cap)
{
    if (len >= cap || memchr(s, '\0', len))
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

/* One line without its newline. Returns NULL on success or why it failed. */
static const char *parse_line(const uint8_t *s, size_t len, struct user *u)
{
    const uint8_t *f[3];
    size_t flen[3], at = 0;
    for (int i = 0; i < 3; i++) {
        const uint8_t *colon = memchr(s + at, ':', len - at);
        if (!colon)
            return "expected id:hash:services:name";
        f[i] = s + at;
        flen[i] = (size_t)(colon - (s + at));
        at = (size_t)(colon - s) + 1;
    }
    memset(u, 0, sizeof(*u));
    if (copy_field(f[0], flen[0], u->id, sizeof(u->id)) != 0 || !users_id_valid(u->id))
        return "bad agent id";
    if (parse_hash(f[1], flen[1], u) != 0)
        return "bad password hash";
    if (copy_field(f[2], flen[2], u->services, sizeof(u->services)) != 0 ||
        !users_services_valid(u->services))
        return "bad services list";
    if (strcmp(u->services, "*") == 0)
        u->services[0] = '\0';
    if (copy_field(s + at, len - at, u->name, sizeof(u->name)) != 0 || !users_name_valid(u->name))
        return "bad display name";
    return NULL;
}

int users_parse(const uint8_t *buf, size_t len, struct users *out, char *why, size_t why_len)
{
    if (len > USERS_FILE_MAX) {
        snprintf(why, why_len, "larger than %u bytes", USERS_FILE_MAX);
        return -1;
    }
    size_t at = 0;
    for (unsigned line = 1; at < len; line++) {
        const uint8_t *nl = memchr(buf + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - buf) : len, n = end - at;
        const uint8_t *s = buf + at;
        at = nl ? end + 1 : len;
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (n == 0 || s[0] == '#')
            continue;
        struct user u;
        const char *bad = n > LINE_MAX_BYTES ? "line too long" : parse_line(s, n, &u);
        int err = bad ? 0 : users_add(out, &u);
        OPENSSL_cleanse(&u, sizeof(u));
        if (!bad && err == -EEXIST)
            bad = "the same agent id twice";
        else if (!bad && err != 0)
            bad = "too many agents";
        if (bad) {
            snprintf(why, why_len, "line %u: %s", line, bad);
            users_free(out);
            return -1;
        }
    }
    return 0;
}

static void hex_append(struct strbuf *sb, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        strbuf_appendf(sb, "%02x", b[i]);
}

char *users_format(const struct users *u)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_appendf(&sb, "# Balie agents: id:scrypt$log2N$r$p$salt$hash:services:name\n"
                        "# Edit with: balie-gateway user add|remove|list\n");
    for (size_t i = 0; i < u->count; i++) {
        const struct user *x = &u->list[i];
        strbuf_appendf(&sb, "%s:scrypt$%u$%u$%u$", x->id, x->kdf.log2_n, x->kdf.r, x->kdf.p);
        hex_append(&sb, x->salt, USERS_SALT_LEN);
        strbuf_append(&sb, "$", 1);
        hex_append(&sb, x->hash, USERS_HASH_LEN);
        strbuf_appendf(&sb, ":%s:%s\n", x->services[0] ? x->services : "*", x->name);
    }
    if (sb.failed) {
        strbuf_free(&sb);
        return NULL;
    }
    return sb.data;
}

int users_load(const char *path, struct users *out, char *why, size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (st.st_size > (off_t)USERS_FILE_MAX) {
        close(fd);
        snprintf(why, why_len, "%s is larger than %u bytes", path, USERS_FILE_MAX);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size + 1);
    ssize_t n = buf ? read(fd, buf, size) : -1;
    close(fd);
    int rc = -1;
    if (n != (ssize_t)size)
        snprintf(why, why_len, "cannot read %s", path);
    else
        rc = users_parse(buf, size, out, why, why_len);
    if (buf)
        OPENSSL_cleanse(buf, size);
    free(buf);
    return rc;
}

static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

int users_save(const char *path, const struct users *u, char *why, size_t why_len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        snprintf(why, why_len, "path too long");
        return -1;
    }
    char *text = users_format(u);
    if (!text) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    size_t len = strlen(text);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd < 0) {
        snprintf(why, why_len, "cannot create %s: %s", tmp, strerror(errno));
    } else if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 || fsync(fd) != 0) {
        snprintf(why, why_len, "cannot write %s: %s", tmp, strerror(errno));
    } else {
        rc = 0;
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        snprintf(why, why_len, "cannot write %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    /* rename(2) is atomic: a reader sees the old file or the new one, never half of one. */
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(why, why_len, "cannot rename to %s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc != 0 && fd >= 0)
        unlink(tmp);
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}
