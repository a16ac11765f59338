/*
 * mdcctl export: write the desired state that reproduces the tenant as it is today.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd.h"
#include "common.h"
#include "crypto.h"
#include "export.h"
#include "session.h"
#include "banned.h"

enum { OPT_SELECT = OPT_COMMON_MAX, OPT_WORKSPACE, OPT_SCHEMA };

static const struct option options[] = {
    {"out", required_argument, NULL, 'o'},
    {"select", required_argument, NULL, OPT_SELECT},
    {"workspace", required_argument, NULL, OPT_WORKSPACE},
    {"schema", required_argument, NULL, OPT_SCHEMA},
    CLI_COMMON_LONGOPTS,
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: mdcctl export [-f FILE | --select SEL ...] [--workspace RESOURCE_ID] [-o OUT]\n"
    "\n"
    "Writes the desired state (YAML) that reproduces the tenant as it is: the most common\n"
    "settings become defaults, the differences overrides. `mdcctl plan` of the result\n"
    "shows no changes. What cannot be reproduced is excluded, with a comment and a\n"
    "warning on stderr.\n"
    "\n"
    "Scope: with -f, the config's tenant, workspace and selectors; without, every Enabled\n"
    "subscription of the credentials' tenant, narrowed by --select.\n"
    "\n"
    "  -o, --out FILE           write there instead of stdout\n"
    "      --select SEL         managementGroup=NAME, id=GUID or tag=KEY=VALUE (repeatable;\n"
    "                           any of them selects)\n"
    "      --workspace ID       the Sentinel workspace's resource id; default: the config's,\n"
    "                           else the only onboarded one\n"
    "      --schema PATH        $schema of the language-server comment\n"
    "                           (default ../schema/mdcctl.schema.json)\n" CLI_COMMON_HELP;

static int add_select(struct mdc_config *cfg, const char *arg)
{
	struct mdc_match *m;
	struct mdc_selector *s;
	const char *eq = strchr(arg, '=');
	char g[37];

	if (!eq || eq == arg || !eq[1])
		return cli_usage("export",
		                 "--select takes managementGroup=NAME, id=GUID or "
		                 "tag=KEY=VALUE, not '%s'",
		                 arg);
	cfg->subscriptions.select =
	    mdc_xrealloc(cfg->subscriptions.select,
	                 (cfg->subscriptions.nselect + 1) * sizeof(*cfg->subscriptions.select));
	m = &cfg->subscriptions.select[cfg->subscriptions.nselect];
	memset(m, 0, sizeof(*m));
	s = m->sel = mdc_xcalloc(1, sizeof(*s));
	if (!strncmp(arg, "managementGroup=", 16)) {
		s->kind = MDC_SEL_MANAGEMENT_GROUP;
		s->value = mdc_xstrdup(eq + 1);
	} else if (!strncmp(arg, "id=", 3) && mdc_guid_normalize(eq + 1, g)) {
		s->kind = MDC_SEL_ID;
		s->value = mdc_xstrdup(g);
	} else if (!strncmp(arg, "tag=", 4) && strchr(eq + 1, '=') &&
	           strchr(eq + 1, '=') != eq + 1) {
		const char *eq2 = strchr(eq + 1, '=');
		s->kind = MDC_SEL_TAG;
		s->value = mdc_xstrndup(eq + 1, (size_t)(eq2 - eq - 1));
		s->tag_value = mdc_xstrdup(eq2 + 1);
	} else {
		free(s);
		m->sel = NULL;
		return cli_usage("export",
		                 "--select takes managementGroup=NAME, id=GUID or "
		                 "tag=KEY=VALUE, not '%s'",
		                 arg);
	}
	m->nsel = 1;
	cfg->subscriptions.nselect++;
	return 0;
}

/* /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{n} */
static int parse_workspace(struct mdc_config *cfg, const char *id)
{
	char sub[64], rg[128], ns[64], name[128], g[37];
	int end = 0;

	if (sscanf(id,
	           "/subscriptions/%63[^/]/resourceGroups/%127[^/]/providers/%63[^/]/"
	           "workspaces/%127[^/]%n",
	           sub, rg, ns, name, &end) != 4 ||
	    id[end] || strcasecmp(ns, "Microsoft.OperationalInsights") ||
	    !mdc_guid_normalize(sub, g))
		return cli_usage("export",
		                 "--workspace takes a workspace resource id "
		                 "(/subscriptions/GUID/resourceGroups/RG/providers/"
		                 "Microsoft.OperationalInsights/workspaces/NAME), not '%s'",
		                 id);
	free(cfg->workspace.subscription);
	free(cfg->workspace.resource_group);
	free(cfg->workspace.name);
	cfg->workspace.subscription = mdc_xstrdup(g);
	cfg->workspace.resource_group = mdc_xstrdup(rg);
	cfg->workspace.name = mdc_xstrdup(name);
	return 0;
}

/* The tenant of the credentials: AZURE_TENANT_ID / ARM_TENANT_ID when it is a GUID, else
 * the tid claim of an access token (read, never printed). */
static char *credentials_tenant(struct cli_session *s)
{
	const char *env = getenv("AZURE_TENANT_ID");
	struct mdc_buf tok = MDC_BUF_INIT;
	struct mdc_error err = MDC_ERROR_INIT;
	unsigned char *payload = NULL;
	size_t len = 0;
	char g[37], *out = NULL, *dot1, *dot2;
	cJSON *claims = NULL;

	if (!env || !*env)
		env = getenv("ARM_TENANT_ID");
	if (env && mdc_guid_normalize(env, g))
		return mdc_xstrdup(g);
	if (mdc_auth_token(s->auth, false, &tok, NULL, &err) < 0) {
		cli_report(&err);
		goto cleanup;
	}
	dot1 = strchr(tok.ptr, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot2) {
		*dot2 = '\0';
		if (mdc_base64url_decode(dot1 + 1, &payload, &len) == 0)
			claims = cJSON_ParseWithLength((const char *)payload, len);
	}
	{
		const char *tid =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, "tid"));
		if (tid && mdc_guid_normalize(tid, g))
			out = mdc_xstrdup(g);
		else
			fprintf(stderr,
			        "mdcctl: error: cannot tell the tenant: set AZURE_TENANT_ID "
			        "or use -f FILE\n");
	}
cleanup:
	/* the token and its claims are wiped, not only freed */
	if (tok.alloc)
		memset(tok.ptr, 0, tok.alloc);
	if (payload)
		memset(payload, 0, len);
	mdc_buf_release(&tok);
	free(payload);
	cJSON_Delete(claims);
	mdc_error_clear(&err);
	return out;
}

static int find_workspace(struct cli_session *s, struct mdc_config *cfg)
{
	struct mdc_export_workspaces ws;
	struct mdc_error err = MDC_ERROR_INIT;
	const struct mdc_export_workspace *w;
	int rc = EXIT_OK;

	if (mdc_export_find_workspaces(&ws, s->arm, cfg->tenant, &err) < 0) {
		cli_report(&err);
		mdc_error_clear(&err);
		return EXIT_FAIL;
	}
	if ((w = mdc_export_pick_workspace(&ws))) {
		cfg->workspace.subscription = mdc_xstrdup(w->subscription);
		cfg->workspace.resource_group = mdc_xstrdup(w->resource_group);
		cfg->workspace.name = mdc_xstrdup(w->name);
		fprintf(stderr,
		        "mdcctl: workspace: /subscriptions/%s/resourceGroups/%s/providers/"
		        "Microsoft.OperationalInsights/workspaces/%s\n",
		        w->subscription, w->resource_group, w->name);
	} else {
		fprintf(stderr, "mdcctl: error: cannot tell which workspace is the Sentinel "
		                "workspace; give --workspace RESOURCE_ID. Candidates:\n");
		for (size_t i = 0; i < ws.n; i++)
			fprintf(stderr,
			        "  /subscriptions/%s/resourceGroups/%s/providers/"
			        "Microsoft.OperationalInsights/workspaces/%s  (%s, %zu "
			        "AzureSecurityCenter connectors)\n",
			        ws.v[i].subscription, ws.v[i].resource_group, ws.v[i].name,
			        ws.v[i].onboarded == MDC_TRUE    ? "Sentinel"
			        : ws.v[i].onboarded == MDC_FALSE ? "not onboarded"
			                                         : "onboarding unknown",
			        ws.v[i].nasc);
		if (!ws.n)
			fputs("  (none: no Log Analytics workspace is visible)\n", stderr);
		rc = EXIT_FAIL;
	}
	mdc_export_workspaces_release(&ws);
	return rc;
}

/* Without a config: the written select is the tenant root group when every subscription
 * read is known to be below it, else the subscriptions by id. */
static void whole_tenant_select(struct mdc_config *cfg, const struct mdc_actual *act)
{
	bool below_root = true;
	size_t n = 0;

	for (size_t i = 0; i < act->nsubs; i++)
		if (act->subs[i].pricings_read || act->subs[i].error.code) {
			n++;
			below_root &=
			    mdc_strvec_find(&act->subs[i].ancestors, cfg->tenant, true) >= 0;
		}
	if (below_root || !n) {
		cfg->subscriptions.select = mdc_xcalloc(1, sizeof(*cfg->subscriptions.select));
		cfg->subscriptions.select[0].sel = mdc_xcalloc(1, sizeof(struct mdc_selector));
		cfg->subscriptions.select[0].sel->kind = MDC_SEL_MANAGEMENT_GROUP;
		cfg->subscriptions.select[0].sel->value = mdc_xstrdup(cfg->tenant);
		cfg->subscriptions.select[0].nsel = 1;
		cfg->subscriptions.nselect = 1;
		return;
	}
	for (size_t i = 0; i < act->nsubs; i++)
		if (act->subs[i].pricings_read || act->subs[i].error.code) {
			char *arg = mdc_xasprintf("id=%s", act->subs[i].id);
			add_select(cfg, arg);
			free(arg);
		}
}

int cmd_export(int argc, char **argv)
{
	struct cli_common c;
	struct cli_session s;
	const char *out = NULL, *workspace = NULL, *schema = NULL;
	struct mdc_config *own = NULL, *cfg;
	struct mdc_actual *act = NULL;
	struct mdc_export_result res = {0};
	struct mdc_error err = MDC_ERROR_INIT;
	struct mdc_observe_opts oo = {.read_hierarchy = true};
	bool from_config;
	int opt, rc;

	memset(&s, 0, sizeof(s));
	cli_common_init(&c);
	own = mdc_xcalloc(1, sizeof(*own));
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case OPT_SELECT:
			if (add_select(own, optarg)) {
				rc = EXIT_USAGE;
				goto cleanup;
			}
			break;
		case OPT_WORKSPACE:
			workspace = optarg;
			break;
		case OPT_SCHEMA:
			schema = optarg;
			break;
		case '?':
			rc = cli_option_error("export", argv, "o:" CLI_COMMON_SHORTOPTS);
			goto cleanup;
		default:
			if (cli_common_option(&c, "export", opt, optarg) <= 0) {
				rc = EXIT_USAGE;
				goto cleanup;
			}
		}
	}
	if (c.help) {
		fputs(usage_text, stdout);
		rc = EXIT_OK;
		goto cleanup;
	}
	if (optind < argc) {
		rc = cli_usage("export", "unexpected argument '%s'", argv[optind]);
		goto cleanup;
	}
	if (cli_common_check(&c, "export", false) < 0) {
		rc = EXIT_USAGE;
		goto cleanup;
	}
	from_config = c.file || c.git_url;
	if (from_config && own->subscriptions.nselect) {
		rc = cli_usage("export", "--select narrows the whole tenant; with -f the config's "
		                         "selectors decide");
		goto cleanup;
	}
	if (workspace && parse_workspace(own, workspace)) {
		rc = EXIT_USAGE;
		goto cleanup;
	}

	if (from_config) {
		if ((rc = cli_session_load(&s, &c, "export")) != EXIT_OK)
			goto cleanup;
		cfg = s.cfg;
		if (workspace) {
			free(cfg->workspace.subscription);
			free(cfg->workspace.resource_group);
			free(cfg->workspace.name);
			cfg->workspace.subscription = own->workspace.subscription;
			cfg->workspace.resource_group = own->workspace.resource_group;
			cfg->workspace.name = own->workspace.name;
			own->workspace.subscription = own->workspace.resource_group =
			    own->workspace.name = NULL;
		}
		if ((rc = cli_session_connect(&s, cfg, true)) != EXIT_OK)
			goto cleanup;
	} else {
		s.opt = &c;
		s.cmd = "export";
		s.source = mdc_xstrdup("tenant");
		cfg = own;
		cfg->cloud = MDC_CLOUD_AZURE;
		cfg->connector.mode = MDC_MODE_SUBSCRIPTION;
		cfg->connector.solution = MDC_SOLUTION_UNMANAGED;
		if ((rc = cli_session_connect(&s, NULL, true)) != EXIT_OK)
			goto cleanup;
		if (!(cfg->tenant = credentials_tenant(&s))) {
			rc = EXIT_FAIL;
			goto cleanup;
		}
		if (!cfg->workspace.subscription && (rc = find_workspace(&s, cfg)) != EXIT_OK)
			goto cleanup;
		oo.all_subscriptions = !cfg->subscriptions.nselect;
	}
	s.cfg = cfg;
	rc = cli_session_observe(&s, &oo, &act);
	if (!from_config)
		s.cfg = NULL; /* own is freed below, not by the session */
	if (rc != EXIT_OK)
		goto cleanup;
	if (!from_config && !cfg->subscriptions.nselect)
		whole_tenant_select(cfg, act);
	if (mdc_export_build(&res, cfg, act,
	                     &(struct mdc_export_opts){.now = time(NULL),
	                                               .source = mdc_arm_endpoint(s.arm),
	                                               .schema = schema},
	                     &err) < 0) {
		cli_report(&err);
		rc = EXIT_FAIL;
		goto cleanup;
	}
	for (size_t i = 0; i < res.warnings.n; i++)
		fprintf(stderr, "mdcctl export: warning: %s\n", res.warnings.v[i]);
	if (cli_write_file(out ? out : "-", res.yaml, strlen(res.yaml), false) < 0) {
		rc = EXIT_FAIL;
		goto cleanup;
	}
	fprintf(stderr,
	        "mdcctl export: %zu subscriptions reproduced with %zu overrides; %zu "
	        "excluded\n",
	        res.nsubs, res.noverrides, res.nexcluded);
	rc = EXIT_OK;
cleanup:
	mdc_export_result_release(&res);
	mdc_actual_free(act);
	mdc_error_clear(&err);
	cli_session_close(&s); /* s.cfg is the loaded config, never own */
	mdc_config_free(own);
	return rc;
}
