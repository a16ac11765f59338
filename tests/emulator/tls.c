/*
 * The emulator's TLS material: a throw-away CA and a server certificate signed by it,
 * generated at every start with OpenSSL (only the emulator's own files include it).
 * The leaf carries what strict verifiers (Python 3.13's VERIFY_X509_STRICT, .NET) check:
 * SAN DNS:localhost and IP:127.0.0.1, serverAuth, key usage, subject/authority key ids.
 */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "banned.h"

static EVP_PKEY *make_key(void)
{
	return EVP_RSA_gen(2048);
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return 0;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial, bool ca)
{
	X509 *cert = X509_new();
	X509_NAME *name;

	if (!cert)
		return NULL;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"mdcemu", -1, -1,
	                           0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
	if (!issuer)
		issuer = cert;
	if (add_ext(cert, issuer, NID_subject_key_identifier, "hash") < 0)
		goto fail;
	if (ca) {
		if (add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
		    add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") < 0)
			goto fail;
	} else {
		if (add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always") < 0 ||
		    add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(cert, issuer, NID_key_usage,
		            "critical,digitalSignature,keyEncipherment") < 0 ||
		    add_ext(cert, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
		    add_ext(cert, issuer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") < 0)
			goto fail;
	}
	if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()))
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

static char *bio_string(BIO *bio)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *out = mdc_xstrndup(data, (size_t)n);

	BIO_free(bio);
	return out;
}

static char *cert_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_X509(bio, cert);
	return bio_string(bio);
}

static char *key_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());

	PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	return bio_string(bio);
}

int emu_tls_make(char **ca_out, char **cert_out, char **key_out)
{
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *cert = NULL;
	int ret = -1;

	*ca_out = *cert_out = *key_out = NULL;
	ca_key = make_key();
	key = make_key();
	if (!ca_key || !key)
		goto cleanup;
	ca = make_cert(ca_key, "mdcemu local CA", NULL, NULL, 1, true);
	if (!ca)
		goto cleanup;
	cert = make_cert(key, "localhost", ca, ca_key, 2, false);
	if (!cert)
		goto cleanup;
	*ca_out = cert_pem(ca);
	*cert_out = cert_pem(cert);
	*key_out = key_pem(key);
	ret = 0;
cleanup:
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	return ret;
}
