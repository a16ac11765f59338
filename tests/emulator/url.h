#ifndef MDCEMU_URL_H
#define MDCEMU_URL_H
/*
 * Percent-decoding shared by the HTTP layer (server.c: path and query) and the Entra ID
 * endpoints (entra.c: form bodies and the managed-identity query).
 */
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Decodes %XX (and '+' as a space when `plus`) in s[0..n) into a new string. "%00" stays
 * as written: a NUL would cut the text short and make "Arm%00x" read as "Arm". */
char *emu_pct_decode(const char *s, size_t n, bool plus);
/* Parses "a=1&b=2" (form encoding) into kl; the first occurrence of a name wins, as ARM and
 * Entra read them. Names are compared case-insensitively when `icase`. */
void emu_parse_form(struct mdc_kvlist *kl, const char *s, size_t n, bool icase);
/* Collapses runs of '/' and drops a trailing '/' (not the root's), in place. */
void emu_normalize_path(char *path);

#endif
