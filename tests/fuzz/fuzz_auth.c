/* The login path's parsers: form bodies, Cookie headers and return paths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../signaling/form.h"
#include "balie/idp.h"
#include "balie/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct form f;
    if (form_decode(data, size, &f) == 0) {
        for (size_t i = 0; i < f.count; i++) {
            /* Every decoded field is a C string inside the storage. */
            if (strlen(f.fields[i].name) > size || strlen(f.fields[i].value) > size)
                abort();
            (void)login_return_path_safe(f.fields[i].value);
            (void)identity_bsn_valid(f.fields[i].value);
        }
    }
    static struct session_store *store;
    static char cookie[64];
    if (!store) {
        store = session_store_new(SESSION_IDLE_MS, SESSION_ABSOLUTE_MS, 4);
        struct identity_verified id;
        memset(&id, 0, sizeof(id));
        session_create(store, &id, 0, cookie);
    }
    char *header = malloc(size + 1);
    if (!header)
        return 0;
    memcpy(header, data, size);
    header[size] = '\0';
    (void)session_from_cookie_header(store, header, 1);
    (void)login_return_path_safe(header);
    free(header);
    return 0;
}
