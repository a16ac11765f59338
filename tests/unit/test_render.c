#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "buf.h"
#include "plan.h"
#include "render.h"

/* Plans are built by hand here: render must not depend on the planner's choices. */

static void change(struct mdc_plan_item *it, const char *f, const char *b, const char *a)
{
	it->changes = mdc_xrealloc(it->changes, (it->nchanges + 1) * sizeof(*it->changes));
	it->changes[it->nchanges].field = mdc_xstrdup(f);
	it->changes[it->nchanges].before = b ? mdc_xstrdup(b) : NULL;
	it->changes[it->nchanges].after = a ? mdc_xstrdup(a) : NULL;
	it->nchanges++;
}

static struct mdc_plan_item *item(struct mdc_plan *p, const char *sub, const char *id,
                                  enum mdc_item_kind kind, enum mdc_action a)
{
	struct mdc_plan_item *it;

	p->items = mdc_xrealloc(p->items, (p->nitems + 1) * sizeof(*p->items));
	it = &p->items[p->nitems++];
	memset(it, 0, sizeof(*it));
	it->subscription = sub ? mdc_xstrdup(sub) : NULL;
	it->id = sub ? mdc_xasprintf("sub/%s/%s", sub, id) : mdc_xasprintf("workspace/%s", id);
	it->kind = kind;
	it->action = a;
	it->resource = mdc_xstrdup("/x");
	return it;
}

static void sub(struct mdc_plan *p, const char *id, const char *name)
{
	p->subs = mdc_xrealloc(p->subs, (p->nsubs + 1) * sizeof(*p->subs));
	memset(&p->subs[p->nsubs], 0, sizeof(p->subs[p->nsubs]));
	p->subs[p->nsubs].id = mdc_xstrdup(id);
	p->subs[p->nsubs].display_name = name ? mdc_xstrdup(name) : NULL;
	p->nsubs++;
}

static void note(struct mdc_plan *p, enum mdc_note_level l, const char *code, const char *s,
                 const char *msg)
{
	p->notes = mdc_xrealloc(p->notes, (p->nnotes + 1) * sizeof(*p->notes));
	p->notes[p->nnotes].level = l;
	p->notes[p->nnotes].code = mdc_xstrdup(code);
	p->notes[p->nnotes].subscription = s ? mdc_xstrdup(s) : NULL;
	p->notes[p->nnotes].message = mdc_xstrdup(msg);
	p->nnotes++;
}

/* Recomputes counts through the saved format, as a reader would. */
static struct mdc_plan *reload(struct mdc_plan *p)
{
	char *j = mdc_plan_to_json(p);
	struct mdc_plan *q = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	if (mdc_plan_from_json(&q, j, strlen(j), &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		abort();
	}
	free(j);
	mdc_plan_free(p);
	return q;
}

#define SA "11111111-0000-4000-8000-000000000001"
#define SB "22222222-0000-4000-8000-000000000002"

static struct mdc_plan *sample(void)
{
	struct mdc_plan *p = mdc_xcalloc(1, sizeof(*p));
	struct mdc_plan_item *it;

	p->format_version = 1;
	p->created_at = 1714564800;
	p->config_digest = mdc_xstrdup("sha256:00ff");
	p->git_commit = mdc_xstrdup("abc123");
	p->workspace = mdc_xstrdup("/subscriptions/w/resourceGroups/rg/providers/"
	                           "Microsoft.OperationalInsights/workspaces/law");
	sub(p, SA, "Prod-Payments");
	sub(p, SB, "Dev");
	it =
	    item(p, SA, "provider/Microsoft.SecurityInsights", MDC_ITEM_PROVIDER, MDC_ACT_REGISTER);
	change(it, "registrationState", "NotRegistered", "Registered");
	it = item(p, SA, "pricing/VirtualMachines", MDC_ITEM_PRICING, MDC_ACT_UPDATE);
	change(it, "pricingTier", "Free", "Standard");
	it = item(p, SA, "connector/abc", MDC_ITEM_CONNECTOR, MDC_ACT_CREATE);
	change(it, "dataTypes.alerts.state", NULL, "Enabled");
	it = item(p, SA, "sync", MDC_ITEM_SYNC, MDC_ACT_UPDATE);
	change(it, "enabled", "false", "true");
	it->blocked = mdc_xstrdup("missing permission 'Microsoft.Security/settings/write'");
	it = item(p, SB, "connector/old", MDC_ITEM_CONNECTOR, MDC_ACT_DELETE);
	change(it, "dataTypes.alerts.state", "Enabled", NULL);
	item(p, SB, "pricing/Arm", MDC_ITEM_PRICING, MDC_ACT_NOOP);
	it = item(p, NULL, "solution", MDC_ITEM_SOLUTION, MDC_ACT_UPDATE);
	change(it, "version", "3.0.0", "3.0.3");
	note(p, MDC_NOTE_WARNING, "duplicate-incidents", NULL, "duplicate incidents: ...");
	note(p, MDC_NOTE_INFO, "skipped", SB, "the subscription is Disabled; not managed");
	return reload(p);
}

TEST(text_groups_symbols_and_summary)
{
	struct mdc_plan *p = sample();
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_render_opts o = {0};
	const char *a, *c, *w;

	mdc_render_text(&b, p, &o);
	ASSERT_CONTAINS(b.ptr, "subscription Prod-Payments (" SA ")\n");
	ASSERT_CONTAINS(b.ptr, "  ~ register provider/Microsoft.SecurityInsights\n");
	ASSERT_CONTAINS(b.ptr, "      pricingTier: \"Free\" -> \"Standard\"\n");
	ASSERT_CONTAINS(b.ptr, "  + create connector/abc\n");
	ASSERT_CONTAINS(b.ptr, "      dataTypes.alerts.state: (none) -> \"Enabled\"\n");
	ASSERT_CONTAINS(b.ptr, "  ! update sync (blocked)\n");
	ASSERT_CONTAINS(b.ptr, "      blocked: missing permission");
	ASSERT_CONTAINS(b.ptr, "  - delete connector/old\n");
	ASSERT_CONTAINS(b.ptr, "workspace /subscriptions/w/");
	ASSERT_CONTAINS(b.ptr, "warning: duplicate incidents");
	ASSERT_CONTAINS(b.ptr, "info (Dev " SB "): the subscription is Disabled");
	ASSERT_CONTAINS(b.ptr, "config sha256:00ff, commit abc123, planned 2024-05-01T12:00:00Z");
	ASSERT_NOT_CONTAINS(b.ptr, "pricing/Arm"); /* noop hidden */
	ASSERT_NOT_CONTAINS(b.ptr, "\033");        /* no colour unless asked */
	/* Groups in order: A, then B, then the workspace. */
	a = strstr(b.ptr, "subscription Prod");
	c = strstr(b.ptr, "subscription Dev");
	w = strstr(b.ptr, "\nworkspace /sub");
	ASSERT(a && c && w && a < c && c < w);
	/* Register counts as a change; blocked counts only as blocked. */
	ASSERT_CONTAINS(b.ptr, "\nPlan: 1 to add, 3 to change, 1 to remove, 1 blocked.\n");
	mdc_buf_reset(&b);
	o.show_noop = true;
	mdc_render_text(&b, p, &o);
	ASSERT_CONTAINS(b.ptr, "noop pricing/Arm");
	mdc_buf_release(&b);
	mdc_plan_free(p);
}

TEST(text_colour_only_when_asked)
{
	struct mdc_plan *p = sample();
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_render_opts o = {.color = true};

	mdc_render_text(&b, p, &o);
	ASSERT_CONTAINS(b.ptr, "\033[32m+ create");
	ASSERT_CONTAINS(b.ptr, "\033[31m- delete");
	ASSERT_CONTAINS(b.ptr, "\033[0m");
	mdc_buf_release(&b);
	mdc_plan_free(p);
}

TEST(text_no_changes)
{
	struct mdc_plan *p = mdc_xcalloc(1, sizeof(*p));
	struct mdc_buf b = MDC_BUF_INIT;

	p->workspace = mdc_xstrdup("/w");
	mdc_render_text(&b, p, NULL);
	ASSERT_CONTAINS(b.ptr, "No changes.");
	ASSERT_CONTAINS(b.ptr, "Plan: 0 to add, 0 to change, 0 to remove, 0 blocked.\n");
	mdc_buf_release(&b);
	mdc_plan_free(p);
}

TEST(json_is_the_saved_plan)
{
	struct mdc_plan *p = sample();
	struct mdc_buf b = MDC_BUF_INIT;
	char *j = mdc_plan_to_json(p);

	mdc_render_json(&b, p);
	ASSERT_EQ_STR(j, b.ptr);
	ASSERT_CONTAINS(b.ptr, "\"format_version\":\t1");
	free(j);
	mdc_buf_release(&b);
	mdc_plan_free(p);
}

TEST(sanitize_term_strips_controls_and_escapes)
{
	struct mdc_buf b = MDC_BUF_INIT;

	mdc_sanitize_term(&b, "a\033[31mred\033[0m\033]0;title\007b\033]8;;http://x\033\\c");
	ASSERT_EQ_STR("aredbc", b.ptr);
	mdc_buf_reset(&b);
	mdc_sanitize_term(&b, "x\ny\tz\r\x01\x7f|\xc2\x9b"
	                      "31m|\xe2\x80\xae"
	                      "evil");
	ASSERT_EQ_STR("x y z |31m|evil", b.ptr);
	mdc_buf_reset(&b);
	mdc_sanitize_term(&b, "caf\xc3\xa9 \xff\xfe ok \xe2\x9c\x93");
	ASSERT_EQ_STR("caf\xc3\xa9 ?? ok \xe2\x9c\x93", b.ptr);
	mdc_buf_reset(&b);
	mdc_sanitize_term(&b, "trailing\033");
	ASSERT_EQ_STR("trailing", b.ptr);
	mdc_buf_release(&b);
}

TEST(sanitize_markdown_cannot_inject)
{
	struct mdc_buf b = MDC_BUF_INIT;

	mdc_sanitize_markdown(&b, "<img src=x onerror=alert(1)>");
	ASSERT_NOT_CONTAINS(b.ptr, "<");
	ASSERT_NOT_CONTAINS(b.ptr, ">");
	ASSERT_NOT_CONTAINS(b.ptr, "(");
	mdc_buf_reset(&b);
	mdc_sanitize_markdown(&b,
	                      "](http://evil) [x](javascript:y) | `code` *b* _i_ \\ ~~s~~\nnew");
	ASSERT_NOT_CONTAINS(b.ptr, "[");
	ASSERT_NOT_CONTAINS(b.ptr, "]");
	ASSERT_NOT_CONTAINS(b.ptr, "|");
	ASSERT_NOT_CONTAINS(b.ptr, "`");
	ASSERT_NOT_CONTAINS(b.ptr, "*");
	ASSERT_NOT_CONTAINS(b.ptr, "_");
	ASSERT_NOT_CONTAINS(b.ptr, "\\");
	ASSERT_NOT_CONTAINS(b.ptr, "\n");
	ASSERT_NOT_CONTAINS(b.ptr, "http:");
	ASSERT_CONTAINS(b.ptr, "&#93;&#40;http&#58;");
	mdc_buf_reset(&b);
	mdc_sanitize_markdown(&b, "</details><script>");
	ASSERT_EQ_STR("&lt;/details&gt;&lt;script&gt;", b.ptr);
	mdc_buf_release(&b);
}

TEST(hostile_display_name_in_every_output)
{
	struct mdc_plan *p = sample();
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_render_opts o = {0};

	free(p->subs[0].display_name);
	p->subs[0].display_name = mdc_xstrdup("<img src=x>](http://evil)\033[2J\n# Title");
	mdc_render_text(&b, p, &o);
	ASSERT_NOT_CONTAINS(b.ptr, "\033[2J");
	ASSERT_CONTAINS(b.ptr, "subscription <img src=x>](http://evil) # Title (" SA ")");
	mdc_buf_reset(&b);
	mdc_render_markdown(&b, p, &o);
	ASSERT_NOT_CONTAINS(b.ptr, "<img");
	ASSERT_NOT_CONTAINS(b.ptr, "](http");
	ASSERT_NOT_CONTAINS(b.ptr, "\n# Title");
	ASSERT_CONTAINS(b.ptr, "&lt;img src=x&gt;&#93;&#40;http&#58;//evil&#41;");
	mdc_buf_release(&b);
	mdc_plan_free(p);
}

TEST(markdown_counts_first_and_details_per_subscription)
{
	struct mdc_plan *p = sample();
	struct mdc_buf b = MDC_BUF_INIT;
	const char *sum, *det;

	mdc_render_markdown(&b, p, NULL);
	sum = strstr(b.ptr, "**Plan: 1 to add, 3 to change, 1 to remove, 1 blocked.**");
	det = strstr(b.ptr, "<details>");
	ASSERT(sum && det && sum < det);
	ASSERT_CONTAINS(b.ptr, "<details><summary>Prod-Payments (" SA
	                       ") &#8212; 1 to add, 2 to change, 1 blocked</summary>\n\n");
	ASSERT_CONTAINS(b.ptr, "- `+` **create** connector/abc: dataTypes.alerts.state (none) "
	                       "&#8594; Enabled\n");
	ASSERT_CONTAINS(b.ptr, "**blocked**: missing permission &#39;Microsoft.Security/settings/"
	                       "write&#39;");
	ASSERT_CONTAINS(b.ptr, "<details><summary>Dev (" SB ") &#8212; 1 to remove</summary>");
	ASSERT_CONTAINS(b.ptr, "<details><summary>Workspace ");
	ASSERT_CONTAINS(b.ptr, "- **warning**: duplicate incidents");
	ASSERT_NOT_CONTAINS(b.ptr, "pricing/Arm");
	mdc_buf_release(&b);
	mdc_plan_free(p);
}

TEST(markdown_stays_under_limit_with_5000_subscriptions)
{
	struct mdc_plan *p = mdc_xcalloc(1, sizeof(*p));
	struct mdc_buf b = MDC_BUF_INIT;
	struct mdc_render_opts o = {.full_plan_hint = "artifact plan.json"};
	char id[40];

	p->format_version = 1;
	p->workspace = mdc_xstrdup("/w");
	for (int i = 0; i < 5000; i++) {
		struct mdc_plan_item *it;
		snprintf(id, sizeof(id), "%08d-0000-4000-8000-000000000000", i);
		sub(p, id, "A rather long subscription display name for a production workload");
		it = item(p, id, "sync", MDC_ITEM_SYNC, MDC_ACT_UPDATE);
		change(it, "enabled", "false", "true");
		it = item(p, id, "connector/x", MDC_ITEM_CONNECTOR, MDC_ACT_CREATE);
		change(it, "subscriptionId", NULL, id);
		change(it, "dataTypes.alerts.state", NULL, "Enabled");
		if (i % 10 == 0) {
			it = item(p, id, "pricing/Arm", MDC_ITEM_PRICING, MDC_ACT_UPDATE);
			change(it, "pricingTier", "Standard", "Free");
			it->blocked = mdc_xstrdup("missing permission 'Microsoft.Security/pricings/"
			                          "write' on the subscription");
		}
		note(p, MDC_NOTE_INFO, "permissions-unknown", id, "permissions were not read");
	}
	p = reload(p);
	mdc_render_markdown(&b, p, &o);
	ASSERT(b.len < 65000);
	ASSERT_CONTAINS(b.ptr, "**Plan: 5000 to add, 5000 to change, 0 to remove, 500 blocked.**");
	ASSERT_CONTAINS(b.ptr, "- 5000 subscriptions: `~` **update** sync: enabled false &#8594; "
	                       "true\n");
	ASSERT_CONTAINS(b.ptr, "- 5000 subscriptions: `+` **create** connector: "
	                       "dataTypes.alerts.state (none) &#8594; Enabled\n");
	ASSERT_CONTAINS(b.ptr, "- 500 subscriptions: `!` **update** pricing/Arm");
	ASSERT_CONTAINS(b.ptr, "- 5000 subscriptions: note: permissions were not read\n");
	ASSERT_CONTAINS(b.ptr, "Full plan: artifact plan.json");

	/* A tiny limit still holds. */
	mdc_buf_reset(&b);
	o.markdown_limit = 2000;
	mdc_render_markdown(&b, p, &o);
	ASSERT(b.len < 2000);
	ASSERT_CONTAINS(b.ptr, "Full plan: artifact plan.json");
	mdc_buf_release(&b);
	mdc_plan_free(p);
}

TEST(markdown_many_distinct_changes_is_truncated_not_oversized)
{
	struct mdc_plan *p = mdc_xcalloc(1, sizeof(*p));
	struct mdc_buf b = MDC_BUF_INIT;
	char id[40], name[64];

	p->format_version = 1;
	p->workspace = mdc_xstrdup("/w");
	for (int i = 0; i < 3000; i++) {
		struct mdc_plan_item *it;
		snprintf(id, sizeof(id), "%08d-0000-4000-8000-000000000000", i);
		snprintf(name, sizeof(name), "etag-%d-that-differs", i);
		sub(p, id, NULL);
		it = item(p, id, "sync", MDC_ITEM_SYNC, MDC_ACT_UPDATE);
		change(it, "enabled", name, "true");
	}
	p = reload(p);
	mdc_render_markdown(&b, p, NULL);
	ASSERT(b.len < 65000);
	ASSERT_CONTAINS(b.ptr, "more kinds of change or note not shown");
	ASSERT_CONTAINS(b.ptr, "Full plan: run mdcctl plan --format json");
	mdc_buf_release(&b);
	mdc_plan_free(p);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
