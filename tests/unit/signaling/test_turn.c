#include <criterion/criterion.h>
#include <string.h>

#include "balie/turn.h"

/* Reference computed with the OpenSSL command line:
 * printf %s "1700003600:balie" | openssl dgst -sha1 -hmac north-sea-shared-secret -binary | base64
 */
Test(turn, rest_credentials_match_the_convention)
{
    char user[TURN_USERNAME_MAX], cred[TURN_CREDENTIAL_MAX];
    cr_assert_eq(
        turn_rest_credentials("north-sea-shared-secret", 1700000000, 3600, "balie", user, cred), 0);
    cr_assert_str_eq(user, "1700003600:balie");
    cr_assert_str_eq(cred, "vcPfLIN2g1v37MuDXsd2rW/hC6c=");
}

Test(turn, refuses_missing_secret_and_bad_ttl)
{
    char user[TURN_USERNAME_MAX], cred[TURN_CREDENTIAL_MAX];
    cr_assert_eq(turn_rest_credentials("", 1, 60, "balie", user, cred), -1);
    cr_assert_eq(turn_rest_credentials(NULL, 1, 60, "balie", user, cred), -1);
    cr_assert_eq(turn_rest_credentials("secret", 1, 0, "balie", user, cred), -1);
    char long_label[80];
    memset(long_label, 'x', sizeof(long_label) - 1);
    long_label[sizeof(long_label) - 1] = '\0';
    cr_assert_eq(turn_rest_credentials("secret", 1, 60, long_label, user, cred), -1);
}
