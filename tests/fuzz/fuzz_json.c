/*
 * libFuzzer target for the JSON parsers mdcctl feeds with outside data: the actual-state
 * snapshot (--actual), the saved plan and resume files (apply PLANFILE), ARM response
 * bodies (armjson), and error bodies (http). The first byte picks the parser.
 *
 * Properties beyond "no crash, no leak, no UB": a snapshot or plan that parses writes back
 * to JSON that parses again to the same JSON (a lossless round trip).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "actual.h"
#include "armjson.h"
#include "http.h"
#include "plan.h"

static void snapshot(const char *s, size_t n)
{
	struct mdc_actual *a = NULL, *b = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	char *j1, *j2;

	if (mdc_actual_from_json(&a, s, n, &err) < 0) {
		if (!err.message)
			abort();
		mdc_error_clear(&err);
		return;
	}
	j1 = mdc_actual_to_json(a);
	if (mdc_actual_from_json(&b, j1, strlen(j1), &err) < 0)
		abort();
	j2 = mdc_actual_to_json(b);
	if (strcmp(j1, j2))
		abort();
	free(j1);
	free(j2);
	mdc_actual_free(a);
	mdc_actual_free(b);
}

static void saved_plan(const char *s, size_t n)
{
	struct mdc_plan *p = NULL, *q = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	char *j1, *j2;

	if (mdc_plan_from_json(&p, s, n, &err) < 0) {
		if (!err.message)
			abort();
		mdc_error_clear(&err);
		return;
	}
	j1 = mdc_plan_to_json(p);
	if (mdc_plan_from_json(&q, j1, strlen(j1), &err) < 0)
		abort();
	j2 = mdc_plan_to_json(q);
	if (strcmp(j1, j2))
		abort();
	free(j1);
	free(j2);
	mdc_plan_free(p);
	mdc_plan_free(q);
}

static void arm_bodies(const char *s, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(s, n);
	struct mdc_actual *a = mdc_actual_new();
	struct mdc_sub_actual *sub = mdc_actual_add_sub(a, "00000000-0000-4000-8000-000000000000");
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_descendant d;
	enum mdc_provider_state ps;
	const cJSON *v, *it;

	if (!j) {
		mdc_actual_free(a);
		return;
	}
	mdc_armjson_pricings(sub, j, &err);
	mdc_armjson_sentinel_setting(sub, j, &err);
	mdc_armjson_provider(&ps, j, &err);
	mdc_armjson_permissions(&sub->perms, j, &err);
	mdc_permissions_allow(&sub->perms, "Microsoft.Security/pricings/write");
	mdc_armjson_connectors(&a->workspace, j, &err);
	mdc_armjson_alert_rules(&a->workspace, j, &err);
	mdc_armjson_packages(&a->workspace.installed, &a->workspace.ninstalled, j, 0, &err);
	mdc_armjson_packages(&a->workspace.catalog, &a->workspace.ncatalog, j, 1, &err);
	mdc_armjson_next_link(j);
	v = cJSON_GetObjectItem(j, "value");
	cJSON_ArrayForEach(it, v)
	{
		mdc_armjson_subscription(a, it, NULL, &err);
		if (mdc_armjson_descendant(&d, it, &err) == 0)
			mdc_descendant_clear(&d);
	}
	/* Whatever was read must survive a snapshot round trip. */
	free(mdc_actual_to_json(a));
	mdc_error_clear(&err);
	mdc_actual_free(a);
	cJSON_Delete(j);
}

static void error_body(const char *s, size_t n)
{
	char *code = NULL, *message = NULL;

	mdc_http_parse_error_body(s, n, &code, &message);
	free(code);
	free(message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		snapshot(s, size - 1);
		break;
	case 1:
		saved_plan(s, size - 1);
		break;
	case 2:
		arm_bodies(s, size - 1);
		break;
	default:
		error_body(s, size - 1);
	}
	return 0;
}
