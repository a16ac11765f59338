#include "gitsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/credential.h>

#include "config.h"
#include "crypto.h"
#include "util.h"
#include "banned.h"

#define REMOTE_PREFIX          "refs/remotes/origin/"
#define DEFAULT_LOCK_TIMEOUT_S 120

/* A URL taken apart: what libgit2 sees, what messages show, and the credentials. */
struct url_parts {
	char *transport; /* the URL libgit2 fetches: no user information */
	char *display;   /* the URL without user information */
	char *user;      /* percent-decoded, or NULL */
	char *password;  /* percent-decoded, or NULL */
	char *host;      /* or NULL for local paths */
	char *port;      /* or NULL when the URL names none */
	bool https;
	bool http;
};

struct cred_ctx {
	const struct mdc_gitsrc_opts *o;
	const char *user;   /* from the URL */
	const char *port;   /* from the URL, for "[host]:port" in known_hosts */
	const char *secret; /* token, else the URL's password */
	bool secret_allowed;
	int userpass_tries;
	int ssh_tries;
	bool refused; /* credentials were asked for and none (more) could be given */
};

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

static void url_parts_release(struct url_parts *u)
{
	free(u->transport);
	free(u->display);
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->port);
	memset(u, 0, sizeof(*u));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *percent_decode(const char *s, size_t len)
{
	struct mdc_buf b = MDC_BUF_INIT;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			mdc_buf_addch(&b, hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			mdc_buf_addch(&b, s[i]);
		}
	}
	return mdc_buf_detach(&b);
}

static bool is_scp_like(const char *url)
{
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');

	return colon && colon != url && (!slash || colon < slash);
}

static void parse_url(struct url_parts *u, const char *url)
{
	const char *sep = strstr(url, "://");

	memset(u, 0, sizeof(*u));
	if (sep) {
		const char *auth = sep + 3;
		const char *end = auth + strcspn(auth, "/?#");
		const char *at = NULL, *hostport, *pw = NULL, *portsep = NULL;
		int schemelen = (int)(sep - url);

		for (const char *p = auth; p < end; p++)
			if (*p == '@')
				at = p;
		hostport = at ? at + 1 : auth;
		if (at) {
			pw = memchr(auth, ':', (size_t)(at - auth));
			u->user = percent_decode(auth, (size_t)((pw ? pw : at) - auth));
			if (pw)
				u->password = percent_decode(pw + 1, (size_t)(at - pw - 1));
			if (!*u->user) {
				free(u->user);
				u->user = NULL;
			}
		}
		if (*hostport == '[') {
			const char *close = memchr(hostport, ']', (size_t)(end - hostport));

			if (close) {
				u->host =
				    mdc_xstrndup(hostport + 1, (size_t)(close - hostport - 1));
				portsep = close[1] == ':' ? close + 1 : NULL;
			} else {
				u->host = mdc_xstrndup(hostport, (size_t)(end - hostport));
			}
		} else {
			u->host = mdc_xstrndup(hostport, (size_t)(end - hostport));
			u->host[strcspn(u->host, ":")] = '\0';
			portsep = memchr(hostport, ':', (size_t)(end - hostport));
		}
		if (portsep && portsep + 1 < end)
			u->port = mdc_xstrndup(portsep + 1, (size_t)(end - portsep - 1));
		u->https = schemelen == 5 && !strncmp(url, "https", 5);
		u->http = schemelen == 4 && !strncmp(url, "http", 4);
		u->display = mdc_xasprintf("%.*s%s", schemelen + 3, url, hostport);
		/* libgit2 gets no user information either: the credential callback supplies
		 * the user, so neither it nor a password can surface in libgit2's messages. */
		u->transport = mdc_xstrdup(u->display);
	} else if (is_scp_like(url)) {
		const char *colon = strchr(url, ':');
		const char *at = memchr(url, '@', (size_t)(colon - url));

		if (at)
			u->user = mdc_xstrndup(url, (size_t)(at - url));
		u->host = mdc_xstrndup(at ? at + 1 : url, (size_t)(colon - (at ? at + 1 : url)));
		u->transport = mdc_xstrdup(url);
		u->display = mdc_xstrdup(url);
	} else {
		/* A local path: absolute, so that the cache key does not depend on the cwd. */
		char *abs = realpath(url, NULL);

		u->transport = mdc_xstrdup(abs ? abs : url);
		u->display = mdc_xstrdup(abs ? abs : url);
		free(abs);
	}
}

char *mdc_gitsrc_display_url(const char *url)
{
	struct url_parts u;
	char *s;

	if (!url)
		return NULL;
	parse_url(&u, url);
	s = u.display;
	u.display = NULL;
	url_parts_release(&u);
	return s;
}

static bool is_loopback(const char *host)
{
	return host &&
	       (!strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1"));
}

/* libgit2 calls this again after each refusal; one try per kind of credential, so a bad
 * token fails instead of looping. */
static int credential_cb(git_credential **out, const char *url, const char *username_from_url,
                         unsigned int allowed, void *payload)
{
	struct cred_ctx *c = payload;
	const struct mdc_gitsrc_opts *o = c->o;
	const char *user = username_from_url && *username_from_url ? username_from_url : c->user;

	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && c->secret && c->secret_allowed &&
	    !c->userpass_tries++)
		return git_credential_userpass_plaintext_new(out, user ? user : "x-access-token",
		                                             c->secret);
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !c->ssh_tries++) {
		if (o->ssh_key)
			return git_credential_ssh_key_new(out, user ? user : "git", o->ssh_key_pub,
			                                  o->ssh_key, o->ssh_passphrase);
		return git_credential_ssh_key_from_agent(out, user ? user : "git");
	}
	if ((allowed & GIT_CREDENTIAL_USERNAME) && !c->ssh_tries)
		return git_credential_username_new(out, user ? user : "git");

	c->refused = true;
	if (c->userpass_tries || c->ssh_tries)
		git_error_set_str(GIT_ERROR_NET, "the credentials were refused");
	else if (c->secret && !c->secret_allowed)
		git_error_set_str(GIT_ERROR_NET,
		                  "authentication required; the token is sent over https only");
	else if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
		git_error_set_str(GIT_ERROR_NET, "authentication required (set MDCCTL_GIT_TOKEN)");
	else
		git_error_set_str(GIT_ERROR_NET,
		                  "authentication required and no usable credential");
	return GIT_EAUTH;
}

/* libgit2 1.5 does not check SSH host keys itself: accept a key only when known_hosts
 * lists it for the host (plain host names, "[host]:port" forms included). X.509
 * certificates keep libgit2's verdict (GIT_PASSTHROUGH never turns a failure into a pass). */
static int known_hosts_has(const char *file, const char *host, const char *port, const char *key,
                           size_t keylen)
{
	char *want =
	    port && strcmp(port, "22") ? mdc_xasprintf("[%s]:%s", host, port) : mdc_xstrdup(host);
	FILE *f = fopen(file, "r");
	char line[16384];
	int found = 0;

	if (!f) {
		free(want);
		return 0;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *hsave = NULL, *hosts, *type, *b64;
		unsigned char *raw = NULL;
		size_t rawlen = 0;

		if (line[0] == '#' || line[0] == '@' || line[0] == '|')
			continue;
		hosts = strtok_r(line, " \t\r\n", &save);
		type = strtok_r(NULL, " \t\r\n", &save);
		b64 = strtok_r(NULL, " \t\r\n", &save);
		if (!hosts || !type || !b64)
			continue;
		for (char *p = b64; *p; p++)
			*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
		for (char *h = strtok_r(hosts, ",", &hsave); h && !found;
		     h = strtok_r(NULL, ",", &hsave)) {
			if (strcmp(h, want))
				continue;
			if (mdc_base64url_decode(b64, &raw, &rawlen) == 0 && rawlen == keylen &&
			    !memcmp(raw, key, keylen))
				found = 1;
			free(raw);
			raw = NULL;
		}
	}
	fclose(f);
	free(want);
	return found;
}

static int certificate_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct cred_ctx *c = payload;
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	char *file = NULL;
	int ok;

	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return GIT_PASSTHROUGH;
	if (!(hk->type & GIT_CERT_SSH_RAW)) {
		git_error_set_str(GIT_ERROR_SSH, "cannot check the ssh host key");
		return GIT_ECERTIFICATE;
	}
	if (c->o->known_hosts)
		file = mdc_xstrdup(c->o->known_hosts);
	else if (getenv("HOME"))
		file = mdc_xasprintf("%s/.ssh/known_hosts", getenv("HOME"));
	ok = file && host && known_hosts_has(file, host, c->port, hk->hostkey, hk->hostkey_len);
	free(file);
	if (!ok) {
		git_error_set(GIT_ERROR_SSH, "host key of '%s' is not in known_hosts",
		              host ? host : "?");
		return GIT_ECERTIFICATE;
	}
	return 0;
}

int mdc_gitsrc_test_credential(const struct mdc_gitsrc_opts *o, const char *url,
                               const char *user_from_url, unsigned int allowed_types,
                               struct mdc_buf *desc)
{
	struct url_parts u;
	struct cred_ctx c = {0};
	git_credential *cred = NULL;
	int type = -1;

	parse_url(&u, url);
	c.o = o;
	c.user = u.user;
	c.secret = o->token && *o->token ? o->token : u.password;
	c.secret_allowed = u.https || (u.http && is_loopback(u.host));
	git_libgit2_init();
	if (credential_cb(&cred, url, user_from_url, allowed_types, &c) < 0 || !cred) {
		mdc_buf_addf(desc, "none: %s", git_msg());
	} else {
		type = (int)cred->credtype;
		if (type == GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
			struct git_credential_userpass_plaintext *up = (void *)cred;
			mdc_buf_addf(desc, "userpass %s ***", up->username);
		} else if (type == GIT_CREDENTIAL_SSH_KEY) {
			struct git_credential_ssh_key *k = (void *)cred;
			if (k->privatekey)
				mdc_buf_addf(desc, "ssh-key %s %s", k->username, k->privatekey);
			else
				mdc_buf_addf(desc, "ssh-agent %s", k->username);
		} else if (type == GIT_CREDENTIAL_USERNAME) {
			struct git_credential_username *un = (void *)cred;
			mdc_buf_addf(desc, "username %s", un->username);
		}
	}
	git_credential_free(cred);
	git_libgit2_shutdown();
	url_parts_release(&u);
	return type;
}

int mdc_gitsrc_test_hostkey(const struct mdc_gitsrc_opts *o, const char *host, const void *key,
                            size_t keylen)
{
	struct cred_ctx c = {.o = o};
	struct url_parts u = {0};
	git_cert_hostkey hk;
	int rc;

	if (o->url) {
		parse_url(&u, o->url);
		c.port = u.port;
	}
	memset(&hk, 0, sizeof(hk));
	hk.parent.cert_type = GIT_CERT_HOSTKEY_LIBSSH2;
	hk.type = GIT_CERT_SSH_RAW | GIT_CERT_SSH_SHA256;
	hk.hostkey = key;
	hk.hostkey_len = keylen;
	git_libgit2_init();
	rc = certificate_cb(&hk.parent, 1, host, &c);
	git_libgit2_shutdown();
	url_parts_release(&u);
	return rc;
}

static pthread_once_t version_once = PTHREAD_ONCE_INIT;
static char version_str[96];

static void version_init(void)
{
	int major = 0, minor = 0, rev = 0;
	int features = git_libgit2_features();

	git_libgit2_version(&major, &minor, &rev);
	snprintf(version_str, sizeof(version_str), "libgit2 %d.%d.%d (%s%s%s)", major, minor, rev,
	         features & GIT_FEATURE_HTTPS ? "https" : "no https", ", ",
	         features & GIT_FEATURE_SSH ? "ssh" : "no ssh");
}

const char *mdc_gitsrc_version(void)
{
	pthread_once(&version_once, version_init);
	return version_str;
}

void mdc_gitsrc_result_release(struct mdc_gitsrc_result *r)
{
	if (!r)
		return;
	mdc_buf_release(&r->data);
	free(r->resolved_ref);
	free(r->url);
	memset(r, 0, sizeof(*r));
	r->data = (struct mdc_buf)MDC_BUF_INIT;
}

/* Everything one read needs, freed in one place. */
struct src {
	const struct mdc_gitsrc_opts *o;
	const char *ref;    /* o->ref or "HEAD" */
	struct mdc_buf ctx; /* "cannot read 'P' at 'R' in 'U'" */
	struct url_parts url;
	struct cred_ctx cred;
	char *repo_dir;
	int lock_fd;
	git_repository *repo;
};

/* Sets err to "<ctx>: <message>", with any secret replaced by "***". */
static int fail(struct src *s, struct mdc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct src *s, struct mdc_error *err, int code, const char *fmt, ...)
{
	struct mdc_buf b = MDC_BUF_INIT, clean = MDC_BUF_INIT;
	const char *secrets[2] = {s->o->token, s->url.password};
	va_list ap;

	mdc_buf_addf(&b, "%s: ", s->ctx.ptr);
	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	for (int i = 0; i < 2; i++) {
		const char *p = b.ptr, *hit;
		size_t n;

		if (!secrets[i] || !*secrets[i])
			continue;
		n = strlen(secrets[i]);
		mdc_buf_reset(&clean);
		while ((hit = strstr(p, secrets[i]))) {
			mdc_buf_add(&clean, p, (size_t)(hit - p));
			mdc_buf_adds(&clean, "***");
			p = hit + n;
		}
		mdc_buf_adds(&clean, p);
		mdc_buf_reset(&b);
		mdc_buf_add(&b, clean.ptr, clean.len);
	}
	mdc_error_set(err, code, "%s", b.ptr);
	mdc_buf_release(&b);
	mdc_buf_release(&clean);
	return code;
}

static int mkdir_p(const char *path)
{
	char *p = mdc_xstrdup(path);
	int rc = 0;

	for (char *q = p + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			rc = -1;
		*q = '/';
		if (rc)
			break;
	}
	if (!rc && mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

static int open_cache(struct src *s, struct mdc_error *err)
{
	const struct mdc_gitsrc_opts *o = s->o;
	unsigned char digest[32];
	char hex[65];
	char *root = NULL, *lock = NULL;
	const char *env;
	int timeout_ms =
	    (o->lock_timeout_s > 0 ? o->lock_timeout_s : DEFAULT_LOCK_TIMEOUT_S) * 1000;
	int rc = 0;

	if (o->cache_dir && *o->cache_dir)
		root = mdc_xstrdup(o->cache_dir);
	else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
		root = mdc_xasprintf("%s/mdcctl/git", env);
	else if ((env = getenv("HOME")) && *env)
		root = mdc_xasprintf("%s/.cache/mdcctl/git", env);
	else
		return fail(s, err, MDC_EINVALID, "no cache directory: set XDG_CACHE_HOME or HOME");
	if (mkdir_p(root) < 0) {
		rc = fail(s, err, MDC_EIO, "cannot create cache directory '%s': %s", root,
		          strerror(errno));
		goto cleanup;
	}
	mdc_sha256(s->url.display, strlen(s->url.display), digest);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	s->repo_dir = mdc_xasprintf("%s/%s", root, hex);
	lock = mdc_xasprintf("%s/%s.lock", root, hex);

	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		rc = fail(s, err, MDC_EIO, "cannot open lock file '%s': %s", lock, strerror(errno));
		goto cleanup;
	}
	for (int waited = 0; flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0; waited += 100) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = fail(s, err, MDC_EIO, "cannot lock '%s': %s", lock, strerror(errno));
			goto cleanup;
		}
		if (waited >= timeout_ms) {
			rc = fail(s, err, MDC_EBUSY,
			          "cache '%s' is locked by another process (waited %d s)",
			          s->repo_dir, timeout_ms / 1000);
			goto cleanup;
		}
		nanosleep(&ts, NULL);
	}

	if (git_repository_open_bare(&s->repo, s->repo_dir) < 0) {
		if (o->offline) {
			rc = fail(s, err, MDC_ENOTFOUND, "not in the cache '%s' (offline)",
			          s->repo_dir);
			goto cleanup;
		}
		if (git_repository_init(&s->repo, s->repo_dir, 1) < 0) {
			rc = fail(s, err, MDC_EIO, "cannot create cache '%s': %s", s->repo_dir,
			          git_msg());
			goto cleanup;
		}
	}

cleanup:
	free(root);
	free(lock);
	return rc;
}

static bool advertised(const git_remote_head **heads, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(heads[i]->name, name))
			return true;
	return false;
}

/* Removes branches and tags the remote no longer has, as `git fetch --prune --prune-tags`
 * would, so that a deleted branch does not resolve to a stale commit. */
static int prune(git_repository *repo, const git_remote_head **heads, size_t n)
{
	static const char *globs[] = {REMOTE_PREFIX "*", "refs/tags/*"};
	struct mdc_strvec gone = {0};
	int rc = 0;

	for (size_t g = 0; g < 2 && !rc; g++) {
		git_reference_iterator *it = NULL;
		const char *name;

		if ((rc = git_reference_iterator_glob_new(&it, repo, globs[g])) < 0)
			break;
		while (git_reference_next_name(&name, it) == 0) {
			char *remote_name;

			if (!strcmp(name, REMOTE_PREFIX "HEAD"))
				continue;
			remote_name =
			    g ? mdc_xstrdup(name)
			      : mdc_xasprintf("refs/heads/%s", name + strlen(REMOTE_PREFIX));
			if (!advertised(heads, n, remote_name))
				mdc_strvec_push(&gone, name);
			free(remote_name);
		}
		git_reference_iterator_free(it);
	}
	for (size_t i = 0; i < gone.n && !rc; i++)
		rc = git_reference_remove(repo, gone.v[i]);
	mdc_strvec_clear(&gone);
	return rc;
}

static int fetch(struct src *s, struct mdc_error *err)
{
	static char *specs[] = {"+refs/heads/*:" REMOTE_PREFIX "*", "+refs/tags/*:refs/tags/*"};
	git_strarray refspecs = {specs, 2};
	git_remote *remote = NULL;
	git_remote_create_options ro;
	git_remote_callbacks cbs;
	git_fetch_options fo;
	git_buf head = {0};
	git_reference *sym = NULL;
	const git_remote_head **heads;
	size_t nheads;
	int rc;

	git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	cbs.credentials = credential_cb;
	cbs.certificate_check = certificate_cb;
	cbs.payload = &s->cred;
	fo.callbacks = cbs;
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0; /* FETCH_HEAD would record the URL in a file */
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	/* A redirect to another host must not carry the token there. */
	fo.follow_redirects =
	    s->cred.secret ? GIT_REMOTE_REDIRECT_NONE : GIT_REMOTE_REDIRECT_INITIAL;

	/* In-memory and nameless, so the URL is stored nowhere; insteadOf rewrites from the
	 * user's git configuration are not applied: the URL given is the one fetched. */
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = s->repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if ((rc = git_remote_create_with_opts(&remote, s->url.transport, &ro)) < 0 ||
	    (rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cbs, NULL, NULL)) < 0 ||
	    (rc = git_remote_download(remote, &refspecs, &fo)) < 0 ||
	    (rc = git_remote_update_tips(remote, &cbs, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE,
	                                 "mdcctl: fetch")) < 0 ||
	    (rc = git_remote_ls(&heads, &nheads, remote)) < 0 ||
	    (rc = prune(s->repo, heads, nheads)) < 0) {
		int code = rc == GIT_EAUTH || rc == GIT_ECERTIFICATE || s->cred.refused ? MDC_EAUTH
		                                                                        : MDC_ENET;
		rc = fail(s, err, code, "cannot fetch: %s", git_msg());
		goto cleanup;
	}

	/* refs/remotes/origin/HEAD follows the remote's default branch, for ref "HEAD". */
	if (git_remote_default_branch(&head, remote) == 0 &&
	    !strncmp(head.ptr, "refs/heads/", 11)) {
		char *target = mdc_xasprintf(REMOTE_PREFIX "%s", head.ptr + 11);

		rc = git_reference_symbolic_create(&sym, s->repo, REMOTE_PREFIX "HEAD", target, 1,
		                                   "mdcctl: fetch");
		free(target);
	} else {
		git_reference_remove(s->repo, REMOTE_PREFIX "HEAD");
		rc = 0;
	}
	if (rc < 0)
		rc = fail(s, err, MDC_EIO, "cannot update the cache: %s", git_msg());

cleanup:
	if (remote)
		git_remote_disconnect(remote);
	git_reference_free(sym);
	git_buf_dispose(&head);
	git_remote_free(remote);
	return rc;
}

static bool is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (hexval(*s) < 0)
			return false;
	return true;
}

/* Looks name up and peels it to a commit. Returns 1 found, 0 not found, <0 error set. */
static int peel_ref(struct src *s, const char *name, git_oid *oid, struct mdc_error *err)
{
	git_reference *ref = NULL;
	git_object *obj = NULL;
	int rc = git_reference_lookup(&ref, s->repo, name);

	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return 0;
	if (rc < 0)
		return fail(s, err, MDC_EIO, "cannot read '%s': %s", name, git_msg());
	if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0) {
		rc = fail(s, err, MDC_EINVALID, "'%s' does not point to a commit", name);
	} else {
		git_oid_cpy(oid, git_object_id(obj));
		rc = 1;
	}
	git_object_free(obj);
	git_reference_free(ref);
	return rc;
}

/* A commit id counts only when a fetched branch or tag reaches it, so that a fresh cache
 * and an old one (still holding commits rewritten away upstream) agree. */
static int reachable(struct src *s, const git_oid *commit)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	git_oid *tips = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0;

	if (git_reference_iterator_new(&it, s->repo) < 0)
		return 0;
	while (git_reference_next(&ref, it) == 0) {
		git_object *obj = NULL;

		if (git_reference_type(ref) == GIT_REFERENCE_DIRECT &&
		    git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			MDC_ALLOC_GROW(tips, n + 1, alloc);
			git_oid_cpy(&tips[n++], git_object_id(obj));
		}
		git_object_free(obj);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	for (size_t i = 0; i < n && !rc; i++)
		rc = git_oid_equal(&tips[i], commit);
	if (!rc && n)
		rc = git_graph_reachable_from_any(s->repo, commit, tips, n) == 1;
	free(tips);
	return rc;
}

static int resolve(struct src *s, git_oid *oid, char **resolved, struct mdc_error *err)
{
	const char *r = s->ref;
	size_t len = strlen(r);
	char *name = NULL;
	int rc;

	*resolved = NULL;
	if (!strcmp(r, "HEAD")) {
		git_reference *head = NULL;

		if (git_reference_lookup(&head, s->repo, REMOTE_PREFIX "HEAD") < 0 ||
		    git_reference_type(head) != GIT_REFERENCE_SYMBOLIC) {
			git_reference_free(head);
			return fail(s, err, MDC_ENOTFOUND, "the repository has no default branch");
		}
		*resolved = mdc_xasprintf("refs/heads/%s", git_reference_symbolic_target(head) +
		                                               strlen(REMOTE_PREFIX));
		git_reference_free(head);
		if ((rc = peel_ref(s, REMOTE_PREFIX "HEAD", oid, err)) != 0)
			return rc < 0 ? rc : 0;
		return fail(s, err, MDC_ENOTFOUND, "no such branch '%s'", *resolved);
	}

	if (len == GIT_OID_HEXSZ && is_hex(r))
		goto commit_id;

	/* Branches first, then tags, like git's ref disambiguation. */
	if (!strncmp(r, "refs/heads/", 11)) {
		name = mdc_xasprintf(REMOTE_PREFIX "%s", r + 11);
		*resolved = mdc_xstrdup(r);
	} else if (!strncmp(r, "refs/tags/", 10)) {
		name = mdc_xstrdup(r);
		*resolved = mdc_xstrdup(r);
	}
	if (name) {
		rc = peel_ref(s, name, oid, err);
		free(name);
		if (rc)
			return rc < 0 ? rc : 0;
		return fail(s, err, MDC_ENOTFOUND, "no such ref '%s'", r);
	}
	name = mdc_xasprintf(REMOTE_PREFIX "%s", r);
	rc = peel_ref(s, name, oid, err);
	free(name);
	if (rc) {
		*resolved = mdc_xasprintf("refs/heads/%s", r);
		return rc < 0 ? rc : 0;
	}
	name = mdc_xasprintf("refs/tags/%s", r);
	rc = peel_ref(s, name, oid, err);
	if (rc > 0) {
		*resolved = name;
		return 0;
	}
	free(name);
	if (rc < 0)
		return rc;
	if (len < 4 || len > GIT_OID_HEXSZ || !is_hex(r))
		return fail(s, err, MDC_ENOTFOUND, "no such branch, tag or commit '%s'", r);

commit_id : {
	git_oid prefix;
	git_object *obj = NULL, *commit = NULL;

	if (git_oid_fromstrn(&prefix, r, len) < 0)
		return fail(s, err, MDC_EINVALID, "bad commit id '%s'", r);
	rc = git_object_lookup_prefix(&obj, s->repo, &prefix, len, GIT_OBJECT_ANY);
	if (rc == GIT_EAMBIGUOUS)
		return fail(s, err, MDC_EINVALID, "commit id '%s' is ambiguous", r);
	if (rc < 0 || git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0 ||
	    !reachable(s, git_object_id(commit))) {
		git_object_free(obj);
		git_object_free(commit);
		return fail(s, err, MDC_ENOTFOUND, "no such branch, tag or commit '%s'", r);
	}
	git_oid_cpy(oid, git_object_id(commit));
	git_object_free(obj);
	git_object_free(commit);
	*resolved = mdc_xstrdup(git_oid_tostr_s(oid));
	return 0;
}
}

/* Refuses a path that is empty, absolute or climbs out with "..", before any I/O. */
static int check_path(struct src *s, const char *path, struct mdc_error *err)
{
	const char *p = path;
	bool any = false;

	if (!*path)
		return fail(s, err, MDC_EINVALID, "empty path");
	if (*path == '/')
		return fail(s, err, MDC_EINVALID, "absolute path, want a path in the repository");
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "..", 2))
			return fail(s, err, MDC_EINVALID, "path escapes the repository");
		if (n && !(n == 1 && *p == '.'))
			any = true;
		p += n;
		p += *p == '/';
	}
	if (!any)
		return fail(s, err, MDC_EINVALID, "path names no file");
	return 0;
}

static int read_path(struct src *s, const git_oid *commit_id, struct mdc_buf *out,
                     struct mdc_error *err)
{
	const char *path = s->o->path, *p = path;
	struct mdc_buf walked = MDC_BUF_INIT;
	char short_id[8];
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_odb *odb = NULL;
	git_blob *blob = NULL;
	int rc = 0;

	git_oid_tostr(short_id, sizeof(short_id), commit_id);
	if (git_commit_lookup(&commit, s->repo, commit_id) < 0 ||
	    git_commit_tree(&tree, commit) < 0) {
		rc = fail(s, err, MDC_EIO, "cannot read commit %s: %s", short_id, git_msg());
		goto cleanup;
	}
	while (*p) {
		size_t n = strcspn(p, "/");
		const char *next = p + n + (p[n] == '/');
		bool last = !next[strspn(next, "/")];
		char *comp = mdc_xstrndup(p, n);
		const git_tree_entry *e;
		git_filemode_t mode;
		git_oid id;

		p = next;
		if (!n || !strcmp(comp, ".")) {
			free(comp);
			continue;
		}
		if (walked.len)
			mdc_buf_addch(&walked, '/');
		mdc_buf_adds(&walked, comp);
		e = git_tree_entry_byname(tree, comp);
		free(comp);
		if (!e) {
			rc = fail(s, err, MDC_ENOTFOUND, "no such file at commit %s", short_id);
			goto cleanup;
		}
		mode = git_tree_entry_filemode(e);
		git_oid_cpy(&id, git_tree_entry_id(e));
		if (mode == GIT_FILEMODE_LINK) {
			rc = fail(s, err, MDC_EINVALID, "'%s' is a symbolic link", walked.ptr);
			goto cleanup;
		}
		if (mode == GIT_FILEMODE_COMMIT) {
			rc = fail(s, err, MDC_EINVALID, "'%s' is a submodule", walked.ptr);
			goto cleanup;
		}
		if (!last) {
			if (mode != GIT_FILEMODE_TREE) {
				rc = fail(s, err, MDC_EINVALID, "'%s' is not a directory",
				          walked.ptr);
				goto cleanup;
			}
			git_tree_free(tree);
			tree = NULL;
			if (git_tree_lookup(&tree, s->repo, &id) < 0) {
				rc = fail(s, err, MDC_EIO, "cannot read tree '%s': %s", walked.ptr,
				          git_msg());
				goto cleanup;
			}
			continue;
		}
		if (mode == GIT_FILEMODE_TREE) {
			rc = fail(s, err, MDC_EINVALID, "'%s' is a directory", walked.ptr);
			goto cleanup;
		}
		{
			size_t size = 0;
			git_object_t type;

			/* The header gives the size without inflating a huge blob. */
			if (git_repository_odb(&odb, s->repo) < 0 ||
			    git_odb_read_header(&size, &type, odb, &id) < 0) {
				rc = fail(s, err, MDC_EIO, "cannot read blob: %s", git_msg());
				goto cleanup;
			}
			if (size > MDC_CONFIG_MAX_BYTES) {
				rc = fail(s, err, MDC_EINVALID,
				          "file is %zu bytes, larger than the limit of %u bytes",
				          size, (unsigned)MDC_CONFIG_MAX_BYTES);
				goto cleanup;
			}
			if (git_blob_lookup(&blob, s->repo, &id) < 0) {
				rc = fail(s, err, MDC_EIO, "cannot read blob: %s", git_msg());
				goto cleanup;
			}
			mdc_buf_add(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
		}
	}

cleanup:
	mdc_buf_release(&walked);
	git_blob_free(blob);
	git_odb_free(odb);
	git_tree_free(tree);
	git_commit_free(commit);
	return rc;
}

static int run(struct mdc_gitsrc_result *out, const struct mdc_gitsrc_opts *o, bool want_file,
               struct mdc_error *err)
{
	struct src s = {.o = o, .ctx = MDC_BUF_INIT, .lock_fd = -1};
	git_oid oid;
	int rc = 0, inited = 0;

	if (!o || !o->url || !*o->url)
		return mdc_error_set(err, MDC_EINVALID, "no git repository URL given");
	if (want_file && !o->path)
		return mdc_error_set(err, MDC_EINVALID, "no path in the git repository given");
	s.ref = o->ref && *o->ref ? o->ref : "HEAD";
	parse_url(&s.url, o->url);
	if (want_file)
		mdc_buf_addf(&s.ctx, "cannot read '%s' at '%s' in '%s'", o->path, s.ref,
		             s.url.display);
	else
		mdc_buf_addf(&s.ctx, "cannot resolve '%s' in '%s'", s.ref, s.url.display);
	s.cred.o = o;
	s.cred.user = s.url.user;
	s.cred.port = s.url.port;
	s.cred.secret = o->token && *o->token ? o->token : s.url.password;
	s.cred.secret_allowed = s.url.https || (s.url.http && is_loopback(s.url.host));
	out->url = mdc_xstrdup(s.url.display);

	if (want_file && (rc = check_path(&s, o->path, err)) < 0)
		goto cleanup;
	if (git_libgit2_init() < 0) {
		rc = fail(&s, err, MDC_EINTERNAL, "cannot initialise libgit2: %s", git_msg());
		goto cleanup;
	}
	inited = 1;
	if (o->ca_file && *o->ca_file &&
	    git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, o->ca_file, NULL) < 0) {
		rc = fail(&s, err, MDC_EINVALID, "cannot use CA file '%s': %s", o->ca_file,
		          git_msg());
		goto cleanup;
	}
	if ((rc = open_cache(&s, err)) < 0)
		goto cleanup;
	if (!o->offline && (rc = fetch(&s, err)) < 0)
		goto cleanup;
	if ((rc = resolve(&s, &oid, &out->resolved_ref, err)) < 0)
		goto cleanup;
	git_oid_tostr(out->commit, sizeof(out->commit), &oid);
	if (want_file)
		rc = read_path(&s, &oid, &out->data, err);

cleanup:
	git_repository_free(s.repo);
	if (s.lock_fd >= 0)
		close(s.lock_fd); /* releases the flock */
	if (inited)
		git_libgit2_shutdown();
	free(s.repo_dir);
	mdc_buf_release(&s.ctx);
	url_parts_release(&s.url);
	return rc;
}

int mdc_gitsrc_read(struct mdc_gitsrc_result *out, const struct mdc_gitsrc_opts *o,
                    struct mdc_error *err)
{
	return run(out, o, true, err);
}

int mdc_gitsrc_ref_commit(char commit[41], const struct mdc_gitsrc_opts *o, struct mdc_error *err)
{
	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
	int rc = run(&r, o, false, err);

	if (rc == 0)
		memcpy(commit, r.commit, 41);
	mdc_gitsrc_result_release(&r);
	return rc;
}
