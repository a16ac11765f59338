/*
 * Golden tests of the planner and renderer: every folder under the directory given holds
 * desired.yaml and actual.json; the runner plans with a fixed clock, renders text (no
 * colour) and JSON, and compares them byte for byte with plan.txt and plan.json.
 *
 *	run_golden DIR [--update] [CASE...]
 *
 * --update rewrites the expected files instead of comparing. Ends "N passed, N failed".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actual.h"
#include "buf.h"
#include "config.h"
#include "plan.h"
#include "render.h"

#define GOLDEN_NOW 1714564800 /* 2024-05-01T12:00:00Z */

static int write_file(const char *path, const char *s, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(s, 1, len, f) == len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Compares got with the file; prints the first differing line. */
static int compare(const char *path, const char *got, int update)
{
	struct mdc_buf want = MDC_BUF_INIT;
	size_t i = 0, line = 1;
	int rc = 0;

	if (update)
		return write_file(path, got, strlen(got));
	if (mdc_buf_read_file(&want, path, 64u << 20) < 0) {
		fprintf(stderr, "  %s: cannot read (run with --update)\n", path);
		return -1;
	}
	if (strcmp(want.ptr, got)) {
		while (want.ptr[i] && want.ptr[i] == got[i]) {
			if (got[i] == '\n')
				line++;
			i++;
		}
		fprintf(stderr, "  %s: differs at line %zu\n", path, line);
		rc = -1;
	}
	mdc_buf_release(&want);
	return rc;
}

static int run_case(const char *dir, const char *name, int update)
{
	struct mdc_buf p = MDC_BUF_INIT, text = MDC_BUF_INIT, json = MDC_BUF_INIT;
	struct mdc_diags diags = {0};
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_config *cfg = NULL;
	struct mdc_actual *act = NULL;
	struct mdc_plan *plan = NULL;
	struct mdc_plan_opts opts = {.now = GOLDEN_NOW, .git_commit = "0123456789abcdef"};
	struct mdc_render_opts ro = {0};
	int rc = -1;

	mdc_buf_addf(&p, "%s/%s/desired.yaml", dir, name);
	if (mdc_config_load(&cfg, p.ptr, &diags) < 0) {
		for (size_t i = 0; i < diags.n; i++)
			fprintf(stderr, "  %s:%u:%u: %s\n", p.ptr, diags.v[i].pos.line,
			        diags.v[i].pos.col, diags.v[i].message);
		goto cleanup;
	}
	mdc_buf_reset(&p);
	mdc_buf_addf(&p, "%s/%s/actual.json", dir, name);
	if (mdc_actual_load(&act, p.ptr, &err) < 0) {
		fprintf(stderr, "  %s\n", err.message);
		goto cleanup;
	}
	if (mdc_plan_build(&plan, cfg, act, &opts, &err) < 0) {
		fprintf(stderr, "  plan: %s\n", err.message);
		goto cleanup;
	}
	mdc_render_text(&text, plan, &ro);
	mdc_render_json(&json, plan);
	rc = 0;
	mdc_buf_reset(&p);
	mdc_buf_addf(&p, "%s/%s/plan.txt", dir, name);
	if (compare(p.ptr, text.ptr, update) < 0)
		rc = -1;
	mdc_buf_reset(&p);
	mdc_buf_addf(&p, "%s/%s/plan.json", dir, name);
	if (compare(p.ptr, json.ptr, update) < 0)
		rc = -1;
cleanup:
	mdc_plan_free(plan);
	mdc_actual_free(act);
	mdc_config_free(cfg);
	mdc_diags_clear(&diags);
	mdc_error_clear(&err);
	mdc_buf_release(&p);
	mdc_buf_release(&text);
	mdc_buf_release(&json);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	struct mdc_strvec cases = {0}, only = {0};
	int update = 0, passed = 0, failed = 0;
	const char *dir = NULL;
	DIR *d;
	struct dirent *e;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--update"))
			update = 1;
		else if (!dir)
			dir = argv[i];
		else
			mdc_strvec_push(&only, argv[i]);
	}
	if (!dir || !(d = opendir(dir))) {
		fprintf(stderr, "usage: run_golden DIR [--update] [CASE...]\n");
		return 64;
	}
	while ((e = readdir(d))) {
		struct mdc_buf p = MDC_BUF_INIT;
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		mdc_buf_addf(&p, "%s/%s/desired.yaml", dir, e->d_name);
		if ((f = fopen(p.ptr, "r"))) {
			fclose(f);
			if (!only.n || mdc_strvec_find(&only, e->d_name, false) >= 0)
				mdc_strvec_push(&cases, e->d_name);
		}
		mdc_buf_release(&p);
	}
	closedir(d);
	if (cases.n)
		qsort(cases.v, cases.n, sizeof(*cases.v), cmp_name);
	for (size_t i = 0; i < cases.n; i++) {
		int f = run_case(dir, cases.v[i], update) < 0;
		fprintf(stderr, "%s %s\n", f ? "FAIL" : "ok  ", cases.v[i]);
		f ? failed++ : passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	mdc_strvec_clear(&cases);
	mdc_strvec_clear(&only);
	return failed ? 1 : 0;
}
