/* The users file parser (identity/users_file.c) and the X-Forwarded-For resolver
 * (signaling/clientaddr.c). A parsed file must format back to text that parses to the same
 * agents. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../signaling/clientaddr.h"
#include "balie/users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct users u = {0}, again = {0};
    char why[128];
    if (users_parse(data, size, &u, why, sizeof(why)) == 0) {
        char *text = users_format(&u);
        if (!text)
            abort();
        if (users_parse((const uint8_t *)text, strlen(text), &again, why, sizeof(why)) != 0 ||
            again.count != u.count)
            abort();
        for (size_t i = 0; i < u.count; i++)
            if (memcmp(&u.list[i], &again.list[i], sizeof(u.list[i])) != 0)
                abort();
        free(text);
    }
    users_free(&u);
    users_free(&again);
    char out[64];
    clientaddr_resolve("10.0.0.1", data, size, "10.0.0.1, ::1", out, sizeof(out));
    if (strlen(out) >= sizeof(out))
        abort();
    return 0;
}
