/*
 * reconcile/gitsrc: config from a git repository. Fixture repositories are built with the
 * git command line under a temporary directory (HOME points there too, so no user or
 * system git configuration leaks in); servers bind 127.0.0.1 on a free port and are
 * stopped by the test that started them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "harness.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "error.h"
#include "gitsrc.h"

static char tmp[PATH_MAX];

static void cleanup_tmp(void)
{
	char cmd[PATH_MAX + 16];

	if (tmp[0] && !getenv("MDC_KEEP_TMP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmp);
	}
}

/* Runs a shell command (printf-style) in directory dir; returns its exit status. */
static int sh(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(const char *dir, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;
	int rc;

	mdc_buf_addf(&b, "set -e; cd '%s'; ", dir);
	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	rc = system(b.ptr);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, b.ptr);
	mdc_buf_release(&b);
	return rc;
}

/* The first line of a command's output, in a new string. */
static char *sh_out(const char *dir, const char *cmd)
{
	char *full = mdc_xasprintf("cd '%s' && %s", dir, cmd);
	FILE *p = popen(full, "r");
	char line[256] = "";

	free(full);
	if (!p)
		return mdc_xstrdup("");
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return mdc_xstrdup(line);
}

/* A fixture: <tmp>/<name>/work (where commits are made) pushed to <tmp>/<name>/origin.git,
 * with tenants/prod.yaml = "v: 1\n" on main. */
struct fx {
	char *dir, *work, *origin, *url, *cache;
	struct mdc_gitsrc_opts o;
};

static int fx_init(struct fx *f, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->dir = mdc_xasprintf("%s/%s", tmp, name);
	f->work = mdc_xasprintf("%s/work", f->dir);
	f->origin = mdc_xasprintf("%s/origin.git", f->dir);
	f->url = mdc_xasprintf("file://%s", f->origin);
	f->cache = mdc_xasprintf("%s/cache", f->dir);
	f->o.url = f->url;
	f->o.ref = "main";
	f->o.path = "tenants/prod.yaml";
	f->o.cache_dir = f->cache;
	mkdir(f->dir, 0700);
	return sh(f->dir,
	          "git init -q -b main work && git init -q --bare -b main origin.git && "
	          "cd work && mkdir tenants && printf 'v: 1\\n' > tenants/prod.yaml && "
	          "git add . && git commit -q -m one && git remote add origin ../origin.git && "
	          "git push -q origin main");
}

static void fx_free(struct fx *f)
{
	free(f->dir);
	free(f->work);
	free(f->origin);
	free(f->url);
	free(f->cache);
}

/* Commits content to tenants/prod.yaml on main in work and pushes it. */
static int fx_commit(struct fx *f, const char *content)
{
	return sh(f->work,
	          "printf '%s' > tenants/prod.yaml && git commit -q -am change && "
	          "git push -q origin main",
	          content);
}

static char *fx_head(struct fx *f)
{
	return sh_out(f->work, "git rev-parse HEAD");
}

/* Reads with f->o; returns the code; *msg gets the error message (or ""). */
static int fx_read(struct fx *f, struct mdc_gitsrc_result *r, char **msg)
{
	struct mdc_error err = MDC_ERROR_INIT;
	int rc;

	mdc_gitsrc_result_release(r);
	rc = mdc_gitsrc_read(r, &f->o, &err);
	if (msg)
		*msg = mdc_xstrdup(err.message ? err.message : "");
	else if (rc)
		fprintf(stderr, "unexpected error: %s\n", err.message);
	mdc_error_clear(&err);
	return rc;
}

TEST(reads_file_at_branch)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *head;

	ASSERT_EQ_INT(0, fx_init(&f, "branch"));
	head = fx_head(&f);
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	ASSERT_EQ_INT(5, r.data.len);
	ASSERT_EQ_STR(head, r.commit);
	ASSERT_EQ_STR("refs/heads/main", r.resolved_ref);
	ASSERT_EQ_STR(f.url, r.url);
	/* The cache is bare, with no work tree to be edited, and FETCH_HEAD (which would name
	 * the URL) stays empty. */
	ASSERT_EQ_INT(0,
	              sh(f.cache, "d=$(ls -d */) && test \"$(git --git-dir=\"$d\" rev-parse "
	                          "--is-bare-repository)\" = true && test ! -s \"$d/FETCH_HEAD\""));
	free(head);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(new_commit_changes_bytes_and_commit)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char first[41], *head;

	ASSERT_EQ_INT(0, fx_init(&f, "newcommit"));
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	memcpy(first, r.commit, 41);
	ASSERT_EQ_INT(0, fx_commit(&f, "v: 2\\n"));
	head = fx_head(&f);
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 2\n", r.data.ptr);
	ASSERT_EQ_STR(head, r.commit);
	ASSERT(strcmp(first, r.commit) != 0);
	free(head);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(pinned_commit_does_not_move)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *pinned, abbrev[8];

	ASSERT_EQ_INT(0, fx_init(&f, "pinned"));
	pinned = fx_head(&f);
	ASSERT_EQ_INT(0, fx_commit(&f, "v: 2\\n"));
	ASSERT_EQ_INT(0, fx_commit(&f, "v: 3\\n"));
	f.o.ref = pinned;
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	ASSERT_EQ_STR(pinned, r.commit);
	ASSERT_EQ_STR(pinned, r.resolved_ref);
	/* An abbreviated id resolves to the same commit. */
	snprintf(abbrev, sizeof(abbrev), "%.7s", pinned);
	f.o.ref = abbrev;
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	ASSERT_EQ_STR(pinned, r.commit);
	free(pinned);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(force_pushed_branch_is_followed)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *rewritten, *old, *msg = NULL;

	ASSERT_EQ_INT(0, fx_init(&f, "force"));
	ASSERT_EQ_INT(0, fx_commit(&f, "v: 2\\n"));
	old = fx_head(&f);
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 2\n", r.data.ptr);
	/* Rewrite history: drop "v: 2" and commit something else on top of "v: 1". */
	ASSERT_EQ_INT(0, sh(f.work, "git reset -q --hard HEAD~1 && printf 'v: rewritten\\n' > "
	                            "tenants/prod.yaml && git commit -q -am rewrite && "
	                            "git push -q --force origin main"));
	rewritten = fx_head(&f);
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: rewritten\n", r.data.ptr);
	ASSERT_EQ_STR(rewritten, r.commit);
	/* The rewritten-away commit is still in this cache's objects, but no branch or tag
	 * reaches it any more: a fresh cache could not find it, so this one does not either. */
	f.o.ref = old;
	ASSERT_EQ_INT(MDC_ENOTFOUND, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, "no such branch, tag or commit");
	free(msg);
	free(old);
	free(rewritten);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(annotated_and_lightweight_tags_resolve)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *tagged;

	ASSERT_EQ_INT(0, fx_init(&f, "tag"));
	tagged = fx_head(&f);
	ASSERT_EQ_INT(0, sh(f.work, "git tag -a v1.0 -m release && git tag light && "
	                            "git push -q origin v1.0 light"));
	ASSERT_EQ_INT(0, fx_commit(&f, "v: 2\\n"));
	f.o.ref = "v1.0";
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	ASSERT_EQ_STR(tagged, r.commit); /* the commit, not the tag object */
	ASSERT_EQ_STR("refs/tags/v1.0", r.resolved_ref);
	f.o.ref = "refs/tags/light";
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR(tagged, r.commit);
	ASSERT_EQ_STR("refs/tags/light", r.resolved_ref);
	free(tagged);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(default_ref_is_remote_default_branch)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;

	ASSERT_EQ_INT(0, fx_init(&f, "head"));
	f.o.ref = NULL;
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("refs/heads/main", r.resolved_ref);
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(deleted_branch_is_pruned)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *msg = NULL;

	ASSERT_EQ_INT(0, fx_init(&f, "prune"));
	ASSERT_EQ_INT(0, sh(f.work, "git push -q origin main:feature"));
	f.o.ref = "feature";
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("refs/heads/feature", r.resolved_ref);
	ASSERT_EQ_INT(0, sh(f.work, "git push -q origin :feature"));
	ASSERT_EQ_INT(MDC_ENOTFOUND, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, "no such branch, tag or commit 'feature'");
	free(msg);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(bad_ref_error)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *msg = NULL, *want;

	ASSERT_EQ_INT(0, fx_init(&f, "badref"));
	f.o.ref = "nope";
	ASSERT_EQ_INT(MDC_ENOTFOUND, fx_read(&f, &r, &msg));
	want = mdc_xasprintf("cannot read 'tenants/prod.yaml' at 'nope' in '%s': "
	                     "no such branch, tag or commit 'nope'",
	                     f.url);
	ASSERT_EQ_STR(want, msg);
	free(msg);
	free(want);
	/* A well-formed commit id that does not exist. */
	f.o.ref = "0123456789abcdef0123456789abcdef01234567";
	ASSERT_EQ_INT(MDC_ENOTFOUND, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, "no such branch, tag or commit '0123456789abcdef");
	free(msg);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(bad_path_error)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *msg = NULL, *want, *head;

	ASSERT_EQ_INT(0, fx_init(&f, "badpath"));
	head = fx_head(&f);
	f.o.path = "tenants/dev.yaml";
	ASSERT_EQ_INT(MDC_ENOTFOUND, fx_read(&f, &r, &msg));
	want = mdc_xasprintf("cannot read 'tenants/dev.yaml' at 'main' in '%s': "
	                     "no such file at commit %.7s",
	                     f.url, head);
	ASSERT_EQ_STR(want, msg);
	free(msg);
	free(want);
	f.o.path = "tenants";
	ASSERT_EQ_INT(MDC_EINVALID, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, ": 'tenants' is a directory");
	free(msg);
	f.o.path = "tenants/prod.yaml/x";
	ASSERT_EQ_INT(MDC_EINVALID, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, ": 'tenants/prod.yaml' is not a directory");
	free(msg);
	/* "./" and doubled slashes are harmless spellings of the same path. */
	f.o.path = "./tenants//prod.yaml";
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	free(head);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(escaping_paths_are_refused)
{
	static const struct {
		const char *path, *cause;
	} cases[] = {
	    {"../x", "path escapes the repository"},
	    {"tenants/../../x", "path escapes the repository"},
	    {"tenants/..", "path escapes the repository"},
	    {"/etc/passwd", "absolute path, want a path in the repository"},
	    {"", "empty path"},
	    {"./", "path names no file"},
	};
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;

	ASSERT_EQ_INT(0, fx_init(&f, "escape"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *msg = NULL, *want;

		f.o.path = cases[i].path;
		ASSERT_EQ_INT(MDC_EINVALID, fx_read(&f, &r, &msg));
		want = mdc_xasprintf("cannot read '%s' at 'main' in '%s': %s", cases[i].path, f.url,
		                     cases[i].cause);
		ASSERT_EQ_STR(want, msg);
		free(msg);
		free(want);
	}
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(symlinked_paths_are_refused)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *msg = NULL, *want;

	ASSERT_EQ_INT(0, fx_init(&f, "symlink"));
	ASSERT_EQ_INT(0, sh(f.work, "ln -s tenants linkdir && ln -s tenants/prod.yaml link.yaml && "
	                            "ln -s /etc/passwd passwd.yaml && git add . && "
	                            "git commit -q -m links && git push -q origin main"));
	f.o.path = "linkdir/prod.yaml";
	ASSERT_EQ_INT(MDC_EINVALID, fx_read(&f, &r, &msg));
	want = mdc_xasprintf("cannot read 'linkdir/prod.yaml' at 'main' in '%s': "
	                     "'linkdir' is a symbolic link",
	                     f.url);
	ASSERT_EQ_STR(want, msg);
	free(msg);
	free(want);
	f.o.path = "link.yaml";
	ASSERT_EQ_INT(MDC_EINVALID, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, ": 'link.yaml' is a symbolic link");
	free(msg);
	f.o.path = "passwd.yaml";
	ASSERT_EQ_INT(MDC_EINVALID, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, ": 'passwd.yaml' is a symbolic link");
	ASSERT_EQ_INT(0, r.data.len);
	free(msg);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(oversized_file_is_refused)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *msg = NULL, *want;

	ASSERT_EQ_INT(0, fx_init(&f, "big"));
	ASSERT_EQ_INT(0, sh(f.work,
	                    "head -c %u /dev/zero | tr '\\0' 'a' > tenants/limit.yaml && "
	                    "head -c %u /dev/zero | tr '\\0' 'a' > tenants/big.yaml && "
	                    "git add . && git commit -q -m big && git push -q origin main",
	                    (unsigned)MDC_CONFIG_MAX_BYTES, (unsigned)MDC_CONFIG_MAX_BYTES + 1));
	f.o.path = "tenants/big.yaml";
	ASSERT_EQ_INT(MDC_EINVALID, fx_read(&f, &r, &msg));
	want = mdc_xasprintf("cannot read 'tenants/big.yaml' at 'main' in '%s': file is %u "
	                     "bytes, larger than the limit of %u bytes",
	                     f.url, (unsigned)MDC_CONFIG_MAX_BYTES + 1,
	                     (unsigned)MDC_CONFIG_MAX_BYTES);
	ASSERT_EQ_STR(want, msg);
	ASSERT_EQ_INT(0, r.data.len);
	free(msg);
	free(want);
	/* Exactly the limit is fine. */
	f.o.path = "tenants/limit.yaml";
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_INT(MDC_CONFIG_MAX_BYTES, r.data.len);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(ref_commit_follows_the_branch)
{
	struct fx f;
	struct mdc_error err = MDC_ERROR_INIT;
	char commit[41], *head;

	ASSERT_EQ_INT(0, fx_init(&f, "refcommit"));
	f.o.path = NULL; /* not needed */
	head = fx_head(&f);
	ASSERT_EQ_INT(0, mdc_gitsrc_ref_commit(commit, &f.o, &err));
	ASSERT_EQ_STR(head, commit);
	free(head);
	ASSERT_EQ_INT(0, fx_commit(&f, "v: 2\\n"));
	head = fx_head(&f);
	ASSERT_EQ_INT(0, mdc_gitsrc_ref_commit(commit, &f.o, &err));
	ASSERT_EQ_STR(head, commit);
	f.o.ref = "gone";
	ASSERT_EQ_INT(MDC_ENOTFOUND, mdc_gitsrc_ref_commit(commit, &f.o, &err));
	ASSERT_CONTAINS(err.message, "cannot resolve 'gone' in 'file://");
	ASSERT_CONTAINS(err.message, "no such branch, tag or commit 'gone'");
	mdc_error_clear(&err);
	free(head);
	fx_free(&f);
}

TEST(local_path_and_offline)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *msg = NULL, *moved;

	ASSERT_EQ_INT(0, fx_init(&f, "offline"));
	f.o.url = f.origin; /* a plain path, no file:// */
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	ASSERT_EQ_STR(f.origin, r.url);
	/* With the remote gone, offline reads the cache; online fails with a network error. */
	moved = mdc_xasprintf("%s.moved", f.origin);
	ASSERT_EQ_INT(0, rename(f.origin, moved));
	f.o.offline = true;
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	f.o.offline = false;
	ASSERT(fx_read(&f, &r, &msg) < 0);
	ASSERT_CONTAINS(msg, "cannot fetch: ");
	free(msg);
	/* Offline with nothing cached. */
	f.o.offline = true;
	f.o.cache_dir = moved; /* any directory without this URL's cache */
	ASSERT_EQ_INT(MDC_ENOTFOUND, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, "(offline)");
	free(msg);
	free(moved);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(cache_under_xdg_cache_home)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	unsigned char d[32];
	char hex[65], *repo;
	struct stat st;

	ASSERT_EQ_INT(0, fx_init(&f, "xdg"));
	f.o.cache_dir = NULL;
	setenv("XDG_CACHE_HOME", f.dir, 1);
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	unsetenv("XDG_CACHE_HOME");
	mdc_sha256(f.url, strlen(f.url), d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	repo = mdc_xasprintf("%s/mdcctl/git/%s/HEAD", f.dir, hex);
	ASSERT_EQ_INT(0, stat(repo, &st));
	free(repo);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(locked_cache_waits_then_gives_up)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	unsigned char d[32];
	char hex[65], *lock, *msg = NULL;
	int fd;
	time_t t0;

	ASSERT_EQ_INT(0, fx_init(&f, "lock"));
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL)); /* creates the cache and its lock file */
	mdc_sha256(f.url, strlen(f.url), d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	lock = mdc_xasprintf("%s/%s.lock", f.cache, hex);
	fd = open(lock, O_RDWR);
	ASSERT(fd >= 0);
	ASSERT_EQ_INT(0, flock(fd, LOCK_EX | LOCK_NB)); /* as another process would */
	f.o.lock_timeout_s = 1;
	t0 = time(NULL);
	ASSERT_EQ_INT(MDC_EBUSY, fx_read(&f, &r, &msg));
	ASSERT(time(NULL) - t0 >= 1);
	ASSERT_CONTAINS(msg, "is locked by another process");
	free(msg);
	close(fd);
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	free(lock);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(two_processes_share_one_cache)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	int status = -1, ok = 1;
	pid_t pid;

	ASSERT_EQ_INT(0, fx_init(&f, "concurrent"));
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		for (int i = 0; i < 5; i++) {
			bad |= fx_read(&f, &r, NULL) != 0 || strcmp(r.data.ptr, "v: 1\n") != 0;
			mdc_gitsrc_result_release(&r);
		}
		_exit(bad);
	}
	for (int i = 0; i < 5; i++)
		ok &= fx_read(&f, &r, NULL) == 0 && !strcmp(r.data.ptr, "v: 1\n");
	waitpid(pid, &status, 0);
	ASSERT(ok);
	ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static int wait_for_port(int port, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((unsigned short)port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
		struct timespec ts = {0, 50 * 1000 * 1000};

		close(s);
		if (ok)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static void stop_child(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

TEST(git_daemon_serves_git_protocol)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	int port = free_port();
	char *url, *head, portarg[32], basearg[PATH_MAX + 16];
	pid_t pid;

	ASSERT_EQ_INT(0, fx_init(&f, "daemon"));
	ASSERT(port > 0);
	snprintf(portarg, sizeof(portarg), "--port=%d", port);
	snprintf(basearg, sizeof(basearg), "--base-path=%s", f.dir);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		/* The daemon complains about the readiness probe's empty connection. */
		char *logf = mdc_xasprintf("%s/daemon.log", f.dir);
		int lfd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (lfd >= 0)
			dup2(lfd, 2);
		alarm(120); /* survives exec: no stray daemon if the test fails early */
		execlp("git", "git", "daemon", "--listen=127.0.0.1", portarg, basearg,
		       "--export-all", "--reuseaddr", (char *)NULL);
		_exit(127);
	}
	if (wait_for_port(port, 10000) < 0) {
		stop_child(pid);
		ASSERT(!"git daemon did not start");
	}
	url = mdc_xasprintf("git://127.0.0.1:%d/origin.git", port);
	f.o.url = url;
	head = fx_head(&f);
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	ASSERT_EQ_STR("v: 1\n", r.data.ptr);
	ASSERT_EQ_STR(head, r.commit);
	ASSERT_EQ_STR(url, r.url);
	free(head);
	/* Over git:// too a new commit is seen. */
	ASSERT_EQ_INT(0, fx_commit(&f, "v: 2\\n"));
	head = fx_head(&f);
	ASSERT_EQ_INT(0, fx_read(&f, &r, NULL));
	stop_child(pid);
	ASSERT_EQ_STR("v: 2\n", r.data.ptr);
	ASSERT_EQ_STR(head, r.commit);
	free(head);
	free(url);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

/* Nothing under dir contains needle. */
static int tree_lacks(const char *dir, const char *needle)
{
	return sh(dir, "! grep -r -a -q -F -e '%s' .", needle);
}

TEST(token_never_in_error_message)
{
	static const char token[] = "tok-SECRET-4f9a";
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	int port = free_port(); /* nothing listens there */
	char *url, *msg = NULL, *want_url;

	ASSERT_EQ_INT(0, fx_init(&f, "token"));
	url = mdc_xasprintf("https://alice:pw-SECRET-77@127.0.0.1:%d/soc/config.git", port);
	want_url = mdc_xasprintf("https://127.0.0.1:%d/soc/config.git", port);
	f.o.url = url;
	f.o.token = token;
	ASSERT_EQ_INT(MDC_ENET, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, want_url);
	ASSERT_CONTAINS(msg, "cannot fetch: ");
	ASSERT_NOT_CONTAINS(msg, "SECRET");
	ASSERT_NOT_CONTAINS(msg, "alice");
	ASSERT_EQ_STR(want_url, r.url);
	ASSERT_EQ_INT(0, tree_lacks(f.cache, "SECRET"));
	free(msg);
	free(url);
	free(want_url);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

/* HTTPS: libgit2's own TLS stack verifies the server; ca_file is what it trusts. An
 * `openssl s_server` with a self-signed certificate (not git, it answers HTML) on loopback
 * tells a verification failure from a handshake that passed. */
TEST(https_verifies_against_ca_file)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	int port = free_port();
	char *url, *cert, *key, *msg = NULL, acc[64];
	pid_t pid;

	ASSERT_EQ_INT(0, fx_init(&f, "tls"));
	if (system("command -v openssl >/dev/null") != 0) {
		fprintf(stderr, "skipped: no openssl command\n");
		fx_free(&f);
		return;
	}
	ASSERT_EQ_INT(0, sh(f.dir, "openssl req -x509 -newkey ec -pkeyopt "
	                           "ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 "
	                           "-days 2 -keyout key.pem -out cert.pem 2>/dev/null"));
	cert = mdc_xasprintf("%s/cert.pem", f.dir);
	key = mdc_xasprintf("%s/key.pem", f.dir);
	snprintf(acc, sizeof(acc), "127.0.0.1:%d", port);
	pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		alarm(120); /* survives exec: no stray server if the test fails early */
		execlp("openssl", "openssl", "s_server", "-accept", acc, "-cert", cert, "-key", key,
		       "-www", "-quiet", (char *)NULL);
		_exit(127);
	}
	if (wait_for_port(port, 10000) < 0) {
		stop_child(pid);
		ASSERT(!"openssl s_server did not start");
	}
	url = mdc_xasprintf("https://127.0.0.1:%d/soc/config.git", port);
	f.o.url = url;
	f.o.token = "tok-SECRET-4f9a";
	/* Not trusted by default: refused, whatever the token. */
	ASSERT_EQ_INT(MDC_EAUTH, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, "certificate");
	ASSERT_NOT_CONTAINS(msg, "SECRET");
	free(msg);
	/* Trusted through ca_file: TLS passes and the (non-git) server's answer is the error. */
	f.o.ca_file = cert;
	ASSERT_EQ_INT(MDC_ENET, fx_read(&f, &r, &msg));
	ASSERT_NOT_CONTAINS(msg, "certificate");
	ASSERT_CONTAINS(msg, "content-type");
	free(msg);
	f.o.ca_file = "/nonexistent/ca.pem";
	ASSERT_EQ_INT(MDC_EINVALID, fx_read(&f, &r, &msg));
	ASSERT_CONTAINS(msg, "cannot use CA file '/nonexistent/ca.pem'");
	free(msg);
	stop_child(pid);
	free(url);
	free(cert);
	free(key);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

/* A one-shot HTTP server on 127.0.0.1 that answers every request 401 (Basic) and appends
 * each request's Authorization header (or "none") to a file. Runs in a child process. */
static pid_t start_401_server(int *port_out, const char *log)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	pid_t pid;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		close(s);
		return -1;
	}
	*port_out = ntohs(a.sin_port);
	pid = fork();
	if (pid != 0) {
		close(s);
		return pid;
	}
	alarm(30);
	for (;;) {
		static const char resp[] = "HTTP/1.1 401 Unauthorized\r\n"
		                           "WWW-Authenticate: Basic realm=\"git\"\r\n"
		                           "Content-Length: 0\r\nConnection: close\r\n\r\n";
		char req[8192];
		size_t n = 0;
		ssize_t got;
		int c = accept(s, NULL, NULL);
		FILE *lf;
		char *auth;

		if (c < 0)
			_exit(1);
		while (n < sizeof(req) - 1 && (got = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
			n += (size_t)got;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[n] = '\0';
		auth = strstr(req, "Authorization: ");
		lf = fopen(log, "a");
		if (lf) {
			if (auth)
				fprintf(lf, "%.*s\n", (int)strcspn(auth, "\r\n"), auth);
			else
				fprintf(lf, "none\n");
			fclose(lf);
		}
		if (write(c, resp, sizeof(resp) - 1) < 0)
			_exit(1);
		close(c);
	}
}

TEST(token_sent_as_basic_password_once)
{
	static const struct {
		const char *userinfo, *token, *userpass;
	} cases[] = {
	    {"", "tok-SECRET-4f9a", "x-access-token:tok-SECRET-4f9a"},
	    {"alice@", "tok-SECRET-4f9a", "alice:tok-SECRET-4f9a"},
	    {"alice:pw-SECRET-77@", NULL, "alice:pw-SECRET-77"},
	    {"alice:pw-SECRET-77@", "tok-SECRET-4f9a", "alice:tok-SECRET-4f9a"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
		struct mdc_buf seen = MDC_BUF_INIT;
		char name[32], *log, *url, *msg = NULL, *b64, *want, *cmd;
		int port = 0;
		pid_t pid;

		snprintf(name, sizeof(name), "basic%zu", i);
		ASSERT_EQ_INT(0, fx_init(&f, name));
		log = mdc_xasprintf("%s/requests.log", f.dir);
		pid = start_401_server(&port, log);
		ASSERT(pid > 0);
		url =
		    mdc_xasprintf("http://%s127.0.0.1:%d/soc/config.git", cases[i].userinfo, port);
		f.o.url = url;
		f.o.token = cases[i].token;
		ASSERT_EQ_INT(MDC_EAUTH, fx_read(&f, &r, &msg));
		stop_child(pid);
		ASSERT_CONTAINS(msg, "the credentials were refused");
		ASSERT_NOT_CONTAINS(msg, "SECRET");
		ASSERT_NOT_CONTAINS(msg, "alice");
		ASSERT_EQ_INT(0, mdc_buf_read_file(&seen, log, 1 << 20));
		/* The first request goes without credentials, the retry carries them, and
		 * after their refusal no third request is made. */
		cmd = mdc_xasprintf("printf '%s' | base64 -w0", cases[i].userpass);
		b64 = sh_out(f.dir, cmd);
		want = mdc_xasprintf("none\nAuthorization: Basic %s\n", b64);
		ASSERT_EQ_STR(want, seen.ptr);
		ASSERT_EQ_INT(0, tree_lacks(f.cache, "SECRET"));
		free(cmd);
		free(b64);
		free(want);
		free(msg);
		free(url);
		free(log);
		mdc_buf_release(&seen);
		mdc_gitsrc_result_release(&r);
		fx_free(&f);
	}
}

TEST(no_token_asks_for_one)
{
	struct fx f;
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	char *log, *url, *msg = NULL;
	int port = 0;
	pid_t pid;

	ASSERT_EQ_INT(0, fx_init(&f, "notoken"));
	log = mdc_xasprintf("%s/requests.log", f.dir);
	pid = start_401_server(&port, log);
	ASSERT(pid > 0);
	url = mdc_xasprintf("http://127.0.0.1:%d/soc/config.git", port);
	f.o.url = url;
	ASSERT_EQ_INT(MDC_EAUTH, fx_read(&f, &r, &msg));
	stop_child(pid);
	ASSERT_CONTAINS(msg, "authentication required (set MDCCTL_GIT_TOKEN)");
	free(msg);
	free(url);
	free(log);
	mdc_gitsrc_result_release(&r);
	fx_free(&f);
}

TEST(credential_type_selection)
{
	struct mdc_gitsrc_opts o = {.token = "tok-SECRET"};
	struct mdc_buf d = MDC_BUF_INIT;

	/* HTTPS: the token as the password of x-access-token, or of the URL's user. */
	ASSERT_EQ_INT(GIT_CREDENTIAL_USERPASS_PLAINTEXT,
	              mdc_gitsrc_test_credential(&o, "https://git.example.com/soc/c.git", NULL,
	                                         GIT_CREDENTIAL_USERPASS_PLAINTEXT, &d));
	ASSERT_EQ_STR("userpass x-access-token ***", d.ptr);
	mdc_buf_reset(&d);
	ASSERT_EQ_INT(GIT_CREDENTIAL_USERPASS_PLAINTEXT,
	              mdc_gitsrc_test_credential(&o, "https://bob@git.example.com/soc/c.git", "bob",
	                                         GIT_CREDENTIAL_USERPASS_PLAINTEXT, &d));
	ASSERT_EQ_STR("userpass bob ***", d.ptr);
	mdc_buf_reset(&d);
	/* Not over plain http to another host. */
	ASSERT_EQ_INT(-1, mdc_gitsrc_test_credential(&o, "http://git.example.com/soc/c.git", NULL,
	                                             GIT_CREDENTIAL_USERPASS_PLAINTEXT, &d));
	ASSERT_CONTAINS(d.ptr, "the token is sent over https only");
	ASSERT_NOT_CONTAINS(d.ptr, "SECRET");
	mdc_buf_reset(&d);
	/* SSH: the agent unless a key file is given; the user from the URL, else "git". */
	o.token = NULL;
	ASSERT_EQ_INT(GIT_CREDENTIAL_SSH_KEY,
	              mdc_gitsrc_test_credential(
	                  &o, "git@github.com:soc/c.git", "git",
	                  GIT_CREDENTIAL_SSH_KEY | GIT_CREDENTIAL_USERPASS_PLAINTEXT, &d));
	ASSERT_EQ_STR("ssh-agent git", d.ptr);
	mdc_buf_reset(&d);
	o.ssh_key = "/keys/id_ed25519";
	ASSERT_EQ_INT(GIT_CREDENTIAL_SSH_KEY,
	              mdc_gitsrc_test_credential(&o, "ssh://deploy@git.example.com/soc/c.git",
	                                         "deploy", GIT_CREDENTIAL_SSH_KEY, &d));
	ASSERT_EQ_STR("ssh-key deploy /keys/id_ed25519", d.ptr);
	mdc_buf_reset(&d);
	ASSERT_EQ_INT(GIT_CREDENTIAL_USERNAME,
	              mdc_gitsrc_test_credential(&o, "ssh://git.example.com/soc/c.git", NULL,
	                                         GIT_CREDENTIAL_USERNAME, &d));
	ASSERT_EQ_STR("username git", d.ptr);
	mdc_buf_reset(&d);
	/* HTTPS without a token: none, with the hint. */
	o.ssh_key = NULL;
	ASSERT_EQ_INT(-1, mdc_gitsrc_test_credential(&o, "https://git.example.com/soc/c.git", NULL,
	                                             GIT_CREDENTIAL_USERPASS_PLAINTEXT, &d));
	ASSERT_CONTAINS(d.ptr, "set MDCCTL_GIT_TOKEN");
	mdc_buf_release(&d);
}

TEST(ssh_host_key_must_be_in_known_hosts)
{
	static const unsigned char key_a[] = {0xfb, 0xff, 0xfe, 1, 2, 3};
	static const char key_b[] = "key-B-rsa-bytes!";
	struct mdc_gitsrc_opts o = {0};
	char *kh = mdc_xasprintf("%s/known_hosts", tmp);
	FILE *f = fopen(kh, "w");

	ASSERT(f);
	fprintf(f, "# comment\n"
	           "|1|c2FsdA==|aGFzaA== ssh-ed25519 +//+AQID\n"
	           "github.com,140.82.112.3 ssh-ed25519 +//+AQID\n"
	           "[git.example.com]:2222 ssh-rsa a2V5LUItcnNhLWJ5dGVzIQ==\n");
	fclose(f);
	o.known_hosts = kh;
	o.url = "git@github.com:soc/c.git";
	ASSERT_EQ_INT(0, mdc_gitsrc_test_hostkey(&o, "github.com", key_a, sizeof(key_a)));
	ASSERT(mdc_gitsrc_test_hostkey(&o, "github.com", key_b, strlen(key_b)) < 0);
	ASSERT(mdc_gitsrc_test_hostkey(&o, "gitlab.com", key_a, sizeof(key_a)) < 0);
	o.url = "ssh://git@git.example.com:2222/soc/c.git";
	ASSERT_EQ_INT(0, mdc_gitsrc_test_hostkey(&o, "git.example.com", key_b, strlen(key_b)));
	/* The entry is for port 2222 only. */
	o.url = "ssh://git@git.example.com/soc/c.git";
	ASSERT(mdc_gitsrc_test_hostkey(&o, "git.example.com", key_b, strlen(key_b)) < 0);
	o.known_hosts = "/nonexistent/known_hosts";
	o.url = "git@github.com:soc/c.git";
	ASSERT(mdc_gitsrc_test_hostkey(&o, "github.com", key_a, sizeof(key_a)) < 0);
	free(kh);
}

TEST(display_url_strips_credentials)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"https://x-access-token:ghp_123@github.com/soc/c.git", "https://github.com/soc/c.git"},
	    {"https://alice@git.example.com:8443/c.git", "https://git.example.com:8443/c.git"},
	    {"https://u:p%40ss@[::1]:8443/c.git", "https://[::1]:8443/c.git"},
	    {"https://git.example.com/a@b/c.git", "https://git.example.com/a@b/c.git"},
	    {"ssh://git@git.example.com/soc/c.git", "ssh://git.example.com/soc/c.git"},
	    {"git://127.0.0.1:9418/c.git", "git://127.0.0.1:9418/c.git"},
	    {"git@github.com:soc/c.git", "git@github.com:soc/c.git"},
	    {"file:///srv/git/c.git", "file:///srv/git/c.git"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = mdc_gitsrc_display_url(cases[i].in);
		int ok = got && !strcmp(got, cases[i].want);

		if (!ok)
			fprintf(stderr, "%s -> %s\n", cases[i].in, got ? got : "(null)");
		free(got);
		ASSERT(ok);
	}
}

TEST(version_names_libgit2)
{
	int major, minor, rev;
	char want[32];

	git_libgit2_version(&major, &minor, &rev);
	snprintf(want, sizeof(want), "libgit2 %d.%d.%d (", major, minor, rev);
	ASSERT(!strncmp(mdc_gitsrc_version(), want, strlen(want)));
}

TEST(missing_options_are_errors)
{
	struct mdc_gitsrc_opts o = {0};
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT_EQ_INT(MDC_EINVALID, mdc_gitsrc_read(&r, &o, &err));
	ASSERT_EQ_STR("no git repository URL given", err.message);
	o.url = "file:///nonexistent";
	ASSERT_EQ_INT(MDC_EINVALID, mdc_gitsrc_read(&r, &o, &err));
	ASSERT_EQ_STR("no path in the git repository given", err.message);
	mdc_error_clear(&err);
	mdc_gitsrc_result_release(&r);
	mdc_gitsrc_result_release(NULL);
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *home;

	snprintf(tmp, sizeof(tmp), "%s/mdc-gitsrc-XXXXXX", base);
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup_tmp);
	/* Keep the user's and the system's git configuration out of the fixtures. */
	home = mdc_xasprintf("%s/home", tmp);
	mkdir(home, 0700);
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "t", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "t", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("XDG_CONFIG_HOME");
	free(home);
	return mdc_test_main(argc, argv);
}
