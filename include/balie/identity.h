/* Identity: who the citizen or agent is, as far as the rest of Balie may know.
 *
 * Only the pseudonym leaves identity/: never the subject (a BSN for DigiD) or a name. */
#ifndef BALIE_IDENTITY_H
#define BALIE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#define IDENTITY_PSEUDONYM_LEN 64 /* hex characters of HMAC-SHA256 */

/* Assurance levels, lowest first, so they compare with < and >. */
enum identity_loa { LOA_NONE = 0, LOA_BASIS, LOA_MIDDEN, LOA_SUBSTANTIEEL, LOA_HOOG };

/* Writes the lower-case hex HMAC-SHA256 of `subject` under `secret` and a NUL into `out`
 * (IDENTITY_PSEUDONYM_LEN + 1 bytes). Returns 0, or -1 when the secret is shorter than 16
 * bytes (a short secret would make pseudonyms guessable from a list of BSNs). */
int identity_pseudonym(const unsigned char *secret, size_t secret_len, const char *subject,
                       char out[IDENTITY_PSEUDONYM_LEN + 1]);

/* "basis", "midden", "substantieel", "hoog" ⇄ the enum. Parse returns -1 for other text. */
int identity_loa_parse(const char *text, enum identity_loa *out);
const char *identity_loa_name(enum identity_loa loa);

/* Constant-time comparison of two secrets of equal length; false when lengths differ. */
bool identity_secret_equal(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
