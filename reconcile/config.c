/*
 * The desired-state loader: YAML (libyaml's event API; this is its only includer) into a
 * small node tree that keeps every position, then a validator that walks the tree, builds
 * struct mdc_config and reports every problem it finds as a diagnostic.
 *
 * Aliases are not copied: an alias node points at its anchor's node, and the size of the
 * document as if every alias were expanded is counted while parsing. A document that would
 * expand past MAX_EXPANDED nodes (an "alias bomb") is refused as soon as the count passes
 * the budget, so time and memory stay proportional to the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "buf.h"
#include "catalog.h"
#include "config.h"
#include "crypto.h"
#include "banned.h"

#define MAX_EXPANDED      100000 /* nodes of the fully expanded document */
#define MAX_DEPTH         64
#define MAX_ANCHORS       1000
#define MAX_ERRORS        200
#define MAX_DIAGS         1000
#define DEFAULT_RULE_NAME "Create incidents based on Microsoft Defender for Cloud alerts"

/* ---- the node tree -------------------------------------------------------------------- */

enum ykind { YK_SCALAR, YK_MAP, YK_SEQ };
enum ytype { YT_NULL, YT_BOOL, YT_INT, YT_FLOAT, YT_STR, YT_MAP, YT_SEQ };

struct ynode {
	enum ykind kind;
	enum ytype type;  /* resolved type (YAML 1.2 core schema) */
	bool bval;        /* YT_BOOL */
	bool yaml11_bool; /* plain yes/no/on/off/y/n: a boolean to YAML 1.1 readers */
	struct mdc_pos pos;
	char *text;          /* scalars; NUL-terminated */
	struct ynode **kids; /* sequence items; mapping keys and values alternating */
	size_t nkids, alloc;
	size_t weight; /* nodes in the expanded subtree, this one included */
	char *anchor;  /* while open: registered when the node is complete */
};

struct yparse {
	struct mdc_diags *d;
	size_t nerr_budget;
	struct ynode **all; /* every node, for freeing (aliases share nodes) */
	size_t nall, allocall;
	struct ynode *stack[MAX_DEPTH];
	size_t depth;
	char **anchor_names;
	struct ynode **anchor_nodes;
	size_t nanchors, allocanchors;
	size_t expanded;
	struct ynode *root;
	bool failed;
};

static struct mdc_pos mark_pos(yaml_mark_t m)
{
	return (struct mdc_pos){(unsigned)m.line + 1, (unsigned)m.column + 1};
}

static void diag(struct mdc_diags *d, enum mdc_severity sev, struct mdc_pos pos, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void diag(struct mdc_diags *d, enum mdc_severity sev, struct mdc_pos pos, const char *fmt,
                 ...)
{
	struct mdc_buf b = MDC_BUF_INIT;
	va_list ap;

	/* A file with thousands of errors gets the first ones and a note; warnings are
	 * capped too, which keeps sorting them cheap. */
	if (d->nerrors > MAX_ERRORS || d->n >= MAX_DIAGS)
		return;
	if (d->nerrors == MAX_ERRORS && sev == MDC_DIAG_ERROR) {
		mdc_diags_add(d, MDC_DIAG_ERROR, pos, "too many errors, stopping");
		return;
	}
	va_start(ap, fmt);
	mdc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	mdc_diags_add(d, sev, pos, "%s", b.ptr);
	mdc_buf_release(&b);
}

static bool match_word(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return true;
	return false;
}

static bool is_int(const char *s)
{
	const char *p = s;

	if (*p == '-' || *p == '+')
		p++;
	if (p[0] == '0' && (p[1] == 'o' || p[1] == 'x') && p == s) {
		const char *q = p + 2;
		if (!*q)
			return false;
		for (; *q; q++)
			if (p[1] == 'o' ? (*q < '0' || *q > '7')
			                : !strchr("0123456789abcdefABCDEF", *q))
				return false;
		return true;
	}
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static bool is_float(const char *s)
{
	static const char *const special[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
	                                      "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
	                                      ".NaN",  ".NAN",  NULL};
	const char *p = s;
	bool digits = false;

	if (match_word(s, special))
		return true;
	if (*p == '-' || *p == '+')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits = true;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits = true;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return !*p;
}

/* Resolves a plain scalar the way YAML 1.2's core schema does. */
static void resolve_plain(struct ynode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	static const char *const yaml11[] = {"yes", "Yes", "YES", "no",  "No",  "NO",
	                                     "on",  "On",  "ON",  "off", "Off", "OFF",
	                                     "y",   "Y",   "n",   "N",   NULL};

	if (match_word(n->text, nulls))
		n->type = YT_NULL;
	else if (match_word(n->text, trues))
		n->type = YT_BOOL, n->bval = true;
	else if (match_word(n->text, falses))
		n->type = YT_BOOL, n->bval = false;
	else if (is_int(n->text))
		n->type = YT_INT;
	else if (is_float(n->text))
		n->type = YT_FLOAT;
	else
		n->type = YT_STR;
	n->yaml11_bool = n->type == YT_STR && match_word(n->text, yaml11);
}

static struct ynode *node_new(struct yparse *p, enum ykind kind, yaml_mark_t m)
{
	struct ynode *n = mdc_xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->type = kind == YK_MAP ? YT_MAP : kind == YK_SEQ ? YT_SEQ : YT_STR;
	n->pos = mark_pos(m);
	n->weight = 1;
	MDC_ALLOC_GROW(p->all, p->nall + 1, p->allocall);
	p->all[p->nall++] = n;
	return n;
}

static void fail(struct yparse *p, struct mdc_pos pos, const char *msg)
{
	diag(p->d, MDC_DIAG_ERROR, pos, "%s", msg);
	p->failed = true;
}

/* Counts `weight` more nodes of the expanded document; false once past the budget. */
static bool spend(struct yparse *p, size_t weight, struct mdc_pos pos)
{
	p->expanded += weight;
	if (p->expanded > MAX_EXPANDED) {
		diag(p->d, MDC_DIAG_ERROR, pos,
		     "the document expands to more than %d nodes (too many aliases?)",
		     MAX_EXPANDED);
		p->failed = true;
		return false;
	}
	return true;
}

static void append(struct yparse *p, struct ynode *n)
{
	struct ynode *parent;

	if (!p->depth) {
		if (!p->root)
			p->root = n;
		return;
	}
	parent = p->stack[p->depth - 1];
	MDC_ALLOC_GROW(parent->kids, parent->nkids + 1, parent->alloc);
	parent->kids[parent->nkids++] = n;
	parent->weight += n->weight;
}

static void register_anchor(struct yparse *p, struct ynode *n, struct mdc_pos pos)
{
	if (!n->anchor)
		return;
	/* A later anchor of the same name replaces the earlier one (YAML 1.2 §3.2.2.2). */
	for (size_t i = 0; i < p->nanchors; i++)
		if (!strcmp(p->anchor_names[i], n->anchor)) {
			free(n->anchor);
			n->anchor = NULL;
			p->anchor_nodes[i] = n;
			return;
		}
	if (p->nanchors >= MAX_ANCHORS) {
		fail(p, pos, "more than 1000 anchors");
		return;
	}
	if (p->nanchors + 1 > p->allocanchors) {
		p->allocanchors = p->allocanchors ? p->allocanchors * 2 : 8;
		p->anchor_names =
		    mdc_xrealloc(p->anchor_names, p->allocanchors * sizeof(*p->anchor_names));
		p->anchor_nodes =
		    mdc_xrealloc(p->anchor_nodes, p->allocanchors * sizeof(*p->anchor_nodes));
	}
	p->anchor_names[p->nanchors] = n->anchor;
	p->anchor_nodes[p->nanchors++] = n;
	n->anchor = NULL;
}

struct keyref {
	const char *s;
	size_t idx;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Reports every key that repeats an earlier key of the same mapping. */
static void check_duplicate_keys(struct yparse *p, const struct ynode *map)
{
	size_t n = map->nkids / 2, k = 0;
	struct keyref *refs;

	if (n < 2)
		return;
	refs = mdc_xcalloc(n, sizeof(*refs));
	for (size_t i = 0; i < n; i++)
		if (map->kids[2 * i]->kind == YK_SCALAR)
			refs[k++] = (struct keyref){map->kids[2 * i]->text, i};
	qsort(refs, k, sizeof(*refs), keyref_cmp);
	for (size_t i = 1; i < k; i++) {
		size_t first = i - 1;
		while (first > 0 && !strcmp(refs[first - 1].s, refs[i].s))
			first--;
		if (!strcmp(refs[first].s, refs[i].s)) {
			const struct ynode *key = map->kids[2 * refs[i].idx];
			const struct ynode *orig = map->kids[2 * refs[first].idx];
			diag(p->d, MDC_DIAG_ERROR, key->pos,
			     "duplicate key '%s' (first at line %u)", key->text, orig->pos.line);
		}
	}
	free(refs);
}

static const char *tag_str = "tag:yaml.org,2002:str";

/* Applies an explicit tag; only the ones that do not change meaning are supported. */
static bool apply_tag(struct yparse *p, struct ynode *n, const char *tag)
{
	if (!tag || !strcmp(tag, "!"))
		return true;
	if (n->kind == YK_SCALAR && !strcmp(tag, tag_str))
		return true;
	if ((n->kind == YK_MAP && !strcmp(tag, "tag:yaml.org,2002:map")) ||
	    (n->kind == YK_SEQ && !strcmp(tag, "tag:yaml.org,2002:seq")))
		return true;
	diag(p->d, MDC_DIAG_ERROR, n->pos, "unsupported tag '%s'", tag);
	p->failed = true;
	return false;
}

static void syntax_error(struct yparse *p, const yaml_parser_t *yp)
{
	struct mdc_pos pos = mark_pos(yp->problem_mark);

	if (yp->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark; UTF-8 and NULs were checked
		 * before parsing, so this is rare (e.g. a control character). */
		diag(p->d, MDC_DIAG_ERROR, (struct mdc_pos){0, 0}, "syntax error: %s at byte %zu",
		     yp->problem ? yp->problem : "unreadable input", yp->problem_offset);
	} else if (yp->context) {
		diag(p->d, MDC_DIAG_ERROR, pos, "syntax error: %s (%s at line %u, column %u)",
		     yp->problem ? yp->problem : "invalid YAML", yp->context,
		     (unsigned)yp->context_mark.line + 1, (unsigned)yp->context_mark.column + 1);
	} else {
		diag(p->d, MDC_DIAG_ERROR, pos, "syntax error: %s",
		     yp->problem ? yp->problem : "invalid YAML");
	}
	p->failed = true;
}

/* One event into the tree. Returns false at the end of the stream or on failure. */
static bool on_event(struct yparse *p, yaml_event_t *ev, int *ndocs)
{
	struct ynode *n;
	struct mdc_pos pos = mark_pos(ev->start_mark);
	const char *anchor = NULL, *tag = NULL;

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return false;
	case YAML_DOCUMENT_START_EVENT:
		if (++*ndocs > 1) {
			fail(p, pos, "a file holds one YAML document, this is a second one");
			return false;
		}
		return true;
	case YAML_SCALAR_EVENT:
		n = node_new(p, YK_SCALAR, ev->start_mark);
		n->text = mdc_xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (strlen(n->text) != ev->data.scalar.length) {
			/* An escaped NUL ("\0") inside a quoted scalar. */
			fail(p, pos, "NUL character in a string");
			return false;
		}
		anchor = (const char *)ev->data.scalar.anchor;
		tag = (const char *)ev->data.scalar.tag;
		if (!apply_tag(p, n, tag))
			return false;
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag)
			resolve_plain(n);
		if (!spend(p, 1, pos))
			return false;
		if (anchor) {
			n->anchor = mdc_xstrdup(anchor);
			register_anchor(p, n, pos);
		}
		append(p, n);
		return !p->failed;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (p->depth == MAX_DEPTH) {
			fail(p, pos, "the document nests deeper than 64 levels");
			return false;
		}
		n = node_new(p, ev->type == YAML_MAPPING_START_EVENT ? YK_MAP : YK_SEQ,
		             ev->start_mark);
		if (ev->type == YAML_MAPPING_START_EVENT) {
			anchor = (const char *)ev->data.mapping_start.anchor;
			tag = (const char *)ev->data.mapping_start.tag;
		} else {
			anchor = (const char *)ev->data.sequence_start.anchor;
			tag = (const char *)ev->data.sequence_start.tag;
		}
		if (!apply_tag(p, n, tag) || !spend(p, 1, pos))
			return false;
		n->anchor = anchor ? mdc_xstrdup(anchor) : NULL;
		p->stack[p->depth++] = n;
		return true;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (!p->depth)
			return false;
		n = p->stack[--p->depth];
		if (n->kind == YK_MAP)
			check_duplicate_keys(p, n);
		/* Registered only now: an alias inside its own anchor's node is refused as
		 * undefined, which rules out recursive documents. */
		register_anchor(p, n, n->pos);
		append(p, n);
		return !p->failed;
	case YAML_ALIAS_EVENT:
		anchor = (const char *)ev->data.alias.anchor;
		for (size_t i = 0; i < p->nanchors; i++)
			if (!strcmp(p->anchor_names[i], anchor)) {
				n = p->anchor_nodes[i];
				if (!spend(p, n->weight, pos))
					return false;
				append(p, n);
				return true;
			}
		diag(p->d, MDC_DIAG_ERROR, pos, "unknown alias '*%s' (anchors must come first)",
		     anchor);
		p->failed = true;
		return false;
	default:
		return true;
	}
}

static void yparse_release(struct yparse *p)
{
	for (size_t i = 0; i < p->nall; i++) {
		free(p->all[i]->text);
		free(p->all[i]->kids);
		free(p->all[i]->anchor);
		free(p->all[i]);
	}
	free(p->all);
	for (size_t i = 0; i < p->nanchors; i++)
		free(p->anchor_names[i]);
	free(p->anchor_names);
	free(p->anchor_nodes);
}

/* Builds the tree; false when the YAML itself is unusable (diagnostics say why). */
static bool yaml_to_tree(struct yparse *p, const char *buf, size_t len)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	int ndocs = 0;
	bool more = true;

	if (!yaml_parser_initialize(&yp)) {
		fail(p, (struct mdc_pos){0, 0}, "cannot initialise the YAML parser");
		return false;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	while (more) {
		if (!yaml_parser_parse(&yp, &ev)) {
			syntax_error(p, &yp);
			break;
		}
		more = on_event(p, &ev, &ndocs);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	return !p->failed;
}

/* ---- input checks before YAML -------------------------------------------------------- */

/* Line and column (in characters, as libyaml counts) of byte offset off. */
static struct mdc_pos offset_pos(const char *buf, size_t off)
{
	struct mdc_pos pos = {1, 1};

	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n')
			pos.line++, pos.col = 1;
		else if ((c & 0xc0) != 0x80)
			pos.col++;
	}
	return pos;
}

static bool check_bytes(struct mdc_diags *d, const char *buf, size_t len)
{
	size_t bad;
	const char *nul;

	if (len > MDC_CONFIG_MAX_BYTES) {
		diag(d, MDC_DIAG_ERROR, (struct mdc_pos){0, 0}, "the file is larger than %u bytes",
		     MDC_CONFIG_MAX_BYTES);
		return false;
	}
	if (!mdc_utf8_valid(buf, len, &bad)) {
		diag(d, MDC_DIAG_ERROR, offset_pos(buf, bad), "invalid UTF-8 (byte 0x%02x)",
		     (unsigned char)buf[bad]);
		return false;
	}
	nul = memchr(buf, '\0', len);
	if (nul) {
		diag(d, MDC_DIAG_ERROR, offset_pos(buf, (size_t)(nul - buf)),
		     "NUL byte in the file");
		return false;
	}
	return true;
}

/* ---- the validator ----------------------------------------------------------------------- */

struct vctx {
	struct mdc_diags *d;
	const struct mdc_catalog *cat;
	struct mdc_config *cfg;
};

#define ERR(c, pos, ...)  diag((c)->d, MDC_DIAG_ERROR, (pos), __VA_ARGS__)
#define WARN(c, pos, ...) diag((c)->d, MDC_DIAG_WARNING, (pos), __VA_ARGS__)

static const char *a_type(const struct ynode *n)
{
	switch (n->type) {
	case YT_NULL:
		return "null";
	case YT_BOOL:
		return "a boolean";
	case YT_INT:
	case YT_FLOAT:
		return "a number";
	case YT_STR:
		return "a string";
	case YT_MAP:
		return "a mapping";
	default:
		return "a sequence";
	}
}

/* Scalars that are not null: strings, and numbers or booleans read as their text. */
static bool is_text(const struct ynode *n)
{
	return n->kind == YK_SCALAR && n->type != YT_NULL;
}

static bool want_map(struct vctx *c, const struct ynode *n, const char *what)
{
	if (n->kind == YK_MAP)
		return true;
	ERR(c, n->pos, "'%s' must be a mapping, not %s", what, a_type(n));
	return false;
}

static bool want_seq(struct vctx *c, const struct ynode *n, const char *what)
{
	if (n->kind == YK_SEQ)
		return true;
	ERR(c, n->pos, "'%s' must be a sequence, not %s", what, a_type(n));
	return false;
}

/* A string value (not a number, boolean or null); empty strings refused when !allow_empty. */
static bool get_str(struct vctx *c, const struct ynode *n, const char *what, const char **out)
{
	if (n->type != YT_STR) {
		ERR(c, n->pos, "'%s' must be a string, not %s", what, a_type(n));
		return false;
	}
	if (!n->text[0]) {
		ERR(c, n->pos, "'%s' must not be empty", what);
		return false;
	}
	*out = n->text;
	return true;
}

static bool get_bool(struct vctx *c, const struct ynode *n, const char *what, bool *out)
{
	if (n->type == YT_BOOL) {
		*out = n->bval;
		return true;
	}
	if (n->yaml11_bool)
		ERR(c, n->pos, "'%s' must be true or false, not '%s' (a string in YAML 1.2)", what,
		    n->text);
	else
		ERR(c, n->pos, "'%s' must be a boolean, not %s", what, a_type(n));
	return false;
}

static void list_words(struct mdc_buf *b, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mdc_buf_addf(b, "%s%s", i ? (i + 1 == n ? " or " : ", ") : "", v[i]);
}

/* An enum value spelled exactly; otherwise an error with a suggestion. Returns the index
 * or -1. */
static int get_enum(struct vctx *c, const struct ynode *n, const char *what,
                    const char *const *values, size_t nvalues)
{
	struct mdc_buf b = MDC_BUF_INIT;
	const char *hint;

	if (n->type != YT_STR) {
		list_words(&b, values, nvalues);
		ERR(c, n->pos, "'%s' must be %s, not %s", what, b.ptr, a_type(n));
		mdc_buf_release(&b);
		return -1;
	}
	for (size_t i = 0; i < nvalues; i++)
		if (!strcmp(n->text, values[i]))
			return (int)i;
	hint = mdc_did_you_mean(n->text, values, nvalues);
	if (hint) {
		ERR(c, n->pos, "invalid %s '%s' (did you mean '%s'?)", what, n->text, hint);
	} else {
		list_words(&b, values, nvalues);
		ERR(c, n->pos, "invalid %s '%s' (expected %s)", what, n->text, b.ptr);
		mdc_buf_release(&b);
	}
	return -1;
}

static bool get_guid(struct vctx *c, const struct ynode *n, const char *what, char **out)
{
	char guid[37];
	const char *s;

	if (!get_str(c, n, what, &s))
		return false;
	if (!mdc_guid_normalize(s, guid)) {
		ERR(c, n->pos, "malformed GUID '%s' in '%s' (want 8-4-4-4-12 hex digits)", s, what);
		return false;
	}
	*out = mdc_xstrdup(guid);
	return true;
}

/* The value of key in map, or NULL; *keypos gets the key's position. */
static const struct ynode *get(const struct ynode *map, const char *key, struct mdc_pos *keypos)
{
	for (size_t i = 0; i + 1 < map->nkids; i += 2)
		if (map->kids[i]->kind == YK_SCALAR && !strcmp(map->kids[i]->text, key)) {
			if (keypos)
				*keypos = map->kids[i]->pos;
			return map->kids[i + 1];
		}
	return NULL;
}

static const struct ynode *need(struct vctx *c, const struct ynode *map, const char *key,
                                const char *where)
{
	const struct ynode *v = get(map, key, NULL);

	if (!v) {
		if (where)
			ERR(c, map->pos, "missing required key '%s' in '%s'", key, where);
		else
			ERR(c, map->pos, "missing required key '%s'", key);
	}
	return v;
}

/* Reports keys of map not in allowed (NULL-terminated); keys must be strings. */
static void check_keys(struct vctx *c, const struct ynode *map, const char *const *allowed)
{
	size_t nallowed = 0;

	while (allowed[nallowed])
		nallowed++;
	for (size_t i = 0; i + 1 < map->nkids; i += 2) {
		const struct ynode *k = map->kids[i];
		const char *hint;
		struct mdc_buf b = MDC_BUF_INIT;

		if (k->kind != YK_SCALAR) {
			ERR(c, k->pos, "a key must be a string, not %s", a_type(k));
			continue;
		}
		if (match_word(k->text, allowed))
			continue;
		if (!strcmp(k->text, "<<")) {
			ERR(c, k->pos, "merge keys ('<<') are not supported");
			continue;
		}
		hint = mdc_did_you_mean(k->text, allowed, nallowed);
		if (hint) {
			ERR(c, k->pos, "unknown key '%s' (did you mean '%s'?)", k->text, hint);
		} else {
			list_words(&b, allowed, nallowed);
			ERR(c, k->pos, "unknown key '%s' (expected %s)", k->text, b.ptr);
			mdc_buf_release(&b);
		}
	}
}

/* ---- selectors ---- */

static void selector_add(struct mdc_match *m, enum mdc_selector_kind kind, const char *value,
                         const char *tag_value, struct mdc_pos pos)
{
	m->sel = mdc_xrealloc(m->sel, (m->nsel + 1) * sizeof(*m->sel));
	m->sel[m->nsel++] = (struct mdc_selector){kind, mdc_xstrdup(value),
	                                          tag_value ? mdc_xstrdup(tag_value) : NULL, pos};
}

static bool load_match(struct vctx *c, const struct ynode *n, const char *what, struct mdc_match *m)
{
	static const char *const keys[] = {"id", "managementGroup", "tag", NULL};
	const struct ynode *v;
	const char *s;
	char *guid = NULL;
	bool ok = true;

	m->pos = n->pos;
	if (!want_map(c, n, what))
		return false;
	check_keys(c, n, keys);
	if (!n->nkids) {
		ERR(c, n->pos, "empty selector in '%s' (use id, managementGroup or tag)", what);
		return false;
	}
	if ((v = get(n, "id", NULL))) {
		if (get_guid(c, v, "id", &guid))
			selector_add(m, MDC_SEL_ID, guid, NULL, v->pos);
		else
			ok = false;
		free(guid);
	}
	if ((v = get(n, "managementGroup", NULL))) {
		if (get_str(c, v, "managementGroup", &s))
			selector_add(m, MDC_SEL_MANAGEMENT_GROUP, s, NULL, v->pos);
		else
			ok = false;
	}
	if ((v = get(n, "tag", NULL))) {
		if (!want_map(c, v, "tag")) {
			ok = false;
		} else if (!v->nkids) {
			ERR(c, v->pos, "'tag' must not be empty");
			ok = false;
		}
		for (size_t i = 0; v->kind == YK_MAP && i + 1 < v->nkids; i += 2) {
			const struct ynode *tk = v->kids[i], *tv = v->kids[i + 1];
			if (tk->kind != YK_SCALAR || !tk->text[0]) {
				ERR(c, tk->pos, "a tag name must be a non-empty string");
				ok = false;
			} else if (!is_text(tv)) {
				ERR(c, tv->pos, "tag '%s' must have a string value, not %s",
				    tk->text, a_type(tv));
				ok = false;
			} else {
				selector_add(m, MDC_SEL_TAG, tk->text, tv->text, tk->pos);
			}
		}
	}
	return ok && m->nsel > 0;
}

static void load_match_list(struct vctx *c, const struct ynode *n, const char *what,
                            struct mdc_match **out, size_t *nout)
{
	if (!want_seq(c, n, what))
		return;
	*out = n->nkids ? mdc_xcalloc(n->nkids, sizeof(**out)) : NULL;
	for (size_t i = 0; i < n->nkids; i++) {
		struct mdc_match m = {0};
		if (load_match(c, n->kids[i], what, &m)) {
			(*out)[(*nout)++] = m;
		} else {
			for (size_t k = 0; k < m.nsel; k++) {
				free(m.sel[k].value);
				free(m.sel[k].tag_value);
			}
			free(m.sel);
		}
	}
}

/* ---- plans ---- */

static void catalog_names(const struct mdc_catalog *cat, const char **names, bool current_only,
                          size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < cat->nplans; i++)
		if (!current_only || !cat->plans[i].deprecated)
			names[(*n)++] = cat->plans[i].name;
}

static void strvec_words(struct mdc_buf *b, const struct mdc_strvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		mdc_buf_addf(b, "%s%s", i ? ", " : "", v->v[i]);
}

static bool load_extension(struct vctx *c, const struct mdc_catalog_plan *cp, const struct ynode *k,
                           const struct ynode *v, struct mdc_ext_desired *e)
{
	static const char *const keys[] = {"enabled", "properties", NULL};
	struct mdc_buf b = MDC_BUF_INIT;
	const struct ynode *en, *props;
	struct mdc_pos props_pos = {0, 0};
	const char *hint;

	if (k->kind != YK_SCALAR) {
		ERR(c, k->pos, "an extension name must be a string, not %s", a_type(k));
		return false;
	}
	if (mdc_strvec_find(&cp->extensions, k->text, false) < 0) {
		if (!cp->extensions.n) {
			ERR(c, k->pos, "unknown extension '%s': plan '%s' has no extensions",
			    k->text, cp->name);
			return false;
		}
		hint = mdc_did_you_mean(k->text, (const char *const *)cp->extensions.v,
		                        cp->extensions.n);
		if (hint) {
			ERR(c, k->pos, "unknown extension '%s' for plan '%s' (did you mean '%s'?)",
			    k->text, cp->name, hint);
		} else {
			strvec_words(&b, &cp->extensions);
			ERR(c, k->pos, "unknown extension '%s' for plan '%s' (valid: %s)", k->text,
			    cp->name, b.ptr);
			mdc_buf_release(&b);
		}
		return false;
	}
	e->name = mdc_xstrdup(k->text);
	e->pos = k->pos;
	if (v->kind == YK_SCALAR && v->type == YT_BOOL) {
		e->enabled = v->bval;
		return true;
	}
	if (v->kind != YK_MAP) {
		if (v->yaml11_bool)
			ERR(c, v->pos,
			    "extension '%s' must be true or false, not '%s' (a string in YAML 1.2)",
			    k->text, v->text);
		else
			ERR(c, v->pos,
			    "extension '%s' must be true, false or a mapping with 'enabled', not "
			    "%s",
			    k->text, a_type(v));
		return false;
	}
	check_keys(c, v, keys);
	if (!(en = need(c, v, "enabled", k->text)) || !get_bool(c, en, "enabled", &e->enabled))
		return false;
	if (!(props = get(v, "properties", &props_pos)))
		return true;
	if (!want_map(c, props, "properties"))
		return false;
	if (!e->enabled) {
		/* Azure answers 500 to properties on a disabled extension (reference §2.7). */
		ERR(c, props_pos,
		    "properties of extension '%s' need 'enabled: true' (Azure refuses them on a "
		    "disabled extension)",
		    k->text);
		return false;
	}
	for (size_t i = 0; i + 1 < props->nkids; i += 2) {
		const struct ynode *pk = props->kids[i], *pv = props->kids[i + 1];
		if (pk->kind != YK_SCALAR || !pk->text[0]) {
			ERR(c, pk->pos, "a property name must be a non-empty string");
			return false;
		}
		if (!is_text(pv)) {
			ERR(c, pv->pos, "property '%s' must be a string, number or boolean, not %s",
			    pk->text, a_type(pv));
			return false;
		}
		mdc_kvlist_set(&e->properties, pk->text, pv->text, false);
	}
	return true;
}

static bool load_plan(struct vctx *c, const struct ynode *k, const struct ynode *v,
                      struct mdc_plan_desired *p)
{
	static const char *const keys[] = {"tier", "subPlan", "extensions", "enforce", NULL};
	static const char *const tiers[] = {"Free", "Standard"};
	const struct mdc_catalog_plan *cp;
	const char *names[64];
	size_t nnames;
	const char *hint, *s;
	const struct ynode *t, *sp, *exts, *enf;
	struct mdc_pos sp_pos = {0, 0}, exts_pos = {0, 0};
	struct mdc_buf b = MDC_BUF_INIT;
	bool ok = true, en;
	int tier;

	if (k->kind != YK_SCALAR) {
		ERR(c, k->pos, "a plan name must be a string, not %s", a_type(k));
		return false;
	}
	cp = mdc_catalog_plan(c->cat, k->text);
	if (!cp || strcmp(cp->name, k->text)) {
		catalog_names(c->cat, names, false, &nnames);
		hint = mdc_did_you_mean(k->text, names, nnames);
		if (hint) {
			ERR(c, k->pos, "unknown plan '%s' (did you mean '%s'?)", k->text, hint);
		} else {
			catalog_names(c->cat, names, true, &nnames);
			list_words(&b, names, nnames);
			ERR(c, k->pos, "unknown plan '%s' (known plans: %s)", k->text, b.ptr);
			mdc_buf_release(&b);
		}
		return false;
	}
	p->name = mdc_xstrdup(cp->name);
	p->pos = k->pos;
	p->enforce = MDC_UNSET;
	if (v->kind == YK_SCALAR) {
		if ((tier = get_enum(c, v, "tier", tiers, 2)) < 0)
			return false;
		p->tier = tier ? MDC_TIER_STANDARD : MDC_TIER_FREE;
	} else if (v->kind == YK_MAP) {
		check_keys(c, v, keys);
		if (!(t = need(c, v, "tier", k->text)) ||
		    (tier = get_enum(c, t, "tier", tiers, 2)) < 0)
			return false;
		p->tier = tier ? MDC_TIER_STANDARD : MDC_TIER_FREE;
		if ((enf = get(v, "enforce", NULL))) {
			if (get_bool(c, enf, "enforce", &en))
				p->enforce = en;
			else
				ok = false;
		}
		if ((sp = get(v, "subPlan", &sp_pos)) && get_str(c, sp, "subPlan", &s)) {
			if (p->tier == MDC_TIER_FREE) {
				ERR(c, sp_pos,
				    "subPlan applies only to Standard, plan '%s' is set Free",
				    cp->name);
				ok = false;
			} else if (!cp->sub_plans.n) {
				ERR(c, sp->pos, "plan '%s' has no sub-plans, remove 'subPlan'",
				    cp->name);
				ok = false;
			} else if (mdc_strvec_find(&cp->sub_plans, s, false) < 0) {
				strvec_words(&b, &cp->sub_plans);
				ERR(c, sp->pos, "unknown subPlan '%s' for plan '%s' (valid: %s)", s,
				    cp->name, b.ptr);
				mdc_buf_release(&b);
				ok = false;
			} else {
				p->sub_plan = mdc_xstrdup(s);
			}
		} else if (sp) {
			ok = false;
		}
		if ((exts = get(v, "extensions", &exts_pos)) && want_map(c, exts, "extensions")) {
			if (p->tier == MDC_TIER_FREE && exts->nkids) {
				ERR(c, exts_pos,
				    "extensions apply only to Standard, plan '%s' is set Free",
				    cp->name);
				ok = false;
			}
			p->exts =
			    exts->nkids ? mdc_xcalloc(exts->nkids / 2, sizeof(*p->exts)) : NULL;
			for (size_t i = 0; i + 1 < exts->nkids; i += 2) {
				struct mdc_ext_desired *e = &p->exts[p->nexts];
				if (load_extension(c, cp, exts->kids[i], exts->kids[i + 1], e)) {
					p->nexts++;
				} else {
					free(e->name);
					mdc_kvlist_clear(&e->properties);
					memset(e, 0, sizeof(*e));
					ok = false;
				}
			}
		} else if (exts) {
			ok = false;
		}
	} else {
		ERR(c, v->pos, "plan '%s' must be Standard, Free or a mapping with 'tier', not %s",
		    cp->name, a_type(v));
		return false;
	}
	if (cp->deprecated) {
		strvec_words(&b, &cp->replaced_by);
		if (p->tier == MDC_TIER_STANDARD)
			ERR(c, k->pos, "plan '%s' is deprecated, use '%s' instead", cp->name,
			    b.ptr);
		else
			WARN(c, k->pos, "plan '%s' is deprecated (replaced by '%s')", cp->name,
			     b.ptr);
		mdc_buf_release(&b);
		ok = ok && p->tier != MDC_TIER_STANDARD;
	}
	return ok;
}

static void load_plans(struct vctx *c, const struct ynode *n, struct mdc_settings *s)
{
	if (!want_map(c, n, "plans"))
		return;
	s->plans = n->nkids ? mdc_xcalloc(n->nkids / 2, sizeof(*s->plans)) : NULL;
	for (size_t i = 0; i + 1 < n->nkids; i += 2) {
		struct mdc_plan_desired *p = &s->plans[s->nplans];
		if (load_plan(c, n->kids[i], n->kids[i + 1], p)) {
			s->nplans++;
		} else {
			/* Reuse the slot: free what a failed plan had filled in. */
			free(p->name);
			free(p->sub_plan);
			for (size_t k = 0; k < p->nexts; k++) {
				free(p->exts[k].name);
				mdc_kvlist_clear(&p->exts[k].properties);
			}
			free(p->exts);
			memset(p, 0, sizeof(*p));
		}
	}
}

/* Positions of the settings fields, for later checks. */
struct settings_pos {
	struct mdc_pos connected, bidi, other, plans;
};

static const char *const settings_keys[] = {"connected", "bidirectionalSync", "plans", "otherPlans",
                                            NULL};

static void load_settings(struct vctx *c, const struct ynode *n, struct mdc_settings *s,
                          struct settings_pos *sp)
{
	static const char *const others[] = {"unmanaged", "free"};
	const struct ynode *v;
	bool b;
	int e;

	s->pos = n->pos;
	if ((v = get(n, "connected", &sp->connected)) && get_bool(c, v, "connected", &b))
		s->connected = b;
	if ((v = get(n, "bidirectionalSync", &sp->bidi)) && get_bool(c, v, "bidirectionalSync", &b))
		s->bidirectional_sync = b;
	if ((v = get(n, "otherPlans", &sp->other)) &&
	    (e = get_enum(c, v, "otherPlans", others, 2)) >= 0)
		s->other_plans = e ? MDC_OTHER_FREE : MDC_OTHER_UNMANAGED;
	if ((v = get(n, "plans", &sp->plans)))
		load_plans(c, v, s);
}

static void settings_init(struct mdc_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->connected = MDC_UNSET;
	s->bidirectional_sync = MDC_UNSET;
	s->other_plans = MDC_OTHER_UNSET;
}

static bool has_standard(const struct mdc_settings *s)
{
	for (size_t i = 0; i < s->nplans; i++)
		if (s->plans[i].tier == MDC_TIER_STANDARD)
			return true;
	return false;
}

/* Checks a settings block as it takes effect: the defaults alone, or defaults + one
 * override (as if it were the only one matching; the planner re-checks each subscription
 * with every override that matches it). */
static void check_settings(struct vctx *c, const struct mdc_settings *base,
                           const struct mdc_settings *top, const struct settings_pos *sp,
                           struct mdc_pos block_pos)
{
	struct mdc_settings eff;
	const struct mdc_settings *own = top ? top : base;
	bool tenant = c->cfg->connector.mode == MDC_MODE_TENANT;

	mdc_settings_layered(&eff, base, top);
	if (tenant && own->connected != MDC_UNSET)
		WARN(c, sp->connected,
		     "'connected' has no effect in tenant mode (the tenant-based connector covers "
		     "every subscription)");
	if (!tenant && eff.connected == MDC_TRUE && !has_standard(&eff)) {
		if (own->connected == MDC_TRUE && !top)
			ERR(c, sp->connected,
			    "connected: true needs at least one plan set Standard (the connector "
			    "requires a paid Defender plan)");
		else if (own->connected == MDC_TRUE)
			ERR(c, sp->connected,
			    "connected: true needs at least one plan set Standard, here or in "
			    "defaults (the connector requires a paid Defender plan)");
		else if (top && has_standard(base))
			ERR(c, sp->plans.line ? sp->plans : block_pos,
			    "this override leaves no plan at Standard while connected is true (the "
			    "connector requires a paid Defender plan)");
	}
	if (own->bidirectional_sync == MDC_TRUE && eff.connected == MDC_FALSE)
		WARN(c, sp->bidi,
		     "bidirectionalSync: true has no effect while connected is false (no alerts "
		     "reach Sentinel)");
	mdc_settings_clear(&eff);
}

/* ---- conflicts between entries naming the same subscription ---- */

/* The subscription id of a match that is exactly one id selector, or NULL. */
static const char *pure_id(const struct mdc_match *m)
{
	return m->nsel == 1 && m->sel[0].kind == MDC_SEL_ID ? m->sel[0].value : NULL;
}

struct idref {
	const char *id;
	size_t idx;
	unsigned line;
};

static int idref_cmp(const void *a, const void *b)
{
	const struct idref *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static size_t collect_ids(const struct mdc_match *v, size_t n, struct idref **out)
{
	size_t k = 0;

	*out = n ? mdc_xcalloc(n, sizeof(**out)) : NULL;
	for (size_t i = 0; i < n; i++)
		if (pure_id(&v[i]))
			(*out)[k++] = (struct idref){pure_id(&v[i]), i, v[i].pos.line};
	if (k)
		qsort(*out, k, sizeof(**out), idref_cmp);
	return k;
}

static void check_select_exclude(struct vctx *c)
{
	struct idref *sel, *exc;
	size_t nsel =
	    collect_ids(c->cfg->subscriptions.select, c->cfg->subscriptions.nselect, &sel);
	size_t nexc =
	    collect_ids(c->cfg->subscriptions.exclude, c->cfg->subscriptions.nexclude, &exc);

	for (size_t i = 1; i < nsel; i++)
		if (!strcmp(sel[i].id, sel[i - 1].id))
			WARN(c, c->cfg->subscriptions.select[sel[i].idx].pos,
			     "subscription '%s' is selected twice (also at line %u)", sel[i].id,
			     sel[i - 1].line);
	for (size_t i = 0; i < nexc; i++) {
		struct idref key = {exc[i].id, 0, 0}, *hit;
		/* Any entry of that id will do: compare on the id only. */
		size_t lo = 0, hi = nsel;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(sel[mid].id, key.id) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		hit = lo < nsel && !strcmp(sel[lo].id, key.id) ? &sel[lo] : NULL;
		if (hit)
			ERR(c, c->cfg->subscriptions.exclude[exc[i].idx].pos,
			    "subscription '%s' is both selected (line %u) and excluded", exc[i].id,
			    hit->line);
	}
	free(sel);
	free(exc);
}

static bool ext_equal(const struct mdc_ext_desired *a, const struct mdc_ext_desired *b)
{
	if (a->enabled != b->enabled || a->properties.n != b->properties.n)
		return false;
	for (size_t i = 0; i < a->properties.n; i++)
		if (!mdc_streq(mdc_kvlist_get(&b->properties, a->properties.v[i].key, false),
		               a->properties.v[i].value))
			return false;
	return true;
}

static bool plan_equal(const struct mdc_plan_desired *a, const struct mdc_plan_desired *b)
{
	if (a->tier != b->tier || a->enforce != b->enforce ||
	    !mdc_streq(a->sub_plan, b->sub_plan) || a->nexts != b->nexts)
		return false;
	for (size_t i = 0; i < a->nexts; i++) {
		const struct mdc_ext_desired *e = NULL;
		for (size_t k = 0; k < b->nexts && !e; k++)
			if (!strcmp(b->exts[k].name, a->exts[i].name))
				e = &b->exts[k];
		if (!e || !ext_equal(a->exts + i, e))
			return false;
	}
	return true;
}

static const char *tristate_name(int v)
{
	return v == MDC_TRUE ? "true" : "false";
}

/* Two overrides that match the same single subscription id and set one field to two
 * different values are a mistake even though the later one would win: report it. */
static void check_override_conflicts(struct vctx *c)
{
	const struct mdc_override *ov = c->cfg->subscriptions.overrides;
	size_t nov = c->cfg->subscriptions.noverrides, k = 0;
	struct idref *refs = nov ? mdc_xcalloc(nov, sizeof(*refs)) : NULL;

	for (size_t i = 0; i < nov; i++)
		if (pure_id(&ov[i].match))
			refs[k++] = (struct idref){pure_id(&ov[i].match), i, ov[i].pos.line};
	if (k)
		qsort(refs, k, sizeof(*refs), idref_cmp);
	for (size_t g = 0; g < k;) {
		size_t end = g + 1;
		while (end < k && !strcmp(refs[end].id, refs[g].id))
			end++;
		/* Compare every later override of the group with the first one that set each
		 * field: the first setter is found by scanning the group from its start. */
		for (size_t i = g + 1; i < end; i++) {
			const struct mdc_override *o = &ov[refs[i].idx];
			const char *id = refs[i].id;
			for (size_t j = g; j < i; j++) {
				const struct mdc_override *e = &ov[refs[j].idx];
				if (o->set.connected != MDC_UNSET &&
				    e->set.connected != MDC_UNSET &&
				    o->set.connected != e->set.connected) {
					ERR(c, o->pos,
					    "conflicting settings for subscription '%s': "
					    "'connected' "
					    "is %s here but %s at line %u",
					    id, tristate_name(o->set.connected),
					    tristate_name(e->set.connected), e->pos.line);
					break;
				}
				if (o->set.bidirectional_sync != MDC_UNSET &&
				    e->set.bidirectional_sync != MDC_UNSET &&
				    o->set.bidirectional_sync != e->set.bidirectional_sync) {
					ERR(c, o->pos,
					    "conflicting settings for subscription '%s': "
					    "'bidirectionalSync' is %s here but %s at line %u",
					    id, tristate_name(o->set.bidirectional_sync),
					    tristate_name(e->set.bidirectional_sync), e->pos.line);
					break;
				}
				if (o->set.other_plans != MDC_OTHER_UNSET &&
				    e->set.other_plans != MDC_OTHER_UNSET &&
				    o->set.other_plans != e->set.other_plans) {
					ERR(c, o->pos,
					    "conflicting settings for subscription '%s': "
					    "'otherPlans' "
					    "differs from line %u",
					    id, e->pos.line);
					break;
				}
				for (size_t p = 0; p < o->set.nplans; p++) {
					const struct mdc_plan_desired *ep =
					    mdc_settings_plan(&e->set, o->set.plans[p].name);
					if (ep && !plan_equal(ep, &o->set.plans[p])) {
						ERR(c, o->set.plans[p].pos,
						    "conflicting settings for subscription '%s': "
						    "plan "
						    "'%s' differs from line %u",
						    id, ep->name, ep->pos.line);
						break;
					}
				}
			}
		}
		g = end;
	}
	free(refs);
}

/* ---- top level ---- */

static bool valid_workspace_name(const char *s)
{
	size_t n = strlen(s);

	/* ^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$, at most 90 (reference §4.1). */
	if (n < 3 || n > 90 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	return true;
}

static bool valid_resource_group(const char *s)
{
	size_t n = strlen(s);

	/* ARM: 1-90 characters, letters, digits, '-', '_', '.', '(' and ')', not ending with
	 * '.'. Non-ASCII letters are allowed by ARM; bytes >= 0x80 are accepted unchecked. */
	if (!n || n > 90 || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("-_.()", ch) || ch >= 0x80))
			return false;
	}
	return true;
}

static void load_workspace(struct vctx *c, const struct ynode *n)
{
	static const char *const keys[] = {"subscription", "resourceGroup", "name", NULL};
	const struct ynode *v;
	const char *s;

	c->cfg->workspace.pos = n->pos;
	if (!want_map(c, n, "workspace"))
		return;
	check_keys(c, n, keys);
	if ((v = need(c, n, "subscription", "workspace")))
		get_guid(c, v, "subscription", &c->cfg->workspace.subscription);
	if ((v = need(c, n, "resourceGroup", "workspace")) && get_str(c, v, "resourceGroup", &s)) {
		if (valid_resource_group(s))
			c->cfg->workspace.resource_group = mdc_xstrdup(s);
		else
			ERR(c, v->pos,
			    "invalid resource group name '%s' (1-90 letters, digits, '-', '_', "
			    "'.', "
			    "'(' or ')', not ending with '.')",
			    s);
	}
	if ((v = need(c, n, "name", "workspace")) && get_str(c, v, "name", &s)) {
		if (valid_workspace_name(s))
			c->cfg->workspace.name = mdc_xstrdup(s);
		else
			ERR(c, v->pos,
			    "invalid workspace name '%s' (3-90 letters, digits or '-', starting "
			    "and "
			    "ending with a letter or digit)",
			    s);
	}
}

static bool valid_version(const char *s)
{
	size_t parts = 0;

	/* 1 to 4 dot-separated numbers: "3", "3.0", "3.0.3", "3.0.3.1". */
	while (*s) {
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
		parts++;
		if (*s == '.' && s[1])
			s++;
		else if (*s)
			return false;
	}
	return parts >= 1 && parts <= 4;
}

static void load_connector(struct vctx *c, const struct ynode *n)
{
	static const char *const keys[] = {"mode", "solution", NULL};
	static const char *const modes[] = {"subscription", "tenant"};
	const struct ynode *v;
	int e;

	if (!want_map(c, n, "connector"))
		return;
	check_keys(c, n, keys);
	if ((v = get(n, "mode", NULL)) && (e = get_enum(c, v, "mode", modes, 2)) >= 0)
		c->cfg->connector.mode = e ? MDC_MODE_TENANT : MDC_MODE_SUBSCRIPTION;
	if (!(v = get(n, "solution", NULL)))
		return;
	if (v->type == YT_INT || v->type == YT_FLOAT) {
		ERR(c, v->pos, "'solution' must be a string, not a number (quote versions: \"%s\")",
		    v->text);
	} else if (v->type != YT_STR) {
		ERR(c, v->pos, "'solution' must be a string, not %s", a_type(v));
	} else if (!strcmp(v->text, "latest")) {
		c->cfg->connector.solution = MDC_SOLUTION_LATEST;
	} else if (!strcmp(v->text, "unmanaged")) {
		c->cfg->connector.solution = MDC_SOLUTION_UNMANAGED;
	} else if (valid_version(v->text)) {
		c->cfg->connector.solution = MDC_SOLUTION_MINIMUM;
		c->cfg->connector.solution_version = mdc_xstrdup(v->text);
	} else {
		ERR(c, v->pos,
		    "invalid solution '%s' (expected latest, unmanaged or a minimum version such "
		    "as "
		    "\"3.0.3\")",
		    v->text);
	}
}

static void load_subscriptions(struct vctx *c, const struct ynode *n)
{
	static const char *const keys[] = {"select",   "exclude",   "unselected",
	                                   "defaults", "overrides", NULL};
	static const char *const unsel[] = {"ignore", "disconnect"};
	static const char *const ov_keys[] = {"match", "connected",  "bidirectionalSync",
	                                      "plans", "otherPlans", NULL};
	struct settings_pos dpos = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
	struct mdc_pos unsel_pos = {0, 0};
	const struct ynode *v, *m;
	int e;

	if (!want_map(c, n, "subscriptions"))
		return;
	check_keys(c, n, keys);
	if ((v = need(c, n, "select", "subscriptions")) && want_seq(c, v, "select")) {
		if (!v->nkids)
			ERR(c, v->pos, "'select' must not be empty (nothing would be managed)");
		load_match_list(c, v, "select", &c->cfg->subscriptions.select,
		                &c->cfg->subscriptions.nselect);
	}
	if ((v = get(n, "exclude", NULL)))
		load_match_list(c, v, "exclude", &c->cfg->subscriptions.exclude,
		                &c->cfg->subscriptions.nexclude);
	if ((v = get(n, "unselected", &unsel_pos)) &&
	    (e = get_enum(c, v, "unselected", unsel, 2)) >= 0) {
		c->cfg->subscriptions.unselected =
		    e ? MDC_UNSELECTED_DISCONNECT : MDC_UNSELECTED_IGNORE;
		if (e && c->cfg->connector.mode == MDC_MODE_TENANT)
			WARN(c, unsel_pos, "'unselected: disconnect' has no effect in tenant mode");
	}
	if ((v = get(n, "defaults", NULL)) && want_map(c, v, "defaults")) {
		check_keys(c, v, settings_keys);
		load_settings(c, v, &c->cfg->subscriptions.defaults, &dpos);
		check_settings(c, &c->cfg->subscriptions.defaults, NULL, &dpos, v->pos);
	}
	if (!(v = get(n, "overrides", NULL)) || !want_seq(c, v, "overrides"))
		return;
	c->cfg->subscriptions.overrides =
	    v->nkids ? mdc_xcalloc(v->nkids, sizeof(*c->cfg->subscriptions.overrides)) : NULL;
	for (size_t i = 0; i < v->nkids; i++) {
		const struct ynode *o = v->kids[i];
		struct mdc_override *ov =
		    &c->cfg->subscriptions.overrides[c->cfg->subscriptions.noverrides];
		struct settings_pos opos = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};

		if (!want_map(c, o, "overrides"))
			continue;
		check_keys(c, o, ov_keys);
		ov->pos = o->pos;
		settings_init(&ov->set);
		if ((m = need(c, o, "match", "overrides")))
			load_match(c, m, "match", &ov->match);
		load_settings(c, o, &ov->set, &opos);
		check_settings(c, &c->cfg->subscriptions.defaults, &ov->set, &opos, o->pos);
		c->cfg->subscriptions.noverrides++;
	}
}

static void load_incident_rule(struct vctx *c, const struct ynode *n)
{
	static const char *const keys[] = {
	    "enabled",           "name", "displayName", "severities", "includeAlertNames",
	    "excludeAlertNames", NULL};
	static const char *const sevs[] = {"High", "Medium", "Low", "Informational"};
	struct mdc_incident_rule *r = &c->cfg->incident_rule;
	const struct ynode *v;
	const char *s;
	bool b;
	int e;

	if (!want_map(c, n, "incidentRule"))
		return;
	check_keys(c, n, keys);
	r->present = true;
	r->enabled = true;
	r->pos = n->pos;
	if ((v = get(n, "enabled", NULL)) && get_bool(c, v, "enabled", &b))
		r->enabled = b;
	if ((v = get(n, "name", NULL)) && get_str(c, v, "name", &s)) {
		if (strpbrk(s, "/?#%\\"))
			ERR(c, v->pos, "invalid rule name '%s' (it becomes part of a URL path)", s);
		else
			r->name = mdc_xstrdup(s);
	}
	if ((v = get(n, "displayName", NULL)) && get_str(c, v, "displayName", &s))
		r->display_name = mdc_xstrdup(s);
	else if (!v)
		r->display_name = mdc_xstrdup(DEFAULT_RULE_NAME);
	if ((v = get(n, "severities", NULL)) && want_seq(c, v, "severities")) {
		if (!v->nkids)
			ERR(c, v->pos,
			    "'severities' must not be empty (omit it for all severities)");
		for (size_t i = 0; i < v->nkids; i++) {
			if ((e = get_enum(c, v->kids[i], "severity", sevs, 4)) < 0)
				continue;
			if (r->severities & (1u << e))
				ERR(c, v->kids[i]->pos, "duplicate severity '%s'", sevs[e]);
			r->severities |= 1u << e;
			if ((1u << e) == MDC_SEV_INFORMATIONAL)
				WARN(c, v->kids[i]->pos,
				     "severity 'Informational' makes an incident of every "
				     "informational alert (usually noise)");
		}
	}
	for (int which = 0; which < 2; which++) {
		const char *key = which ? "excludeAlertNames" : "includeAlertNames";
		struct mdc_strvec *out = which ? &r->exclude_names : &r->include_names;
		if (!(v = get(n, key, NULL)) || !want_seq(c, v, key))
			continue;
		for (size_t i = 0; i < v->nkids; i++)
			if (get_str(c, v->kids[i], key, &s))
				mdc_strvec_push(out, s);
	}
}

static void validate(struct vctx *c, const struct ynode *root)
{
	static const char *const keys[] = {"apiVersion",   "tenant",    "cloud",
	                                   "workspace",    "connector", "subscriptions",
	                                   "incidentRule", NULL};
	static const char *const clouds[] = {"AzureCloud", "AzureUSGovernment", "AzureChinaCloud"};
	const struct ynode *v;
	const char *s;
	int e;

	if (!root || (root->kind == YK_SCALAR && root->type == YT_NULL)) {
		ERR(c, ((struct mdc_pos){1, 1}),
		    "the document is empty (it needs apiVersion: "
		    "mdcctl/v1, tenant, workspace and subscriptions)");
		return;
	}
	if (root->kind != YK_MAP) {
		ERR(c, root->pos, "the document must be a mapping, not %s", a_type(root));
		return;
	}
	check_keys(c, root, keys);
	if ((v = need(c, root, "apiVersion", NULL)) && get_str(c, v, "apiVersion", &s)) {
		if (strcmp(s, "mdcctl/v1"))
			ERR(c, v->pos, "unknown apiVersion '%s' (this mdcctl reads mdcctl/v1)", s);
		else
			c->cfg->api_version = mdc_xstrdup(s);
	}
	if ((v = need(c, root, "tenant", NULL)))
		get_guid(c, v, "tenant", &c->cfg->tenant);
	if ((v = get(root, "cloud", NULL)) && (e = get_enum(c, v, "cloud", clouds, 3)) >= 0)
		c->cfg->cloud = (enum mdc_cloud)e;
	if ((v = need(c, root, "workspace", NULL)))
		load_workspace(c, v);
	/* The connector first: its mode changes what the subscription settings mean. */
	if ((v = get(root, "connector", NULL)))
		load_connector(c, v);
	if ((v = need(c, root, "subscriptions", NULL)))
		load_subscriptions(c, v);
	if ((v = get(root, "incidentRule", NULL)))
		load_incident_rule(c, v);
	check_select_exclude(c);
	check_override_conflicts(c);
}

/* ---- entry points ---- */

static int diag_cmp(const void *a, const void *b)
{
	const struct mdc_diag *x = a, *y = b;

	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return 0;
}

/* Sorts diagnostics [from, n) by position (stable) and drops exact repeats, which come
 * from nodes shared through aliases. */
static void sort_diags(struct mdc_diags *d, size_t from)
{
	size_t n = d->n - from, w = from;
	struct mdc_diag *v;

	if (!n)
		return;
	v = d->v + from;

	/* Insertion sort keeps equal positions in emission order; runs are short. */
	for (size_t i = 1; i < n; i++) {
		struct mdc_diag t = v[i];
		size_t j = i;
		while (j > 0 && diag_cmp(&v[j - 1], &t) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
	for (size_t i = from; i < d->n; i++) {
		bool dup = false;
		for (size_t k = w; k-- > from && !diag_cmp(&d->v[k], &d->v[i]);)
			if (d->v[k].severity == d->v[i].severity &&
			    !strcmp(d->v[k].message, d->v[i].message))
				dup = true;
		if (dup) {
			if (d->v[i].severity == MDC_DIAG_ERROR)
				d->nerrors--;
			free(d->v[i].message);
			continue;
		}
		d->v[w++] = d->v[i];
	}
	d->n = w;
}

int mdc_config_parse(struct mdc_config **out, const char *buf, size_t len, const char *path,
                     struct mdc_diags *diags)
{
	struct yparse p;
	struct vctx c;
	struct mdc_config *cfg = NULL;
	size_t first = diags->n, errors_before = diags->nerrors;
	int rc = 0;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.d = diags;
	if (!check_bytes(diags, buf, len) || !yaml_to_tree(&p, buf, len)) {
		rc = MDC_EINVALID;
		goto cleanup;
	}
	cfg = mdc_xcalloc(1, sizeof(*cfg));
	cfg->path = mdc_xstrdup(path ? path : "-");
	cfg->digest = mdc_sha256_tagged(buf, len);
	cfg->cloud = MDC_CLOUD_AZURE;
	cfg->connector.mode = MDC_MODE_SUBSCRIPTION;
	cfg->connector.solution = MDC_SOLUTION_UNMANAGED;
	cfg->subscriptions.unselected = MDC_UNSELECTED_IGNORE;
	settings_init(&cfg->subscriptions.defaults);
	c = (struct vctx){diags, mdc_catalog_builtin(), cfg};
	validate(&c, p.root);
	if (diags->nerrors > errors_before)
		rc = MDC_EINVALID;
cleanup:
	sort_diags(diags, first);
	yparse_release(&p);
	if (rc < 0) {
		mdc_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int mdc_config_load(struct mdc_config **out, const char *path, struct mdc_diags *diags)
{
	struct mdc_buf b = MDC_BUF_INIT;
	int rc;

	*out = NULL;
	if (mdc_buf_read_file(&b, path, MDC_CONFIG_MAX_BYTES) < 0) {
		bool big = errno == EFBIG;
		if (big)
			mdc_diags_add(diags, MDC_DIAG_ERROR, (struct mdc_pos){0, 0},
			              "the file is larger than %u bytes", MDC_CONFIG_MAX_BYTES);
		else
			mdc_diags_add(diags, MDC_DIAG_ERROR, (struct mdc_pos){0, 0},
			              "cannot read '%s': %s", path, strerror(errno));
		mdc_buf_release(&b);
		return big ? MDC_EINVALID : MDC_EIO;
	}
	rc = mdc_config_parse(out, b.ptr, b.len, path, diags);
	mdc_buf_release(&b);
	return rc;
}

const char *mdc_config_yaml_version(void)
{
	return yaml_get_version_string();
}
