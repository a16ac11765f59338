#include "error.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "banned.h"

int mdc_error_vset(struct mdc_error *err, int code, const char *fmt, va_list ap)
{
	struct mdc_buf b = MDC_BUF_INIT;

	if (!err)
		return code;
	mdc_buf_vaddf(&b, fmt, ap);
	free(err->message);
	err->message = mdc_buf_detach(&b);
	err->code = code;
	return code;
}

int mdc_error_set(struct mdc_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mdc_error_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void mdc_error_prefix(struct mdc_error *err, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (err->message) {
		mdc_buf_adds(&b, ": ");
		mdc_buf_adds(&b, err->message);
		free(err->message);
	}
	err->message = mdc_buf_detach(&b);
}

void mdc_error_set_http(struct mdc_error *err, int status, const char *arm_code,
                        const char *request_id)
{
	if (!err)
		return;
	err->http_status = status;
	free(err->arm_code);
	err->arm_code = arm_code ? mdc_xstrdup(arm_code) : NULL;
	free(err->request_id);
	err->request_id = request_id ? mdc_xstrdup(request_id) : NULL;
}

void mdc_error_move(struct mdc_error *dst, struct mdc_error *src)
{
	mdc_error_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

void mdc_error_clear(struct mdc_error *err)
{
	if (!err)
		return;
	free(err->arm_code);
	free(err->request_id);
	free(err->message);
	memset(err, 0, sizeof(*err));
}

const char *mdc_errcode_name(int code)
{
	static const char *const names[] = {
	    "ok",       "invalid",  "io",        "network",   "http", "auth",
	    "notfound", "conflict", "throttled", "forbidden", "busy", "internal",
	};
	int i = -code;

	if (i < 0 || i >= (int)(sizeof(names) / sizeof(names[0])))
		return "unknown";
	return names[i];
}
