#include <criterion/criterion.h>
#include <string.h>

#include "balie/identity.h"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";

Test(pseudonym, is_hmac_sha256_hex)
{
    char out[IDENTITY_PSEUDONYM_LEN + 1];
    /* Reference value computed independently:
     * printf %s 999991772 | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef */
    cr_assert_eq(identity_pseudonym(secret, 32, "999991772", out), 0);
    cr_assert_str_eq(out, "47381bcba226d281267ad7d8a6d9b47c7f8ba5d4456f4c107aa41d6ec55690dd");
    char again[IDENTITY_PSEUDONYM_LEN + 1];
    identity_pseudonym(secret, 32, "999991772", again);
    cr_assert_str_eq(out, again, "stable for the same subject");
    identity_pseudonym(secret, 32, "999991773", again);
    cr_assert_str_neq(out, again, "different subjects differ");
    cr_assert_null(strstr(out, "999991772"));
}

Test(pseudonym, refuses_short_secret)
{
    char out[IDENTITY_PSEUDONYM_LEN + 1];
    cr_assert_eq(identity_pseudonym(secret, 15, "x", out), -1);
    cr_assert_eq(identity_pseudonym(secret, 16, NULL, out), -1);
}

Test(pseudonym, levels_order_and_names)
{
    enum identity_loa l;
    cr_assert_eq(identity_loa_parse("substantieel", &l), 0);
    cr_assert_eq(l, LOA_SUBSTANTIEEL);
    cr_assert_eq(identity_loa_parse("high", &l), -1);
    cr_assert_lt(LOA_BASIS, LOA_MIDDEN);
    cr_assert_lt(LOA_SUBSTANTIEEL, LOA_HOOG);
    cr_assert_str_eq(identity_loa_name(LOA_HOOG), "hoog");
}

Test(pseudonym, secret_compare)
{
    cr_assert(identity_secret_equal("abc", 3, "abc", 3));
    cr_assert_not(identity_secret_equal("abc", 3, "abd", 3));
    cr_assert_not(identity_secret_equal("abc", 3, "abcd", 4));
}
