#include "balie/turn.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int turn_rest_credentials(const char *secret, uint64_t now_s, int ttl_s, const char *label,
                          char username[TURN_USERNAME_MAX], char credential[TURN_CREDENTIAL_MAX])
{
    if (!secret || !secret[0] || ttl_s <= 0)
        return -1;
    unsigned long long expiry = (unsigned long long)now_s + (unsigned long long)ttl_s;
    int n = snprintf(username, TURN_USERNAME_MAX, "%llu:%s", expiry, label);
    if (n <= 0 || n >= TURN_USERNAME_MAX)
        return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)username, (size_t)n,
              mac, &mac_len))
        return -1;
    /* 20 bytes → 28 base64 characters and a NUL: fits TURN_CREDENTIAL_MAX. */
    return EVP_EncodeBlock((unsigned char *)credential, mac, (int)mac_len) > 0 ? 0 : -1;
}
