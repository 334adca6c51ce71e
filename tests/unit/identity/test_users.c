/* The agents' users file (identity/users.c, identity/users_file.c). Most tests use scrypt with
 * N = 2^10, which the per-line parameters allow, so they run in milliseconds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "balie/users.h"

#define PW "correct horse battery"
#define FAST ((struct users_kdf){10, 8, 1})

/* Made with `openssl kdf -keylen 32 -kdfopt pass:"correct horse battery"
 * -kdfopt hexsalt:000102030405060708090a0b0c0d0e0f -kdfopt n:1024 -kdfopt r:8 -kdfopt p:1
 * SCRYPT`: an outside check that the line's fields reach scrypt as RFC 7914 defines it. */
static const char known_line[] =
    "a.jansen:scrypt$10$8$1$000102030405060708090a0b0c0d0e0f$"
    "84a1962f6d96b5d19f21bc443c0674e814b66d6c982ae6482afca97c09583969:algemeen,paspoort:"
    "Anna Jansen: balie\n";

static void parse_ok(const char *text, struct users *u)
{
    char why[128] = "";
    memset(u, 0, sizeof(*u));
    cr_assert_eq(users_parse((const uint8_t *)text, strlen(text), u, why, sizeof(why)), 0, "%s",
                 why);
}

static void parse_bad(const char *text, const char *expect)
{
    struct users u = {0};
    char why[128] = "";
    cr_assert_eq(users_parse((const uint8_t *)text, strlen(text), &u, why, sizeof(why)), -1,
                 "accepted: %s", text);
    cr_assert(strstr(why, expect), "'%s' does not say '%s'", why, expect);
    cr_assert_eq(u.count, 0);
}

Test(users, a_known_line_verifies)
{
    struct users u;
    parse_ok(known_line, &u);
    cr_assert_eq(u.count, 1);
    const struct user *a = users_verify(&u, "a.jansen", PW, strlen(PW));
    cr_assert_not_null(a);
    cr_assert_str_eq(a->services, "algemeen,paspoort");
    cr_assert_str_eq(a->name, "Anna Jansen: balie", "the name is the rest of the line");
    cr_assert_eq(a->kdf.log2_n, 10);
    cr_assert_null(users_verify(&u, "a.jansen", "correct horse batterY", strlen(PW)));
    cr_assert_null(users_verify(&u, "a.jansen", PW, strlen(PW) - 1), "a prefix");
    cr_assert_null(users_verify(&u, "b.jansen", PW, strlen(PW)), "an unknown id");
    cr_assert_null(users_verify(&u, NULL, PW, strlen(PW)));
    cr_assert_null(users_verify(&u, "a.jansen", NULL, 0));
    users_free(&u);
}

Test(users, format_and_parse_round_trip)
{
    struct users u = {0};
    struct user x = {.id = "k.de-vries", .services = "", .name = "Karel de Vries"};
    cr_assert_eq(users_set_password(&x, PW, strlen(PW), &FAST), 0);
    cr_assert_eq(users_add(&u, &x), 0);
    struct user y = {.id = "z9", .services = "paspoort", .name = ""};
    cr_assert_eq(users_set_password(&y, "another long password", 21, &FAST), 0);
    cr_assert_eq(users_add(&u, &y), 0);
    cr_assert_neq(memcmp(x.salt, y.salt, USERS_SALT_LEN), 0, "salts are random");
    char *text = users_format(&u);
    cr_assert_not_null(text);
    cr_assert(strstr(text, "k.de-vries:scrypt$10$8$1$"), "%s", text);
    cr_assert(strstr(text, ":*:Karel de Vries\n"), "all services is written as *: %s", text);
    cr_assert_null(strstr(text, PW));
    struct users back;
    parse_ok(text, &back);
    free(text);
    cr_assert_eq(back.count, 2);
    cr_assert_str_eq(back.list[0].services, "", "* reads back as all");
    cr_assert_not_null(users_verify(&back, "k.de-vries", PW, strlen(PW)));
    cr_assert_not_null(users_verify(&back, "z9", "another long password", 21));
    cr_assert_null(users_verify(&back, "z9", PW, strlen(PW)), "another agent's password");
    users_free(&u);
    users_free(&back);
}

Test(users, bad_lines_refuse_the_file_and_name_the_line)
{
    const char *hash = "scrypt$10$8$1$000102030405060708090a0b0c0d0e0f$"
                       "84a1962f6d96b5d19f21bc443c0674e814b66d6c982ae6482afca97c09583969";
    char text[512];
    struct {
        const char *before, *after, *why; /* the line is before + hash + after */
    } cases[] = {
        {"nocolons", NULL, "expected id:hash"},
        {"Upper:", ":*:", "bad agent id"},
        {"-x:", ":*:", "bad agent id"},
        {"a b:", ":*:", "bad agent id"},
        {"a:", ":alg emeen:", "bad services"},
        {"a:", ":,a:", "bad services"},
        {"a:", ":a,,b:", "bad services"},
        {"a:", ":*:\x01", "bad display name"},
        {"a:", ":*:\xc3", "bad display name"},
        {"a:", ":*:\xc0\xaf", "bad display name"},
        {"a:bcrypt$x:*:", NULL, "bad password hash"},
        {"a:scrypt$9$8$1$00:*:", NULL, "bad password hash"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "# comment\n\n%s%s%s\n", cases[i].before,
                 cases[i].after ? hash : "", cases[i].after ? cases[i].after : "");
        parse_bad(text, "line 3");
        parse_bad(text, cases[i].why);
    }
    /* Costs out of range: too cheap, or asking for more memory than a check may use. */
    const char *costs[] = {"9$8$1", "23$8$1", "10$0$1", "10$8$0", "10$8$17", "22$32$1"};
    for (size_t i = 0; i < sizeof(costs) / sizeof(costs[0]); i++) {
        snprintf(text, sizeof(text),
                 "a:scrypt$%s$000102030405060708090a0b0c0d0e0f$"
                 "84a1962f6d96b5d19f21bc443c0674e814b66d6c982ae6482afca97c09583969:*:\n",
                 costs[i]);
        parse_bad(text, "bad password hash");
    }
    /* A hash one digit short, and upper-case hex. */
    snprintf(text, sizeof(text), "a:%.*s:*:\n", (int)strlen(hash) - 1, hash);
    parse_bad(text, "bad password hash");
    snprintf(text, sizeof(text), "a:scrypt$10$8$1$000102030405060708090A0B0C0D0E0F$%s:*:\n",
             hash + strlen(hash) - 64);
    parse_bad(text, "bad password hash");
    snprintf(text, sizeof(text), "%s%s", known_line, known_line);
    parse_bad(text, "the same agent id twice");
    static char long_line[2000];
    memset(long_line, 'a', sizeof(long_line) - 1);
    parse_bad(long_line, "line too long");
}

Test(users, crlf_comments_and_a_missing_last_newline)
{
    char text[600];
    snprintf(text, sizeof(text), "#x\r\n%.*s\r\n", (int)strlen(known_line) - 1, known_line);
    struct users u;
    parse_ok(text, &u);
    cr_assert_eq(u.count, 1);
    cr_assert_str_eq(u.list[0].name, "Anna Jansen: balie");
    users_free(&u);
    parse_ok(known_line, &u);
    users_free(&u);
    snprintf(text, sizeof(text), "%.*s", (int)strlen(known_line) - 1, known_line);
    parse_ok(text, &u);
    cr_assert_eq(u.count, 1);
    users_free(&u);
}

Test(users, ids_services_and_names)
{
    cr_assert(users_id_valid("a.jansen"));
    cr_assert(users_id_valid("0"));
    cr_assert(users_id_valid("anna@gemeente.nl"));
    cr_assert_not(users_id_valid(""));
    cr_assert_not(users_id_valid(".a"));
    cr_assert_not(users_id_valid("A"));
    cr_assert_not(users_id_valid("a:b"));
    cr_assert_not(users_id_valid("a/b"));
    cr_assert(users_id_valid("abcdefghijabcdefghijabcdefghija"));
    cr_assert_not(users_id_valid("abcdefghijabcdefghijabcdefghijab"), "32 characters");
    cr_assert(users_service_allowed("", "x"));
    cr_assert(users_service_allowed("*", "x"));
    cr_assert(users_service_allowed("algemeen,paspoort", "paspoort"));
    cr_assert(users_service_allowed("algemeen,paspoort", "algemeen"));
    cr_assert_not(users_service_allowed("algemeen,paspoort", "pas"));
    cr_assert_not(users_service_allowed("algemeen,paspoort", "paspoorten"));
    cr_assert_not(users_service_allowed("algemeen", ""));
    cr_assert(users_name_valid("Jérôme 😀"));
    cr_assert_not(users_name_valid("tab\there"));
    cr_assert_not(users_name_valid("\xed\xa0\x80"), "a surrogate");
}

Test(users, short_and_long_passwords_are_refused)
{
    struct user x = {.id = "a"};
    cr_assert_eq(users_set_password(&x, "elevenchars", 11, &FAST), -1);
    cr_assert_eq(users_set_password(&x, "twelve chars", 12, &FAST), 0);
    static char huge[USERS_PASSWORD_MAX + 2];
    memset(huge, 'x', sizeof(huge) - 1);
    cr_assert_eq(users_set_password(&x, huge, USERS_PASSWORD_MAX + 1, &FAST), -1);
    cr_assert_eq(users_set_password(&x, huge, USERS_PASSWORD_MAX, &FAST), 0);
}

Test(users, add_remove_and_errors)
{
    struct users u = {0};
    struct user x = {.id = "a"};
    cr_assert_eq(users_add(&u, &x), 0);
    cr_assert_eq(users_add(&u, &x), -EEXIST);
    struct user bad = {.id = "A"};
    cr_assert_eq(users_add(&u, &bad), -EINVAL);
    cr_assert_eq(users_remove(&u, "b"), -ENOENT);
    cr_assert_eq(users_remove(&u, "a"), 0);
    cr_assert_eq(u.count, 0);
    users_free(&u);
}

static double ms_since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* An unknown id costs one KDF of the file's own cost, like a wrong password: with N = 2^14 a
 * check takes tens of milliseconds, so skipping it would show. Medians of five, compared
 * loosely because the machine is shared. */
Test(users, an_unknown_user_costs_what_a_wrong_password_costs)
{
    struct users u = {0};
    struct user x = {.id = "a"};
    cr_assert_eq(users_set_password(&x, PW, strlen(PW), &(struct users_kdf){14, 8, 1}), 0);
    cr_assert_eq(users_add(&u, &x), 0);
    double wrong[5], unknown[5];
    for (int i = 0; i < 5; i++) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        cr_assert_null(users_verify(&u, "a", "wrong password!", 15));
        wrong[i] = ms_since(&t);
        clock_gettime(CLOCK_MONOTONIC, &t);
        cr_assert_null(users_verify(&u, "nobody", "wrong password!", 15));
        unknown[i] = ms_since(&t);
    }
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++) {
            if (wrong[j] < wrong[i]) {
                double s = wrong[i];
                wrong[i] = wrong[j];
                wrong[j] = s;
            }
            if (unknown[j] < unknown[i]) {
                double s = unknown[i];
                unknown[i] = unknown[j];
                unknown[j] = s;
            }
        }
    cr_assert_gt(unknown[2], wrong[2] / 3, "unknown %.1f ms, wrong %.1f ms", unknown[2], wrong[2]);
    cr_assert_lt(unknown[2], wrong[2] * 3, "unknown %.1f ms, wrong %.1f ms", unknown[2], wrong[2]);
    cr_assert_gt(unknown[2], 2.0, "an unknown user must cost a real KDF: %.2f ms", unknown[2]);
    users_free(&u);
}

Test(users, saved_atomically_with_mode_0600)
{
    char dir[] = "/tmp/balie-users-XXXXXX", path[64], why[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/users", dir);
    struct users u = {0}, back = {0};
    cr_assert_eq(users_load(path, &back, why, sizeof(why)), 0, "a missing file is empty");
    cr_assert_eq(back.count, 0);
    struct user x = {.id = "a", .name = "Anna"};
    cr_assert_eq(users_set_password(&x, PW, strlen(PW), &FAST), 0);
    cr_assert_eq(users_add(&u, &x), 0);
    umask(022);
    cr_assert_eq(users_save(path, &u, why, sizeof(why)), 0, "%s", why);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_eq(users_load(path, &back, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(back.count, 1);
    cr_assert_not_null(users_verify(&back, "a", PW, strlen(PW)));
    users_free(&back);
    /* No temporary file is left beside it. */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
    cr_assert_eq(system(cmd), 0);
    /* A folder that does not exist: an error, not a crash. */
    cr_assert_eq(users_save("/nonexistent/dir/users", &u, why, sizeof(why)), -1);
    cr_assert(strstr(why, "cannot create"), "%s", why);
    users_free(&u);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
