#ifndef MDC_UTIL_H
#define MDC_UTIL_H
/*
 * Small helpers shared by every module: string vectors, key/value lists, GUIDs,
 * case-insensitive comparison, edit distance for "did you mean" hints.
 */
#include <stdbool.h>
#include <stddef.h>

/* A vector of owned strings. Zero-initialise ({0}) to start; mdc_strvec_clear frees. */
struct mdc_strvec {
	char **v;
	size_t n;
	size_t alloc;
};

void mdc_strvec_push(struct mdc_strvec *sv, const char *s); /* copies s */
void mdc_strvec_push_owned(struct mdc_strvec *sv, char *s); /* takes s */
/* Index of s (case-insensitive when icase), or -1. */
long mdc_strvec_find(const struct mdc_strvec *sv, const char *s, bool icase);
void mdc_strvec_sort(struct mdc_strvec *sv);
void mdc_strvec_copy(struct mdc_strvec *dst, const struct mdc_strvec *src);
bool mdc_strvec_equal(const struct mdc_strvec *a, const struct mdc_strvec *b, bool icase);
void mdc_strvec_clear(struct mdc_strvec *sv);

/* An ordered list of owned key/value strings (tags, extension properties). */
struct mdc_kv {
	char *key;
	char *value;
};
struct mdc_kvlist {
	struct mdc_kv *v;
	size_t n;
	size_t alloc;
};

/* Sets key to value (copies both), replacing an existing key (case-insensitive keys when icase). */
void mdc_kvlist_set(struct mdc_kvlist *kl, const char *key, const char *value, bool icase);
/* Borrowed value of key, or NULL. */
const char *mdc_kvlist_get(const struct mdc_kvlist *kl, const char *key, bool icase);
void mdc_kvlist_copy(struct mdc_kvlist *dst, const struct mdc_kvlist *src);
void mdc_kvlist_clear(struct mdc_kvlist *kl);

/* A hash map from strings (copied, compared case-insensitively) to caller-owned values,
 * for the lookups that run once per subscription at tenant scale. Zero-initialise ({0}). */
struct mdc_strmap {
	struct mdc_strmap_slot {
		char *key;
		void *value;
	} * slots;
	size_t n, cap;
};

/* Sets key to value (replacing an earlier value, which is returned so the caller can free
 * it; NULL when the key is new). */
void *mdc_strmap_put(struct mdc_strmap *m, const char *key, void *value);
/* The value of key, or NULL. */
void *mdc_strmap_get(const struct mdc_strmap *m, const char *key);
/* Frees the keys, and each value with free_value when it is not NULL. */
void mdc_strmap_clear(struct mdc_strmap *m, void (*free_value)(void *));

/* True if s is a GUID in 8-4-4-4-12 hex form (either case, no braces). */
bool mdc_is_guid(const char *s);
/* Writes the lower-case form of a GUID into out (37 bytes). Returns false if not a GUID. */
bool mdc_guid_normalize(const char *s, char out[37]);
/* Writes 16 bytes as a lower-case 8-4-4-4-12 GUID into out (37 bytes). */
void mdc_guid_format(char out[37], const unsigned char b[16]);
/* ASCII case-insensitive equality; NULLs are equal only to NULL. */
bool mdc_streq_i(const char *a, const char *b);
/* True if needle occurs in s, ASCII case-insensitively (strcasestr is a GNU extension). */
bool mdc_str_contains_i(const char *s, const char *needle);
/* NULL-safe strcmp equality. */
bool mdc_streq(const char *a, const char *b);
/* Damerau-free Levenshtein distance, case-insensitive, capped at cap+1. */
size_t mdc_edit_distance(const char *a, const char *b, size_t cap);
/* The candidate closest to word (distance <= max(2, len/3)), or NULL. Borrowed. */
const char *mdc_did_you_mean(const char *word, const char *const *candidates, size_t n);
/* True if the bytes are valid UTF-8; *bad_offset gets the first bad byte's offset. */
bool mdc_utf8_valid(const char *s, size_t len, size_t *bad_offset);
/* Compares dotted numeric versions ("3.0.10" > "3.0.3"); non-numeric parts compare as text. */
int mdc_version_cmp(const char *a, const char *b);

#endif
