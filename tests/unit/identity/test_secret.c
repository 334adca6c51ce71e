/* The pseudonym secret (identity/secret.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "balie/idp.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/balie-secret-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(secret, .init = setup, .fini = teardown);

Test(secret, made_once_with_mode_0600_then_reused)
{
    char data[128], path[256], why[256];
    snprintf(data, sizeof(data), "%s/data", dir); /* a folder that does not exist yet */
    unsigned char a[IDENTITY_SECRET_MAX], b[IDENTITY_SECRET_MAX];
    size_t a_len, b_len;
    enum identity_secret_source src;
    cr_assert_eq(
        identity_secret_load("", data, a, &a_len, &src, path, sizeof(path), why, sizeof(why)), 0,
        "%s", why);
    cr_assert_eq(src, SECRET_FILE_CREATED);
    cr_assert_eq(a_len, 64, "32 bytes as hex");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_eq(st.st_size, 65);
    cr_assert_eq(stat(data, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "the data folder is private too");
    cr_assert_eq(
        identity_secret_load(NULL, data, b, &b_len, &src, path, sizeof(path), why, sizeof(why)), 0,
        "%s", why);
    cr_assert_eq(src, SECRET_FILE_READ);
    cr_assert_eq(b_len, a_len);
    cr_assert_eq(memcmp(a, b, a_len), 0, "the same secret after a restart");
}

Test(secret, configured_secret_is_used_as_it_is)
{
    char path[256] = "x", why[256];
    unsigned char s[IDENTITY_SECRET_MAX];
    size_t len;
    enum identity_secret_source src;
    const char *conf = "a-secret-of-at-least-32-characters!";
    cr_assert_eq(
        identity_secret_load(conf, dir, s, &len, &src, path, sizeof(path), why, sizeof(why)), 0);
    cr_assert_eq(src, SECRET_CONFIGURED);
    cr_assert_eq(len, strlen(conf));
    cr_assert_eq(memcmp(s, conf, len), 0);
    cr_assert_str_eq(path, "");
    cr_assert_eq(
        identity_secret_load("too-short", dir, s, &len, &src, path, sizeof(path), why, sizeof(why)),
        -1);
    cr_assert(strstr(why, "32"), "%s", why);
}

Test(secret, short_key_file_and_missing_parent_are_errors)
{
    char path[256], why[256], keyfile[128];
    unsigned char s[IDENTITY_SECRET_MAX];
    size_t len;
    enum identity_secret_source src;
    snprintf(keyfile, sizeof(keyfile), "%s/pseudonym.key", dir);
    FILE *f = fopen(keyfile, "w");
    fputs("short\n", f);
    fclose(f);
    cr_assert_eq(identity_secret_load("", dir, s, &len, &src, path, sizeof(path), why, sizeof(why)),
                 -1);
    cr_assert(strstr(why, "pseudonym.key"), "%s", why);
    char nowhere[160];
    snprintf(nowhere, sizeof(nowhere), "%s/no/such/folder", dir);
    cr_assert_eq(
        identity_secret_load("", nowhere, s, &len, &src, path, sizeof(path), why, sizeof(why)), -1);
    cr_assert(strstr(why, "cannot create the data folder"), "%s", why);
}
