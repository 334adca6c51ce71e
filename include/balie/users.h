/* The agents' users file: the embedded default's own accounts for the agent console
 * (docs/identity.md, "Agents").
 *
 * One agent a line, fields separated by ':' (the name last, so it may hold a ':'):
 *
 *   a.jansen:scrypt$15$8$1$<salt, 32 hex>$<hash, 64 hex>:algemeen,paspoort:Anna Jansen
 *
 * id, the password hash (scrypt, RFC 7914, with log2 N, r and p stored per line so they can
 * grow later without breaking old lines), the services the agent may take ("*" for all), and
 * a display name that may be empty. Lines starting with '#' and empty lines are skipped.
 *
 * Nothing here logs, and no function keeps a password: callers clear their copies. */
#ifndef BALIE_USERS_H
#define BALIE_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USERS_ID_MAX 32        /* bytes including the NUL: 1..31 characters */
#define USERS_SERVICES_MAX 256 /* "a,b,c" including the NUL; "" means all */
#define USERS_NAME_MAX 64      /* UTF-8 bytes including the NUL */
#define USERS_PASSWORD_MIN 12  /* characters (bytes) */
#define USERS_PASSWORD_MAX 1024
#define USERS_SALT_LEN 16
#define USERS_HASH_LEN 32
#define USERS_MAX 10000
#define USERS_FILE_MAX (4u * 1024u * 1024u)

/* scrypt's cost: N = 2^log2_n, block size r, parallelism p (RFC 7914 §2). */
struct users_kdf {
    unsigned log2_n;
    unsigned r;
    unsigned p;
};

/* 2^15 × 8 × 128 bytes = 32 MiB of memory per check (OWASP's scrypt minimum is 2^17 with
 * r=8 p=1; see docs/identity.md for why 2^15, and for the time it takes). */
#define USERS_KDF_DEFAULT ((struct users_kdf){15, 8, 1})

struct user {
    char id[USERS_ID_MAX];
    struct users_kdf kdf;
    unsigned char salt[USERS_SALT_LEN];
    unsigned char hash[USERS_HASH_LEN];
    char services[USERS_SERVICES_MAX]; /* comma-separated service ids; "" = all */
    char name[USERS_NAME_MAX];         /* may be empty; never logged */
};

struct users {
    struct user *list;
    size_t count, cap;
};

/* An agent id: 1..31 characters of [a-z0-9._@-], starting with a letter or digit. */
bool users_id_valid(const char *id);

/* A services list: "" or "*" (all), or comma-separated ids of [a-z0-9-] (config's service
 * ids), none empty, fitting USERS_SERVICES_MAX. */
bool users_services_valid(const char *list);

/* Whether `service` is in `list` ("" = all). */
bool users_service_allowed(const char *list, const char *service);

/* A display name: well-formed UTF-8 without control characters, shorter than USERS_NAME_MAX. */
bool users_name_valid(const char *name);

/* Parses a whole users file. Returns 0 and fills `out` (empty it first with users_free or a
 * zeroed struct), or -1 with "line N: why" in `why`. A bad line refuses the whole file: a
 * half-read file would lock agents out without saying why. */
int users_parse(const uint8_t *buf, size_t len, struct users *out, char *why, size_t why_len);

/* Reads `path`. A missing file is an empty list (returns 0, count 0); anything else that goes
 * wrong returns -1 with the reason. */
int users_load(const char *path, struct users *out, char *why, size_t why_len);

/* Writes every user to `path` atomically: a temporary file beside it (mode 0600), fsync,
 * rename. Returns 0 or -1 with the reason. */
int users_save(const char *path, const struct users *u, char *why, size_t why_len);

/* The file's text for `u` (malloc'd, NUL-terminated; NULL when out of memory). */
char *users_format(const struct users *u);

/* Sets a fresh random salt and the hash of `password` under `kdf`. Returns 0, or -1 when
 * the password's length is outside USERS_PASSWORD_MIN..MAX or the KDF failed. */
int users_set_password(struct user *u, const char *password, size_t len,
                       const struct users_kdf *kdf);

/* Adds a copy of `user`. 0, -EEXIST for a taken id, -EINVAL for a bad id, -ENOSPC past
 * USERS_MAX, -ENOMEM. */
int users_add(struct users *u, const struct user *user);

/* Removes `id`. 0 or -ENOENT. */
int users_remove(struct users *u, const char *id);

const struct user *users_find(const struct users *u, const char *id);

/* Checks a password. Always runs exactly one KDF: for an unknown id it hashes against a dummy
 * with the cost of the file's first user (or the default), so a wrong password and an unknown
 * user take the same time. The comparison is constant-time (CRYPTO_memcmp). Returns the user,
 * or NULL. */
const struct user *users_verify(const struct users *u, const char *id, const char *password,
                                size_t len);

/* The dummy an unknown id is checked against: the cost of the file's first line (or the
 * default), a zero salt and a hash no password produces in practice. */
void users_dummy(const struct users *u, struct user *out);

/* Whether `password` hashes to `u`'s hash: one KDF, compared with CRYPTO_memcmp. Thread-safe.
 * False for a NULL or over-long password (after running the KDF all the same). */
bool users_password_matches(const struct user *u, const char *password, size_t len);

/* Frees the list (and wipes the hashes). The struct may be reused afterwards. */
void users_free(struct users *u);

struct balie_config;

/* The users file's path: identity.users_file, or data_dir/users. 0, or -1 when too long. */
int users_file_path(const struct balie_config *cfg, char *out, size_t len);

/* `balie-gateway user add|remove|list …` (argv starts after "user"). Returns the exit
 * status: 0, 1 (the command failed: an existing or unknown id, a short password), 2 (usage). */
int users_cli(const struct balie_config *cfg, int argc, char **argv);

#endif
