#include "crypto.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"
#include "banned.h"

/* SHA256() looks the algorithm up in OpenSSL 3's provider table on every call (a lock and
 * a search); fingerprints hash every ARM object read, so the lookup is done once. */
static CRYPTO_ONCE sha256_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void mdc_sha256(const void *data, size_t len, unsigned char out[32])
{
	if (CRYPTO_THREAD_run_once(&sha256_once, sha256_fetch) && sha256_md &&
	    EVP_Digest(data, len, out, NULL, sha256_md, NULL))
		return;
	SHA256(data, len, out);
}

char *mdc_sha256_tagged(const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	char *s = mdc_xmalloc(7 + 64 + 1);

	mdc_sha256(data, len, md);
	memcpy(s, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		s[7 + 2 * i] = hex[md[i] >> 4];
		s[7 + 2 * i + 1] = hex[md[i] & 15];
	}
	s[71] = '\0';
	return s;
}

char *mdc_base64url(const void *data, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	struct mdc_buf b = MDC_BUF_INIT;
	size_t i;

	mdc_buf_grow(&b, (len + 2) / 3 * 4);
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		mdc_buf_addch(&b, tab[v >> 18]);
		mdc_buf_addch(&b, tab[(v >> 12) & 63]);
		mdc_buf_addch(&b, tab[(v >> 6) & 63]);
		mdc_buf_addch(&b, tab[v & 63]);
	}
	if (i + 1 == len) {
		unsigned v = (unsigned)p[i] << 16;
		mdc_buf_addch(&b, tab[v >> 18]);
		mdc_buf_addch(&b, tab[(v >> 12) & 63]);
	} else if (i + 2 == len) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		mdc_buf_addch(&b, tab[v >> 18]);
		mdc_buf_addch(&b, tab[(v >> 12) & 63]);
		mdc_buf_addch(&b, tab[(v >> 6) & 63]);
	}
	return mdc_buf_detach(&b);
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

int mdc_base64url_decode(const char *s, unsigned char **out, size_t *outlen)
{
	size_t n = strlen(s), o = 0;
	unsigned acc = 0;
	int bits = 0;
	unsigned char *buf;

	while (n && s[n - 1] == '=')
		n--;
	buf = mdc_xmalloc(n * 3 / 4 + 3);
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits >= 6) { /* a lone trailing character cannot encode a byte */
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = o;
	return 0;
}

void mdc_guid_random(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort();
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	mdc_guid_format(out, b);
}

void mdc_guid_from(char out[37], const char *const *parts, size_t nparts)
{
	struct mdc_buf b = MDC_BUF_INIT;
	unsigned char md[32];

	for (size_t i = 0; i < nparts; i++) {
		if (i)
			mdc_buf_addch(&b, '\n');
		mdc_buf_adds(&b, parts[i]);
	}
	mdc_sha256(b.ptr, b.len, md);
	mdc_buf_release(&b);
	/* Shaped like a version-5 (name-based) GUID. */
	md[6] = (md[6] & 0x0f) | 0x50;
	md[8] = (md[8] & 0x3f) | 0x80;
	mdc_guid_format(out, md);
}

/* --- client certificates ------------------------------------------------------------ */

struct mdc_cert_key {
	X509 *cert;
	EVP_PKEY *key;
};

struct pem_pass {
	const char *password;
	int asked;
};

/* Never lets OpenSSL prompt on the terminal: no password means a decryption failure. */
static int pem_password(char *buf, int size, int rwflag, void *u)
{
	struct pem_pass *p = u;
	size_t n;

	(void)rwflag;
	p->asked = 1;
	if (!p->password || !*p->password)
		return -1;
	n = strlen(p->password);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, p->password, n);
	return (int)n;
}

int mdc_cert_key_load_pem(struct mdc_cert_key **out, const char *pem, size_t len,
                          const char *password, struct mdc_error *err)
{
	struct pem_pass pass = {password, 0};
	struct mdc_cert_key *ck = NULL;
	BIO *bio = NULL;
	int ret = 0;

	*out = NULL;
	if (len > INT32_MAX)
		return mdc_error_set(err, MDC_EINVALID, "certificate file too large");
	ck = mdc_xcalloc(1, sizeof(*ck));
	/* PEM_read_bio_* skip blocks of other types, so each object is read from the start. */
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio || !(ck->cert = PEM_read_bio_X509(bio, NULL, pem_password, &pass))) {
		ret = mdc_error_set(err, MDC_EINVALID,
		                    "no PEM certificate found (PFX/PKCS#12 files must be converted "
		                    "to PEM with their private key)");
		goto cleanup;
	}
	BIO_free(bio);
	bio = BIO_new_mem_buf(pem, (int)len);
	pass.asked = 0;
	if (!bio || !(ck->key = PEM_read_bio_PrivateKey(bio, NULL, pem_password, &pass))) {
		if (pass.asked && (!password || !*password))
			ret = mdc_error_set(err, MDC_EAUTH,
			                    "the private key is encrypted and no password is set");
		else if (pass.asked)
			ret = mdc_error_set(err, MDC_EAUTH,
			                    "cannot decrypt the private key: wrong password");
		else
			ret = mdc_error_set(err, MDC_EINVALID, "no PEM private key found");
		goto cleanup;
	}
	if (X509_check_private_key(ck->cert, ck->key) != 1) {
		ret = mdc_error_set(err, MDC_EINVALID,
		                    "the private key does not belong to the certificate");
		goto cleanup;
	}
	if (EVP_PKEY_get_base_id(ck->key) != EVP_PKEY_RSA) {
		ret = mdc_error_set(err, MDC_EINVALID, "the certificate key is not an RSA key");
		goto cleanup;
	}
	*out = ck;
	ck = NULL;
cleanup:
	ERR_clear_error();
	BIO_free(bio);
	mdc_cert_key_free(ck);
	return ret;
}

void mdc_cert_key_free(struct mdc_cert_key *ck)
{
	if (!ck)
		return;
	X509_free(ck->cert);
	EVP_PKEY_free(ck->key);
	free(ck);
}

size_t mdc_cert_thumbprint(const struct mdc_cert_key *ck, int sha256, unsigned char out[32])
{
	unsigned int n = 0;

	if (!X509_digest(ck->cert, sha256 ? EVP_sha256() : EVP_sha1(), out, &n))
		return 0;
	return n;
}

char *mdc_cert_subject(const struct mdc_cert_key *ck)
{
	char *s = X509_NAME_oneline(X509_get_subject_name(ck->cert), NULL, 0);
	char *copy = mdc_xstrdup(s ? s : "?");

	OPENSSL_free(s);
	return copy;
}

int mdc_cert_sign(const struct mdc_cert_key *ck, enum mdc_sig_alg alg, const void *data, size_t len,
                  unsigned char **sig, size_t *siglen, struct mdc_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *out = NULL;
	size_t n = 0;
	int ret = 0;

	*sig = NULL;
	*siglen = 0;
	if (!md || EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, ck->key) != 1)
		goto fail;
	if (alg == MDC_SIG_PS256) {
		/* RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the digest. */
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)
			goto fail;
	} else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		goto fail;
	}
	if (EVP_DigestSign(md, NULL, &n, data, len) != 1)
		goto fail;
	out = mdc_xmalloc(n);
	if (EVP_DigestSign(md, out, &n, data, len) != 1)
		goto fail;
	*sig = out;
	*siglen = n;
	out = NULL;
	goto cleanup;
fail:
	ret = mdc_error_set(err, MDC_EINVALID, "cannot sign with the certificate key");
cleanup:
	ERR_clear_error();
	free(out);
	EVP_MD_CTX_free(md);
	return ret;
}

const char *mdc_crypto_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}
