/* Percent-decoding for server.c and entra.c (see url.h). */
#include "url.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "banned.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *emu_pct_decode(const char *s, size_t n, bool plus)
{
	struct mdc_buf b = MDC_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		int hi = i + 2 < n && s[i] == '%' ? hexval((unsigned char)s[i + 1]) : -1;
		int lo = hi >= 0 ? hexval((unsigned char)s[i + 2]) : -1;

		if (lo >= 0 && (hi | lo)) {
			mdc_buf_addch(&b, (char)(hi << 4 | lo));
			i += 2;
		} else {
			mdc_buf_addch(&b, plus && s[i] == '+' ? ' ' : s[i]);
		}
	}
	return mdc_buf_detach(&b);
}

void emu_parse_form(struct mdc_kvlist *kl, const char *s, size_t n, bool icase)
{
	size_t i = 0;

	while (i < n) {
		size_t end = i, eq;

		while (end < n && s[end] != '&')
			end++;
		for (eq = i; eq < end && s[eq] != '='; eq++)
			;
		if (end > i) {
			char *k = emu_pct_decode(s + i, eq - i, true);
			char *v = emu_pct_decode(eq < end ? s + eq + 1 : "",
			                         eq < end ? end - eq - 1 : 0, true);

			if (*k && !mdc_kvlist_get(kl, k, icase))
				mdc_kvlist_set(kl, k, v, icase);
			free(k);
			free(v);
		}
		i = end + 1;
	}
}

void emu_normalize_path(char *path)
{
	char *o = path;

	for (const char *p = path; *p; p++)
		if (*p != '/' || o == path || o[-1] != '/')
			*o++ = *p;
	if (o > path + 1 && o[-1] == '/')
		o--;
	*o = 0;
}
