/*
 * The admin API under /_emulator/ (no auth; the server binds loopback only): read and
 * replace the state, change one ARM object out of band, faults, throttle limits, the
 * request log, counters, save.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu.h"
#include "banned.h"

static void ok(struct emu_resp *r, const char *json)
{
	r->status = 200;
	mdc_buf_adds(&r->body, json);
}

static cJSON *body_json(struct emu_req *req, struct emu_resp *resp)
{
	cJSON *doc = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;

	if (!doc)
		emu_resp_error(resp, 400, "InvalidRequestContent", "The body is not JSON.");
	return doc;
}

static int nseg(const char *path, char seg[][160], int max)
{
	int n = 0;

	while (*path && n < max) {
		const char *e;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		e = strchr(path, '/');
		if (!e)
			e = path + strlen(path);
		snprintf(seg[n++], 160, "%.*s", (int)(e - path), path);
		path = e;
	}
	return n;
}

static cJSON *object_in(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);

	if (!o)
		o = cJSON_AddObjectToObject(parent, key);
	return o;
}

/* Replaces key in obj (case-insensitive key match) with item (consumed); NULL deletes. */
static void set_key(cJSON *obj, const char *key, cJSON *item)
{
	cJSON *old;
	const char *name = key;

	cJSON_ArrayForEach(old, obj)
	{
		if (old->string && !strcasecmp(old->string, key)) {
			name = old->string;
			break;
		}
	}
	if (old) {
		char *keep = mdc_xstrdup(name);

		cJSON_DeleteItemFromObjectCaseSensitive(obj, keep);
		free(keep);
	}
	if (item)
		cJSON_AddItemToObject(obj, key, item);
}

/*
 * POST /_emulator/object {"path": ARM path, "body": object or null}: writes one object as
 * if someone else had (drift, concurrent edits). Sentinel objects get a fresh etag.
 */
static void h_object(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	cJSON *doc = body_json(req, resp), *body, *sub, *ws;
	const char *path = doc ? emu_str(doc, "path") : NULL;
	char seg[16][160];
	int n;

	if (!doc)
		return;
	if (!path) {
		emu_resp_error(resp, 400, "BadRequest", "path is required");
		goto cleanup;
	}
	body = cJSON_GetObjectItemCaseSensitive(doc, "body");
	n = nseg(path, seg, 16);
	sub = n >= 2 && !strcasecmp(seg[0], "subscriptions") ? emu_find_sub(emu->state, seg[1])
	                                                     : NULL;
	if (!sub) {
		emu_resp_error(resp, 404, "NotFound", "no such subscription in '%s'", path);
		goto cleanup;
	}
	if (n == 2) {
		cJSON *item;
		cJSON_ArrayForEach(item, body)
		{
			set_key(sub, item->string, cJSON_Duplicate(item, 1));
		}
	} else if (n == 4 && !strcasecmp(seg[2], "providers")) {
		const char *st = emu_str(body, "registrationState");
		set_key(object_in(sub, "providers"), seg[3], st ? cJSON_CreateString(st) : NULL);
	} else if (n == 6 && !strcasecmp(seg[3], "Microsoft.Security") &&
	           !strcasecmp(seg[4], "pricings")) {
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
		set_key(object_in(sub, "pricings"), seg[5],
		        cJSON_IsObject(props)  ? cJSON_Duplicate(props, 1)
		        : cJSON_IsObject(body) ? cJSON_Duplicate(body, 1)
		                               : NULL);
	} else if (n == 6 && !strcasecmp(seg[3], "Microsoft.Security") &&
	           !strcasecmp(seg[4], "settings")) {
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
		set_key(object_in(sub, "settings"), seg[5],
		        cJSON_IsObject(props)  ? cJSON_Duplicate(props, 1)
		        : cJSON_IsObject(body) ? cJSON_Duplicate(body, 1)
		                               : NULL);
	} else if (n == 12 && !strcasecmp(seg[2], "resourceGroups") &&
	           !strcasecmp(seg[9], "Microsoft.SecurityInsights") &&
	           (ws = emu_find_workspace(emu->state, seg[1], seg[3], seg[7]))) {
		cJSON *arr = cJSON_GetObjectItemCaseSensitive(ws, seg[10]), *obj;
		char etag[48];
		int idx = 0;

		if (!arr)
			arr = cJSON_AddArrayToObject(ws, seg[10]);
		cJSON_ArrayForEach(obj, arr)
		{
			if (emu_str(obj, "name") && !strcasecmp(emu_str(obj, "name"), seg[11]))
				break;
			idx++;
		}
		if (obj)
			cJSON_DeleteItemFromArray(arr, idx);
		if (cJSON_IsObject(body)) {
			cJSON *o = cJSON_Duplicate(body, 1);

			set_key(o, "name", cJSON_CreateString(seg[11]));
			set_key(o, "id", NULL);
			set_key(o, "type", NULL);
			emu_new_etag(etag);
			set_key(o, "etag", cJSON_CreateString(etag));
			cJSON_AddItemToArray(arr, o);
		}
	} else {
		emu_resp_error(resp, 400, "BadRequest", "unsupported object path '%s'", path);
		goto cleanup;
	}
	ok(resp, "{\"status\":\"ok\"}");
cleanup:
	cJSON_Delete(doc);
}

static void h_faults(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	cJSON *doc, *list, *f;

	if (!strcmp(req->method, "GET")) {
		emu_resp_json(resp, 200, emu->faults);
		return;
	}
	if (!strcmp(req->method, "DELETE")) {
		cJSON_Delete(emu->faults);
		emu->faults = cJSON_CreateArray();
		ok(resp, "{\"status\":\"ok\"}");
		return;
	}
	doc = body_json(req, resp);
	if (!doc)
		return;
	list = cJSON_IsArray(doc) ? doc
	       : cJSON_IsArray(cJSON_GetObjectItem(doc, "faults"))
	           ? cJSON_GetObjectItem(doc, "faults")
	           : NULL;
	if (list) {
		cJSON_ArrayForEach(f, list)
		{
			cJSON *copy = cJSON_Duplicate(f, 1);

			if (!cJSON_GetObjectItemCaseSensitive(copy, "count"))
				cJSON_AddNumberToObject(copy, "count", 1);
			cJSON_AddItemToArray(emu->faults, copy);
		}
	} else {
		cJSON *copy = cJSON_Duplicate(doc, 1);

		if (!cJSON_GetObjectItemCaseSensitive(copy, "count"))
			cJSON_AddNumberToObject(copy, "count", 1);
		cJSON_AddItemToArray(emu->faults, copy);
	}
	cJSON_Delete(doc);
	ok(resp, "{\"status\":\"ok\"}");
}

/* POST /_emulator/throttle {"reads":{"burst":N,"perSecond":R},"writes":...,"deletes":...} */
static void h_throttle(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	static const char *const names[] = {"reads", "writes", "deletes"};
	cJSON *doc = body_json(req, resp);

	if (!doc)
		return;
	for (int i = 0; i < EMU_OP_MAX; i++) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(doc, names[i]);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "burst");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "perSecond");

		if (cJSON_IsNumber(b))
			emu->limits[i].burst = b->valuedouble;
		if (cJSON_IsNumber(r))
			emu->limits[i].rate = r->valuedouble;
	}
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(doc, "enabled")))
		emu->opts.throttle = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "enabled"));
	emu_throttle_reset(emu);
	cJSON_Delete(doc);
	ok(resp, "{\"status\":\"ok\"}");
}

static void h_save(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	cJSON *doc = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
	const char *path = doc && emu_str(doc, "path") ? emu_str(doc, "path") : emu->opts.save_path;

	if (!path)
		emu_resp_error(resp, 400, "BadRequest", "no --save path and no path in the body");
	else if (emu_state_save(emu->state, path) < 0)
		emu_resp_error(resp, 500, "SaveFailed", "cannot write '%s'", path);
	else
		ok(resp, "{\"status\":\"saved\"}");
	cJSON_Delete(doc);
}

void emu_admin(struct emu *emu, struct emu_req *req, struct emu_resp *resp)
{
	const char *what = req->path + strlen("/_emulator");
	bool get = !strcmp(req->method, "GET");

	pthread_mutex_lock(&emu->lock);
	if (!strcmp(what, "/state") && get) {
		emu_resp_json(resp, 200, emu->state);
	} else if (!strcmp(what, "/state") && !strcmp(req->method, "PUT")) {
		cJSON *doc = body_json(req, resp);

		if (doc && !cJSON_IsObject(doc)) {
			emu_resp_error(resp, 400, "BadRequest", "the state must be a JSON object");
			cJSON_Delete(doc);
		} else if (doc) {
			emu_state_normalize(doc);
			cJSON_Delete(emu->state);
			emu->state = doc;
			cJSON_Delete(emu->polls);
			emu->polls = cJSON_CreateObject();
			ok(resp, "{\"status\":\"ok\"}");
		}
	} else if (!strcmp(what, "/object") && !strcmp(req->method, "POST")) {
		h_object(emu, req, resp);
	} else if (!strcmp(what, "/faults")) {
		h_faults(emu, req, resp);
	} else if (!strcmp(what, "/throttle") && !strcmp(req->method, "POST")) {
		h_throttle(emu, req, resp);
	} else if (!strcmp(what, "/requests") && get) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddNumberToObject(doc, "count", (double)emu->nrequests);
		cJSON_AddItemReferenceToObject(doc, "value", emu->log);
		emu_resp_json(resp, 200, doc);
		cJSON_Delete(doc);
	} else if (!strcmp(what, "/reset") && !strcmp(req->method, "POST")) {
		cJSON_Delete(emu->log);
		emu->log = cJSON_CreateArray();
		emu->nrequests = 0;
		emu_throttle_reset(emu);
		cJSON_Delete(emu->inflight);
		emu->inflight = cJSON_CreateObject();
		ok(resp, "{\"status\":\"ok\"}");
	} else if (!strcmp(what, "/save") && !strcmp(req->method, "POST")) {
		h_save(emu, req, resp);
	} else if (!strcmp(what, "/health") && get) {
		ok(resp, "{\"status\":\"ok\"}");
	} else {
		emu_resp_error(resp, 404, "NotFound", "no admin endpoint %s %s", req->method,
		               req->path);
	}
	pthread_mutex_unlock(&emu->lock);
}
