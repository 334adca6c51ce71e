/* `balie-gateway user add|remove|list`: the agents' users file from the command line. The
 * password comes from standard input (never argv, which other users can read in /proc): typed
 * twice without echo on a terminal, or one line from a pipe. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "balie/config.h"
#include "balie/users.h"

static void cli_usage(FILE *out)
{
    fprintf(out,
            "Usage: balie-gateway [--config FILE] user add <id> [--services a,b] "
            "[--name \"Name\"]\n"
            "       balie-gateway [--config FILE] user remove <id>\n"
            "       balie-gateway [--config FILE] user list\n"
            "\n"
            "The password is read from standard input: typed twice (not shown) on a\n"
            "terminal, or the first line of a pipe. At least %d characters.\n",
            USERS_PASSWORD_MIN);
}

int users_file_path(const struct balie_config *cfg, char *out, size_t len)
{
    int n = cfg->identity.users_file[0] ? snprintf(out, len, "%s", cfg->identity.users_file)
                                        : snprintf(out, len, "%s/users", cfg->general.data_dir);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* One line from `in` without its newline into `out`. Returns its length, or -1 at end of
 * input or when the line does not fit (the rest of the line is then drained). */
static long read_line(FILE *in, char *out, size_t cap)
{
    size_t n = 0;
    int c;
    bool too_long = false;
    while ((c = fgetc(in)) != EOF && c != '\n') {
        if (n + 1 < cap)
            out[n++] = (char)c;
        else
            too_long = true;
    }
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    if (too_long || (c == EOF && n == 0))
        return -1;
    return (long)n;
}

/* Reads the password; on a terminal with echo off, twice. */
static long read_password(char *out, size_t cap)
{
    if (!isatty(STDIN_FILENO))
        return read_line(stdin, out, cap);
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    char again[USERS_PASSWORD_MAX + 2];
    fprintf(stderr, "Wachtwoord / Password: ");
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    long n = read_line(stdin, out, cap);
    long m = -1;
    if (n >= 0) {
        fprintf(stderr, "Nog een keer / Again: ");
        m = read_line(stdin, again, sizeof(again));
    }
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    bool same = n >= 0 && m == n && CRYPTO_memcmp(out, again, (size_t)n) == 0;
    OPENSSL_cleanse(again, sizeof(again));
    if (n >= 0 && !same) {
        fprintf(stderr, "balie-gateway: the passwords differ\n");
        return -2;
    }
    return n;
}

/* Each id in `list` must be a configured service. */
static int check_services(const struct balie_config *cfg, const char *list)
{
    if (!users_services_valid(list)) {
        fprintf(stderr, "balie-gateway: --services takes service ids (a-z, 0-9, -) separated "
                        "by commas, or * for all\n");
        return -1;
    }
    for (const char *p = list; *p && strcmp(list, "*") != 0;) {
        size_t n = strcspn(p, ",");
        char id[CONFIG_SERVICE_ID_MAX + 1];
        snprintf(id, sizeof(id), "%.*s", (int)n, p);
        if (!config_service_find(cfg, id)) {
            fprintf(stderr, "balie-gateway: unknown service '%s'; configured:", id);
            for (int i = 0; i < cfg->service_count; i++)
                fprintf(stderr, " %s", cfg->services[i].id);
            fprintf(stderr, "\n");
            return -1;
        }
        p += n;
        p += *p == ',';
    }
    return 0;
}

static int load(const char *path, struct users *u)
{
    char why[PATH_MAX + 128];
    if (users_load(path, u, why, sizeof(why)) != 0) {
        fprintf(stderr, "balie-gateway: %s: %s\n", path, why);
        return -1;
    }
    return 0;
}

static int save(const char *path, struct users *u)
{
    char why[PATH_MAX * 2 + 128];
    /* The folder of the default path may not exist yet on a fresh laptop. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "balie-gateway: cannot make %s: %s\n", dir, strerror(errno));
            return -1;
        }
    }
    if (users_save(path, u, why, sizeof(why)) != 0) {
        fprintf(stderr, "balie-gateway: %s\n", why);
        return -1;
    }
    return 0;
}

static int cmd_add(const struct balie_config *cfg, const char *path, int argc, char **argv)
{
    struct user x;
    memset(&x, 0, sizeof(x));
    const char *id = argc > 0 ? argv[0] : NULL;
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--services") == 0 && has_value) {
            if (check_services(cfg, argv[++i]) != 0)
                return 2;
            snprintf(x.services, sizeof(x.services), "%s", strcmp(argv[i], "*") ? argv[i] : "");
        } else if (strcmp(argv[i], "--name") == 0 && has_value) {
            if (!users_name_valid(argv[++i])) {
                fprintf(stderr,
                        "balie-gateway: --name is at most %d bytes of UTF-8 text "
                        "without control characters\n",
                        USERS_NAME_MAX - 1);
                return 2;
            }
            snprintf(x.name, sizeof(x.name), "%s", argv[i]);
        } else {
            fprintf(stderr, "balie-gateway: unknown or incomplete argument '%s'\n", argv[i]);
            cli_usage(stderr);
            return 2;
        }
    }
    if (!users_id_valid(id)) {
        fprintf(stderr, "balie-gateway: an agent id is 1-31 characters of a-z, 0-9 and . _ @ -, "
                        "starting with a letter or digit\n");
        return 2;
    }
    snprintf(x.id, sizeof(x.id), "%s", id);
    struct users u = {0};
    if (load(path, &u) != 0)
        return 1;
    int rc = 1;
    char password[USERS_PASSWORD_MAX + 2];
    long n = -1;
    if (users_find(&u, id)) {
        fprintf(stderr, "balie-gateway: agent '%s' already exists (remove it first)\n", id);
    } else if ((n = read_password(password, sizeof(password))) == -1) {
        fprintf(stderr, "balie-gateway: no password on standard input (or longer than %d)\n",
                USERS_PASSWORD_MAX);
    } else if (n >= 0 && n < USERS_PASSWORD_MIN) {
        fprintf(stderr, "balie-gateway: the password is too short: at least %d characters\n",
                USERS_PASSWORD_MIN);
    } else if (n >= 0 && users_set_password(&x, password, (size_t)n, &USERS_KDF_DEFAULT) != 0) {
        fprintf(stderr, "balie-gateway: the password could not be hashed (scrypt)\n");
    } else if (n >= 0 && users_add(&u, &x) == 0 && save(path, &u) == 0) {
        printf("agent %s added to %s\n", id, path);
        rc = 0;
    }
    OPENSSL_cleanse(password, sizeof(password));
    OPENSSL_cleanse(&x, sizeof(x));
    users_free(&u);
    return rc;
}

static int cmd_remove(const char *path, int argc, char **argv)
{
    if (argc != 1) {
        cli_usage(stderr);
        return 2;
    }
    struct users u = {0};
    if (load(path, &u) != 0)
        return 1;
    int rc = 1;
    if (users_remove(&u, argv[0]) != 0)
        fprintf(stderr, "balie-gateway: no agent '%s' in %s\n", argv[0], path);
    else if (save(path, &u) == 0) {
        printf("agent %s removed from %s\n", argv[0], path);
        rc = 0;
    }
    users_free(&u);
    return rc;
}

static int cmd_list(const char *path)
{
    struct users u = {0};
    if (load(path, &u) != 0)
        return 1;
    printf("%-31s  %-30s  %s\n", "ID", "SERVICES", "NAME");
    for (size_t i = 0; i < u.count; i++)
        printf("%-31s  %-30s  %s\n", u.list[i].id, u.list[i].services[0] ? u.list[i].services : "*",
               u.list[i].name);
    if (u.count == 0)
        fprintf(stderr, "(no agents in %s)\n", path);
    users_free(&u);
    return 0;
}

int users_cli(const struct balie_config *cfg, int argc, char **argv)
{
    char path[PATH_MAX];
    if (users_file_path(cfg, path, sizeof(path)) != 0) {
        fprintf(stderr, "balie-gateway: the users file's path is too long\n");
        return 2;
    }
    const char *cmd = argc > 0 ? argv[0] : "";
    if (strcmp(cmd, "add") == 0)
        return cmd_add(cfg, path, argc - 1, argv + 1);
    if (strcmp(cmd, "remove") == 0)
        return cmd_remove(path, argc - 1, argv + 1);
    if (strcmp(cmd, "list") == 0 && argc == 1)
        return cmd_list(path);
    cli_usage(stderr);
    return 2;
}
