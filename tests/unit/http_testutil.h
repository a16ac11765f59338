#ifndef MDC_HTTP_TESTUTIL_H
#define MDC_HTTP_TESTUTIL_H
/*
 * Test helpers for the transport and credential tests: a libmicrohttpd server bound to
 * 127.0.0.1 on a free port (plain or TLS) that hands every request to a handler, counts
 * connections and concurrent requests; and a self-signed certificate made with OpenSSL.
 *
 * The handler runs on the server's threads under the server's lock; it fills a reply,
 * which may ask for a delay (slept outside the lock) or a reset (the connection is closed
 * without a response).
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

struct ts_request {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
};

struct ts_reply {
	int status;
	struct mdc_kvlist headers;
	struct mdc_buf body;
	bool reset;
	int delay_ms;
};

typedef void (*ts_handler)(void *ctx, const struct ts_request *req, struct ts_reply *rep);

struct ts_server {
	struct MHD_Daemon *d;
	int port;
	ts_handler fn;
	void *ctx;
	pthread_mutex_t lock;
	int connections;    /* connections accepted */
	int concurrent;     /* requests being answered now */
	int max_concurrent; /* most at once */
	int requests;
	char base[64]; /* "http://127.0.0.1:PORT" */
};

static inline const char *ts_header(const struct ts_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static inline const char *ts_arg(const struct ts_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static inline void ts_json(struct ts_reply *rep, int status, const char *body)
{
	rep->status = status;
	mdc_buf_reset(&rep->body);
	mdc_buf_adds(&rep->body, body);
	mdc_kvlist_set(&rep->headers, "Content-Type", "application/json", true);
}

static inline long long ts_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ts_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
	struct ts_server *s = cls;

	(void)c;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&s->lock);
		s->connections++;
		pthread_mutex_unlock(&s->lock);
	}
}

static enum MHD_Result ts_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **con_cls)
{
	struct ts_server *s = cls;
	struct mdc_buf *body = *con_cls;
	struct ts_reply rep = {0, {0}, MDC_BUF_INIT, false, 0};
	struct ts_request req;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)version;
	if (!body) {
		body = mdc_xcalloc(1, sizeof(*body));
		*body = (struct mdc_buf)MDC_BUF_INIT;
		*con_cls = body;
		return MHD_YES;
	}
	if (*upload_size) {
		mdc_buf_add(body, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	req = (struct ts_request){conn, method, url, body->ptr, body->len};
	pthread_mutex_lock(&s->lock);
	s->requests++;
	s->concurrent++;
	if (s->concurrent > s->max_concurrent)
		s->max_concurrent = s->concurrent;
	rep.status = 200;
	s->fn(s->ctx, &req, &rep);
	pthread_mutex_unlock(&s->lock);
	if (rep.delay_ms)
		usleep((useconds_t)rep.delay_ms * 1000);
	pthread_mutex_lock(&s->lock);
	s->concurrent--;
	pthread_mutex_unlock(&s->lock);
	if (rep.reset) {
		mdc_kvlist_clear(&rep.headers);
		mdc_buf_release(&rep.body);
		return MHD_NO;
	}
	r = MHD_create_response_from_buffer(rep.body.len, rep.body.ptr, MHD_RESPMEM_MUST_COPY);
	for (size_t i = 0; i < rep.headers.n; i++)
		MHD_add_response_header(r, rep.headers.v[i].key, rep.headers.v[i].value);
	ret = MHD_queue_response(conn, (unsigned)rep.status, r);
	MHD_destroy_response(r);
	mdc_kvlist_clear(&rep.headers);
	mdc_buf_release(&rep.body);
	return ret;
}

static void ts_quiet(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

static void ts_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct mdc_buf *body = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (body) {
		mdc_buf_release(body);
		free(body);
		*con_cls = NULL;
	}
}

/* Starts a server on 127.0.0.1; with cert_pem/key_pem it speaks TLS. Returns 0 or -1. */
static inline int ts_start(struct ts_server *s, ts_handler fn, void *ctx, const char *cert_pem,
                           const char *key_pem)
{
	struct sockaddr_in sa;
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->fn = fn;
	s->ctx = ctx;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (cert_pem) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return -1;
		flags |= MHD_USE_TLS;
		s->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, ts_access, s, MHD_OPTION_SOCK_ADDR, &sa,
		    MHD_OPTION_NOTIFY_CONNECTION, ts_notify, s, MHD_OPTION_NOTIFY_COMPLETED,
		    ts_completed, s, MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
		    key_pem, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_EXTERNAL_LOGGER,
		    ts_quiet, NULL, MHD_OPTION_END);
	} else {
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, ts_access, s, MHD_OPTION_SOCK_ADDR,
		                        &sa, MHD_OPTION_NOTIFY_CONNECTION, ts_notify, s,
		                        MHD_OPTION_NOTIFY_COMPLETED, ts_completed, s,
		                        MHD_OPTION_CONNECTION_TIMEOUT, 10u,
		                        MHD_OPTION_EXTERNAL_LOGGER, ts_quiet, NULL, MHD_OPTION_END);
	}
	if (!s->d)
		return -1;
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info)
		return -1;
	s->port = info->port;
	snprintf(s->base, sizeof(s->base), "%s://127.0.0.1:%d", cert_pem ? "https" : "http",
	         s->port);
	return 0;
}

static inline void ts_stop(struct ts_server *s)
{
	if (s->d)
		MHD_stop_daemon(s->d);
	s->d = NULL;
	pthread_mutex_destroy(&s->lock);
}

static inline int ts_get(struct ts_server *s, int *field)
{
	int v;

	pthread_mutex_lock(&s->lock);
	v = *field;
	pthread_mutex_unlock(&s->lock);
	return v;
}

/* A port on 127.0.0.1 that nothing listens on (bound, then closed). */
static inline int ts_closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* A fresh RSA-2048 key and a self-signed certificate for cn, valid for 127.0.0.1 and
 * localhost; PEM strings in *cert_pem and *key_pem (free()). With password the key is
 * encrypted (AES-256-CBC). *pkey_out/x509_out, when not NULL, get the objects too. */
static inline int ts_make_cert(const char *cn, const char *password, char **cert_pem,
                               char **key_pem, EVP_PKEY **pkey_out, X509 **x509_out)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	BIO *b;
	BUF_MEM *mem;

	if (!pkey || !x)
		return -1;
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, pkey, EVP_sha256()))
		return -1;

	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	BIO_get_mem_ptr(b, &mem);
	*cert_pem = mdc_xstrndup(mem->data, mem->length);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	if (password)
		PEM_write_bio_PrivateKey(b, pkey, EVP_aes_256_cbc(), NULL, 0, NULL,
		                         (void *)password);
	else
		PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL);
	BIO_get_mem_ptr(b, &mem);
	*key_pem = mdc_xstrndup(mem->data, mem->length);
	BIO_free(b);
	if (pkey_out)
		*pkey_out = pkey;
	else
		EVP_PKEY_free(pkey);
	if (x509_out)
		*x509_out = x;
	else
		X509_free(x);
	return 0;
}

/* Writes s to a new file under a fresh temporary directory; returns the path (free()). */
static inline char *ts_write_temp(const char *dir, const char *name, const char *s)
{
	char *path = mdc_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (!f) {
		free(path);
		return NULL;
	}
	fputs(s, f);
	fclose(f);
	return path;
}

#endif
