#include "balie/identity.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int identity_pseudonym(const unsigned char *secret, size_t secret_len, const char *subject,
                       char out[IDENTITY_PSEUDONYM_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (secret_len < 16 || !subject)
        return -1;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)subject,
              strlen(subject), mac, &mac_len) ||
        mac_len != 32)
        return -1;
    for (unsigned i = 0; i < mac_len; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[IDENTITY_PSEUDONYM_LEN] = '\0';
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

static const char *const loa_names[] = {"none", "basis", "midden", "substantieel", "hoog"};

int identity_loa_parse(const char *text, enum identity_loa *out)
{
    for (int i = LOA_BASIS; i <= LOA_HOOG; i++) {
        if (strcmp(text, loa_names[i]) == 0) {
            *out = (enum identity_loa)i;
            return 0;
        }
    }
    return -1;
}

const char *identity_loa_name(enum identity_loa loa)
{
    return loa >= LOA_NONE && loa <= LOA_HOOG ? loa_names[loa] : "none";
}

bool identity_secret_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && CRYPTO_memcmp(a, b, a_len) == 0;
}
