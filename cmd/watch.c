/*
 * mdcctl watch: a small GitOps agent. Every interval: fetch the git source (or re-read the
 * file), read Azure, plan, and either apply (--apply) or only report. One JSON line per
 * cycle on stdout:
 *
 *   {"time":"2025-05-01T12:00:00Z","commit":"1a2b...","changes":3,"blocked":0,
 *    "applied":3,"failed":0,"duration_ms":5123,"error":null}
 *
 * Cycles run one after the other in this one thread, so two never overlap; a cycle that
 * takes longer than the interval is followed at once by the next. After a cycle that
 * failed for a reason that passes (the git remote or Azure unreachable, throttling, a lock
 * held by another apply) the wait doubles, up to --max-backoff; a success resets it.
 *
 * SIGTERM and SIGINT set a flag. The HTTP loop is not interrupted in the middle of a
 * request: a cycle that is reading finishes reading (nothing was written), and an apply
 * in progress runs to its end (mdc_apply has no cancellation point; its items are short
 * ARM writes with bounded retries), then the cycle's line is printed and watch exits 0.
 * A second signal ends the process at once (default action).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "apply.h"
#include "azure.h"
#include "cmd.h"
#include "common.h"
#include "gitsrc.h"
#include "observe.h"
#include "plan.h"
#include "session.h"
#include "banned.h"

enum { OPT_INTERVAL = OPT_COMMON_MAX, OPT_APPLY, OPT_ONCE, OPT_MAX_BACKOFF };

static const struct option options[] = {
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"apply", no_argument, NULL, OPT_APPLY},
    {"once", no_argument, NULL, OPT_ONCE},
    {"max-backoff", required_argument, NULL, OPT_MAX_BACKOFF},
    CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: mdcctl watch (-f FILE | --git URL --git-path PATH) --interval DURATION [options]\n"
    "\n"
    "Every interval: fetch the configuration, read Azure, plan, and apply (--apply) or only\n"
    "report. One JSON line per cycle on stdout. Runs until SIGTERM or SIGINT (exit 0).\n"
    "\n"
    "      --interval DURATION  time between cycle starts: 30s, 10m, 1h (also 1h30m)\n"
    "      --apply              apply the plan (default: report only, Azure is only read)\n"
    "      --once               run one cycle and exit (0 ok, 1 error or failed items)\n"
    "      --max-backoff DURATION  longest wait after failing cycles (default "
    "1h)\n" CLI_COMMON_HELP;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	if (stop_signal) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
}

/* "30s", "10m", "1h", "1h30m", "500ms" -> milliseconds; -1 when invalid. */
static long long parse_duration_ms(const char *s)
{
	long long total = 0;
	bool any = false;

	while (*s) {
		char *end;
		long long n;

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno || n > 1000000000LL)
			return -1;
		if (!strncmp(end, "ms", 2)) {
			total += n;
			end += 2;
		} else if (*end == 's') {
			total += n * 1000;
			end++;
		} else if (*end == 'm') {
			total += n * 60000;
			end++;
		} else if (*end == 'h') {
			total += n * 3600000;
			end++;
		} else if (*end == 'd') {
			total += n * 86400000;
			end++;
		} else {
			return -1;
		}
		any = true;
		s = end;
	}
	return any ? total : -1;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until deadline (monotonic ms) or a signal. */
static void wait_until(long long deadline)
{
	while (!stop_signal) {
		long long left = deadline - mono_ms();
		struct timespec ts;

		if (left <= 0)
			return;
		if (left > 1000)
			left = 1000;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		nanosleep(&ts, NULL); /* EINTR on a signal: the loop checks the flag */
	}
}

struct cycle {
	time_t started;
	char commit[41];
	size_t changes, blocked, applied, failed;
	long long duration_ms;
	char *error;
	bool transient; /* worth backing off: remote down, throttled, busy */
};

static bool transient_code(int code)
{
	return code == MDC_ENET || code == MDC_ETHROTTLED || code == MDC_EBUSY ||
	       code == MDC_EHTTP || code == MDC_EAUTH;
}

static void fail(struct cycle *cy, const struct mdc_error *err, const char *what)
{
	free(cy->error);
	cy->error = mdc_xasprintf("%s%s%s", what ? what : "", what ? ": " : "",
	                          err->message ? err->message : mdc_errcode_name(err->code));
	cy->transient = transient_code(err->code);
}

struct watch {
	struct cli_common c;
	long long interval_ms, max_backoff_ms;
	bool apply, once;
	struct cli_session conn; /* the credential and ARM client, kept across cycles */
	char *conn_tenant;
	enum mdc_cloud conn_cloud;
};

/* Loads the configuration of this cycle. */
static int load(struct watch *w, struct cycle *cy, struct mdc_config **cfg)
{
	struct mdc_diags diags = {0};
	struct mdc_error err = MDC_ERROR_INIT;
	const char *path = w->c.git_url ? w->c.git_path : w->c.file;
	int rc = 0;

	*cfg = NULL;
	if (w->c.git_url) {
		struct mdc_gitsrc_result res = MDC_GITSRC_RESULT_INIT;
		struct mdc_gitsrc_opts go = {
		    .url = w->c.git_url,
		    .ref = w->c.git_ref,
		    .path = w->c.git_path,
		    .cache_dir = w->c.git_cache,
		    .ca_file = w->c.ca_file,
		    .token = getenv("MDCCTL_GIT_TOKEN"),
		};

		rc = mdc_gitsrc_read(&res, &go, &err);
		if (rc == 0) {
			snprintf(cy->commit, sizeof(cy->commit), "%s", res.commit);
			rc = mdc_config_parse(cfg, res.data.ptr, res.data.len, path, &diags);
		} else {
			fail(cy, &err, NULL);
		}
		mdc_gitsrc_result_release(&res);
	} else {
		rc = mdc_config_load(cfg, path, &diags);
	}
	if (diags.n) {
		cli_print_diags(stderr, path, &diags);
		for (size_t i = 0; i < diags.n && !cy->error; i++)
			if (diags.v[i].severity == MDC_DIAG_ERROR)
				cy->error = mdc_xasprintf("%s:%u:%u: %s", path, diags.v[i].pos.line,
				                          diags.v[i].pos.col, diags.v[i].message);
	}
	if (rc < 0 && !cy->error)
		cy->error = mdc_xasprintf("cannot load '%s'", path);
	mdc_diags_clear(&diags);
	mdc_error_clear(&err);
	return rc < 0 ? -1 : 0;
}

/* Opens the ARM client once, and again when the tenant or the cloud changes. */
static int connect_for(struct watch *w, struct cycle *cy, const struct mdc_config *cfg)
{
	if (w->conn.arm && mdc_streq(w->conn_tenant, cfg->tenant) && w->conn_cloud == cfg->cloud)
		return 0;
	cli_session_close(&w->conn);
	w->conn.opt = &w->c;
	w->conn.cmd = "watch";
	/* report-only watches hold no write capability at all */
	if (cli_session_connect(&w->conn, cfg, !w->apply) != EXIT_OK) {
		cy->error = mdc_xstrdup("cannot open the ARM client (see stderr)");
		return -1;
	}
	free(w->conn_tenant);
	w->conn_tenant = mdc_xstrdup(cfg->tenant);
	w->conn_cloud = cfg->cloud;
	return 0;
}

static void apply_plan(struct watch *w, struct cycle *cy, const struct mdc_plan *plan)
{
	struct mdc_apply_lock *lock = NULL;
	struct mdc_apply_result *res = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	if (mdc_apply_lock_acquire(&lock, plan->workspace, "mdcctl watch --apply", &err) < 0) {
		fail(cy, &err, NULL);
		goto cleanup;
	}
	if (mdc_apply(&res, w->conn.arm, plan, NULL, &err) < 0) {
		fail(cy, &err, "apply");
		goto cleanup;
	}
	cy->applied = res->counts.applied + res->counts.unchanged;
	cy->failed = res->counts.failed + res->counts.skipped;
	for (size_t i = 0; i < res->nitems; i++)
		if (res->items[i].status == MDC_APPLY_FAILED)
			fprintf(stderr, "mdcctl: watch: %s failed: %s\n", plan->items[i].id,
			        res->items[i].message ? res->items[i].message : "");
	if (cy->failed && !cy->error)
		cy->error = mdc_xasprintf("%zu item(s) failed or skipped", cy->failed);
cleanup:
	mdc_apply_result_free(res);
	mdc_apply_lock_release(lock);
	mdc_error_clear(&err);
}

static void run_cycle(struct watch *w, struct cycle *cy)
{
	struct mdc_config *cfg = NULL;
	struct mdc_actual *act = NULL;
	struct mdc_plan *plan = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_http_stats before, after;
	long long t0 = mono_ms();

	cy->started = time(NULL);
	if (load(w, cy, &cfg) < 0 || connect_for(w, cy, cfg) < 0)
		goto cleanup;
	mdc_http_stats(mdc_arm_http(w->conn.arm), &before);
	if (mdc_observe(&act, w->conn.arm, cfg, NULL, &err) < 0) {
		fail(cy, &err, NULL);
		goto cleanup;
	}
	mdc_http_stats(mdc_arm_http(w->conn.arm), &after);
	/* reads that were throttled still count: the next cycle waits longer */
	if (after.throttled > before.throttled)
		cy->transient = true;
	if (mdc_plan_build(&plan, cfg, act,
	                   &(struct mdc_plan_opts){.now = time(NULL),
	                                           .git_commit = cy->commit[0] ? cy->commit : NULL},
	                   &err) < 0) {
		fail(cy, &err, NULL);
		goto cleanup;
	}
	for (size_t i = 0; i < plan->nitems; i++) {
		const struct mdc_plan_item *it = &plan->items[i];
		if (it->blocked)
			cy->blocked++;
		else if (mdc_plan_item_applies(it))
			cy->changes++;
		if ((it->blocked || mdc_plan_item_applies(it)) && w->c.verbose)
			fprintf(stderr, "mdcctl: watch: %s %s%s\n", mdc_action_name(it->action),
			        it->id, it->blocked ? " (blocked)" : "");
	}
	if (w->apply && cy->changes)
		apply_plan(w, cy, plan);
cleanup:
	cy->duration_ms = mono_ms() - t0;
	mdc_plan_free(plan);
	mdc_actual_free(act);
	mdc_config_free(cfg);
	mdc_error_clear(&err);
}

static void print_line(const struct cycle *cy)
{
	cJSON *o = cJSON_CreateObject();
	struct mdc_buf t = MDC_BUF_INIT;
	char *s;

	mdc_plan_format_time(&t, cy->started);
	cJSON_AddStringToObject(o, "time", t.ptr);
	if (cy->commit[0])
		cJSON_AddStringToObject(o, "commit", cy->commit);
	else
		cJSON_AddNullToObject(o, "commit");
	cJSON_AddNumberToObject(o, "changes", (double)cy->changes);
	cJSON_AddNumberToObject(o, "blocked", (double)cy->blocked);
	cJSON_AddNumberToObject(o, "applied", (double)cy->applied);
	cJSON_AddNumberToObject(o, "failed", (double)cy->failed);
	cJSON_AddNumberToObject(o, "duration_ms", (double)cy->duration_ms);
	if (cy->error)
		cJSON_AddStringToObject(o, "error", cy->error);
	else
		cJSON_AddNullToObject(o, "error");
	s = cJSON_PrintUnformatted(o);
	mdc_buf_reset(&t); /* now the line: one write per cycle */
	mdc_buf_adds(&t, s);
	mdc_buf_addch(&t, '\n');
	cli_write_stdout(t.ptr, t.len);
	free(s);
	cJSON_Delete(o);
	mdc_buf_release(&t);
}

static int parse_args(struct watch *w, int argc, char **argv)
{
	int opt;

	cli_common_init(&w->c);
	w->max_backoff_ms = 3600000;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, options, NULL)) != -1) {
		switch (opt) {
		case OPT_INTERVAL:
			w->interval_ms = parse_duration_ms(optarg);
			if (w->interval_ms < 1000)
				return cli_usage(
				    "watch",
				    "--interval needs a duration of at least 1s such as "
				    "30s, 10m or 1h, not '%s'",
				    optarg);
			break;
		case OPT_MAX_BACKOFF:
			w->max_backoff_ms = parse_duration_ms(optarg);
			if (w->max_backoff_ms < 1000)
				return cli_usage("watch",
				                 "--max-backoff needs a duration such as 1h, "
				                 "not '%s'",
				                 optarg);
			break;
		case OPT_APPLY:
			w->apply = true;
			break;
		case OPT_ONCE:
			w->once = true;
			break;
		case '?':
			return cli_option_error("watch", argv, CLI_COMMON_SHORTOPTS);
		default:
			if (cli_common_option(&w->c, "watch", opt, optarg) <= 0)
				return EXIT_USAGE;
		}
	}
	if (w->c.help)
		return EXIT_OK;
	if (optind < argc)
		return cli_usage("watch", "unexpected argument '%s'", argv[optind]);
	if (cli_common_check(&w->c, "watch", true) < 0)
		return EXIT_USAGE;
	if (w->c.file && !strcmp(w->c.file, "-"))
		return cli_usage("watch", "-f - (stdin) cannot be read every interval");
	if (!w->interval_ms && !w->once)
		return cli_usage("watch", "--interval DURATION is required (or --once)");
	return EXIT_OK;
}

int cmd_watch(int argc, char **argv)
{
	struct watch w = {0};
	struct sigaction sa;
	unsigned backoff = 0;
	int rc;

	if ((rc = parse_args(&w, argc, argv)) != EXIT_OK || w.c.help) {
		if (w.c.help)
			fputs(usage_text, stdout);
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = EXIT_OK;
	while (!stop_signal) {
		struct cycle cy = {0};
		long long start = mono_ms(), wait;

		run_cycle(&w, &cy);
		print_line(&cy);
		if (w.once) {
			rc = cy.error ? EXIT_FAIL : EXIT_OK;
			free(cy.error);
			break;
		}
		if (ferror(stdout)) { /* the reader went away */
			free(cy.error);
			rc = EXIT_FAIL;
			break;
		}
		if (cy.transient && backoff < 20)
			backoff++;
		else if (!cy.transient)
			backoff = 0;
		wait = w.interval_ms;
		for (unsigned i = 0; i < backoff && wait < w.max_backoff_ms; i++)
			wait *= 2;
		if (backoff && wait > w.max_backoff_ms)
			wait = w.max_backoff_ms > w.interval_ms ? w.max_backoff_ms : w.interval_ms;
		if (backoff && w.c.verbose)
			fprintf(stderr, "mdcctl: watch: backing off, next cycle in %lld ms\n",
			        wait);
		free(cy.error);
		wait_until(start + wait);
	}
	if (stop_signal && w.c.verbose)
		fprintf(stderr, "mdcctl: watch: stopping on signal %d\n", (int)stop_signal);
	cli_session_close(&w.conn);
	free(w.conn_tenant);
	return rc;
}
