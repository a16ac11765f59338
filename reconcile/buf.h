#ifndef MDC_BUF_H
#define MDC_BUF_H
/*
 * A growable, always NUL-terminated byte buffer (git's strbuf, curl's dynbuf).
 *
 *	struct mdc_buf b = MDC_BUF_INIT;
 *	mdc_buf_addf(&b, "%s:%u", file, line);
 *	use(b.ptr);
 *	mdc_buf_release(&b);
 *
 * b.ptr is never NULL: an empty buffer points at a static "". Allocation failure aborts
 * (out of memory is not an error mdcctl can report usefully).
 */
#include <stdarg.h>
#include <stddef.h>

struct mdc_buf {
	char *ptr;
	size_t len;
	size_t alloc;
};

extern char mdc_buf_empty[];
#define MDC_BUF_INIT                                                                               \
	{                                                                                          \
		mdc_buf_empty, 0, 0                                                                \
	}

/* Makes room for at least `extra` more bytes. */
void mdc_buf_grow(struct mdc_buf *b, size_t extra);
void mdc_buf_add(struct mdc_buf *b, const void *data, size_t len);
void mdc_buf_adds(struct mdc_buf *b, const char *s);
void mdc_buf_addch(struct mdc_buf *b, int c);
void mdc_buf_addf(struct mdc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mdc_buf_vaddf(struct mdc_buf *b, const char *fmt, va_list ap);
/* Shortens to `len` bytes (len <= b->len). */
void mdc_buf_setlen(struct mdc_buf *b, size_t len);
void mdc_buf_reset(struct mdc_buf *b);
/* Frees the memory; the buffer is MDC_BUF_INIT again. */
void mdc_buf_release(struct mdc_buf *b);
/* Returns the string, owned by the caller (free()); the buffer is MDC_BUF_INIT again. */
char *mdc_buf_detach(struct mdc_buf *b);

/* Reads a whole file ("-" is stdin) into b, refusing more than max bytes.
 * Returns 0, or -1 with errno set (EFBIG when larger than max). */
int mdc_buf_read_file(struct mdc_buf *b, const char *path, size_t max);

/* Allocation helpers that abort on out-of-memory. */
void *mdc_xmalloc(size_t n);
void *mdc_xcalloc(size_t n, size_t size);
void *mdc_xrealloc(void *p, size_t n);
char *mdc_xstrdup(const char *s);
char *mdc_xstrndup(const char *s, size_t n);
/* printf into a new string owned by the caller. */
char *mdc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows an array *p of *alloc elements so it can hold n; for "append to vector" code. */
#define MDC_ALLOC_GROW(p, n, alloc)                                                                \
	do {                                                                                       \
		if ((n) > (alloc)) {                                                               \
			size_t mdc_new_ = (alloc) ? (alloc)*2 : 8;                                 \
			while (mdc_new_ < (n))                                                     \
				mdc_new_ *= 2;                                                     \
			(p) = mdc_xrealloc((p), mdc_new_ * sizeof(*(p)));                          \
			(alloc) = mdc_new_;                                                        \
		}                                                                                  \
	} while (0)

#endif
