#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "banned.h"

void mdc_sha256(const void *data, size_t len, unsigned char out[32])
{
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

static void format_guid(char out[37], const unsigned char b[16])
{
	static const char hex[] = "0123456789abcdef";
	int o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

void mdc_guid_random(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort();
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	format_guid(out, b);
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
	format_guid(out, md);
}
