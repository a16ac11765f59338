// The official Azure SDK for JavaScript, unchanged, against a running mdcemu.
// Run by run.sh (which starts the emulator with --page-size 1 and tenant.json); needs:
//   EMU              https://localhost:PORT (ARM endpoint and Entra authority host)
//   FIDELITY_STATE   the tenant file (principals, subscriptions)
//   NODE_EXTRA_CA_CERTS = the emulator's ca.pem (TLS is verified, never disabled)
// Every outgoing connection must go to loopback: guard.mjs (node --import) refuses others.
// Prints "ok/FAIL name" per check and "N passed, N failed" last; exit code 1 on any failure.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  AuthenticationRequiredError, ClientSecretCredential, CredentialUnavailableError, ManagedIdentityCredential,
} from "@azure/identity";
import { SubscriptionClient } from "@azure/arm-resources-subscriptions";
import { ManagementGroupsAPI } from "@azure/arm-managementgroups";
import { ResourceManagementClient } from "@azure/arm-resources";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { SecurityCenter } from "@azure/arm-security";
import { SecurityInsights } from "@azure/arm-securityinsight";
// isRestError, not instanceof: the arm-* packages load as CommonJS (no "exports" map), this
// script as ESM, so each side has its own RestError class (the SDK documents isRestError for this).
import { createPipelineRequest, isRestError } from "@azure/core-rest-pipeline";

const EMU = process.env.EMU;
if (!EMU || !/^https:\/\/(localhost|127\.0\.0\.1):\d+$/.test(EMU)) {
  console.error(`EMU must be the emulator's https://localhost:PORT (got ${EMU})`);
  process.exit(2);
}
if (!process.env.NODE_EXTRA_CA_CERTS) {
  console.error("NODE_EXTRA_CA_CERTS must name the emulator's ca.pem");
  process.exit(2);
}
const state = JSON.parse(readFileSync(process.env.FIDELITY_STATE, "utf8"));
const tenantId = state.tenantId;
const [owner, reader, mi] = state.principals;
const [subSoc, subApp, subSbx] = state.subscriptions.map((s) => s.subscriptionId);
const ws = state.workspaces[0];
const readerSub = state.roleAssignments.find((r) => r.principalId === reader.objectId).scope.split("/")[2];
const ARM_SCOPE = "https://management.azure.com/.default";

// Entra: the emulator is the authority; MSAL's instance discovery (which would go to
// login.microsoftonline.com for an unknown host) is off.
const credOpts = { authorityHost: EMU, disableInstanceDiscovery: true };
// ARM: the emulator is the endpoint; the token is still for ARM's audience.
const attempts = []; // every HTTP attempt, retries included (perRetry policy)
const recorder = {
  name: "fidelityRecorder",
  async sendRequest(req, next) {
    const t0 = Date.now();
    try {
      const res = await next(req);
      attempts.push({ t0, t1: Date.now(), method: req.method, url: req.url, status: res.status,
                      retryAfter: res.headers.get("retry-after"),
                      clientRequestId: req.headers.get("x-ms-client-request-id"), headers: res.headers.toJSON() });
      return res;
    } catch (e) {
      attempts.push({ t0, t1: Date.now(), method: req.method, url: req.url, status: 0, error: String(e) });
      throw e;
    }
  },
};
const clientOpts = () => ({
  endpoint: EMU,
  credentialScopes: [ARM_SCOPE],
  additionalPolicies: [{ policy: recorder, position: "perRetry" }],
});

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
    passed++;
  } catch (e) {
    console.log(`FAIL ${name}\n     ${String(e && e.stack ? e.stack : e).split("\n").slice(0, 6).join("\n     ")}`);
    failed++;
  }
}
async function rejects(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new assert.AssertionError({ message: "expected the call to fail, it succeeded" });
}
const jwtClaims = (t) => JSON.parse(Buffer.from(t.split(".")[1], "base64url").toString());
async function collect(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}
async function admin(method, path, body) {
  const res = await fetch(EMU + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `admin ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const since = (i) => attempts.slice(i);

const ownerCred = new ClientSecretCredential(tenantId, owner.clientId, owner.secret, credOpts);
const readerCred = new ClientSecretCredential(tenantId, reader.clientId, reader.secret, credOpts);

// ---- 0. the fences themselves (127.0.0.2 stands for "any other host": it is loopback, so
// even a broken fence sends nothing off the machine) ----
await check("fence: a stray SDK request goes to the closed proxy port (HTTPS_PROXY) and fails", async () => {
  const stray = new SecurityCenter(ownerCred, subSoc, { ...clientOpts(), endpoint: "https://127.0.0.2:1",
                                                        retryOptions: { maxRetries: 0 } });
  const e = await rejects(stray.pricings.get("VirtualMachines"));
  assert.equal(e.code, "ECONNREFUSED", `${e.code}: ${e.message}`);
  assert.match(e.message, /127\.0\.0\.1:9\b/, "not refused at the proxy");
  attempts.length = 0;
});
await check("fence: a direct connection elsewhere is refused by guard.mjs and recorded", async () => {
  const e = await rejects(fetch("https://127.0.0.2:59999/"));
  assert.match(String(e.cause || e), /guard: connection to 127\.0\.0\.2:59999 refused/);
  assert.deepEqual(globalThis.__offLoopbackConnects, ["127.0.0.2:59999"]);
  globalThis.__offLoopbackConnects.length = 0;
});

// ---- 1. @azure/identity: client credentials against the emulator's token endpoint ----
await check("identity: ClientSecretCredential gets an ARM token (RS256, aud, tid, appid, oid)", async () => {
  const tok = await ownerCred.getToken(ARM_SCOPE);
  assert.ok(tok && tok.token, "no token");
  assert.ok(tok.expiresOnTimestamp > Date.now() + 30 * 60 * 1000, "expires within 30 min");
  const hdr = JSON.parse(Buffer.from(tok.token.split(".")[0], "base64url").toString());
  assert.equal(hdr.alg, "RS256");
  const c = jwtClaims(tok.token);
  assert.equal(c.aud, "https://management.azure.com");
  assert.equal(c.tid, tenantId);
  assert.equal(c.appid, owner.clientId);
  assert.equal(c.oid, owner.objectId);
});
// @azure/identity 4.13 hands the token request to MSAL; MSAL turns Entra's error body into a
// ServerError ("invalid_client: Error(s): 7000215 - Timestamp: … - Description: AADSTS7000215: …
// - Correlation ID: … - Trace ID: …", built from error, error_codes, timestamp,
// error_description, correlation_id, trace_id) and identity's handleMsalError wraps every
// ServerError in AuthenticationRequiredError (msal/utils.js). Against Entra the same happens.
await check("identity: a wrong secret is refused: invalid_client AADSTS7000215 parsed by MSAL", async () => {
  const bad = new ClientSecretCredential(tenantId, owner.clientId, "not-the-secret", credOpts);
  const e = await rejects(bad.getToken(ARM_SCOPE));
  assert.ok(e instanceof AuthenticationRequiredError, `got ${e && e.name}: ${e && e.message}`);
  assert.match(e.message, /^invalid_client: Error\(s\): 7000215 - Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ - Description: AADSTS7000215: Invalid client secret provided\./);
  assert.match(e.message, / - Correlation ID: [0-9a-f-]{36} - Trace ID: [0-9a-f-]{36}$/);
  assert.deepEqual(e.scopes, [ARM_SCOPE]);
});
// MSAL reads the tenant's OpenID metadata first; an unknown tenant's discovery answers 400
// (AADSTS90002) and MSAL gives up with endpoints_resolution_error, which identity reports as
// CredentialUnavailableError (the same against Entra).
await check("identity: an unknown tenant fails at discovery (400) -> CredentialUnavailableError", async () => {
  const t = "00000000-dead-4000-8000-000000000000";
  const bad = new ClientSecretCredential(t, owner.clientId, owner.secret, credOpts);
  const e = await rejects(bad.getToken(ARM_SCOPE));
  assert.ok(e instanceof CredentialUnavailableError, `got ${e && e.name}: ${e && e.message}`);
  assert.match(e.message, /endpoints_resolution_error/);
  const log = await admin("GET", "/_emulator/requests");
  const disc = log.value.filter((r) => r.path === `/${t}/v2.0/.well-known/openid-configuration`);
  assert.ok(disc.length >= 1 && disc.every((r) => r.status === 400), JSON.stringify(disc));
  assert.ok(!log.value.some((r) => r.path === `/${t}/oauth2/v2.0/token`), "a token request went out anyway");
});

// App Service managed identity (IDENTITY_ENDPOINT + IDENTITY_HEADER, msal-node's AppService
// source), system-assigned and user-assigned by client id; the token then works on ARM.
await check("identity: ManagedIdentityCredential (App Service env) gets a token that ARM accepts", async () => {
  process.env.IDENTITY_ENDPOINT = `${EMU}/msi/token`;
  process.env.IDENTITY_HEADER = state.managedIdentityHeader;
  try {
    const sys = new ManagedIdentityCredential();
    const t = await sys.getToken(ARM_SCOPE);
    const c = jwtClaims(t.token);
    assert.equal(c.oid, mi.objectId);
    assert.equal(c.appid, mi.clientId);
    assert.equal(c.aud, "https://management.azure.com");
    assert.ok(t.expiresOnTimestamp > Date.now() + 30 * 60 * 1000);
    const user = new ManagedIdentityCredential({ clientId: mi.clientId });
    assert.equal(jwtClaims((await user.getToken(ARM_SCOPE)).token).oid, mi.objectId);
    const p = await new SecurityCenter(sys, subSoc, clientOpts()).pricings.get("VirtualMachines");
    assert.equal(p.pricingTier, "Standard");
  } finally {
    delete process.env.IDENTITY_ENDPOINT;
    delete process.env.IDENTITY_HEADER;
  }
});

// ---- 2. @azure/arm-resources-subscriptions (2022-12-01): paging with nextLink ----
const subs = new SubscriptionClient(ownerCred, clientOpts());
await check("subscriptions: list follows nextLink over 1-item pages and deserialises each", async () => {
  const pages = await collect(subs.subscriptions.list().byPage());
  assert.equal(pages.length, 3, `pages: ${pages.length}`);
  for (const p of pages) assert.equal(p.length, 1);
  const all = pages.flat();
  assert.deepEqual(all.map((s) => s.subscriptionId).sort(), [subSoc, subApp, subSbx].sort());
  const soc = all.find((s) => s.subscriptionId === subSoc);
  assert.equal(soc.id, `/subscriptions/${subSoc}`);
  assert.equal(soc.displayName, "Fid-SOC");
  assert.equal(soc.state, "Enabled");
  assert.equal(soc.tenantId, tenantId);
  assert.deepEqual(soc.tags, { env: "prod" });
  assert.equal(soc.authorizationSource, "RoleBased");
  assert.equal(typeof soc.subscriptionPolicies, "object");
});
await check("subscriptions: get one", async () => {
  const s = await subs.subscriptions.get(subApp);
  assert.equal(s.subscriptionId, subApp);
  assert.equal(s.displayName, "Fid-App");
});
await check("subscriptions: get an unknown one -> RestError 404 SubscriptionNotFound", async () => {
  const e = await rejects(subs.subscriptions.get("00000000-0000-4000-8000-0000000000ff"));
  assert.ok(isRestError(e), String(e));
  assert.equal(e.statusCode, 404);
  assert.equal(e.code, "SubscriptionNotFound");
});
await check("subscriptions: tenants.list", async () => {
  const t = await collect(subs.tenants.list());
  assert.equal(t.length, 1);
  assert.equal(t[0].tenantId, tenantId);
  assert.equal(t[0].id, `/tenants/${tenantId}`);
});
await check("subscriptions: the Reader principal sees only its subscription", async () => {
  const s = await collect(new SubscriptionClient(readerCred, clientOpts()).subscriptions.list());
  assert.deepEqual(s.map((x) => x.subscriptionId), [readerSub]);
});

// ---- @azure/arm-managementgroups (2021-04-01): descendants, paged with $skiptoken ----
await check("managementgroups: getDescendants of the root group (paged)", async () => {
  const mg = new ManagementGroupsAPI(ownerCred, clientOpts());
  const d = await collect(mg.managementGroups.listDescendants(tenantId));
  const names = d.map((x) => x.name).sort();
  assert.deepEqual(names, ["mg-prod", subSoc, subApp, subSbx].sort());
  const sub = d.find((x) => x.name === subSoc);
  assert.match(sub.type, /^Microsoft\.Management\/managementGroups\/subscriptions$/);
  assert.equal(sub.parent.id, "/providers/Microsoft.Management/managementGroups/mg-prod");
});

// ---- @azure/arm-resources (providers) and @azure/arm-authorization (permissions) ----
await check("resources: providers.get, register, poll Registering -> Registered", async () => {
  const rm = new ResourceManagementClient(ownerCred, subSbx, clientOpts());
  const p0 = await rm.providers.get("Microsoft.SecurityInsights");
  assert.equal(p0.namespace, "Microsoft.SecurityInsights");
  assert.equal(p0.id, `/subscriptions/${subSbx}/providers/Microsoft.SecurityInsights`);
  assert.equal(p0.registrationState, "NotRegistered");
  assert.ok(p0.resourceTypes.some((t) => t.resourceType === "dataConnectors" && t.apiVersions.length > 0));
  const r = await rm.providers.register("Microsoft.SecurityInsights");
  assert.equal(r.registrationState, "Registering");
  let state, polls = 0;
  do {
    state = (await rm.providers.get("Microsoft.SecurityInsights")).registrationState;
    polls++;
  } while (state === "Registering" && polls < 10);
  assert.equal(state, "Registered", `after ${polls} polls`);
  assert.equal((await rm.providers.get("Microsoft.Security")).registrationState, "Registered");
});
await check("authorization: permissions.listForResourceGroup (Owner: *; no role there: empty)", async () => {
  const owned = await collect(new AuthorizationManagementClient(ownerCred, ws.subscriptionId, clientOpts())
    .permissions.listForResourceGroup(ws.resourceGroup));
  assert.ok(owned.some((p) => p.actions.includes("*")), JSON.stringify(owned));
  const none = await collect(new AuthorizationManagementClient(readerCred, ws.subscriptionId, clientOpts())
    .permissions.listForResourceGroup(ws.resourceGroup));
  assert.deepEqual(none, []);
});

// ---- 3. @azure/arm-security: pricings (2022-03-01), settings (2021-07-01) ----
const mdcSoc = new SecurityCenter(ownerCred, subSoc, clientOpts());
const mdcSbx = new SecurityCenter(ownerCred, subSbx, clientOpts());
await check("security: pricings.list deserialises every plan (Standard/P1 and Free ones)", async () => {
  const l = await mdcSoc.pricings.list();
  assert.ok(Array.isArray(l.value) && l.value.length >= 10, `plans: ${l.value && l.value.length}`);
  const vm = l.value.find((p) => p.name === "VirtualMachines");
  assert.equal(vm.pricingTier, "Standard");
  assert.equal(vm.subPlan, "P1");
  assert.equal(vm.type, "Microsoft.Security/pricings");
  assert.equal(vm.id, `/subscriptions/${subSoc}/providers/Microsoft.Security/pricings/VirtualMachines`);
  const kv = l.value.find((p) => p.name === "KeyVaults");
  assert.equal(kv.pricingTier, "Free");
  // (the 2022-03-01 Pricing model of arm-security 5.0.0 maps only pricingTier, subPlan and
  // freeTrialRemainingTime: enforce, extensions, deprecated are not deserialised)
});
await check("security: pricings.get", async () => {
  const p = await mdcSoc.pricings.get("VirtualMachines");
  assert.equal(p.name, "VirtualMachines");
  assert.equal(p.pricingTier, "Standard");
  assert.equal(p.subPlan, "P1");
  assert.equal(p.freeTrialRemainingTime, "PT0S");
});
await check("security: pricings.update Standard/P2 then back to Free", async () => {
  const before = await mdcSbx.pricings.get("VirtualMachines");
  assert.equal(before.pricingTier, "Free");
  let status;
  const up = await mdcSbx.pricings.update("VirtualMachines", { pricingTier: "Standard", subPlan: "P2" },
    { onResponse: (r) => { status = r.status; } });
  assert.ok(status === 200 || status === 201, `status ${status}`);
  assert.equal(up.pricingTier, "Standard");
  assert.equal(up.subPlan, "P2");
  const mid = await mdcSbx.pricings.get("VirtualMachines");
  assert.equal(mid.pricingTier, "Standard");
  assert.equal(mid.subPlan, "P2");
  const down = await mdcSbx.pricings.update("VirtualMachines", { pricingTier: "Free" });
  assert.equal(down.pricingTier, "Free");
  assert.equal((await mdcSbx.pricings.get("VirtualMachines")).pricingTier, "Free");
});
await check("security: settings.get Sentinel is AlertSyncSettings { enabled: false }", async () => {
  const s = await mdcSoc.settings.get("Sentinel");
  assert.equal(s.name, "Sentinel");
  assert.equal(s.kind, "AlertSyncSettings");
  assert.equal(s.type, "Microsoft.Security/settings");
  assert.equal(s.enabled, false);
});
await check("security: settings.update Sentinel enabled true, read back, list", async () => {
  const u = await mdcSoc.settings.update("Sentinel", { kind: "AlertSyncSettings", enabled: true });
  assert.equal(u.kind, "AlertSyncSettings");
  assert.equal(u.enabled, true);
  assert.equal((await mdcSoc.settings.get("Sentinel")).enabled, true);
  const all = await collect(mdcSoc.settings.list());
  const sen = all.find((x) => x.name === "Sentinel");
  assert.equal(sen.kind, "AlertSyncSettings");
  assert.equal(sen.enabled, true);
  const mcas = all.find((x) => x.name === "MCAS");
  assert.ok(mcas, "MCAS missing from the list");
  assert.equal(mcas.kind, "DataExportSettings");
  assert.equal(typeof mcas.enabled, "boolean");
  await mdcSoc.settings.update("Sentinel", { kind: "AlertSyncSettings", enabled: false });
});

// ---- 4. @azure/arm-securityinsight (2022-09-01-preview): data connectors, alert rules ----
const sentinel = new SecurityInsights(ownerCred, ws.subscriptionId, clientOpts());
const rg = ws.resourceGroup, wsName = ws.name;
await check("securityinsight: dataConnectors createOrUpdate AzureSecurityCenter (201), list, get, delete", async () => {
  let status;
  const c = await sentinel.dataConnectors.createOrUpdate(rg, wsName, "asc-fid-app", {
    kind: "AzureSecurityCenter", subscriptionId: subApp, dataTypes: { alerts: { state: "Enabled" } },
  }, { onResponse: (r) => { status = r.status; } });
  assert.equal(status, 201);
  assert.equal(c.kind, "AzureSecurityCenter");
  assert.equal(c.name, "asc-fid-app");
  assert.equal(c.type, "Microsoft.SecurityInsights/dataConnectors");
  assert.equal(c.subscriptionId, subApp);
  assert.equal(c.dataTypes.alerts.state, "Enabled");
  assert.match(c.etag, /^".+"$/);
  const pages = await collect(sentinel.dataConnectors.list(rg, wsName).byPage());
  assert.equal(pages.length, 2, `pages: ${pages.length}`);
  const all = pages.flat();
  assert.deepEqual(all.map((x) => x.name).sort(), ["asc-fid-app", "asc-fid-soc"]);
  assert.equal(all.find((x) => x.name === "asc-fid-soc").subscriptionId, subSoc);
  const g = await sentinel.dataConnectors.get(rg, wsName, "asc-fid-app");
  assert.equal(g.etag, c.etag);
  assert.equal(g.subscriptionId, subApp);
  assert.equal(g.id, `/subscriptions/${ws.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.OperationalInsights/workspaces/${wsName}/providers/Microsoft.SecurityInsights/dataConnectors/asc-fid-app`);
  let delStatus;
  await sentinel.dataConnectors.delete(rg, wsName, "asc-fid-app", { onResponse: (r) => { delStatus = r.status; } });
  assert.equal(delStatus, 200);
  const e = await rejects(sentinel.dataConnectors.get(rg, wsName, "asc-fid-app"));
  assert.ok(isRestError(e), String(e));
  assert.equal(e.statusCode, 404);
  await sentinel.dataConnectors.delete(rg, wsName, "asc-fid-app", { onResponse: (r) => { delStatus = r.status; } });
  assert.equal(delStatus, 204);
});
const ruleId = "5e9d8c0c-6f1b-4f2e-9d6a-1a2b3c4d5e6f";
const rule = {
  kind: "MicrosoftSecurityIncidentCreation",
  displayName: "Create incidents based on all alerts generated in Azure Security Center",
  description: "Create incidents based on Azure Security Center alerts",
  enabled: true,
  productFilter: "Azure Security Center",
  severitiesFilter: ["High", "Medium"],
  alertRuleTemplateName: "90586451-7ba8-4c1e-9904-7d1b7c3cc4d6",
};
await check("securityinsight: alertRules createOrUpdate, get, update with a stale etag -> RestError 409", async () => {
  let status;
  const c = await sentinel.alertRules.createOrUpdate(rg, wsName, ruleId, rule, { onResponse: (r) => { status = r.status; } });
  assert.equal(status, 201);
  assert.equal(c.kind, "MicrosoftSecurityIncidentCreation");
  assert.equal(c.productFilter, "Azure Security Center");
  assert.deepEqual(c.severitiesFilter, ["High", "Medium"]);
  assert.equal(c.enabled, true);
  assert.ok(c.lastModifiedUtc instanceof Date && !isNaN(c.lastModifiedUtc), "lastModifiedUtc is not a date");
  const g = await sentinel.alertRules.get(rg, wsName, ruleId);
  assert.equal(g.etag, c.etag);
  assert.equal(g.displayName, rule.displayName);
  assert.equal(g.alertRuleTemplateName, rule.alertRuleTemplateName);
  // the current etag is accepted and replaced
  const u = await sentinel.alertRules.createOrUpdate(rg, wsName, ruleId, { ...rule, enabled: false, etag: g.etag },
    { onResponse: (r) => { status = r.status; } });
  assert.equal(status, 200);
  assert.equal(u.enabled, false);
  assert.notEqual(u.etag, g.etag);
  // the first etag is now stale
  const e = await rejects(sentinel.alertRules.createOrUpdate(rg, wsName, ruleId, { ...rule, etag: c.etag }));
  assert.ok(isRestError(e), String(e));
  assert.equal(e.statusCode, 409);
  assert.equal(e.code, "Conflict");
  assert.equal((await sentinel.alertRules.get(rg, wsName, ruleId)).enabled, false);
  const rules = await collect(sentinel.alertRules.list(rg, wsName));
  assert.deepEqual(rules.map((r) => r.name), [ruleId]);
  await sentinel.alertRules.delete(rg, wsName, ruleId);
});

// A client given only its endpoint (as for a sovereign cloud) asks for `${endpoint}/.default`:
// the emulator's own base URL is one of ARM's audiences (as management.usgovcloudapi.net is).
await check("securityinsight: default credentialScopes (endpoint/.default) are accepted", async () => {
  const c = new SecurityInsights(ownerCred, ws.subscriptionId, { endpoint: EMU });
  const l = await collect(c.dataConnectors.list(rg, wsName));
  assert.deepEqual(l.map((x) => x.name), ["asc-fid-soc"]);
});
await check("headers: request ids on every ARM answer, x-ms-client-request-id echoed", async () => {
  const arm = attempts.filter((a) => a.status >= 200);
  assert.ok(arm.length > 20, `attempts: ${arm.length}`);
  for (const a of arm) {
    const h = a.headers;
    assert.match(h["x-ms-request-id"] || "", /^[0-9a-f-]{36}$/, `${a.method} ${a.url}`);
    assert.match(h["x-ms-correlation-request-id"] || "", /^[0-9a-f-]{36}$/);
    assert.match(h["x-ms-routing-request-id"] || "", /^[A-Z]+:\d{8}T\d{6}Z:[0-9a-f-]{36}$/);
    assert.equal(h["x-ms-client-request-id"], a.clientRequestId, `${a.method} ${a.url}`);
    // 400 api-version errors are answered before the throttle (no bucket is charged), as
    // the emulator orders ARM's checks; everything else carries the remaining-quota header.
    if (a.status === 400) continue;
    const kind = a.method === "GET" ? "reads" : a.method === "DELETE" ? "deletes" : "writes";
    assert.ok(Object.keys(h).some((k) => k.startsWith("x-ms-ratelimit-remaining-") && k.endsWith(kind)),
              `${a.method} ${a.url}: no x-ms-ratelimit-remaining-*-${kind}`);
  }
});

// ---- 5. RBAC: a Reader may read but not write ----
await check("rbac: Reader's pricings.get works, pricings.update -> RestError 403 AuthorizationFailed", async () => {
  const mdcR = new SecurityCenter(readerCred, readerSub, clientOpts());
  assert.equal((await mdcR.pricings.get("KeyVaults")).pricingTier, "Standard");
  const e = await rejects(mdcR.pricings.update("VirtualMachines", { pricingTier: "Standard", subPlan: "P2" }));
  assert.ok(isRestError(e), String(e));
  assert.equal(e.statusCode, 403);
  assert.equal(e.code, "AuthorizationFailed");
  assert.match(e.message, new RegExp(`^The client '${reader.objectId}' with object id '${reader.objectId}' does not have authorization to perform action 'Microsoft.Security/pricings/write'`));
  // a subscription of the tenant where the Reader has no role: resource reads are 403 ...
  const other = await rejects(new SecurityCenter(readerCred, subSoc, clientOpts()).pricings.get("VirtualMachines"));
  assert.ok(isRestError(other), String(other));
  assert.equal(other.statusCode, 403);
  assert.equal(other.code, "AuthorizationFailed");
  assert.match(other.message, /perform action 'Microsoft\.Security\/pricings\/read' over scope/);
  // ... and the subscription itself is not found for it
  const sub = await rejects(new SubscriptionClient(readerCred, clientOpts()).subscriptions.get(subSoc));
  assert.ok(isRestError(sub), String(sub));
  assert.equal(sub.statusCode, 404);
  assert.equal(sub.code, "SubscriptionNotFound");
});

// ---- 7. unknown api-version through the SDK's own pipeline (bearer policy included) ----
await check("api-version: unknown one -> 400 InvalidApiVersionParameter (sendRequest on the SDK pipeline)", async () => {
  const res = await mdcSoc.sendRequest(createPipelineRequest({
    url: `${EMU}/subscriptions/${subSoc}/providers/Microsoft.Security/pricings?api-version=2099-01-01`,
    method: "GET",
  }));
  assert.equal(res.status, 400);
  const body = JSON.parse(res.bodyAsText);
  assert.equal(body.error.code, "InvalidApiVersionParameter");
  assert.match(body.error.message, /'2099-01-01'/);
});

// ---- 6. throttling: the SDK's retry policy honours Retry-After and gets through ----
await check("throttling: 429 + Retry-After is waited out by the SDK retry policy, every call succeeds", async () => {
  await admin("POST", "/_emulator/throttle", { reads: { burst: 2, perSecond: 1 } });
  try {
    const i = attempts.length, t0 = Date.now();
    for (let k = 0; k < 5; k++) {
      const p = await mdcSoc.pricings.get("VirtualMachines");
      assert.equal(p.pricingTier, "Standard");
    }
    const took = Date.now() - t0;
    const a = since(i);
    const throttled = a.filter((x) => x.status === 429);
    assert.ok(throttled.length >= 2, `429s seen: ${throttled.length}`);
    assert.equal(a.filter((x) => x.status === 200).length, 5);
    assert.ok(took < 20000, `took ${took} ms`);
    for (let k = 0; k < a.length - 1; k++) {
      if (a[k].status !== 429) continue;
      const ra = Number(a[k].retryAfter);
      assert.ok(ra >= 1, `Retry-After ${a[k].retryAfter}`);
      const waited = a[k + 1].t0 - a[k].t1;
      assert.ok(waited >= ra * 1000 - 50, `waited ${waited} ms after Retry-After: ${ra}`);
    }
    console.log(`     (${throttled.length} throttled attempts, ${a.length} in all, ${took} ms)`);
  } finally {
    await admin("POST", "/_emulator/throttle", { reads: { burst: 250, perSecond: 25 } });
  }
});

// ---- what went over the wire ----
await check("wire: only the emulator was contacted, with the api-versions the SDKs pin", async () => {
  assert.deepEqual(globalThis.__offLoopbackConnects || [], [], "connections off loopback were attempted");
  assert.ok(attempts.length > 0);
  for (const a of attempts) assert.ok(a.url.startsWith(EMU + "/"), a.url);
  const log = await admin("GET", "/_emulator/requests");
  const versions = new Map();
  for (const r of log.value) {
    const v = /(?:^|&)api-version=([^&]+)/.exec(r.query || "");
    const rp = /^\/subscriptions\/[^/]+\/providers\/[^/]+(\/register)?$/.test(r.path); // providers get/register
    const svc = rp ? [0, "Microsoft.Resources"] : [...r.path.matchAll(/providers\/(Microsoft\.\w+)/g)].pop();
    const key = svc ? svc[1] : r.path.startsWith("/subscriptions") || r.path.startsWith("/tenants") ? "Microsoft.Resources" : r.path.includes("/oauth2/") ? "Entra token" : r.path.includes("/.well-known/") ? "Entra discovery" : r.path;
    if (!versions.has(key)) versions.set(key, new Set());
    if (v) versions.get(key).add(decodeURIComponent(v[1]));
  }
  for (const [k, v] of versions) console.log(`     ${k}: ${[...v].join(", ") || "-"}`);
  assert.ok(versions.get("Microsoft.Security").has("2022-03-01"));
  assert.ok(versions.get("Microsoft.Security").has("2021-07-01"));
  assert.ok(versions.get("Microsoft.SecurityInsights").has("2022-09-01-preview"));
  assert.ok(versions.get("Microsoft.Resources").has("2022-12-01"));
  assert.ok(versions.get("Microsoft.Management").has("2021-04-01"));
  assert.ok(versions.get("Microsoft.Resources").has("2025-04-01"));
  assert.ok(versions.get("Microsoft.Authorization").has("2022-04-01"));
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
