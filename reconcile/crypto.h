#ifndef MDC_CRYPTO_H
#define MDC_CRYPTO_H
/*
 * Hashing, encoding, random ids and signatures. crypto.c is the only file that includes
 * OpenSSL headers (DESIGN.md names auth as the OpenSSL user; the primitives live here so
 * that config digests and fingerprints need not depend on the credential chain).
 */
#include <stddef.h>

#include "error.h"

/* "sha256:<64 hex>" of the bytes, in a new string owned by the caller. */
char *mdc_sha256_tagged(const void *data, size_t len);
/* Raw SHA-256 into out (32 bytes). */
void mdc_sha256(const void *data, size_t len, unsigned char out[32]);
/* base64url without padding, in a new string owned by the caller. */
char *mdc_base64url(const void *data, size_t len);
/* Decodes base64url (padding optional) into a new buffer (*out, *outlen), caller frees.
 * Returns 0 or -1 when the input is not base64url. */
int mdc_base64url_decode(const char *s, unsigned char **out, size_t *outlen);
/* A random version-4 GUID, lower case, into out (37 bytes). */
void mdc_guid_random(char out[37]);
/* A deterministic GUID-shaped name from SHA-256 of the parts (joined with '\n'), so that
 * a retried create uses the same ARM resource name. out: 37 bytes. */
void mdc_guid_from(char out[37], const char *const *parts, size_t nparts);

#endif
