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

/*
 * A client certificate with its private key, for signing client assertions (reference
 * §10.1b). Opaque; free with mdc_cert_key_free.
 */
struct mdc_cert_key;

enum mdc_sig_alg {
	MDC_SIG_RS256, /* RSASSA-PKCS1-v1_5 with SHA-256 */
	MDC_SIG_PS256, /* RSASSA-PSS with SHA-256, MGF1 SHA-256, salt length 32 */
};

/* Loads the first certificate and the private key from PEM data (in either order, as
 * AZURE_CLIENT_CERTIFICATE_PATH files hold them); password decrypts an encrypted key (NULL
 * or "" for none). Checks that the key belongs to the certificate. Returns 0 and sets *out,
 * or MDC_EINVALID / MDC_EAUTH with err filled (never quoting the password or the key). */
int mdc_cert_key_load_pem(struct mdc_cert_key **out, const char *pem, size_t len,
                          const char *password, struct mdc_error *err);
void mdc_cert_key_free(struct mdc_cert_key *ck);
/* The certificate's thumbprint: SHA-1 (20 bytes) or SHA-256 (32 bytes) of its DER form,
 * into out; returns the length. */
size_t mdc_cert_thumbprint(const struct mdc_cert_key *ck, int sha256, unsigned char out[32]);
/* The certificate's subject, one line (for mdc_auth_describe), in a new string. */
char *mdc_cert_subject(const struct mdc_cert_key *ck);
/* Signs data with the key; the signature goes to *sig, a new buffer of *siglen bytes that
 * the caller frees. Returns 0 or MDC_EINVALID (key not RSA, or OpenSSL failed). */
int mdc_cert_sign(const struct mdc_cert_key *ck, enum mdc_sig_alg alg, const void *data, size_t len,
                  unsigned char **sig, size_t *siglen, struct mdc_error *err);

/* The linked OpenSSL's version ("OpenSSL 3.0.17 1 Jul 2025"), for `mdcctl --version`.
 * Static string. */
const char *mdc_crypto_version(void);

#endif
