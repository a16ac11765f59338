/*
 * ARM's token buckets (reference §9.2): one bucket per scope (subscription or tenant),
 * per principal, per operation type; plus a global bucket per subscription shared by
 * all principals at 15 times the per-principal size.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "banned.h"

void emu_throttle_defaults(struct emu *emu)
{
	emu->limits[EMU_READ] = (struct emu_bucket_cfg){250, 25};
	emu->limits[EMU_WRITE] = (struct emu_bucket_cfg){200, 10};
	emu->limits[EMU_DELETE] = (struct emu_bucket_cfg){200, 10};
}

static unsigned hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % EMU_BUCKET_HASH;
}

static struct emu_bucket *bucket(struct emu *emu, const char *key, double cap, double rate)
{
	unsigned h = hash(key);
	struct emu_bucket *b;

	for (b = emu->buckets[h]; b; b = b->next)
		if (!strcmp(b->key, key))
			return b;
	b = mdc_xcalloc(1, sizeof(*b));
	b->key = mdc_xstrdup(key);
	b->tokens = cap;
	b->cap = cap;
	b->rate = rate;
	b->last = emu_now();
	b->next = emu->buckets[h];
	emu->buckets[h] = b;
	return b;
}

static void refill(struct emu_bucket *b, double cap, double rate)
{
	double now = emu_now();

	b->cap = cap;
	b->rate = rate;
	b->tokens += (now - b->last) * rate;
	if (b->tokens > cap)
		b->tokens = cap;
	b->last = now;
}

enum emu_op emu_op_of(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") ? EMU_READ
	       : !strcmp(m, "DELETE")                  ? EMU_DELETE
	                                               : EMU_WRITE;
}

const char *emu_op_name(enum emu_op op)
{
	static const char *const names[] = {"Read", "Write", "Delete"};

	return names[op];
}

long emu_throttle_take(struct emu *emu, const char *scope, const char *oid, enum emu_op op,
                       bool global, long *retry_after)
{
	struct emu_bucket_cfg cfg = emu->limits[op];
	double cap = global ? cfg.burst * 15 : cfg.burst, rate = global ? cfg.rate * 15 : cfg.rate;
	struct emu_bucket *b;
	char key[256];

	snprintf(key, sizeof(key), "%s|%s|%d|%d", scope, global ? "*" : oid, (int)op, global);
	b = bucket(emu, key, cap, rate);
	refill(b, cap, rate);
	*retry_after = 0;
	if (b->tokens < 1) {
		double wait = rate > 0 ? (1 - b->tokens) / rate : 60;
		*retry_after = (long)ceil(wait);
		if (*retry_after < 1)
			*retry_after = 1;
		return -1;
	}
	b->tokens -= 1;
	return (long)floor(b->tokens);
}

void emu_throttle_reset(struct emu *emu)
{
	for (int i = 0; i < EMU_BUCKET_HASH; i++) {
		struct emu_bucket *b = emu->buckets[i];

		while (b) {
			struct emu_bucket *next = b->next;

			free(b->key);
			free(b);
			b = next;
		}
		emu->buckets[i] = NULL;
	}
}
