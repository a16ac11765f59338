#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

char mdc_buf_empty[1];

static void oom(void)
{
	fputs("fatal: out of memory\n", stderr);
	abort();
}

void *mdc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *mdc_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *mdc_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *mdc_xstrdup(const char *s)
{
	return mdc_xstrndup(s, strlen(s));
}

char *mdc_xstrndup(const char *s, size_t n)
{
	char *p = mdc_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *mdc_xasprintf(const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return mdc_buf_detach(&b);
}

void mdc_buf_grow(struct mdc_buf *b, size_t extra)
{
	size_t need;

	if (extra > (size_t)-1 - b->len - 1)
		oom();
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return;
	if (!b->alloc)
		b->ptr = NULL;
	if (need < b->alloc * 2)
		need = b->alloc * 2;
	if (need < 64)
		need = 64;
	b->ptr = mdc_xrealloc(b->ptr, need);
	if (!b->alloc)
		b->ptr[0] = '\0';
	b->alloc = need;
}

void mdc_buf_add(struct mdc_buf *b, const void *data, size_t len)
{
	if (!len)
		return;
	mdc_buf_grow(b, len);
	memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

void mdc_buf_adds(struct mdc_buf *b, const char *s)
{
	mdc_buf_add(b, s, strlen(s));
}

void mdc_buf_addch(struct mdc_buf *b, int c)
{
	mdc_buf_grow(b, 1);
	b->ptr[b->len++] = (char)c;
	b->ptr[b->len] = '\0';
}

void mdc_buf_vaddf(struct mdc_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(b->ptr + b->len, b->alloc ? b->alloc - b->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= (b->alloc ? b->alloc - b->len : 0)) {
		mdc_buf_grow(b, (size_t)n);
		n = vsnprintf(b->ptr + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void mdc_buf_addf(struct mdc_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mdc_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void mdc_buf_setlen(struct mdc_buf *b, size_t len)
{
	if (len > b->len)
		return;
	b->len = len;
	if (b->alloc)
		b->ptr[len] = '\0';
}

void mdc_buf_reset(struct mdc_buf *b)
{
	mdc_buf_setlen(b, 0);
}

void mdc_buf_release(struct mdc_buf *b)
{
	if (b->alloc)
		free(b->ptr);
	b->ptr = mdc_buf_empty;
	b->len = b->alloc = 0;
}

char *mdc_buf_detach(struct mdc_buf *b)
{
	char *p = b->alloc ? b->ptr : mdc_xstrdup("");

	b->ptr = mdc_buf_empty;
	b->len = b->alloc = 0;
	return p;
}

int mdc_buf_read_file(struct mdc_buf *b, const char *path, size_t max)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char chunk[65536];
	size_t n;
	int err = 0;

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->len + n > max) {
			err = EFBIG;
			break;
		}
		mdc_buf_add(b, chunk, n);
	}
	if (!err && ferror(f))
		err = EIO;
	if (f != stdin)
		fclose(f);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
