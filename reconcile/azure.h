#ifndef MDC_AZURE_H
#define MDC_AZURE_H
/*
 * The ARM wire constants mdcctl uses (reference/azure-api.md §0): api-versions, provider
 * namespaces, well-known names. Header-only and dependency-free so that the pure core
 * (plan) and the I/O modules (observe, apply) agree on one set.
 */

#define MDC_API_SUBSCRIPTIONS     "2022-12-01" /* /subscriptions, /tenants */
#define MDC_API_MANAGEMENT_GROUPS "2023-04-01"
#define MDC_API_PRICINGS          "2024-01-01"
#define MDC_API_SETTINGS          "2022-05-01"
#define MDC_API_PROVIDERS         "2022-12-01"
#define MDC_API_PERMISSIONS       "2022-04-01"
#define MDC_API_INSIGHTS          "2025-09-01"         /* Microsoft.SecurityInsights */
#define MDC_API_INSIGHTS_PREVIEW  "2025-10-01-preview" /* MicrosoftThreatProtection connectors */

#define MDC_NS_INSIGHTS        "Microsoft.SecurityInsights"
#define MDC_PRODUCT_FILTER_MDC "Azure Security Center"
#define MDC_RULE_TEMPLATE_MDC  "90586451-7ba8-4c1e-9904-7d1b7c3cc4d6"
#define MDC_SOLUTION_ID        "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud"
#define MDC_SOLUTION_NAME      "Microsoft Defender for Cloud"

/* Path of the workspace: printf with subscription, resource group, name. */
#define MDC_WORKSPACE_PATH_FMT                                                                     \
	"/subscriptions/%s/resourceGroups/%s/providers/Microsoft.OperationalInsights/workspaces/"  \
	"%s"

#endif
