/* The deployment's pseudonym secret: configured, or made once and kept in the data folder.
 * Losing it changes every pseudonym (earlier signals no longer join up), so it is made only
 * when the file does not exist, never overwritten, and written before it is used. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "balie/idp.h"

#define KEY_FILE "pseudonym.key"
#define KEY_BYTES 32

/* Reads the key file's text (without trailing newlines) into `out`. */
static int read_key(const char *path, unsigned char *out, size_t *out_len, char *why,
                    size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char buf[IDENTITY_SECRET_MAX + 2];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = (size_t)n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    int rc = 0;
    if (len > IDENTITY_SECRET_MAX || len < IDENTITY_SECRET_MIN) {
        snprintf(why, why_len, "%s must hold %d to %d characters (it holds %zu)", path,
                 IDENTITY_SECRET_MIN, IDENTITY_SECRET_MAX, len);
        rc = -1;
    } else {
        memcpy(out, buf, len);
        *out_len = len;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* Creates the key file with O_EXCL (never replacing one) and mode 0600. Returns 0, 1 when it
 * already existed (someone else made it first), or -1. */
static int create_key(const char *path, char *why, size_t why_len)
{
    unsigned char raw[KEY_BYTES];
    char text[2 * KEY_BYTES + 1];
    static const char hex[] = "0123456789abcdef";
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        snprintf(why, why_len, "the random generator failed");
        return -1;
    }
    for (size_t i = 0; i < KEY_BYTES; i++) {
        text[2 * i] = hex[raw[i] >> 4];
        text[2 * i + 1] = hex[raw[i] & 15];
    }
    text[2 * KEY_BYTES] = '\n';
    OPENSSL_cleanse(raw, sizeof(raw));
    int rc = -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST) {
        rc = 1;
    } else if (fd < 0) {
        snprintf(why, why_len, "cannot create %s: %s", path, strerror(errno));
    } else if (fchmod(fd, 0600) != 0 || write(fd, text, sizeof(text)) != (ssize_t)sizeof(text) ||
               fsync(fd) != 0) {
        snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
        unlink(path); /* a half-written key would be read as a short secret next time */
    } else {
        rc = 0;
    }
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

int identity_secret_load(const char *configured, const char *data_dir, unsigned char *out,
                         size_t *out_len, enum identity_secret_source *source, char *path,
                         size_t path_len, char *why, size_t why_len)
{
    path[0] = '\0';
    if (configured && configured[0]) {
        size_t n = strlen(configured);
        if (n < IDENTITY_SECRET_MIN || n > IDENTITY_SECRET_MAX) {
            snprintf(why, why_len, "identity.pseudonym_secret must be %d to %d characters",
                     IDENTITY_SECRET_MIN, IDENTITY_SECRET_MAX);
            return -1;
        }
        memcpy(out, configured, n);
        *out_len = n;
        *source = SECRET_CONFIGURED;
        return 0;
    }
    int n = snprintf(path, path_len, "%s/%s", data_dir, KEY_FILE);
    if (n < 0 || (size_t)n >= path_len) {
        snprintf(why, why_len, "general.data_dir is too long");
        return -1;
    }
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_len, "cannot create the data folder %s: %s", data_dir, strerror(errno));
        return -1;
    }
    int created = access(path, F_OK) == 0 ? 1 : create_key(path, why, why_len);
    if (created < 0)
        return -1;
    if (read_key(path, out, out_len, why, why_len) != 0)
        return -1;
    *source = created == 0 ? SECRET_FILE_CREATED : SECRET_FILE_READ;
    return 0;
}
