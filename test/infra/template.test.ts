import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  armCalls,
  armText,
  isArmExpression,
  literalArg,
  parseArmExpression,
  walkArm,
  type ArmNode,
} from "./arm-expression.js";
import {
  ALERT_RULES,
  DEFAULT_ALERT_PARAMETERS,
  SILENT_BASELINE_MINUTES,
  TOKEN_ENDPOINT_WINDOW_MINUTES,
} from "./rules.js";
import { alertQueries } from "./sync-embedded.js";
import {
  INFRA_DIR,
  REQUIRED_PARAMETERS,
  appSettingsOf,
  evaluateValue,
  evaluationContext,
  functionApp,
  loadAppSettingsSpec,
  loadTemplate,
  readInfraText,
  stringsIn,
  type ArmResource,
} from "./template-model.js";

const template = loadTemplate();
const spec = loadAppSettingsSpec();

/** Every expression in the template with where it is. */
const expressions = [...stringsIn(template)]
  .filter((s) => isArmExpression(s.value))
  .map((s) => ({ path: s.path, node: parseArmExpression(s.value) }));

const allCalls = expressions.flatMap((e) => armCalls(e.node).map((call) => ({ path: e.path, call })));

/** ARM template functions used here (template functions reference); a typo is not one of them. */
const ARM_FUNCTIONS = new Set(
  [
    "add", "and", "concat", "true", "copyIndex", "createArray", "createObject", "empty", "environment", "equals",
    "extensionResourceId", "format", "guid", "if", "length", "mul", "not", "or", "parameters", "reference",
    "null", "replace", "resourceGroup", "resourceId", "string", "subscription", "subscriptionResourceId", "take",
    "toLower", "union", "uniqueString", "variables",
  ].map((f) => f.toLowerCase()),
);

/** Resource types the template refers to but does not create, and why. */
const EXTERNAL_TYPES = new Map([
  ["microsoft.keyvault/vaults", "the user's existing Key Vault"],
  ["microsoft.authorization/roledefinitions", "built-in role definitions"],
]);

const declaredTypes = new Set(template.resources.map((r) => r.type.toLowerCase()));

function resourceCallType(call: Extract<ArmNode, { kind: "call" }>): string | undefined {
  const name = call.name.toLowerCase();
  if (name === "resourceid" || name === "subscriptionresourceid") return literalArg(call, 0);
  if (name === "extensionresourceid") return literalArg(call, 1);
  return undefined;
}

function isKeyVaultReference(node: ArmNode): boolean {
  if (node.kind !== "call" || node.name.toLowerCase() !== "format") return false;
  const pattern = literalArg(node, 0);
  return pattern !== undefined && pattern.startsWith("@Microsoft.KeyVault(SecretUri=") && pattern.endsWith(")");
}

/** A secret's value: a Key Vault reference, or `if(cond, a, b)` whose branches are '' or references. */
function isSecretSafe(node: ArmNode): boolean {
  if (isKeyVaultReference(node)) return true;
  if (node.kind === "string") return node.value === "";
  if (node.kind === "call" && node.name.toLowerCase() === "if") return isSecretSafe(node.args[1]!) && isSecretSafe(node.args[2]!);
  return false;
}

function isoMinutes(duration: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(duration);
  if (!m) throw new Error(`not an ISO 8601 duration: ${duration}`);
  return Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const rules = template.resources.filter((r) => r.type === "Microsoft.Insights/scheduledQueryRules");

function ruleNamed(name: string): ArmResource {
  const rule = rules.find((r) => r.name.endsWith(`-${name}', parameters('namePrefix'))]`));
  if (!rule) throw new Error(`no scheduled query rule named *-${name}`);
  return rule;
}

interface RuleProperties {
  severity: number;
  evaluationFrequency: string;
  windowSize: string;
  overrideQueryTimeRange?: string;
  autoMitigate: boolean;
  scopes: string[];
  criteria: {
    allOf: {
      query: string;
      timeAggregation: string;
      operator: string;
      threshold: number;
      dimensions: { name: string; operator: string; values: string[] }[];
      failingPeriods: { numberOfEvaluationPeriods: number; minFailingPeriodsToAlert: number };
    }[];
  };
  actions: { actionGroups: string[] };
}

describe("infra/main.json: structure and references", () => {
  it("is a deployment template whose expressions all parse", () => {
    expect(template.$schema).toMatch(/deploymentTemplate\.json#$/);
    expect(expressions.length).toBeGreaterThan(50);
  });

  it("calls only known ARM functions", () => {
    const unknown = allCalls.filter(({ call }) => !ARM_FUNCTIONS.has(call.name.toLowerCase()));
    expect(unknown.map(({ path, call }) => `${path}: ${call.name}()`)).toEqual([]);
  });

  it("resolves every parameters('x') and uses every parameter", () => {
    const used = allCalls.filter(({ call }) => call.name.toLowerCase() === "parameters").map(({ path, call }) => ({ path, name: literalArg(call, 0) }));
    expect(used.filter((u) => u.name === undefined || !(u.name in template.parameters)).map((u) => `${u.path}: ${u.name}`)).toEqual([]);
    const usedNames = new Set(used.map((u) => u.name));
    expect(Object.keys(template.parameters).filter((p) => !usedNames.has(p))).toEqual([]);
  });

  it("resolves every variables('x') and uses every variable", () => {
    const used = allCalls.filter(({ call }) => call.name.toLowerCase() === "variables").map(({ path, call }) => ({ path, name: literalArg(call, 0) }));
    expect(used.filter((u) => u.name === undefined || !(u.name in template.variables)).map((u) => `${u.path}: ${u.name}`)).toEqual([]);
    const usedNames = new Set(used.map((u) => u.name));
    expect(Object.keys(template.variables).filter((v) => !usedNames.has(v))).toEqual([]);
  });

  it("resolves variables('kql')[...] to an embedded query", () => {
    const indexes = expressions.flatMap((e) =>
      [...walkArm(e.node)].filter(
        (n): n is Extract<ArmNode, { kind: "index" }> => n.kind === "index" && n.target.kind === "call" && literalArg(n.target, 0) === "kql",
      ),
    );
    expect(indexes).toHaveLength(ALERT_RULES.length);
    const kql = template.variables.kql as Record<string, string>;
    for (const index of indexes) {
      expect(index.index.kind).toBe("string");
      expect(Object.keys(kql)).toContain((index.index as { value: string }).value);
    }
  });

  it("resolves every copyIndex('loop') to a copy loop of that name", () => {
    const loops = new Set([...stringsIn(template)].filter((s) => s.path.endsWith(".name") && s.path.includes(".copy[")).map((s) => s.value));
    const uses = allCalls.filter(({ call }) => call.name.toLowerCase() === "copyindex");
    expect(uses.length).toBeGreaterThan(0);
    for (const { call } of uses) expect(loops).toContain(literalArg(call, 0));
  });

  it("refers only to resource types it declares (or known external ones)", () => {
    const unresolved = allCalls
      .map(({ path, call }) => ({ path, type: resourceCallType(call) }))
      .filter((c) => c.type !== undefined && !declaredTypes.has(c.type.toLowerCase()) && !EXTERNAL_TYPES.has(c.type.toLowerCase()));
    expect(unresolved).toEqual([]);
    // Every resourceId-like call names its type literally, so the check above saw them all.
    const dynamicType = allCalls.filter(
      ({ call }) => ["resourceid", "subscriptionresourceid", "extensionresourceid"].includes(call.name.toLowerCase()) && resourceCallType(call) === undefined,
    );
    expect(dynamicType.map((c) => c.path)).toEqual([]);
  });

  it("points every reference() at a resource id, a parameter or a variable", () => {
    const refs = allCalls.filter(({ call }) => call.name.toLowerCase() === "reference");
    expect(refs.length).toBeGreaterThan(0);
    for (const { path, call } of refs) {
      const target = call.args[0];
      const ok = target?.kind === "call" && ["resourceid", "variables", "parameters"].includes(target.name.toLowerCase());
      expect(ok, `${path}: reference(${target ? armText(target) : ""})`).toBe(true);
    }
  });

  it("resolves every dependsOn entry to a resource of the template, by type and name", () => {
    const byType = new Map<string, ArmResource[]>();
    for (const r of template.resources) byType.set(r.type.toLowerCase(), [...(byType.get(r.type.toLowerCase()) ?? []), r]);
    const problems: string[] = [];
    for (const resource of template.resources) {
      for (const dep of resource.dependsOn ?? []) {
        const node = parseArmExpression(dep);
        if (node.kind !== "call") {
          problems.push(`${resource.name}: ${dep} is not a resource id`);
          continue;
        }
        const fn = node.name.toLowerCase();
        const type = resourceCallType(node);
        const candidates = type ? (byType.get(type.toLowerCase()) ?? []) : [];
        // resourceId(type, name) / extensionResourceId(scope, type, name): the name must be the
        // resource's own name expression; nested types (a/b/c) have several segments: type only.
        const nameArg = fn === "resourceid" && node.args.length === 2 ? node.args[1] : fn === "extensionresourceid" ? node.args[2] : undefined;
        const match = candidates.some((c) => {
          if (!nameArg) return true;
          const own = isArmExpression(c.name) ? armText(parseArmExpression(c.name)) : armText({ kind: "string", value: c.name });
          return own === armText(nameArg);
        });
        if (!match) problems.push(`${resource.name}: ${dep}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("infra/main.json: the Function App", () => {
  const site = functionApp(template);
  const settings = appSettingsOf(site);
  const names = settings.map((s) => s.name);

  it("is a Linux Flex Consumption app on Node 22 with deployment storage reached by its identity", () => {
    const plan = template.resources.find((r) => r.type === "Microsoft.Web/serverfarms")!;
    expect(plan.sku).toEqual({ tier: "FlexConsumption", name: "FC1" });
    expect(plan.properties?.reserved).toBe(true);
    expect(site.kind).toBe("functionapp,linux");
    const config = site.properties?.functionAppConfig as {
      runtime: { name: string; version: string };
      deployment: { storage: { type: string; authentication: { type: string } } };
    };
    expect(config.runtime).toEqual({ name: "node", version: "22" });
    expect(config.deployment.storage.type).toBe("blobContainer");
    expect(config.deployment.storage.authentication.type).toBe("UserAssignedIdentity");
    // Key Vault references resolve with the user-assigned identity only when told to.
    expect(site.properties?.keyVaultReferenceIdentity).toMatch(/userAssignedIdentities/);
  });

  it("sets every setting the app reads, and every host setting, exactly once", () => {
    for (const name of [...spec.settings.map((s) => s.name), ...spec.platformSettings]) {
      expect(names.filter((n) => n === name), name).toHaveLength(1);
    }
  });

  it("sets no PROBE_ setting the app does not read, and nothing Flex Consumption rejects", () => {
    const known = new Set(spec.settings.map((s) => s.name));
    expect(names.filter((n) => n.startsWith("PROBE_") && !known.has(n))).toEqual([]);
    expect(names.filter((n) => spec.mustNotBeSet.includes(n))).toEqual([]);
  });

  it("gives secrets only as Key Vault references (or empty)", () => {
    for (const secret of spec.settings.filter((s) => s.secret)) {
      const value = settings.find((s) => s.name === secret.name)!.value;
      expect(isArmExpression(value), secret.name).toBe(true);
      const node = parseArmExpression(value);
      expect(isSecretSafe(node), `${secret.name}: ${value}`).toBe(true);
      // The reference is built from a secret *name* parameter, never from a secret value.
      const params = armCalls(node).filter((c) => c.name === "parameters").map((c) => literalArg(c, 0)!);
      for (const p of params.filter((p) => p !== "credential")) expect(p).toMatch(/SecretName$/);
    }
  });

  it("never puts a secure parameter into an app setting", () => {
    const secure = Object.entries(template.parameters).filter(([, p]) => p.type.toLowerCase().startsWith("secure")).map(([n]) => n);
    for (const setting of settings.filter((s) => isArmExpression(s.value))) {
      const params = armCalls(parseArmExpression(setting.value)).filter((c) => c.name === "parameters").map((c) => literalArg(c, 0));
      expect(params.filter((p) => p !== undefined && secure.includes(p)), setting.name).toEqual([]);
    }
  });

  function evaluatedSettings(overrides: Record<string, unknown>): Record<string, string> {
    const ctx = evaluationContext(template, { ...REQUIRED_PARAMETERS, ...overrides });
    return Object.fromEntries(settings.map((s) => [s.name, evaluateValue(s.value, ctx) as string]));
  }

  it("with defaults, sets the documented defaults and a federated (secret-less) credential", () => {
    const values = evaluatedSettings({});
    for (const s of spec.settings.filter((s) => s.default !== null)) expect(values[s.name], s.name).toBe(s.default);
    expect(values.PROBE_CREDENTIAL).toBe("managed-identity");
    expect(values.PROBE_MANAGED_IDENTITY_CLIENT_ID).toBe("identity-client-id");
    expect(values.PROBE_CLIENT_SECRET).toBe("");
    expect(values.PROBE_RUN_LOCATION).toBe("westeurope");
    expect(values.AzureWebJobsStorage__credential).toBe("managedidentity");
  });

  it("sets exactly one credential: a client secret from Key Vault excludes the managed identity", () => {
    const values = evaluatedSettings({ credential: "client-secret", keyVaultName: "kv-probe", clientSecretName: "probe-secret" });
    expect(values.PROBE_CLIENT_SECRET).toBe("@Microsoft.KeyVault(SecretUri=https://kv-probe.vault.azure.net/secrets/probe-secret/)");
    expect(values.PROBE_CREDENTIAL).toBe("");
    expect(values.PROBE_MANAGED_IDENTITY_CLIENT_ID).toBe("");
    // And a leftover secret name does not bring the secret back in managed-identity mode.
    expect(evaluatedSettings({ keyVaultName: "kv-probe", clientSecretName: "probe-secret" }).PROBE_CLIENT_SECRET).toBe("");
  });

  it("derives PROBE_SCHEDULE and PROBE_RUN_LOCATION from their parameters", () => {
    const values = evaluatedSettings({ scheduleMinutes: 10, runLocation: "probe-weu-1", subscriptionKeySecretName: "apim-key", keyVaultName: "kv" });
    expect(values.PROBE_SCHEDULE).toBe("0 */10 * * * *");
    expect(values.PROBE_RUN_LOCATION).toBe("probe-weu-1");
    expect(values.PROBE_SUBSCRIPTION_KEY).toMatch(/^@Microsoft\.KeyVault\(SecretUri=https:\/\/kv\.vault\.azure\.net\/secrets\/apim-key\/\)$/);
  });
});

describe("infra/main.json: alert rules", () => {
  it("has one scheduled query rule per rule of the TypeScript mirror, with its severity and dimensions", () => {
    expect(rules).toHaveLength(ALERT_RULES.length);
    for (const rule of ALERT_RULES) {
      const p = ruleNamed(rule.name).properties as unknown as RuleProperties;
      expect(p.severity, rule.name).toBe(rule.severity);
      const c = p.criteria.allOf[0]!;
      expect(c.dimensions.map((d) => d.name), rule.name).toEqual(rule.dimensions);
      // "Any row" fires: Count > 0 over the query's rows, first failing period.
      expect([c.timeAggregation, c.operator, c.threshold]).toEqual(["Count", "GreaterThan", 0]);
      expect(c.failingPeriods).toEqual({ numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 });
      expect(p.scopes).toEqual(["[variables('appInsightsId')]"]);
      expect(p.actions.actionGroups).toHaveLength(1);
      expect(p.evaluationFrequency).toBe("PT5M");
    }
  });

  it("security regression: severity 0, judged on arrival over 2 days of result times, never resolves itself, repeats muted", () => {
    const p = ruleNamed("gateway-security-regression").properties as unknown as RuleProperties & { muteActionsDuration?: string };
    // A result the outbox delivers up to 2 days late (OUTBOX_MAX_AGE_MS) is inside the query range...
    expect(isoMinutes(p.windowSize)).toBe(2 * 24 * 60);
    // ...and the query reads arrivals, more of them than one evaluation period.
    const kql = (template.variables.kql as Record<string, string>)["alert-gateway-security-regression"]!;
    // (Each result id at its first arrival: one sent twice does not arrive anew.)
    expect(kql).toContain("arrived = ingestion_time()");
    expect(kql).toContain("summarize arg_min(arrived, *) by id");
    expect(kql).toContain("arrived > ago(10m)");
    expect(isoMinutes(p.evaluationFrequency)).toBeLessThan(10);
    expect(p.autoMitigate).toBe(false);
    // Without a mute the rule notified again every 5 minutes for as long as the result was in range.
    expect(isoMinutes(p.muteActionsDuration!)).toBe(60);
  });

  it("api down: the window covers the longest lookback the parameters allow", () => {
    const p = ruleNamed("api-down").properties as unknown as RuleProperties;
    const runs = template.parameters.downConsecutiveRuns!.maxValue!;
    const slowest = Math.max(...(template.parameters.scheduleMinutes!.allowedValues as number[]));
    expect(isoMinutes(p.windowSize)).toBeGreaterThanOrEqual((runs + 1) * slowest);
  });

  it("probe silent: the query sees the whole baseline", () => {
    const p = ruleNamed("probe-silent").properties as unknown as RuleProperties;
    expect(isoMinutes(p.overrideQueryTimeRange!)).toBeGreaterThanOrEqual(SILENT_BASELINE_MINUTES);
  });

  it("token endpoint: the window the TypeScript mirror uses", () => {
    const p = ruleNamed("token-endpoint").properties as unknown as RuleProperties;
    expect(isoMinutes(p.windowSize)).toBe(TOKEN_ENDPOINT_WINDOW_MINUTES);
  });

  it("defaults the rule parameters as the TypeScript mirror does", () => {
    expect(template.parameters.scheduleMinutes!.defaultValue).toBe(DEFAULT_ALERT_PARAMETERS.scheduleMinutes);
    expect(template.parameters.downConsecutiveRuns!.defaultValue).toBe(DEFAULT_ALERT_PARAMETERS.downConsecutiveRuns);
    expect(template.parameters.downMinFailingLocations!.defaultValue).toBe(DEFAULT_ALERT_PARAMETERS.downMinFailingLocations);
  });
});

describe("infra/main.json: embedded copies of the KQL and the workbook", () => {
  it("embeds every infra/kql/alert-*.kql byte for byte (sync: node test/infra/sync-embedded.ts)", () => {
    expect(template.variables.kql).toEqual(alertQueries(INFRA_DIR));
  });

  it("embeds infra/workbook.json unchanged", () => {
    expect(template.variables.workbook).toEqual(JSON.parse(readInfraText("workbook.json")));
  });

  it("keeps each workbook query identical to its infra/kql/workbook-<name>.kql, and uses every one", () => {
    const workbook = JSON.parse(readInfraText("workbook.json")) as { items: { name: string; content: { query?: string } }[] };
    const queries = workbook.items.filter((i) => typeof i.content.query === "string");
    const files = readdirSync(join(INFRA_DIR, "kql")).filter((f) => f.startsWith("workbook-"));
    expect(queries.map((q) => `workbook-${q.name}.kql`).sort()).toEqual(files.sort());
    for (const q of queries) expect(q.content.query, q.name).toBe(readInfraText(`kql/workbook-${q.name}.kql`));
  });

  it("with default parameters, deploys each rule's query exactly as its .kql file", () => {
    const ctx = evaluationContext(template, REQUIRED_PARAMETERS);
    for (const rule of ALERT_RULES) {
      const query = evaluateValue((ruleNamed(rule.name).properties as unknown as RuleProperties).criteria.allOf[0]!.query, ctx);
      expect(query, rule.name).toBe(readInfraText(`kql/${rule.kqlFile}`));
    }
  });

  it("substitutes every parameter line exactly once, so a non-default value reaches the query", () => {
    const ctx = evaluationContext(template, { ...REQUIRED_PARAMETERS, scheduleMinutes: 10, downConsecutiveRuns: 3, downMinFailingLocations: 2, alertIngestionDelayMinutes: 5 });
    const down = evaluateValue((ruleNamed("api-down").properties as unknown as RuleProperties).criteria.allOf[0]!.query, ctx) as string;
    expect(down).toContain("let consecutiveRuns = 3;\nlet minFailingLocations = 2;\n");
    // (3 + 1) runs of 10 minutes, plus 5 for ingestion delay, as a literal (log alerts take no variables in ago()).
    expect(down).toContain("| where timestamp > ago(45m)\n");
    expect(down).not.toContain("ago(25m)");
    const silent = evaluateValue((ruleNamed("probe-silent").properties as unknown as RuleProperties).criteria.allOf[0]!.query, ctx) as string;
    expect(silent.split("ago(35m)")).toHaveLength(3);
    expect(silent).not.toContain("ago(25m)");
    // Each `let` search text of a replace() occurs once in its query: a stale default would not match.
    for (const { call } of allCalls.filter(({ call }) => call.name === "replace" && literalArg(call, 1)?.startsWith("let "))) {
      const search = literalArg(call, 1)!;
      const file = Object.values(alertQueries(INFRA_DIR)).filter((text) => text.includes(search));
      expect(file, search).toHaveLength(1);
      expect(file[0]!.split(search)).toHaveLength(2);
    }
  });
});

describe("alert rules' API version", () => {
  it("is the stable 2023-12-01 of Microsoft.Insights/scheduledQueryRules, not a preview", () => {
    const rules = template.resources.filter((r) => r.type === "Microsoft.Insights/scheduledQueryRules");
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.apiVersion, rule.name).toBe("2023-12-01");
  });
});
