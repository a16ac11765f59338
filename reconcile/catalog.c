/*
 * The Defender plan catalogue: schema/catalog.json parsed into struct mdc_catalog.
 * The built-in copy is compiled into the binary (cmake/embed.cmake) and parsed once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "catalog.h"
#include "banned.h"

extern const unsigned char mdc_catalog_json[];
extern const size_t mdc_catalog_json_len;

static int read_strings(struct mdc_strvec *out, const cJSON *obj, const char *key, const char *plan,
                        struct mdc_error *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *it;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return mdc_error_set(err, MDC_EINVALID,
		                     "catalogue: plan '%s': '%s' must be an array", plan, key);
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it) || !it->valuestring[0])
			return mdc_error_set(
			    err, MDC_EINVALID,
			    "catalogue: plan '%s': '%s' must hold non-empty strings", plan, key);
		if (mdc_strvec_find(out, it->valuestring, true) >= 0)
			return mdc_error_set(err, MDC_EINVALID,
			                     "catalogue: plan '%s': '%s' names '%s' twice", plan,
			                     key, it->valuestring);
		mdc_strvec_push(out, it->valuestring);
	}
	return 0;
}

static void plan_clear(struct mdc_catalog_plan *p)
{
	free(p->name);
	mdc_strvec_clear(&p->sub_plans);
	free(p->default_sub_plan);
	mdc_strvec_clear(&p->extensions);
	mdc_strvec_clear(&p->default_extensions);
	mdc_strvec_clear(&p->replaced_by);
}

static int parse_plan(struct mdc_catalog_plan *p, const cJSON *o, struct mdc_error *err)
{
	static const char *const keys[] = {"name",       "subPlans",          "defaultSubPlan",
	                                   "extensions", "defaultExtensions", "deprecated",
	                                   "replacedBy", "$comment"};
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name"), *it;
	const cJSON *dsp = cJSON_GetObjectItemCaseSensitive(o, "defaultSubPlan");
	const cJSON *dep = cJSON_GetObjectItemCaseSensitive(o, "deprecated");
	int rc;

	if (!cJSON_IsObject(o))
		return mdc_error_set(err, MDC_EINVALID, "catalogue: every plan must be an object");
	if (!cJSON_IsString(name) || !name->valuestring[0])
		return mdc_error_set(err, MDC_EINVALID, "catalogue: a plan has no 'name'");
	p->name = mdc_xstrdup(name->valuestring);
	cJSON_ArrayForEach(it, o)
	{
		size_t k;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strcmp(it->string, keys[k]))
				break;
		if (k == sizeof(keys) / sizeof(keys[0]))
			return mdc_error_set(err, MDC_EINVALID,
			                     "catalogue: plan '%s': unknown key '%s'", p->name,
			                     it->string);
	}
	if ((rc = read_strings(&p->sub_plans, o, "subPlans", p->name, err)) < 0 ||
	    (rc = read_strings(&p->extensions, o, "extensions", p->name, err)) < 0 ||
	    (rc = read_strings(&p->default_extensions, o, "defaultExtensions", p->name, err)) < 0 ||
	    (rc = read_strings(&p->replaced_by, o, "replacedBy", p->name, err)) < 0)
		return rc;
	if (dsp) {
		if (!cJSON_IsString(dsp) ||
		    mdc_strvec_find(&p->sub_plans, dsp->valuestring, false) < 0)
			return mdc_error_set(
			    err, MDC_EINVALID,
			    "catalogue: plan '%s': 'defaultSubPlan' must be one of "
			    "its 'subPlans'",
			    p->name);
		p->default_sub_plan = mdc_xstrdup(dsp->valuestring);
	}
	for (size_t i = 0; i < p->default_extensions.n; i++)
		if (mdc_strvec_find(&p->extensions, p->default_extensions.v[i], false) < 0)
			return mdc_error_set(err, MDC_EINVALID,
			                     "catalogue: plan '%s': default extension '%s' is not "
			                     "in 'extensions'",
			                     p->name, p->default_extensions.v[i]);
	if (dep && !cJSON_IsBool(dep))
		return mdc_error_set(err, MDC_EINVALID,
		                     "catalogue: plan '%s': 'deprecated' must be a boolean",
		                     p->name);
	p->deprecated = cJSON_IsTrue(dep);
	if (p->deprecated != (p->replaced_by.n > 0))
		return mdc_error_set(
		    err, MDC_EINVALID,
		    "catalogue: plan '%s': 'replacedBy' goes with 'deprecated: true'", p->name);
	return 0;
}

int mdc_catalog_parse(struct mdc_catalog **out, const char *json, size_t len, struct mdc_error *err)
{
	struct mdc_catalog *c = NULL;
	cJSON *root = NULL;
	const cJSON *plans, *it, *version;
	int rc = 0;

	*out = NULL;
	root = cJSON_ParseWithLength(json, len);
	if (!root) {
		rc = mdc_error_set(err, MDC_EINVALID, "catalogue: not valid JSON");
		goto cleanup;
	}
	version = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
		rc = mdc_error_set(err, MDC_EINVALID, "catalogue: 'version' must be 1");
		goto cleanup;
	}
	plans = cJSON_GetObjectItemCaseSensitive(root, "plans");
	if (!cJSON_IsArray(plans) || !cJSON_GetArraySize(plans)) {
		rc = mdc_error_set(err, MDC_EINVALID,
		                   "catalogue: 'plans' must be a non-empty array");
		goto cleanup;
	}
	c = mdc_xcalloc(1, sizeof(*c));
	c->plans = mdc_xcalloc((size_t)cJSON_GetArraySize(plans), sizeof(*c->plans));
	cJSON_ArrayForEach(it, plans)
	{
		struct mdc_catalog_plan *p = &c->plans[c->nplans++];
		if ((rc = parse_plan(p, it, err)) < 0)
			goto cleanup;
		if (mdc_catalog_plan(c, p->name) != p) {
			rc = mdc_error_set(err, MDC_EINVALID, "catalogue: plan '%s' appears twice",
			                   p->name);
			goto cleanup;
		}
	}
	for (size_t i = 0; i < c->nplans; i++)
		for (size_t k = 0; k < c->plans[i].replaced_by.n; k++) {
			const struct mdc_catalog_plan *r =
			    mdc_catalog_plan(c, c->plans[i].replaced_by.v[k]);
			if (!r || r->deprecated) {
				rc =
				    mdc_error_set(err, MDC_EINVALID,
				                  "catalogue: plan '%s' is replaced by '%s', which "
				                  "is not a current plan",
				                  c->plans[i].name, c->plans[i].replaced_by.v[k]);
				goto cleanup;
			}
		}
	*out = c;
	c = NULL;
cleanup:
	mdc_catalog_free(c);
	cJSON_Delete(root);
	return rc;
}

void mdc_catalog_free(struct mdc_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nplans; i++)
		plan_clear(&c->plans[i]);
	free(c->plans);
	free(c);
}

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static struct mdc_catalog *builtin;

static void builtin_init(void)
{
	struct mdc_error err = MDC_ERROR_INIT;

	if (mdc_catalog_parse(&builtin, (const char *)mdc_catalog_json, mdc_catalog_json_len,
	                      &err) < 0) {
		/* The data is compiled in and tested: failing here is a build bug. */
		fprintf(stderr, "mdcctl: built-in %s\n", err.message);
		abort();
	}
}

const struct mdc_catalog *mdc_catalog_builtin(void)
{
	pthread_once(&builtin_once, builtin_init);
	return builtin;
}

const struct mdc_catalog_plan *mdc_catalog_plan(const struct mdc_catalog *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->nplans; i++)
		if (mdc_streq_i(c->plans[i].name, name))
			return &c->plans[i];
	return NULL;
}

bool mdc_catalog_plan_has_sub_plan(const struct mdc_catalog_plan *p, const char *sub_plan)
{
	return p && sub_plan && mdc_strvec_find(&p->sub_plans, sub_plan, true) >= 0;
}

bool mdc_catalog_plan_has_extension(const struct mdc_catalog_plan *p, const char *ext)
{
	return p && ext && mdc_strvec_find(&p->extensions, ext, true) >= 0;
}
