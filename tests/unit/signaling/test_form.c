/* Form decoding (signaling/form.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "form.h"

static struct form f;

static int decode(const char *text)
{
    return form_decode((const uint8_t *)text, strlen(text), &f);
}

Test(form, fields_plus_and_percent_escapes)
{
    cr_assert_eq(decode("state=abc&subject=999991772&name=Jan+de+Vries%21&empty=&bare"), 0);
    cr_assert_eq(f.count, 5);
    cr_assert_str_eq(form_get(&f, "state"), "abc");
    cr_assert_str_eq(form_get(&f, "subject"), "999991772");
    cr_assert_str_eq(form_get(&f, "name"), "Jan de Vries!");
    cr_assert_str_eq(form_get(&f, "empty"), "");
    cr_assert_str_eq(form_get(&f, "bare"), "");
    cr_assert_null(form_get(&f, "missing"));
}

Test(form, utf8_and_encoded_separators)
{
    cr_assert_eq(decode("name=%C3%89mile%20Zo%c3%ab&r=%2Fa%3Fb%3D1%26c%2B"), 0);
    cr_assert_str_eq(form_get(&f, "name"), "\xc3\x89mile Zo\xc3\xab");
    cr_assert_str_eq(form_get(&f, "r"), "/a?b=1&c+", "escaped & = + stay data");
    cr_assert_eq(decode("a%3Db=c=d"), 0);
    cr_assert_str_eq(form_get(&f, "a=b"), "c=d", "the first raw '=' splits");
}

Test(form, empty_pieces_are_skipped)
{
    cr_assert_eq(decode(""), 0);
    cr_assert_eq(f.count, 0);
    cr_assert_eq(decode("&&a=1&&"), 0);
    cr_assert_eq(f.count, 1);
    cr_assert_eq(decode("=x"), 0);
    cr_assert_str_eq(form_get(&f, ""), "x");
}

Test(form, first_value_wins)
{
    cr_assert_eq(decode("role=citizen&role=agent"), 0);
    cr_assert_str_eq(form_get(&f, "role"), "citizen");
}

Test(form, broken_escapes_and_nul_are_refused)
{
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%4g", "a%=1", "a=%00", "a=b%0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(decode(bad[i]), -1, "%s", bad[i]);
    const uint8_t raw_nul[] = {'a', '=', 'b', 0, 'c'};
    cr_assert_eq(form_decode(raw_nul, sizeof(raw_nul), &f), -1);
}

Test(form, limits)
{
    char text[FORM_MAX_BYTES + 2];
    memset(text, 'x', sizeof(text));
    text[FORM_MAX_BYTES] = '\0';
    cr_assert_eq(decode(text), 0, "exactly the limit decodes");
    cr_assert_eq(strlen(f.fields[0].name), FORM_MAX_BYTES);
    cr_assert_eq(form_decode((const uint8_t *)text, FORM_MAX_BYTES + 1, &f), -1);
    char many[256] = "";
    for (int i = 0; i <= FORM_MAX_FIELDS; i++)
        strcat(many, "a=1&");
    cr_assert_eq(decode(many), -1, "more than FORM_MAX_FIELDS fields");
    /* The worst case for storage: every byte a field of its own, split by '&'. */
    char seps[FORM_MAX_BYTES + 1];
    memset(seps, '&', FORM_MAX_BYTES);
    seps[FORM_MAX_BYTES] = '\0';
    for (int i = 0; i < FORM_MAX_FIELDS; i++)
        seps[i * 2] = 'k';
    cr_assert_eq(decode(seps), 0);
    cr_assert_eq(f.count, FORM_MAX_FIELDS);
}
