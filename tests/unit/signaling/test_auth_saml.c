/* signaling/auth_saml.c: the SAML form post's decoding. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "auth_saml.h"

static int decode(const char *body, struct idp_params *p, char **storage)
{
    return auth_callback_form(body, strlen(body), p, storage);
}

Test(auth_saml, form_post_decoded)
{
    struct idp_params p;
    char *storage;
    cr_assert_eq(
        decode("SAMLResponse=PHNhbWxwOlJlc3BvbnNl%2BPg%3D%3D&RelayState=ab-c_d&x", &p, &storage),
        0);
    cr_assert_eq(p.count, 3);
    cr_assert_str_eq(idp_params_get(&p, "SAMLResponse"), "PHNhbWxwOlJlc3BvbnNl+Pg==");
    cr_assert_str_eq(idp_params_get(&p, "RelayState"), "ab-c_d");
    cr_assert_str_eq(idp_params_get(&p, "x"), "");
    free(storage);
}

Test(auth_saml, form_post_refusals)
{
    struct idp_params p;
    char *storage;
    cr_assert_eq(decode("a=%zz", &p, &storage), -1, "a broken escape");
    free(storage);
    cr_assert_eq(decode("a=%00", &p, &storage), -1, "a NUL byte");
    free(storage);
    cr_assert_eq(decode("a=%4", &p, &storage), -1, "a cut escape");
    free(storage);
    char many[256] = "";
    for (int i = 0; i <= IDP_PARAMS_MAX; i++)
        strcat(many, "a=1&");
    cr_assert_eq(decode(many, &p, &storage), -1, "more than IDP_PARAMS_MAX fields");
    free(storage);
    char *big = malloc(HTTP_BODY_MAX_CALLBACK + 2);
    memset(big, 'a', HTTP_BODY_MAX_CALLBACK + 1);
    big[HTTP_BODY_MAX_CALLBACK + 1] = '\0';
    cr_assert_eq(decode(big, &p, &storage), -1, "larger than the callback's limit");
    free(storage);
    free(big);
}
