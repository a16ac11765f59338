#ifndef MDC_ERROR_H
#define MDC_ERROR_H
/*
 * Library functions return 0 or a negative enum mdc_errcode and, on failure, fill a
 * caller-owned struct mdc_error (libgit2's shape). The library never prints or exits.
 *
 *	struct mdc_error err = MDC_ERROR_INIT;
 *	if (mdc_something(&out, ..., &err) < 0)
 *		report(err.message);
 *	mdc_error_clear(&err);
 */
#include <stdarg.h>

enum mdc_errcode {
	MDC_OK = 0,
	MDC_EINVALID = -1,   /* bad input: config, arguments, files */
	MDC_EIO = -2,        /* local I/O */
	MDC_ENET = -3,       /* transport: DNS, connect, TLS, reset, timeout */
	MDC_EHTTP = -4,      /* an HTTP error status from Azure (see http_status, arm_code) */
	MDC_EAUTH = -5,      /* credentials or token endpoint */
	MDC_ENOTFOUND = -6,  /* the object does not exist */
	MDC_ECONFLICT = -7,  /* 409 / stale etag / stale plan */
	MDC_ETHROTTLED = -8, /* retry budget spent on 429s */
	MDC_EFORBIDDEN = -9, /* 403 */
	MDC_EBUSY = -10,     /* a lock held by someone else */
	MDC_EINTERNAL = -11, /* a bug */
	MDC_ERRCODE_MAX = -12
};

struct mdc_error {
	int code;         /* enum mdc_errcode, 0 when no error */
	int http_status;  /* 0 when not from HTTP */
	char *arm_code;   /* ARM error.code, or AADSTS code, or NULL */
	char *request_id; /* x-ms-request-id, or NULL */
	char *message;    /* complete, human-readable, lower case, no trailing full stop */
};

#define MDC_ERROR_INIT                                                                             \
	{                                                                                          \
		0, 0, NULL, NULL, NULL                                                             \
	}

/* Sets code and a formatted message (replacing any earlier one); returns code so that
 * `return mdc_error_set(err, MDC_EINVALID, "...");` reads naturally. err may be NULL. */
int mdc_error_set(struct mdc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mdc_error_vset(struct mdc_error *err, int code, const char *fmt, va_list ap);
/* Puts "prefix: " in front of the existing message (keeps everything else). */
void mdc_error_prefix(struct mdc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets the HTTP details; strings are copied. */
void mdc_error_set_http(struct mdc_error *err, int status, const char *arm_code,
                        const char *request_id);
/* Moves src into dst (dst is cleared first, src becomes empty). */
void mdc_error_move(struct mdc_error *dst, struct mdc_error *src);
/* Frees the strings; the struct is MDC_ERROR_INIT again. */
void mdc_error_clear(struct mdc_error *err);
/* A short name for a code ("invalid", "network", ...). Static string. */
const char *mdc_errcode_name(int code);

#endif
