/*
 * Rendering of a plan: text, JSON, markdown. Pure; see render.h.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "banned.h"

/* ---- sanitising ------------------------------------------------------------------- */

/* Length of the UTF-8 sequence at s and its code point, or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, unsigned *cp)
{
	size_t n;
	unsigned c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Skips an escape sequence starting at ESC; returns the bytes consumed. */
static size_t skip_escape(const unsigned char *s)
{
	size_t i = 1;

	if (s[1] == '[') { /* CSI: parameters, intermediates, one final byte */
		for (i = 2; s[i] && !(s[i] >= 0x40 && s[i] <= 0x7e); i++)
			;
		return s[i] ? i + 1 : i;
	}
	if (s[1] == ']' || s[1] == 'P' || s[1] == '_' || s[1] == '^' || s[1] == 'X') {
		/* OSC, DCS, APC, PM, SOS: up to BEL or ST (ESC \) */
		for (i = 2; s[i]; i++) {
			if (s[i] == 0x07)
				return i + 1;
			if (s[i] == 0x1b && s[i + 1] == '\\')
				return i + 2;
		}
		return i;
	}
	return s[1] ? 2 : 1;
}

void mdc_sanitize_term(struct mdc_buf *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (s && *s) {
		unsigned cp;
		size_t n;

		if (*s == 0x1b) {
			s += skip_escape(s);
			continue;
		}
		n = utf8_decode(s, &cp);
		if (!n) {
			mdc_buf_addch(out, '?');
			s++;
			continue;
		}
		if (cp == '\n' || cp == '\t' || cp == '\r')
			mdc_buf_addch(out, ' ');
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			; /* C0, DEL, C1 (0x9b is an 8-bit CSI) */
		else if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
		         cp == 0x200e || cp == 0x200f || cp == 0x061c)
			; /* bidirectional controls can make text read differently */
		else
			mdc_buf_add(out, s, n);
		s += n;
	}
}

void mdc_sanitize_markdown(struct mdc_buf *out, const char *str)
{
	struct mdc_buf t = MDC_BUF_INIT;

	mdc_sanitize_term(&t, str);
	for (size_t i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.ptr[i];
		switch (c) {
		case '&':
			mdc_buf_adds(out, "&amp;");
			break;
		case '<':
			mdc_buf_adds(out, "&lt;");
			break;
		case '>':
			mdc_buf_adds(out, "&gt;");
			break;
		case '"':
			mdc_buf_adds(out, "&quot;");
			break;
		case '|':
		case '*':
		case '_':
		case '`':
		case '[':
		case ']':
		case '(':
		case ')':
		case '\\':
		case '#':
		case '!':
		case '~':
		case '\'':
		case ':':
			/* Entities work in text, tables and HTML blocks alike, where a
			 * backslash would show inside <summary>. ':' stops autolinks. */
			mdc_buf_addf(out, "&#%u;", c);
			break;
		default:
			mdc_buf_addch(out, (char)c);
		}
	}
	mdc_buf_release(&t);
}

/* ---- shared ----------------------------------------------------------------------- */

void mdc_render_summary(struct mdc_buf *out, const struct mdc_plan_counts *c)
{
	mdc_buf_addf(out, "Plan: %zu to add, %zu to change, %zu to remove, %zu blocked.", c->add,
	             c->change, c->remove, c->blocked);
}

void mdc_render_json(struct mdc_buf *out, const struct mdc_plan *p)
{
	char *j = mdc_plan_to_json(p);
	mdc_buf_adds(out, j);
	free(j);
}

static char symbol(const struct mdc_plan_item *it)
{
	if (it->blocked)
		return '!';
	switch (it->action) {
	case MDC_ACT_CREATE:
		return '+';
	case MDC_ACT_UPDATE:
	case MDC_ACT_REGISTER:
		return '~';
	case MDC_ACT_DELETE:
		return '-';
	default:
		return ' ';
	}
}

/* What an item is called inside its group: its id without "sub/<id>/" or
 * "workspace/". */
static const char *label(const struct mdc_plan_item *it)
{
	const char *id = it->id;

	if (!strncmp(id, "workspace/", 10))
		return id + 10;
	if (!strncmp(id, "sub/", 4)) {
		const char *slash = strchr(id + 4, '/');
		return slash ? slash + 1 : "subscription";
	}
	return id;
}

static const struct mdc_plan_sub *find_sub(const struct mdc_plan *p, const char *id)
{
	size_t lo = 0, hi = p->nsubs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->subs[mid].id, id);
		if (!c)
			return &p->subs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct mdc_plan *sort_plan; /* qsort has no context argument */

static int cmp_group(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	const char *sa = sort_plan->items[a].subscription, *sb = sort_plan->items[b].subscription;
	int c;

	if (!sa != !sb)
		return sa ? -1 : 1; /* workspace last */
	if (sa && (c = strcmp(sa, sb)))
		return c;
	return a < b ? -1 : a > b;
}

/* Item indices grouped by subscription (sorted by id), workspace last, plan order
 * within a group. Caller frees. */
static size_t *grouped(const struct mdc_plan *p)
{
	size_t *v = mdc_xcalloc(p->nitems + 1, sizeof(*v));

	for (size_t i = 0; i < p->nitems; i++)
		v[i] = i;
	sort_plan = p;
	qsort(v, p->nitems, sizeof(*v), cmp_group);
	sort_plan = NULL;
	return v;
}

static bool same_group(const struct mdc_plan_item *a, const struct mdc_plan_item *b)
{
	return mdc_streq(a->subscription, b->subscription);
}

/* ---- text ------------------------------------------------------------------------- */

#define C_RESET   "\033[0m"
#define C_BOLD    "\033[1m"
#define C_GREEN   "\033[32m"
#define C_YELLOW  "\033[33m"
#define C_RED     "\033[31m"
#define C_MAGENTA "\033[1;35m"
#define C_DIM     "\033[2m"

static const char *sym_color(char s)
{
	switch (s) {
	case '+':
		return C_GREEN;
	case '~':
		return C_YELLOW;
	case '-':
		return C_RED;
	case '!':
		return C_MAGENTA;
	default:
		return C_DIM;
	}
}

static void col(struct mdc_buf *out, bool on, const char *code)
{
	if (on)
		mdc_buf_adds(out, code);
}

static void value_text(struct mdc_buf *out, const char *v)
{
	if (!v) {
		mdc_buf_adds(out, "(none)");
		return;
	}
	mdc_buf_addch(out, '"');
	mdc_sanitize_term(out, v);
	mdc_buf_addch(out, '"');
}

static void group_header_text(struct mdc_buf *out, const struct mdc_plan *p,
                              const struct mdc_plan_item *it, bool color)
{
	col(out, color, C_BOLD);
	if (it->subscription) {
		const struct mdc_plan_sub *s = find_sub(p, it->subscription);
		mdc_buf_adds(out, "subscription ");
		if (s && s->display_name) {
			mdc_sanitize_term(out, s->display_name);
			mdc_buf_adds(out, " (");
			mdc_sanitize_term(out, it->subscription);
			mdc_buf_addch(out, ')');
		} else {
			mdc_sanitize_term(out, it->subscription);
		}
	} else {
		mdc_buf_adds(out, "workspace ");
		mdc_sanitize_term(out, p->workspace);
	}
	col(out, color, C_RESET);
	mdc_buf_addch(out, '\n');
}

/* The verb shown for an item: a blocked no-op is a subscription that could not be read,
 * which has nothing to do yet only because nothing is known about it. */
static const char *verb(const struct mdc_plan_item *it)
{
	return it->action == MDC_ACT_NOOP && it->blocked ? "cannot plan"
	                                                 : mdc_action_name(it->action);
}

static void item_text(struct mdc_buf *out, const struct mdc_plan_item *it, bool color)
{
	char s = symbol(it);

	mdc_buf_adds(out, "  ");
	col(out, color, sym_color(s));
	mdc_buf_addf(out, "%c %s ", s, verb(it));
	mdc_sanitize_term(out, label(it));
	if (it->blocked)
		mdc_buf_adds(out, " (blocked)");
	col(out, color, C_RESET);
	mdc_buf_addch(out, '\n');
	for (size_t k = 0; k < it->nchanges; k++) {
		mdc_buf_adds(out, "      ");
		mdc_sanitize_term(out, it->changes[k].field);
		mdc_buf_adds(out, ": ");
		value_text(out, it->changes[k].before);
		mdc_buf_adds(out, " -> ");
		value_text(out, it->changes[k].after);
		mdc_buf_addch(out, '\n');
	}
	if (it->blocked) {
		mdc_buf_adds(out, "      ");
		col(out, color, C_MAGENTA);
		mdc_buf_adds(out, "blocked: ");
		col(out, color, C_RESET);
		mdc_sanitize_term(out, it->blocked);
		mdc_buf_addch(out, '\n');
	}
}

void mdc_render_text(struct mdc_buf *out, const struct mdc_plan *p, const struct mdc_render_opts *o)
{
	static const struct mdc_render_opts none = {0};
	size_t *order = grouped(p);
	const struct mdc_plan_item *prev = NULL;
	size_t shown = 0;

	if (!o)
		o = &none;
	mdc_buf_adds(out, "mdcctl plan for workspace ");
	mdc_sanitize_term(out, p->workspace);
	mdc_buf_addch(out, '\n');
	mdc_buf_adds(out, "config ");
	mdc_sanitize_term(out, p->config_digest ? p->config_digest : "(none)");
	if (p->git_commit) {
		mdc_buf_adds(out, ", commit ");
		mdc_sanitize_term(out, p->git_commit);
	}
	mdc_buf_adds(out, ", planned ");
	mdc_plan_format_time(out, p->created_at);
	mdc_buf_addch(out, '\n');

	for (size_t n = 0; n < p->nitems; n++) {
		const struct mdc_plan_item *it = &p->items[order[n]];
		if (it->action == MDC_ACT_NOOP && !it->blocked && !o->show_noop)
			continue;
		if (!prev || !same_group(prev, it)) {
			mdc_buf_addch(out, '\n');
			group_header_text(out, p, it, o->color);
		}
		item_text(out, it, o->color);
		prev = it;
		shown++;
	}
	if (!shown)
		mdc_buf_adds(out, "\nNo changes. Azure matches the configuration.\n");

	if (p->nnotes) {
		mdc_buf_adds(out, "\n");
		col(out, o->color, C_BOLD);
		mdc_buf_adds(out, "Notes:");
		col(out, o->color, C_RESET);
		mdc_buf_addch(out, '\n');
	}
	for (size_t i = 0; i < p->nnotes; i++) {
		const struct mdc_plan_note *nt = &p->notes[i];
		mdc_buf_adds(out, "  ");
		if (nt->level == MDC_NOTE_WARNING)
			col(out, o->color, C_YELLOW);
		mdc_buf_adds(out, mdc_note_level_name(nt->level));
		col(out, o->color, C_RESET);
		if (nt->subscription) {
			const struct mdc_plan_sub *s = find_sub(p, nt->subscription);
			mdc_buf_adds(out, " (");
			if (s && s->display_name) {
				mdc_sanitize_term(out, s->display_name);
				mdc_buf_addch(out, ' ');
			}
			mdc_sanitize_term(out, nt->subscription);
			mdc_buf_addch(out, ')');
		}
		mdc_buf_adds(out, ": ");
		mdc_sanitize_term(out, nt->message);
		mdc_buf_addch(out, '\n');
	}
	mdc_buf_addch(out, '\n');
	col(out, o->color, C_BOLD);
	mdc_render_summary(out, &p->counts);
	col(out, o->color, C_RESET);
	mdc_buf_addch(out, '\n');
	free(order);
}

/* ---- markdown --------------------------------------------------------------------- */

static void counts_md(struct mdc_buf *out, const struct mdc_plan_counts *c)
{
	bool any = false;
#define PART(n, word)                                                                              \
	if (n) {                                                                                   \
		mdc_buf_addf(out, "%s%zu %s", any ? ", " : "", (size_t)(n), word);                 \
		any = true;                                                                        \
	}
	PART(c->add, "to add")
	PART(c->change, "to change")
	PART(c->remove, "to remove")
	PART(c->blocked, "blocked")
#undef PART
	if (!any)
		mdc_buf_adds(out, "no changes");
}

static void item_md(struct mdc_buf *out, const struct mdc_plan_item *it, bool generic)
{
	mdc_buf_addf(out, "`%c` **%s** ", symbol(it), verb(it));
	if (generic && it->kind == MDC_ITEM_CONNECTOR)
		mdc_buf_adds(out, "connector");
	else
		mdc_sanitize_markdown(out, label(it));
	for (size_t k = 0, shown = 0; k < it->nchanges; k++) {
		const struct mdc_change *c = &it->changes[k];
		/* Aggregated lines leave out values that name the subscription itself. */
		if (generic && (mdc_streq(c->after, it->subscription) ||
		                mdc_streq(c->before, it->subscription)))
			continue;
		mdc_buf_adds(out, shown++ ? "; " : ": ");
		mdc_sanitize_markdown(out, c->field);
		mdc_buf_adds(out, " ");
		if (c->before)
			mdc_sanitize_markdown(out, c->before);
		else
			mdc_buf_adds(out, "(none)");
		mdc_buf_adds(out, " &#8594; ");
		if (c->after)
			mdc_sanitize_markdown(out, c->after);
		else
			mdc_buf_adds(out, "(none)");
	}
	if (it->blocked) {
		mdc_buf_adds(out, " &#8212; **blocked**: ");
		mdc_sanitize_markdown(out, it->blocked);
	}
}

static void group_title_md(struct mdc_buf *out, const struct mdc_plan *p, const char *sub)
{
	if (sub) {
		const struct mdc_plan_sub *s = find_sub(p, sub);
		if (s && s->display_name) {
			mdc_sanitize_markdown(out, s->display_name);
			mdc_buf_adds(out, " (");
			mdc_sanitize_markdown(out, sub);
			mdc_buf_addch(out, ')');
		} else {
			mdc_sanitize_markdown(out, sub);
		}
	} else {
		mdc_buf_adds(out, "Workspace ");
		mdc_sanitize_markdown(out, p->workspace);
	}
}

static void head_md(struct mdc_buf *out, const struct mdc_plan *p)
{
	mdc_buf_adds(out, "### mdcctl plan\n\n**");
	mdc_render_summary(out, &p->counts);
	mdc_buf_adds(out, "**\n\n");
	mdc_buf_adds(out, "Config ");
	if (p->config_digest)
		mdc_sanitize_markdown(out, p->config_digest);
	else
		mdc_buf_adds(out, "(none)");
	if (p->git_commit) {
		mdc_buf_adds(out, " at commit ");
		mdc_sanitize_markdown(out, p->git_commit);
	}
	mdc_buf_adds(out, "\n\n");
}

/* Detailed markdown; stops early (returns false) once past `limit`. */
static bool detailed_md(struct mdc_buf *out, const struct mdc_plan *p, size_t limit)
{
	size_t *order = grouped(p);
	bool ok = true;

	head_md(out, p);
	for (size_t i = 0; i < p->nnotes; i++) {
		mdc_buf_adds(out,
		             p->notes[i].level == MDC_NOTE_WARNING ? "- **warning**" : "- note");
		if (p->notes[i].subscription) {
			mdc_buf_adds(out, " (");
			group_title_md(out, p, p->notes[i].subscription);
			mdc_buf_addch(out, ')');
		}
		mdc_buf_adds(out, ": ");
		mdc_sanitize_markdown(out, p->notes[i].message);
		mdc_buf_addch(out, '\n');
	}
	if (p->nnotes)
		mdc_buf_addch(out, '\n');
	for (size_t n = 0; n < p->nitems && ok;) {
		const struct mdc_plan_item *first = &p->items[order[n]];
		struct mdc_plan_counts c = {0};
		size_t end = n;

		while (end < p->nitems && same_group(first, &p->items[order[end]])) {
			mdc_plan_count_item(&c, &p->items[order[end]]);
			end++;
		}
		if (c.add || c.change || c.remove || c.blocked) {
			mdc_buf_adds(out, "<details><summary>");
			group_title_md(out, p, first->subscription);
			mdc_buf_adds(out, " &#8212; ");
			counts_md(out, &c);
			mdc_buf_adds(out, "</summary>\n\n");
			for (size_t k = n; k < end; k++) {
				const struct mdc_plan_item *it = &p->items[order[k]];
				if (it->action == MDC_ACT_NOOP && !it->blocked)
					continue;
				mdc_buf_adds(out, "- ");
				item_md(out, it, false);
				mdc_buf_addch(out, '\n');
			}
			mdc_buf_adds(out, "\n</details>\n");
		}
		if (out->len > limit)
			ok = false;
		n = end;
	}
	free(order);
	return ok;
}

static int cmp_strp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

struct run {
	const char *text;
	size_t count;
};

static int cmp_run(const void *x, const void *y)
{
	const struct run *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->text, b->text);
}

/* Counts identical strings; returns runs sorted by count, descending. */
static struct run *runs(struct mdc_strvec *v, size_t *nruns)
{
	struct run *r = mdc_xcalloc(v->n + 1, sizeof(*r));
	size_t n = 0;

	if (v->n > 1)
		qsort(v->v, v->n, sizeof(*v->v), cmp_strp);
	for (size_t i = 0; i < v->n; i++) {
		if (n && !strcmp(r[n - 1].text, v->v[i]))
			r[n - 1].count++;
		else
			r[n++] = (struct run){v->v[i], 1};
	}
	qsort(r, n, sizeof(*r), cmp_run);
	*nruns = n;
	return r;
}

/* Appends v as a list of runs, "- N subscriptions: text" for repeated lines, while out
 * plus reserve stays 200 bytes clear of limit; returns how many runs did not fit. */
static size_t runs_md(struct mdc_buf *out, struct mdc_strvec *v, size_t limit, size_t reserve)
{
	struct mdc_buf b = MDC_BUF_INIT;
	size_t nr, omitted = 0;
	struct run *r = runs(v, &nr);

	for (size_t i = 0; i < nr; i++) {
		mdc_buf_reset(&b);
		if (r[i].count > 1)
			mdc_buf_addf(&b, "- %zu subscriptions: %s\n", r[i].count, r[i].text);
		else
			mdc_buf_addf(&b, "- %s\n", r[i].text);
		if (out->len + b.len + reserve + 200 > limit) {
			omitted = nr - i;
			break;
		}
		mdc_buf_add(out, b.ptr, b.len);
	}
	free(r);
	mdc_buf_release(&b);
	return omitted;
}

/* Tenant-scale markdown: identical changes across subscriptions are counted, not listed. */
static void aggregated_md(struct mdc_buf *out, const struct mdc_plan *p, size_t limit,
                          const char *hint)
{
	struct mdc_strvec lines = {0}, notes = {0};
	struct mdc_buf b = MDC_BUF_INIT, tail = MDC_BUF_INIT;
	size_t omitted = 0;

	head_md(out, p);
	mdc_buf_addf(&tail, "\nThis plan is too large to list in full: identical changes are "
	                    "counted across subscriptions. Full plan: ");
	mdc_sanitize_markdown(&tail, hint ? hint : "run mdcctl plan --format json");
	mdc_buf_adds(&tail, "\n");

	for (size_t i = 0; i < p->nitems; i++) {
		const struct mdc_plan_item *it = &p->items[i];
		if (it->action == MDC_ACT_NOOP && !it->blocked)
			continue;
		mdc_buf_reset(&b);
		item_md(&b, it, true);
		mdc_strvec_push(&lines, b.ptr);
	}
	for (size_t i = 0; i < p->nnotes; i++) {
		mdc_buf_reset(&b);
		mdc_buf_adds(&b,
		             p->notes[i].level == MDC_NOTE_WARNING ? "**warning**: " : "note: ");
		mdc_sanitize_markdown(&b, p->notes[i].message);
		mdc_strvec_push(&notes, b.ptr);
	}

	omitted += runs_md(out, &notes, limit, tail.len);

	mdc_buf_adds(out, "\n<details open><summary>Changes</summary>\n\n");
	omitted += runs_md(out, &lines, limit, tail.len);
	mdc_buf_adds(out, "\n</details>\n");
	if (omitted)
		mdc_buf_addf(out, "\n%zu more kinds of change or note not shown.\n", omitted);
	mdc_buf_add(out, tail.ptr, tail.len);
	mdc_strvec_clear(&lines);
	mdc_strvec_clear(&notes);
	mdc_buf_release(&b);
	mdc_buf_release(&tail);
}

void mdc_render_markdown(struct mdc_buf *out, const struct mdc_plan *p,
                         const struct mdc_render_opts *o)
{
	size_t limit = o && o->markdown_limit ? o->markdown_limit : MDC_RENDER_MARKDOWN_LIMIT;
	struct mdc_buf b = MDC_BUF_INIT;

	/* Leave room: the limit is on the whole comment, the caller may add a line. */
	limit = limit > 1000 ? limit - 500 : limit / 2;
	if (detailed_md(&b, p, limit) && b.len <= limit) {
		mdc_buf_add(out, b.ptr, b.len);
	} else {
		mdc_buf_reset(&b);
		aggregated_md(&b, p, limit, o ? o->full_plan_hint : NULL);
		mdc_buf_add(out, b.ptr, b.len);
	}
	mdc_buf_release(&b);
}
