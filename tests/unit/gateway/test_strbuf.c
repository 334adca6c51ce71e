/* strbuf: growing, formatting, and the two escapings (JSON strings, HTML/XML text). */
#include <criterion/criterion.h>
#include <string.h>

#include "balie/strbuf.h"

Test(strbuf, grows_and_formats)
{
    struct strbuf sb;
    strbuf_init(&sb);
    for (int i = 0; i < 1000; i++)
        strbuf_appendf(&sb, "%d,", i % 10);
    cr_assert_eq(sb.len, 2000);
    cr_assert_eq(strncmp(sb.data, "0,1,2,", 6), 0);
    cr_assert_eq(sb.data[sb.len], '\0');
    strbuf_free(&sb);
}

Test(strbuf, markup_escapes_what_would_change_the_markup)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_markup_escaped(&sb, "<a href=\"x\">Tom & Jerry</a> 'ok'");
    cr_assert_str_eq(sb.data, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&lt;/a&gt; 'ok'");
    strbuf_free(&sb);
}

Test(strbuf, json_escapes_quotes_and_controls)
{
    struct strbuf sb;
    strbuf_init(&sb);
    strbuf_append_json_escaped(&sb, "a\"b\\c\n");
    cr_assert_str_eq(sb.data, "a\\\"b\\\\c\\u000a");
    strbuf_free(&sb);
}
