#ifndef MDC_GITSRC_H
#define MDC_GITSRC_H
/*
 * The desired state taken from a git repository at a commit (`--git URL --git-ref REF
 * --git-path PATH`). gitsrc.c is the only file that includes git2.h.
 *
 *	struct mdc_gitsrc_opts o = {.url = url, .ref = "main", .path = "tenants/prod.yaml",
 *				    .token = getenv("MDCCTL_GIT_TOKEN")};
 *	struct mdc_gitsrc_result r = MDC_GITSRC_RESULT_INIT;
 *	if (mdc_gitsrc_read(&r, &o, &err) < 0)
 *		report(err.message);
 *	parse(r.data.ptr, r.data.len);   // r.commit goes into the plan
 *	mdc_gitsrc_result_release(&r);
 *
 * The repository is fetched (bare, never checked out) into a cache directory, one per URL,
 * under a lock file so that two processes never fetch into the same cache at once. Every
 * branch and tag is fetched with force, so a force-pushed branch is followed and a branch
 * or tag deleted upstream disappears from the cache. PATH is read from the commit's tree.
 *
 * Transports: local paths and file://, git://, http(s):// and ssh (ssh://, user@host:path).
 * Secrets (the token, a password in the URL) never reach error messages or any file in
 * the cache: libgit2 gets the URL without user information (the credential callback
 * supplies user and password), the remote lives only in memory, FETCH_HEAD stays empty,
 * and messages use the URL without user information. The user's insteadOf rewrites are
 * not applied: the URL given is the URL fetched.
 */
#include <stdbool.h>

#include "buf.h"
#include "error.h"

struct mdc_gitsrc_opts {
	/* Required. https://, http://, git://, ssh://, user@host:path, file:// or a local
	 * path (made absolute). A password in the URL is used like token. */
	const char *url;
	/* Branch, tag, full or abbreviated (4+ hex) commit id, or a full ref name
	 * (refs/heads/..., refs/tags/...). NULL or "HEAD" = the remote's default branch. */
	const char *ref;
	/* The file in the repository, relative to its root ('/'-separated). mdc_gitsrc_read
	 * requires it; mdc_gitsrc_ref_commit ignores it. */
	const char *path;
	/* Cache root; NULL = $XDG_CACHE_HOME/mdcctl/git, else $HOME/.cache/mdcctl/git. The
	 * repository is <cache root>/<sha256 hex of the URL without credentials>. */
	const char *cache_dir;
	/* PEM CA bundle for HTTPS (libgit2's own TLS stack); NULL = libgit2's default. The
	 * setting is process-wide in libgit2. Certificate verification is never disabled. */
	const char *ca_file;
	/* HTTPS token (MDCCTL_GIT_TOKEN): sent as the password of user "x-access-token" (or
	 * the URL's user), over https, or over http to a loopback host only. Never printed. */
	const char *token;
	/* SSH private key file; NULL = ssh-agent. ssh_key_pub: its public key (NULL =
	 * derived by libssh2); ssh_passphrase: NULL when unencrypted. */
	const char *ssh_key;
	const char *ssh_key_pub;
	const char *ssh_passphrase;
	/* known_hosts file for SSH host keys; NULL = $HOME/.ssh/known_hosts. An SSH host
	 * whose key is not listed there (plain, unhashed host names) is refused. */
	const char *known_hosts;
	/* Seconds to wait for another process's lock on the cache; 0 = 120. */
	int lock_timeout_s;
	/* Use the cache as it is, without contacting the remote (it must have been fetched). */
	bool offline;
};

struct mdc_gitsrc_result {
	struct mdc_buf data; /* the file's bytes (NUL-terminated for convenience) */
	char commit[41];     /* the resolved commit id, 40 lower-case hex */
	char *resolved_ref;  /* "refs/heads/main", "refs/tags/v1" or the commit id */
	char *url;           /* the URL without credentials, for messages and plans */
};

#define MDC_GITSRC_RESULT_INIT                                                                     \
	{                                                                                          \
		MDC_BUF_INIT, {0}, NULL, NULL                                                      \
	}

/* Fetches o->url into the cache, resolves o->ref to a commit and reads o->path from its
 * tree into *out (which the caller initialises with MDC_GITSRC_RESULT_INIT and releases
 * with mdc_gitsrc_result_release, also on failure). Returns 0, or a negative
 * mdc_errcode with err filled:
 *   MDC_EINVALID  bad options; PATH empty, absolute, escaping (..), through a symbolic
 *                 link, not a regular file, or larger than MDC_CONFIG_MAX_BYTES
 *   MDC_ENOTFOUND no such ref, or no such file at the commit
 *   MDC_ENET / MDC_EAUTH  the fetch failed (transport / credentials or certificate)
 *   MDC_EBUSY     the cache stayed locked by another process for lock_timeout_s
 *   MDC_EIO       the cache directory could not be created or opened
 * Messages name the path, the ref and the URL without credentials:
 *   cannot read 'tenants/prod.yaml' at 'main' in 'https://git.example.com/soc/config.git':
 *   no such file at commit 1a2b3c4 */
int mdc_gitsrc_read(struct mdc_gitsrc_result *out, const struct mdc_gitsrc_opts *o,
                    struct mdc_error *err);

/* Fetches like mdc_gitsrc_read and resolves o->ref only (o->path is ignored), writing the
 * 40-hex commit id into commit; for `apply` of a saved plan to re-check that the ref still
 * points where it did. Same return codes as mdc_gitsrc_read. */
int mdc_gitsrc_ref_commit(char commit[41], const struct mdc_gitsrc_opts *o, struct mdc_error *err);

/* Frees what *r holds; *r is MDC_GITSRC_RESULT_INIT again. Accepts NULL. */
void mdc_gitsrc_result_release(struct mdc_gitsrc_result *r);

/* The URL without user name or password (for messages), in a new string owned by the
 * caller. scp-like user@host:path (no password possible) comes back unchanged, local
 * paths made absolute. */
char *mdc_gitsrc_display_url(const char *url);

/* "libgit2 1.5.1 (https, ssh)", the linked library's version for `mdcctl --version`.
 * Static string. */
const char *mdc_gitsrc_version(void);

/* For tests: what the credential callback gives for allowed_types (a git_credential_t
 * mask) with these options, this URL and the user libgit2 found in it. Appends to desc
 * "userpass USER ***", "ssh-key USER PRIVATEKEYFILE", "ssh-agent USER" or "username USER"
 * (never the secret) and returns the git_credential_t value, or returns -1 when the
 * callback gives none (desc gets "none: <reason>"). */
int mdc_gitsrc_test_credential(const struct mdc_gitsrc_opts *o, const char *url,
                               const char *user_from_url, unsigned int allowed_types,
                               struct mdc_buf *desc);

/* For tests: whether the SSH host key check accepts key (raw, keylen bytes) for host with
 * these options (o->known_hosts). Returns 0 when accepted, negative when refused. */
int mdc_gitsrc_test_hostkey(const struct mdc_gitsrc_opts *o, const char *host, const void *key,
                            size_t keylen);

#endif
