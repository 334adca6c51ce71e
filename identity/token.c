#include "balie/token.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/* RFC 4648 §5: the URL- and filename-safe alphabet, so tokens go into cookies and query
 * strings without escaping. */
static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int token_new(char out[TOKEN_LEN + 1])
{
    unsigned char raw[33] = {0}; /* 32 random bytes and one zero byte for the last group */
    out[0] = '\0';
    if (RAND_bytes(raw, 32) != 1)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < 33; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        out[n++] = alphabet[(v >> 18) & 63];
        out[n++] = alphabet[(v >> 12) & 63];
        out[n++] = alphabet[(v >> 6) & 63];
        if (n < TOKEN_LEN)
            out[n++] = alphabet[v & 63];
    }
    out[TOKEN_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

bool token_well_formed(const char *text, size_t len)
{
    if (!text || len != TOKEN_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

void token_hash(const char *text, size_t len, unsigned char out[TOKEN_HASH_LEN])
{
    SHA256((const unsigned char *)text, len, out);
}
