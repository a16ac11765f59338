#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "actual.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "plan.h"

#define S1 "11111111-0000-4000-8000-000000000001"
#define S2 "22222222-0000-4000-8000-000000000002"
#define S3 "33333333-0000-4000-8000-000000000003"
#define WS                                                                                         \
	"/subscriptions/4f7c3d2a-0000-4000-8000-000000000001/resourceGroups/rg-soc/providers/"     \
	"Microsoft.OperationalInsights/workspaces/law-soc"
#define NOW 1714564800 /* 2024-05-01T12:00:00Z */

#define NOSUBS "subscriptions:\n  select:\n    - id: " S3 "\n"

static const char head[] = "apiVersion: mdcctl/v1\n"
                           "tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47\n"
                           "workspace:\n"
                           "  subscription: 4f7c3d2a-0000-4000-8000-000000000001\n"
                           "  resourceGroup: rg-soc\n"
                           "  name: law-soc\n";

/* JSON written with ' for " so that literals stay readable. */
static char *q(const char *s)
{
	char *r = mdc_xstrdup(s);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

static const char all_perms[] = "'permissions':{'read':true,'entries':[{'actions':['*']}]}";

/* A subscription: Enabled, provider Registered, sync off, every plan Free except those
 * in `pricings` (a JSON array body, without brackets) and full permissions. */
static void add_sub(struct mdc_buf *b, const char *id, const char *name, const char *extra,
                    const char *pricings)
{
	/* extra goes first: the reader takes the first of duplicate keys. */
	mdc_buf_addf(b,
	             "%s{%s%s'id':'%s','display_name':'%s','state':'Enabled','pricings_read':true,"
	             "'pricings':[%s],'sync_enabled':false,'insights_provider':'Registered',%s}",
	             b->len && b->ptr[b->len - 1] == '}' ? "," : "", extra ? extra : "",
	             extra && *extra ? "," : "", id, name, pricings, all_perms);
}

struct fixture {
	struct mdc_config *cfg;
	struct mdc_actual *act;
	struct mdc_plan *plan;
	char *json;
};

/* Runs on the parsed config before planning: for states the validator refuses but that
 * effective settings can still produce (e.g. connected with every plan Free). */
static void (*config_hook)(struct mdc_config *);

static int build(struct fixture *f, const char *yaml_tail, const char *subs, const char *ws)
{
	struct mdc_buf y = MDC_BUF_INIT, a = MDC_BUF_INIT;
	struct mdc_diags d = {0};
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_plan_opts opts = {.now = NOW, .git_commit = "abc123"};
	char *aj;
	int rc;

	memset(f, 0, sizeof(*f));
	mdc_buf_addf(&y, "%s%s", head, yaml_tail);
	rc = mdc_config_parse(&f->cfg, y.ptr, y.len, "test.yaml", &d);
	if (rc < 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "yaml: %u:%u: %s\n", d.v[i].pos.line, d.v[i].pos.col,
			        d.v[i].message);
		goto out;
	}
	if (config_hook)
		config_hook(f->cfg);
	mdc_buf_addf(&a,
	             "{'format_version':1,'tenant':'72f988bf-86f1-41af-91ab-2d7cd011db47',"
	             "'workspace':%s,'subscriptions':[%s]}",
	             ws ? ws
	                : "{'subscription':'4f7c3d2a-0000-4000-8000-000000000001','resource_group':"
	                  "'rg-soc','name':'law-soc','onboarded':true,'read':true,"
	                  "'permissions':{'read':true,'entries':[{'actions':['*']}]}}",
	             subs);
	aj = q(a.ptr);
	rc = mdc_actual_from_json(&f->act, aj, strlen(aj), &err);
	free(aj);
	if (rc < 0) {
		fprintf(stderr, "actual: %s\n", err.message);
		goto out;
	}
	rc = mdc_plan_build(&f->plan, f->cfg, f->act, &opts, &err);
	if (rc == 0)
		f->json = mdc_plan_to_json(f->plan);
out:
	mdc_buf_release(&y);
	mdc_buf_release(&a);
	mdc_diags_clear(&d);
	mdc_error_clear(&err);
	return rc;
}

static void done(struct fixture *f)
{
	mdc_plan_free(f->plan);
	mdc_actual_free(f->act);
	mdc_config_free(f->cfg);
	free(f->json);
}

static long idx(const struct mdc_plan *p, const char *id)
{
	for (size_t i = 0; i < p->nitems; i++)
		if (!strcmp(p->items[i].id, id))
			return (long)i;
	return -1;
}

static const char *change_after(const struct mdc_plan_item *it, const char *field)
{
	for (size_t i = 0; i < it->nchanges; i++)
		if (!strcmp(it->changes[i].field, field))
			return it->changes[i].after ? it->changes[i].after : "(null)";
	return NULL;
}

static bool has_note(const struct mdc_plan *p, const char *code, const char *sub)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (!strcmp(p->notes[i].code, code) &&
		    (!sub || (p->notes[i].subscription && !strcmp(p->notes[i].subscription, sub))))
			return true;
	return false;
}

static const char *note_msg(const struct mdc_plan *p, const char *code)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (!strcmp(p->notes[i].code, code))
			return p->notes[i].message;
	return NULL;
}

static char *asc_name(const char *sub)
{
	char name[37], *lw = mdc_xstrdup(WS);
	const char *parts[3] = {"mdcctl-asc", lw, sub};
	for (char *p = lw; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	mdc_guid_from(name, parts, 3);
	free(lw);
	return mdc_xstrdup(name);
}

static const char connect_yaml[] = "subscriptions:\n"
                                   "  select:\n"
                                   "    - id: " S1 "\n"
                                   "  defaults:\n"
                                   "    connected: true\n"
                                   "    bidirectionalSync: true\n"
                                   "    plans:\n"
                                   "      VirtualMachines: { tier: Standard, subPlan: P2 }\n";

TEST(fresh_subscription_full_order_and_dependencies)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	char *name = asc_name(S1), *cid;
	const struct mdc_plan_item *reg, *pr, *con, *sync;

	add_sub(&s, S1, "Prod", "'insights_provider':'NotRegistered'",
	        "{'name':'VirtualMachines','tier':'Free'}");
	ASSERT_EQ_INT(0, build(&f, connect_yaml, s.ptr, NULL));
	cid = mdc_xasprintf("sub/" S1 "/connector/%s", name);
	ASSERT_EQ_INT(0, idx(f.plan, "sub/" S1 "/provider/Microsoft.SecurityInsights"));
	ASSERT_EQ_INT(1, idx(f.plan, "sub/" S1 "/pricing/VirtualMachines"));
	ASSERT_EQ_INT(2, idx(f.plan, cid));
	ASSERT_EQ_INT(3, idx(f.plan, "sub/" S1 "/sync"));
	reg = &f.plan->items[0];
	pr = &f.plan->items[1];
	con = &f.plan->items[2];
	sync = &f.plan->items[3];
	ASSERT_EQ_INT(MDC_ACT_REGISTER, reg->action);
	ASSERT_EQ_STR("POST", reg->req.method);
	ASSERT_EQ_STR("/subscriptions/" S1 "/providers/Microsoft.SecurityInsights/register",
	              reg->req.path);
	ASSERT_EQ_STR("2022-12-01", reg->req.api_version);
	ASSERT_EQ_STR("Registered", change_after(reg, "registrationState"));

	ASSERT_EQ_INT(MDC_ACT_UPDATE, pr->action);
	ASSERT_EQ_STR("PUT", pr->req.method);
	ASSERT_EQ_STR("2024-01-01", pr->req.api_version);
	ASSERT_EQ_STR("{\"properties\":{\"pricingTier\":\"Standard\",\"subPlan\":\"P2\"}}",
	              pr->req.body);

	ASSERT_EQ_INT(MDC_ACT_CREATE, con->action);
	ASSERT_CONTAINS(con->resource, name);
	ASSERT_EQ_STR("2025-09-01", con->req.api_version);
	ASSERT_EQ_STR("{\"kind\":\"AzureSecurityCenter\",\"properties\":{\"subscriptionId\":\"" S1
	              "\",\"dataTypes\":{\"alerts\":{\"state\":\"Enabled\"}}}}",
	              con->req.body);
	ASSERT_EQ_INT(2, con->depends_on.n);
	ASSERT_EQ_STR(reg->id, con->depends_on.v[0]);
	ASSERT_EQ_STR(pr->id, con->depends_on.v[1]);

	ASSERT_EQ_STR("{\"kind\":\"AlertSyncSettings\",\"properties\":{\"enabled\":true}}",
	              sync->req.body);
	ASSERT_EQ_STR("2022-05-01", sync->req.api_version);
	ASSERT_EQ_INT(1, sync->depends_on.n);
	ASSERT_EQ_STR(con->id, sync->depends_on.v[0]);

	ASSERT_EQ_INT(1, f.plan->counts.add);
	ASSERT_EQ_INT(3, f.plan->counts.change);
	ASSERT_EQ_INT(0, f.plan->counts.blocked);
	ASSERT_EQ_INT(1, f.plan->nsubs);
	ASSERT_EQ_STR("Prod", f.plan->subs[0].display_name);
	ASSERT_EQ_INT(3, f.plan->subs[0].counts.change);
	ASSERT_EQ_STR("abc123", f.plan->git_commit);
	ASSERT_CONTAINS(f.json, "\"created_at\":\t\"2024-05-01T12:00:00Z\"");
	ASSERT(f.plan->config_digest && !strncmp(f.plan->config_digest, "sha256:", 7));
	free(cid);
	free(name);
	mdc_buf_release(&s);
	done(&f);
}

TEST(converged_subscription_is_all_noop)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	char *name = asc_name(S1), *ws;

	add_sub(&s, S1, "Prod", "'sync_enabled':true",
	        "{'name':'VirtualMachines','tier':'Standard','sub_plan':'P2','fingerprint':'sha256:"
	        "1'}");
	ws = mdc_xasprintf(
	    "{'subscription':'4f7c3d2a-0000-4000-8000-000000000001','resource_group':'rg-soc',"
	    "'name':'law-soc','onboarded':true,'read':true,'connectors':[{'name':'%s','kind':"
	    "'AzureSecurityCenter','subscription_id':'%s','alerts_state':'Enabled','etag':'e1'}]}",
	    name, S1);
	ASSERT_EQ_INT(0, build(&f, connect_yaml, s.ptr, ws));
	ASSERT(!mdc_plan_has_changes(f.plan));
	ASSERT_EQ_INT(3, f.plan->counts.noop);
	for (size_t i = 0; i < f.plan->nitems; i++)
		ASSERT(f.plan->items[i].req.method == NULL);
	/* Fingerprints of what was read, keyed by ARM path. */
	ASSERT_EQ_STR("sha256:1",
	              mdc_kvlist_get(&f.plan->fingerprints,
	                             "/subscriptions/" S1
	                             "/providers/Microsoft.Security/pricings/VirtualMachines",
	                             false));
	ASSERT_CONTAINS(f.json, "\"fingerprint\":\t\"e1\"");
	free(ws);
	free(name);
	mdc_buf_release(&s);
	done(&f);
}

TEST(deterministic_connector_name_is_stable_and_per_subscription)
{
	struct fixture f1, f2;
	struct mdc_buf s = MDC_BUF_INIT;
	char *n1 = asc_name(S1), *n2 = asc_name(S2);

	ASSERT(strcmp(n1, n2));
	add_sub(&s, S1, "A", NULL, "{'name':'Arm','tier':'Standard'}");
	ASSERT_EQ_INT(0, build(&f1, connect_yaml, s.ptr, NULL));
	ASSERT_EQ_INT(0, build(&f2, connect_yaml, s.ptr, NULL));
	ASSERT_EQ_STR(f1.json, f2.json);
	ASSERT_CONTAINS(f1.json, n1);
	free(n1);
	free(n2);
	mdc_buf_release(&s);
	done(&f1);
	done(&f2);
}

TEST(free_to_standard_with_extensions_is_two_dependent_puts)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	const struct mdc_plan_item *a, *b;
	long i;

	add_sub(&s, S1, "A", NULL, "{'name':'VirtualMachines','tier':'Free'}");
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                       "    plans:\n      VirtualMachines:\n        tier: Standard\n"
	                       "        subPlan: P2\n        enforce: true\n        extensions:\n"
	                       "          AgentlessVmScanning: false\n"
	                       "          MdeDesignatedSubscription: true\n",
	                       s.ptr, NULL));
	i = idx(f.plan, "sub/" S1 "/pricing/VirtualMachines");
	ASSERT(i >= 0);
	a = &f.plan->items[i];
	b = &f.plan->items[i + 1];
	ASSERT_EQ_STR("sub/" S1 "/pricing/VirtualMachines/extensions", b->id);
	ASSERT_EQ_STR("{\"properties\":{\"pricingTier\":\"Standard\",\"subPlan\":\"P2\","
	              "\"enforce\":\"True\"}}",
	              a->req.body);
	ASSERT_NOT_CONTAINS(a->req.body, "extensions");
	ASSERT_CONTAINS(b->req.body, "{\"name\":\"AgentlessVmScanning\",\"isEnabled\":\"False\"}");
	ASSERT_CONTAINS(b->req.body,
	                "{\"name\":\"MdeDesignatedSubscription\",\"isEnabled\":\"True\"}");
	ASSERT_CONTAINS(b->req.body, "\"pricingTier\":\"Standard\"");
	ASSERT_EQ_INT(1, b->depends_on.n);
	ASSERT_EQ_STR(a->id, b->depends_on.v[0]);
	/* AgentlessVmScanning turns on by itself with Standard: true -> false. */
	ASSERT_EQ_STR("false", change_after(b, "extensions.AgentlessVmScanning.isEnabled"));
	ASSERT_EQ_STR("True", change_after(a, "enforce"));
	mdc_buf_release(&s);
	done(&f);
}

/* The only Standard plan today is set Free by the same plan: connecting must wait for
 * the plan that becomes Standard, or the connector PUT can land while none is. */
TEST(connect_waits_for_new_standard_when_the_old_one_goes_free)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	char *name = asc_name(S1), *cid = mdc_xasprintf("sub/" S1 "/connector/%s", name);
	const struct mdc_plan_item *con;
	long i;

	add_sub(&s, S1, "A", NULL,
	        "{'name':'VirtualMachines','tier':'Standard','sub_plan':'P2'},"
	        "{'name':'KeyVaults','tier':'Free'}");
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                       "    connected: true\n    plans:\n      VirtualMachines: Free\n"
	                       "      KeyVaults: Standard\n",
	                       s.ptr, NULL));
	i = idx(f.plan, cid);
	ASSERT(i >= 0);
	con = &f.plan->items[i];
	ASSERT_EQ_INT(MDC_ACT_CREATE, con->action);
	ASSERT(mdc_strvec_find(&con->depends_on, "sub/" S1 "/pricing/KeyVaults", false) >= 0);
	ASSERT(idx(f.plan, "sub/" S1 "/pricing/KeyVaults") < i);
	ASSERT(!con->blocked);
	free(cid);
	free(name);
	mdc_buf_release(&s);
	done(&f);
}

TEST(sub_plan_change_is_one_in_place_put_never_free)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	const struct mdc_plan_item *it;

	add_sub(&s, S1, "A", NULL,
	        "{'name':'VirtualMachines','tier':'Standard','sub_plan':'P1','enforce':'False',"
	        "'extensions':[{'name':'AgentlessVmScanning','enabled':true,'properties':"
	        "{'ExclusionTags':'[]'}}]}");
	ASSERT_EQ_INT(0,
	              build(&f,
	                    "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                    "    plans:\n      VirtualMachines: { tier: Standard, subPlan: P2 }\n",
	                    s.ptr, NULL));
	ASSERT_EQ_INT(1, f.plan->nitems);
	it = &f.plan->items[0];
	ASSERT_EQ_INT(MDC_ACT_UPDATE, it->action);
	ASSERT_EQ_INT(1, it->nchanges);
	ASSERT_EQ_STR("P2", change_after(it, "subPlan"));
	/* Unset enforce and unnamed extensions are sent as read, so the PUT changes nothing
	 * else. */
	ASSERT_EQ_STR("{\"properties\":{\"pricingTier\":\"Standard\",\"subPlan\":\"P2\","
	              "\"enforce\":\"False\",\"extensions\":[{\"name\":\"AgentlessVmScanning\","
	              "\"isEnabled\":\"True\",\"additionalExtensionProperties\":{\"ExclusionTags\":"
	              "\"[]\"}}]}}",
	              it->req.body);
	ASSERT_NOT_CONTAINS(f.json, "\"Free\"");
	mdc_buf_release(&s);
	done(&f);
}

TEST(plans_free_is_a_put_never_a_delete)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	const struct mdc_plan_item *it;

	add_sub(&s, S1, "A", NULL,
	        "{'name':'KeyVaults','tier':'Standard','sub_plan':'PerKeyVault'}");
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                       "    plans:\n      KeyVaults: Free\n",
	                       s.ptr, NULL));
	ASSERT_EQ_INT(1, f.plan->nitems);
	it = &f.plan->items[0];
	ASSERT_EQ_STR("PUT", it->req.method);
	ASSERT_EQ_STR("{\"properties\":{\"pricingTier\":\"Free\"}}", it->req.body);
	ASSERT_EQ_STR("Free", change_after(it, "pricingTier"));
	ASSERT_EQ_INT(1, f.plan->counts.change);
	ASSERT_EQ_INT(0, f.plan->counts.remove);
	mdc_buf_release(&s);
	done(&f);
}

TEST(other_plans_free_and_unmanaged)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	static const char pr[] = "{'name':'VirtualMachines','tier':'Standard','sub_plan':'P2'},"
	                         "{'name':'Arm','tier':'Standard'},{'name':'SqlServers','tier':"
	                         "'Standard'},{'name':'AppServices','tier':'Free'},"
	                         "{'name':'Dns','tier':'Standard','deprecated':true,"
	                         "'replaced_by':['VirtualMachines']}";
	long a, q2;

	add_sub(&s, S1, "A", NULL, pr);
	ASSERT_EQ_INT(0,
	              build(&f,
	                    "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                    "    plans:\n      VirtualMachines: { tier: Standard, subPlan: P2 }\n"
	                    "    otherPlans: free\n",
	                    s.ptr, NULL));
	ASSERT(idx(f.plan, "sub/" S1 "/pricing/VirtualMachines") >= 0); /* noop */
	a = idx(f.plan, "sub/" S1 "/pricing/SqlServers");
	q2 = idx(f.plan, "sub/" S1 "/pricing/Arm");
	ASSERT(a >= 0 && q2 > a); /* catalogue order */
	ASSERT_EQ_STR("Free", change_after(&f.plan->items[a], "pricingTier"));
	ASSERT_EQ_STR(f.plan->items[a].id, f.plan->items[q2].depends_on.v[0]); /* one chain */
	ASSERT_EQ_INT(-1, idx(f.plan, "sub/" S1 "/pricing/AppServices"));      /* already Free */
	ASSERT_EQ_INT(-1, idx(f.plan, "sub/" S1 "/pricing/Dns")); /* deprecated: not ours */
	ASSERT(has_note(f.plan, "deprecated-plan", S1));
	ASSERT_CONTAINS(note_msg(f.plan, "deprecated-plan"), "'Dns'");
	ASSERT_CONTAINS(note_msg(f.plan, "deprecated-plan"), "'VirtualMachines'");
	done(&f);

	ASSERT_EQ_INT(0,
	              build(&f,
	                    "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                    "    plans:\n      VirtualMachines: { tier: Standard, subPlan: P2 }\n"
	                    "    otherPlans: unmanaged\n",
	                    s.ptr, NULL));
	ASSERT_EQ_INT(0, f.plan->counts.change);
	ASSERT_EQ_INT(-1, idx(f.plan, "sub/" S1 "/pricing/Arm"));
	mdc_buf_release(&s);
	done(&f);
}

TEST(pricing_items_form_one_chain_per_subscription)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	const char *prev = NULL;
	int n = 0;

	add_sub(&s, S1, "A", NULL, "");
	add_sub(&s, S2, "B", NULL, "");
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n    - id: " S2 "\n"
	                       "  defaults:\n    plans:\n      VirtualMachines: Standard\n"
	                       "      KeyVaults: Standard\n      Arm: Standard\n",
	                       s.ptr, NULL));
	ASSERT_EQ_INT(6, f.plan->counts.add);
	for (size_t i = 0; i < f.plan->nitems; i++) {
		const struct mdc_plan_item *it = &f.plan->items[i];
		ASSERT_EQ_INT(MDC_ITEM_PRICING, it->kind);
		if (prev && !strcmp(it->subscription, f.plan->items[i - 1].subscription)) {
			ASSERT_EQ_INT(1, it->depends_on.n);
			ASSERT_EQ_STR(prev, it->depends_on.v[0]);
		} else {
			ASSERT_EQ_INT(0, it->depends_on.n); /* chains do not cross subscriptions */
			n++;
		}
		prev = it->id;
	}
	ASSERT_EQ_INT(2, n);
	ASSERT_EQ_STR(S1, f.plan->items[0].subscription); /* sorted by id */
	mdc_buf_release(&s);
	done(&f);
}

TEST(connector_with_alerts_disabled_is_updated_in_place_with_etag)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	const struct mdc_plan_item *it;
	long i;

	add_sub(&s, S1, "A", "'sync_enabled':true", "{'name':'Arm','tier':'Standard'}");
	ASSERT_EQ_INT(0, build(&f, connect_yaml, s.ptr,
	                       "{'onboarded':true,'read':true,'connectors':[{'name':'legacy-1',"
	                       "'kind':'AzureSecurityCenter','subscription_id':'" S1 "',"
	                       "'alerts_state':'Disabled','etag':'W/7'}]}"));
	i = idx(f.plan, "sub/" S1 "/connector/legacy-1");
	ASSERT(i >= 0);
	it = &f.plan->items[i];
	ASSERT_EQ_INT(MDC_ACT_UPDATE, it->action);
	ASSERT_CONTAINS(it->resource, "/dataConnectors/legacy-1");
	ASSERT_CONTAINS(it->req.body, "\"etag\":\"W/7\"");
	ASSERT_EQ_STR("Enabled", change_after(it, "dataTypes.alerts.state"));
	ASSERT_EQ_STR("W/7", it->fingerprint);
	mdc_buf_release(&s);
	done(&f);
}

TEST(connected_false_deletes_every_match_after_sync_off)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	long sy, d1, d2, pv;

	add_sub(&s, S1, "A", "'sync_enabled':true", "{'name':'VirtualMachines','tier':'Standard'}");
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                       "    connected: false\n    bidirectionalSync: false\n"
	                       "    plans:\n      VirtualMachines: Free\n",
	                       s.ptr,
	                       "{'onboarded':true,'read':true,'connectors':["
	                       "{'name':'b','kind':'AzureSecurityCenter','subscription_id':'" S1
	                       "','alerts_state':'Enabled'},"
	                       "{'name':'a','kind':'azuresecuritycenter','subscription_id':'"
	                       "11111111-0000-4000-8000-000000000001','alerts_state':'Enabled'},"
	                       "{'name':'other','kind':'AzureSecurityCenter','subscription_id':'" S2
	                       "','alerts_state':'Enabled'}]}"));
	sy = idx(f.plan, "sub/" S1 "/sync");
	d1 = idx(f.plan, "sub/" S1 "/connector/a");
	d2 = idx(f.plan, "sub/" S1 "/connector/b");
	pv = idx(f.plan, "sub/" S1 "/pricing/VirtualMachines");
	ASSERT(sy == 0 && d1 == 1 && d2 == 2 && pv == 3);
	ASSERT_EQ_INT(-1, idx(f.plan, "sub/" S1 "/connector/other"));
	ASSERT_EQ_STR("DELETE", f.plan->items[d1].req.method);
	ASSERT(f.plan->items[d1].req.body == NULL);
	ASSERT_EQ_STR(f.plan->items[sy].id, f.plan->items[d1].depends_on.v[0]);
	ASSERT_EQ_INT(2, f.plan->counts.remove);
	ASSERT_EQ_INT(-1, idx(f.plan, "sub/" S1 "/provider/Microsoft.SecurityInsights"));
	mdc_buf_release(&s);
	done(&f);
}

TEST(unselected_disconnect_and_ignore)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	static const char ws[] =
	    "{'onboarded':true,'read':true,'connectors':["
	    "{'name':'c2','kind':'AzureSecurityCenter','subscription_id':'" S2
	    "','alerts_state':'Enabled'},"
	    "{'name':'c9','kind':'AzureSecurityCenter','subscription_id':"
	    "'99999999-0000-4000-8000-000000000009','alerts_state':'Enabled'}]}";
	long i;

	add_sub(&s, S1, "A", NULL, "{'name':'Arm','tier':'Standard'}");
	add_sub(&s, S2, "B", NULL, "{'name':'Arm','tier':'Standard'}");
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n"
	                       "  unselected: disconnect\n  defaults:\n    connected: true\n"
	                       "    plans: { Arm: Standard }\n",
	                       s.ptr, ws));
	i = idx(f.plan, "sub/" S2 "/connector/c2");
	ASSERT(i >= 0);
	ASSERT_EQ_INT(MDC_ACT_DELETE, f.plan->items[i].action);
	ASSERT_CONTAINS(f.plan->items[i].reason, "not selected");
	ASSERT_EQ_INT(-1, idx(f.plan, "sub/99999999-0000-4000-8000-000000000009/connector/c9"));
	ASSERT(has_note(f.plan, "unknown-subscription", "99999999-0000-4000-8000-000000000009"));
	done(&f);

	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n"
	                       "  unselected: ignore\n  defaults:\n    connected: true\n"
	                       "    plans: { Arm: Standard }\n",
	                       s.ptr, ws));
	ASSERT_EQ_INT(-1, idx(f.plan, "sub/" S2 "/connector/c2"));
	ASSERT_EQ_INT(0, f.plan->counts.remove);
	mdc_buf_release(&s);
	done(&f);
}

TEST(tenant_mode_plans_no_connector_and_notes_the_portal_step)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;

	add_sub(&s, S1, "A", "'insights_provider':'NotRegistered'", "");
	ASSERT_EQ_INT(
	    0, build(&f,
	             "connector:\n  mode: tenant\n"
	             "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	             "    bidirectionalSync: true\n    plans:\n      CloudPosture: Standard\n"
	             "incidentRule:\n  enabled: false\n",
	             s.ptr,
	             "{'onboarded':true,'read':true,'connectors':[{'name':'mtp','kind':"
	             "'MicrosoftThreatProtection','alerts_state':'Enabled'}],"
	             "'installed':[{'id':'azuresentinel.azure-sentinel-solution-"
	             "microsoftdefenderforcloud','version':'3.0.3'}]}"));
	for (size_t i = 0; i < f.plan->nitems; i++) {
		ASSERT(f.plan->items[i].kind != MDC_ITEM_CONNECTOR);
		ASSERT(f.plan->items[i].kind != MDC_ITEM_PROVIDER);
	}
	ASSERT(idx(f.plan, "sub/" S1 "/pricing/CloudPosture") >= 0);
	ASSERT(idx(f.plan, "sub/" S1 "/sync") >= 0);
	ASSERT_CONTAINS(note_msg(f.plan, "tenant-mode"), "solution installed: yes");
	ASSERT_CONTAINS(note_msg(f.plan, "tenant-mode"), "alerts Enabled: yes");
	ASSERT_CONTAINS(note_msg(f.plan, "tenant-mode"), "portal");
	ASSERT_CONTAINS(f.json, "\"mode\":\t\"tenant\"");
	mdc_buf_release(&s);
	done(&f);
}

static void all_plans_free(struct mdc_config *cfg)
{
	for (size_t i = 0; i < cfg->subscriptions.defaults.nplans; i++)
		cfg->subscriptions.defaults.plans[i].tier = MDC_TIER_FREE;
}

TEST(blocked_no_standard_plan_and_dependents)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	long c, sy;

	add_sub(&s, S1, "A", NULL, "{'name':'VirtualMachines','tier':'Free'}");
	config_hook = all_plans_free;
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                       "    connected: true\n    bidirectionalSync: true\n"
	                       "    plans: { VirtualMachines: Standard }\n",
	                       s.ptr, NULL));
	config_hook = NULL;
	c = -1;
	for (size_t i = 0; i < f.plan->nitems; i++)
		if (f.plan->items[i].kind == MDC_ITEM_CONNECTOR)
			c = (long)i;
	sy = idx(f.plan, "sub/" S1 "/sync");
	ASSERT(c >= 0 && sy > c);
	ASSERT_CONTAINS(f.plan->items[c].blocked, "no Defender plan at Standard");
	ASSERT_CONTAINS(f.plan->items[sy].blocked, "depends on blocked sub/" S1 "/connector/");
	ASSERT_EQ_INT(2, f.plan->counts.blocked);
	ASSERT_EQ_INT(0, f.plan->counts.add);
	mdc_buf_release(&s);
	done(&f);
}

TEST(blocked_missing_permissions_name_action_and_role)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	const char *b;

	mdc_buf_addf(&s,
	             "{'id':'%s','display_name':'A','state':'Enabled','pricings_read':true,"
	             "'pricings':[{'name':'VirtualMachines','tier':'Free'}],'sync_enabled':false,"
	             "'insights_provider':'NotRegistered','permissions':{'read':true,"
	             "'entries':[{'actions':['*/read']}]}}",
	             S1);
	ASSERT_EQ_INT(0,
	              build(&f,
	                    "connector:\n  solution: latest\n"
	                    "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                    "    connected: true\n    bidirectionalSync: true\n"
	                    "    plans:\n      VirtualMachines: Standard\n"
	                    "incidentRule:\n  enabled: true\n",
	                    s.ptr,
	                    "{'name':'law-soc','onboarded':true,'read':true,'catalog':[{'id':"
	                    "'azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud',"
	                    "'version':'3.0.3','content_product_id':'p1'}],'permissions':{'read':"
	                    "true,'entries':[{'actions':['*'],'not_actions':['Microsoft."
	                    "SecurityInsights/*/write']}]}}"));
	b = f.plan->items[idx(f.plan, "sub/" S1 "/provider/Microsoft.SecurityInsights")].blocked;
	ASSERT_CONTAINS(b, "'Microsoft.SecurityInsights/register/action'");
	ASSERT_CONTAINS(b, "Contributor");
	b = f.plan->items[idx(f.plan, "sub/" S1 "/pricing/VirtualMachines")].blocked;
	ASSERT_CONTAINS(b, "'Microsoft.Security/pricings/write' on the subscription");
	ASSERT_CONTAINS(b, "Security Admin");
	b = f.plan->items[idx(f.plan, "sub/" S1 "/sync")].blocked;
	ASSERT_CONTAINS(b, "'Microsoft.Security/settings/write'"); /* own reason first */
	for (size_t i = 0; i < f.plan->nitems; i++)
		if (f.plan->items[i].kind == MDC_ITEM_CONNECTOR)
			ASSERT_CONTAINS(f.plan->items[i].blocked,
			                "'Microsoft.SecurityInsights/dataConnectors/write' on the "
			                "workspace (granted by Microsoft Sentinel Contributor)");
	b = f.plan->items[idx(f.plan, "workspace/solution")].blocked;
	ASSERT_CONTAINS(b, "'Microsoft.SecurityInsights/contentPackages/write'");
	b = f.plan->items[idx(f.plan, "workspace/incident-rule")].blocked;
	ASSERT_CONTAINS(b, "'Microsoft.SecurityInsights/alertRules/write'");
	ASSERT_EQ_INT((long)f.plan->nitems, (long)f.plan->counts.blocked);
	mdc_buf_release(&s);
	done(&f);
}

TEST(blocked_settings_write_only)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	long i;

	mdc_buf_addf(&s,
	             "{'id':'%s','state':'Enabled','pricings_read':true,'sync_enabled':true,"
	             "'permissions':{'read':true,'entries':[{'actions':['*'],'not_actions':["
	             "'Microsoft.Security/settings/*']}]}}",
	             S1);
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                       "    bidirectionalSync: false\n",
	                       s.ptr, NULL));
	i = idx(f.plan, "sub/" S1 "/sync");
	ASSERT_CONTAINS(f.plan->items[i].blocked, "'Microsoft.Security/settings/write'");
	ASSERT_CONTAINS(f.plan->items[i].blocked, "Security Admin");
	mdc_buf_release(&s);
	done(&f);
}

TEST(blocked_workspace_not_onboarded_and_read_error)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;

	add_sub(&s, S1, "A", NULL, "{'name':'Arm','tier':'Standard'}");
	mdc_buf_addf(&s,
	             ",{'id':'%s','display_name':'B','error':{'code':-9,'http_status':403,"
	             "'arm_code':'AuthorizationFailed','message':'no access'}}",
	             S2);
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n    - id: " S2 "\n"
	                       "  defaults:\n    connected: true\n    plans: { Arm: Standard }\n",
	                       s.ptr, "{'name':'law-soc','onboarded':false,'read':true}"));
	for (size_t i = 0; i < f.plan->nitems; i++)
		if (f.plan->items[i].kind == MDC_ITEM_CONNECTOR)
			ASSERT_CONTAINS(
			    f.plan->items[i].blocked,
			    "workspace 'law-soc' is not onboarded to Microsoft Sentinel");
	ASSERT(has_note(f.plan, "workspace-unavailable", NULL));
	{
		long i = idx(f.plan, "sub/" S2);
		ASSERT(i >= 0);
		ASSERT_EQ_INT(MDC_ITEM_SUBSCRIPTION, f.plan->items[i].kind);
		ASSERT_CONTAINS(f.plan->items[i].blocked,
		                "cannot read the subscription: no access");
	}
	ASSERT_EQ_INT(2, f.plan->counts.blocked);
	mdc_buf_release(&s);
	done(&f);
}

/* The transport's message already names the ARM code; the blocked reason must not
 * repeat it after the request id, and a message without it gets it in parentheses. */
TEST(blocked_read_error_names_the_arm_code_once)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	long i;

	add_sub(&s, S1, "A", NULL, "{'name':'Arm','tier':'Standard'}");
	mdc_buf_addf(&s,
	             ",{'id':'%s','display_name':'B','error':{'code':-9,'http_status':403,"
	             "'arm_code':'AuthorizationFailed','message':'GET /subscriptions/%s/providers/"
	             "Microsoft.Security/pricings: 403 Forbidden (AuthorizationFailed): denied "
	             "(x-ms-request-id r1)'}}",
	             S2, S2);
	mdc_buf_addf(&s,
	             ",{'id':'%s','display_name':'C','error':{'code':-9,'http_status':403,"
	             "'arm_code':'AuthorizationFailed','message':'no access'}}",
	             S3);
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n    - id: " S2
	                       "\n    - id: " S3 "\n",
	                       s.ptr, NULL));
	i = idx(f.plan, "sub/" S2);
	ASSERT(i >= 0);
	ASSERT_EQ_STR("cannot read the subscription: GET /subscriptions/" S2
	              "/providers/Microsoft.Security/pricings: 403 Forbidden "
	              "(AuthorizationFailed): denied (x-ms-request-id r1)",
	              f.plan->items[i].blocked);
	i = idx(f.plan, "sub/" S3);
	ASSERT(i >= 0);
	ASSERT_EQ_STR("cannot read the subscription: no access (AuthorizationFailed)",
	              f.plan->items[i].blocked);
	mdc_buf_release(&s);
	done(&f);
}

TEST(solution_install_upgrade_minimum_and_catalog_missing)
{
	struct fixture f;
	static const char cat[] =
	    "'catalog':[{'id':'azuresentinel.azure-sentinel-solution-"
	    "microsoftdefenderforcloud','version':'3.0.3','content_product_id'"
	    ":'azuresentinel.azure-sentin-sl-abc','content_kind':'Solution',"
	    "'display_name':'Microsoft Defender for Cloud'}]";
	struct mdc_buf ws = MDC_BUF_INIT;
	long i;

	mdc_buf_addf(&ws, "{'onboarded':true,'read':true,%s}", cat);
	ASSERT_EQ_INT(0, build(&f, "connector:\n  solution: latest\n" NOSUBS, "", ws.ptr));
	i = idx(f.plan, "workspace/solution");
	ASSERT_EQ_INT(MDC_ACT_CREATE, f.plan->items[i].action);
	ASSERT_EQ_STR(WS "/providers/Microsoft.SecurityInsights/contentPackages/"
	                 "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud",
	              f.plan->items[i].req.path);
	ASSERT_EQ_STR("{\"properties\":{\"contentId\":\"azuresentinel.azure-sentinel-solution-"
	              "microsoftdefenderforcloud\",\"contentProductId\":\"azuresentinel.azure-"
	              "sentin-sl-abc\",\"contentKind\":\"Solution\",\"version\":\"3.0.3\","
	              "\"displayName\":\"Microsoft Defender for Cloud\"}}",
	              f.plan->items[i].req.body);
	done(&f);

	mdc_buf_reset(&ws);
	mdc_buf_addf(
	    &ws,
	    "{'onboarded':true,'read':true,%s,'installed':[{'id':'azuresentinel.azure-"
	    "sentinel-solution-microsoftdefenderforcloud','version':'3.0.0','etag':'p7'}]}",
	    cat);
	ASSERT_EQ_INT(0, build(&f, "connector:\n  solution: latest\n" NOSUBS, "", ws.ptr));
	i = idx(f.plan, "workspace/solution");
	ASSERT_EQ_INT(MDC_ACT_UPDATE, f.plan->items[i].action);
	ASSERT_EQ_STR("3.0.3", change_after(&f.plan->items[i], "version"));
	ASSERT_CONTAINS(f.plan->items[i].req.body, "\"etag\":\"p7\"");
	done(&f);

	ASSERT_EQ_INT(0, build(&f, "connector:\n  solution: \"3.0.0\"\n" NOSUBS, "", ws.ptr));
	ASSERT_EQ_INT(MDC_ACT_NOOP, f.plan->items[idx(f.plan, "workspace/solution")].action);
	done(&f);
	ASSERT_EQ_INT(0, build(&f, "connector:\n  solution: \"3.0.2\"\n" NOSUBS, "", ws.ptr));
	ASSERT_EQ_INT(MDC_ACT_UPDATE, f.plan->items[idx(f.plan, "workspace/solution")].action);
	done(&f);
	ASSERT_EQ_INT(0, build(&f, "connector:\n  solution: \"4.0.0\"\n" NOSUBS, "", ws.ptr));
	ASSERT_CONTAINS(f.plan->items[idx(f.plan, "workspace/solution")].blocked,
	                "offers version 3.0.3, below the minimum 4.0.0");
	done(&f);
	ASSERT_EQ_INT(0, build(&f, "connector:\n  solution: unmanaged\n" NOSUBS, "", ws.ptr));
	ASSERT_EQ_INT(-1, idx(f.plan, "workspace/solution"));
	done(&f);
	ASSERT_EQ_INT(0, build(&f, "connector:\n  solution: latest\n" NOSUBS, "",
	                       "{'onboarded':true,'read':true}"));
	ASSERT_CONTAINS(f.plan->items[idx(f.plan, "workspace/solution")].blocked,
	                "catalog of the workspace does not offer");
	done(&f);
	mdc_buf_release(&ws);
}

TEST(incident_rule_create_update_disable_noop)
{
	struct fixture f;
	const struct mdc_plan_item *it;
	static const char rule_ws[] =
	    "{'onboarded':true,'read':true,'rules':[{'name':'r-old','kind':"
	    "'MicrosoftSecurityIncidentCreation','product_filter':'Azure Security Center',"
	    "'etag':'E1','display_name':'Old','enabled':true,'severities':['High'],"
	    "'template_name':'90586451-7ba8-4c1e-9904-7d1b7c3cc4d6'},{'name':'a-other','kind':"
	    "'MicrosoftSecurityIncidentCreation','product_filter':'Microsoft Cloud App "
	    "Security','enabled':true}]}";

	ASSERT_EQ_INT(
	    0, build(&f, NOSUBS "incidentRule:\n  enabled: true\n  name: mdc-rule\n", "", NULL));
	it = mdc_plan_find(f.plan, "workspace/incident-rule");
	ASSERT(it != NULL);
	ASSERT_EQ_INT(MDC_ACT_CREATE, it->action);
	ASSERT_EQ_STR(WS "/providers/Microsoft.SecurityInsights/alertRules/mdc-rule", it->req.path);
	ASSERT_CONTAINS(it->req.body, "\"kind\":\"MicrosoftSecurityIncidentCreation\"");
	ASSERT_CONTAINS(it->req.body, "\"productFilter\":\"Azure Security Center\"");
	ASSERT_CONTAINS(it->req.body, "\"severitiesFilter\":null");
	ASSERT_CONTAINS(it->req.body, "\"displayNamesFilter\":null");
	ASSERT_CONTAINS(it->req.body,
	                "\"alertRuleTemplateName\":\"90586451-7ba8-4c1e-9904-7d1b7c3cc4d6\"");
	done(&f);

	ASSERT_EQ_INT(0,
	              build(&f,
	                    NOSUBS "incidentRule:\n  enabled: true\n  severities: [High, Medium]\n"
	                           "  excludeAlertNames: [Noisy]\n",
	                    "", rule_ws));
	it = mdc_plan_find(f.plan, "workspace/incident-rule");
	ASSERT_EQ_INT(MDC_ACT_UPDATE, it->action);
	ASSERT_CONTAINS(it->resource, "/alertRules/r-old"); /* matched by kind + product */
	ASSERT_CONTAINS(it->req.body, "\"etag\":\"E1\"");
	ASSERT_CONTAINS(it->req.body, "\"severitiesFilter\":[\"High\",\"Medium\"]");
	ASSERT_CONTAINS(it->req.body, "\"displayNamesExcludeFilter\":[\"Noisy\"]");
	/* The config defaults displayName, so the rule's own one is replaced. */
	ASSERT_EQ_STR("Old", it->changes[0].before);
	ASSERT_EQ_STR("displayName", it->changes[0].field);
	ASSERT_EQ_STR("High, Medium", change_after(it, "severitiesFilter"));
	done(&f);

	ASSERT_EQ_INT(0, build(&f, NOSUBS "incidentRule:\n  enabled: false\n", "", rule_ws));
	it = mdc_plan_find(f.plan, "workspace/incident-rule");
	ASSERT_EQ_INT(MDC_ACT_UPDATE, it->action);
	ASSERT_EQ_STR("false", change_after(it, "enabled"));
	ASSERT_CONTAINS(it->req.body, "\"enabled\":false");
	ASSERT_CONTAINS(it->req.body, "\"severitiesFilter\":[\"High\"]");
	done(&f);

	ASSERT_EQ_INT(0, build(&f, NOSUBS "incidentRule:\n  enabled: false\n", "", NULL));
	it = mdc_plan_find(f.plan, "workspace/incident-rule");
	ASSERT_EQ_INT(MDC_ACT_NOOP, it->action);
	ASSERT(it->req.method == NULL);
	done(&f);

	ASSERT_EQ_INT(0, build(&f, "subscriptions:\n  select:\n    - id: " S1 "\n", "", rule_ws));
	ASSERT(mdc_plan_find(f.plan, "workspace/incident-rule") == NULL); /* unmanaged */
	done(&f);
}

TEST(incident_rule_deterministic_name)
{
	struct fixture f1, f2;

	ASSERT_EQ_INT(0, build(&f1, NOSUBS "incidentRule:\n  enabled: true\n", "", NULL));
	ASSERT_EQ_INT(0, build(&f2, NOSUBS "incidentRule:\n  enabled: true\n", "", NULL));
	ASSERT_EQ_STR(mdc_plan_find(f1.plan, "workspace/incident-rule")->req.path,
	              mdc_plan_find(f2.plan, "workspace/incident-rule")->req.path);
	done(&f1);
	done(&f2);
}

TEST(notes_duplicate_incidents_informational_twins_skipped)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;

	add_sub(&s, S1, "A", NULL, "{'name':'Arm','tier':'Standard'}");
	add_sub(&s, S3, "C", "'state':'Disabled'", "");
	ASSERT_EQ_INT(0,
	              build(&f,
	                    "subscriptions:\n  select:\n    - id: " S1 "\n    - id: " S3 "\n"
	                    "  defaults:\n    connected: true\n    plans: { Arm: Standard }\n"
	                    "incidentRule:\n  enabled: true\n  severities: [High, Informational]\n",
	                    s.ptr,
	                    "{'onboarded':true,'read':true,'connectors':["
	                    "{'name':'z','kind':'AzureSecurityCenter','subscription_id':'" S1
	                    "','alerts_state':'Enabled'},"
	                    "{'name':'y','kind':'AzureSecurityCenter','subscription_id':'" S1
	                    "','alerts_state':'Enabled'},"
	                    "{'name':'mtp','kind':'MicrosoftThreatProtection','incidents_state':"
	                    "'Enabled'}]}"));
	ASSERT(has_note(f.plan, "duplicate-incidents", NULL));
	ASSERT(has_note(f.plan, "informational-severity", NULL));
	ASSERT(has_note(f.plan, "twin-connectors", S1));
	ASSERT_CONTAINS(note_msg(f.plan, "twin-connectors"), "manages 'y'");
	ASSERT(idx(f.plan, "sub/" S1 "/connector/y") >= 0);
	ASSERT_EQ_INT(-1, idx(f.plan, "sub/" S1 "/connector/z"));
	ASSERT(has_note(f.plan, "skipped", S3));
	ASSERT_CONTAINS(note_msg(f.plan, "skipped"), "Disabled");
	done(&f);

	/* A disabled rule does not duplicate. */
	ASSERT_EQ_INT(0, build(&f, NOSUBS "incidentRule:\n  enabled: false\n", "",
	                       "{'onboarded':true,'read':true,'connectors':[{'name':'mtp','kind':"
	                       "'MicrosoftThreatProtection','incidents_state':'Enabled'}]}"));
	ASSERT(!has_note(f.plan, "duplicate-incidents", NULL));
	mdc_buf_release(&s);
	done(&f);
}

TEST(actual_notes_become_skipped_notes)
{
	struct fixture f;
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_plan_opts opts = {.now = NOW};
	struct mdc_plan *p = NULL;

	ASSERT_EQ_INT(0, build(&f, NOSUBS, "", NULL));
	mdc_actual_add_note(f.act, S2, "subscription belongs to tenant 'x'");
	ASSERT_EQ_INT(0, mdc_plan_build(&p, f.cfg, f.act, &opts, &err));
	ASSERT(has_note(p, "skipped", S2));
	ASSERT_CONTAINS(note_msg(p, "skipped"), "belongs to tenant");
	mdc_plan_free(p);
	done(&f);
}

TEST(permissions_unread_is_noted_not_blocked)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;

	mdc_buf_addf(&s, "{'id':'%s','state':'Enabled','pricings_read':true}", S1);
	ASSERT_EQ_INT(0, build(&f,
	                       "subscriptions:\n  select:\n    - id: " S1 "\n  defaults:\n"
	                       "    plans:\n      Arm: Standard\n",
	                       s.ptr, NULL));
	ASSERT_EQ_INT(0, f.plan->counts.blocked);
	ASSERT_EQ_INT(1, f.plan->counts.add);
	ASSERT(has_note(f.plan, "permissions-unknown", S1));
	mdc_buf_release(&s);
	done(&f);
}

TEST(saved_plan_round_trip_and_errors)
{
	struct fixture f;
	struct mdc_buf s = MDC_BUF_INIT;
	struct mdc_plan *p = NULL;
	struct mdc_error err = MDC_ERROR_INIT;
	char *j2;

	add_sub(&s, S1, "Prod <x>", "'insights_provider':'NotRegistered'",
	        "{'name':'VirtualMachines','tier':'Free','fingerprint':'sha256:9'}");
	ASSERT_EQ_INT(0, build(&f, connect_yaml, s.ptr, NULL));
	ASSERT_EQ_INT(0, mdc_plan_from_json(&p, f.json, strlen(f.json), &err));
	j2 = mdc_plan_to_json(p);
	ASSERT_EQ_STR(f.json, j2);
	ASSERT_EQ_INT(NOW, p->created_at);
	ASSERT_EQ_INT(f.plan->counts.change, p->counts.change);
	ASSERT_EQ_STR(f.plan->items[1].req.body, p->items[1].req.body);
	ASSERT_CONTAINS(f.json, "\"format_version\":\t1");
	free(j2);
	mdc_plan_free(p);
	p = NULL;

	ASSERT_EQ_INT(MDC_EINVALID, mdc_plan_from_json(&p, "{\"format_version\":2}", 20, &err));
	ASSERT_CONTAINS(err.message, "format_version: unsupported");
	{
		static const char bad[] = "{\"format_version\":1,\"created_at\":\"2024-05-01T12:00:"
		                          "00Z\",\"items\":[{\"id\":\"x\",\"kind\":\"pricing\","
		                          "\"action\":\"explode\"}]}";
		ASSERT_EQ_INT(MDC_EINVALID, mdc_plan_from_json(&p, bad, strlen(bad), &err));
	}
	ASSERT_CONTAINS(err.message, "items[0].action: unknown value");
	ASSERT_EQ_INT(MDC_EINVALID, mdc_plan_from_json(&p, "{", 1, &err));
	ASSERT(p == NULL);
	mdc_error_clear(&err);
	mdc_buf_release(&s);
	done(&f);
}

TEST(null_arguments_are_an_error)
{
	struct mdc_plan *p = NULL;
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT_EQ_INT(MDC_EINVALID, mdc_plan_build(&p, NULL, NULL, NULL, &err));
	mdc_error_clear(&err);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
