#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "banned.h"

void mdc_strvec_push_owned(struct mdc_strvec *sv, char *s)
{
	MDC_ALLOC_GROW(sv->v, sv->n + 1, sv->alloc);
	sv->v[sv->n++] = s;
}

void mdc_strvec_push(struct mdc_strvec *sv, const char *s)
{
	mdc_strvec_push_owned(sv, mdc_xstrdup(s));
}

long mdc_strvec_find(const struct mdc_strvec *sv, const char *s, bool icase)
{
	for (size_t i = 0; i < sv->n; i++)
		if (icase ? !strcasecmp(sv->v[i], s) : !strcmp(sv->v[i], s))
			return (long)i;
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void mdc_strvec_sort(struct mdc_strvec *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
}

void mdc_strvec_copy(struct mdc_strvec *dst, const struct mdc_strvec *src)
{
	for (size_t i = 0; i < src->n; i++)
		mdc_strvec_push(dst, src->v[i]);
}

bool mdc_strvec_equal(const struct mdc_strvec *a, const struct mdc_strvec *b, bool icase)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (icase ? strcasecmp(a->v[i], b->v[i]) : strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

void mdc_strvec_clear(struct mdc_strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

void mdc_kvlist_set(struct mdc_kvlist *kl, const char *key, const char *value, bool icase)
{
	for (size_t i = 0; i < kl->n; i++) {
		if (icase ? !strcasecmp(kl->v[i].key, key) : !strcmp(kl->v[i].key, key)) {
			free(kl->v[i].value);
			kl->v[i].value = mdc_xstrdup(value);
			return;
		}
	}
	MDC_ALLOC_GROW(kl->v, kl->n + 1, kl->alloc);
	kl->v[kl->n].key = mdc_xstrdup(key);
	kl->v[kl->n].value = mdc_xstrdup(value);
	kl->n++;
}

const char *mdc_kvlist_get(const struct mdc_kvlist *kl, const char *key, bool icase)
{
	for (size_t i = 0; i < kl->n; i++)
		if (icase ? !strcasecmp(kl->v[i].key, key) : !strcmp(kl->v[i].key, key))
			return kl->v[i].value;
	return NULL;
}

void mdc_kvlist_copy(struct mdc_kvlist *dst, const struct mdc_kvlist *src)
{
	for (size_t i = 0; i < src->n; i++)
		mdc_kvlist_set(dst, src->v[i].key, src->v[i].value, false);
}

void mdc_kvlist_clear(struct mdc_kvlist *kl)
{
	for (size_t i = 0; i < kl->n; i++) {
		free(kl->v[i].key);
		free(kl->v[i].value);
	}
	free(kl->v);
	memset(kl, 0, sizeof(*kl));
}

static size_t strmap_hash(const char *key)
{
	size_t h = 14695981039346656037ull; /* FNV-1a over the lower-cased key */

	for (; *key; key++) {
		h ^= (unsigned char)tolower((unsigned char)*key);
		h *= 1099511628211ull;
	}
	return h;
}

/* The slot of key, or the empty slot where it would go. cap is a power of two. */
static struct mdc_strmap_slot *strmap_slot(const struct mdc_strmap *m, const char *key)
{
	size_t i = strmap_hash(key) & (m->cap - 1);

	while (m->slots[i].key && strcasecmp(m->slots[i].key, key))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

void *mdc_strmap_put(struct mdc_strmap *m, const char *key, void *value)
{
	struct mdc_strmap_slot *s;
	void *old;

	if ((m->n + 1) * 2 > m->cap) {
		struct mdc_strmap grown = {NULL, m->n, m->cap ? m->cap * 2 : 64};
		grown.slots = mdc_xcalloc(grown.cap, sizeof(*grown.slots));
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].key)
				*strmap_slot(&grown, m->slots[i].key) = m->slots[i];
		free(m->slots);
		*m = grown;
	}
	s = strmap_slot(m, key);
	if (s->key) {
		old = s->value;
		s->value = value;
		return old;
	}
	s->key = mdc_xstrdup(key);
	s->value = value;
	m->n++;
	return NULL;
}

void *mdc_strmap_get(const struct mdc_strmap *m, const char *key)
{
	return m->cap ? strmap_slot(m, key)->value : NULL;
}

void mdc_strmap_clear(struct mdc_strmap *m, void (*free_value)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].key);
		if (free_value && m->slots[i].value)
			free_value(m->slots[i].value);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

bool mdc_is_guid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};

	if (!s)
		return false;
	for (size_t g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

bool mdc_guid_normalize(const char *s, char out[37])
{
	if (!mdc_is_guid(s))
		return false;
	for (int i = 0; i < 36; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[36] = '\0';
	return true;
}

bool mdc_str_contains_i(const char *s, const char *needle)
{
	size_t n = needle ? strlen(needle) : 0;

	for (; s && needle && *s; s++)
		if (!strncasecmp(s, needle, n))
			return true;
	return false;
}

void mdc_guid_format(char out[37], const unsigned char b[16])
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

bool mdc_streq_i(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcasecmp(a, b);
}

bool mdc_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

size_t mdc_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row, result;

	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	row = mdc_xmalloc((lb + 1) * sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], best;
		row[0] = best = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t sub = diag + (tolower((unsigned char)a[i - 1]) !=
			                     tolower((unsigned char)b[j - 1]));
			size_t v = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
			row[j] = sub < v ? sub : v;
			diag = up;
			if (row[j] < best)
				best = row[j];
		}
		if (best > cap) {
			free(row);
			return cap + 1;
		}
	}
	result = row[lb];
	free(row);
	return result > cap ? cap + 1 : result;
}

const char *mdc_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
	size_t len = strlen(word), cap = len / 3 > 2 ? len / 3 : 2, best = cap + 1;
	const char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = mdc_edit_distance(word, candidates[i], cap);
		if (d < best) {
			best = d;
			found = candidates[i];
		}
	}
	return found;
}

bool mdc_utf8_valid(const char *str, size_t len, size_t *bad_offset)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Reject overlong forms, surrogates and code points past U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto bad;
		i += n + 1;
	}
	return true;
bad:
	if (bad_offset)
		*bad_offset = i;
	return false;
}

int mdc_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			char *ea, *eb;
			unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
			if (x != y)
				return x < y ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return 0;
}
