import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  AZURE_STUBS,
  REQUIRED_PARAMETERS,
  appSettingsOf,
  evaluateValue,
  evaluationContext,
  functionApp,
  loadTemplate,
} from "./template-model.js";

/**
 * Several regions, one view (docs/DEPLOY.md, Multi-region): the same template deployed once per
 * region into one resource group, the first creating Application Insights and the alert rules, the
 * others reporting to it through appInsightsMode=existing with deployAlerts=false. The deployments
 * must not overwrite each other's resources, must all report to the one resource, each under its
 * own run location.
 */

const template = loadTemplate();

/** uniqueString is a hash of its arguments in ARM: here too, so that per-region names differ as they will. */
const STUBS = { ...AZURE_STUBS, uniqueString: (...args: unknown[]) => createHash("sha256").update(args.map(String).join("|")).digest("hex").slice(0, 13) };

interface Deployment {
  region: string;
  resources: { type: string; name: string }[];
  settings: Record<string, string>;
  outputs: Record<string, unknown>;
  ruleQuery: (name: string) => string;
}

function deploy(region: string, parameters: Record<string, unknown>): Deployment {
  const ctx = evaluationContext(template, { ...REQUIRED_PARAMETERS, location: region, runLocation: region, ...parameters }, STUBS);
  const resources = template.resources
    .filter((r) => r.condition === undefined || evaluateValue(r.condition, ctx) === true)
    .map((r) => ({ type: r.type.toLowerCase(), name: evaluateValue(r.name, ctx) as string }));
  const settings = Object.fromEntries(appSettingsOf(functionApp(template)).map((s) => [s.name, evaluateValue(s.value, ctx) as string]));
  const outputs = Object.fromEntries(Object.entries(template.outputs ?? {}).map(([k, o]) => [k, evaluateValue(o.value, ctx)]));
  const ruleQuery = (name: string): string => {
    const rule = template.resources.find((r) => r.type === "Microsoft.Insights/scheduledQueryRules" && r.name.includes(`-${name}'`))!;
    return evaluateValue((rule.properties as { criteria: { allOf: { query: string }[] } }).criteria.allOf[0]!.query, ctx) as string;
  };
  return { region, resources, settings, outputs, ruleQuery };
}

/** The commands of docs/DEPLOY.md: a primary, then secondaries pointed at the primary's Application Insights. */
function regions(extra: Record<string, unknown>): [Deployment, ...Deployment[]] {
  const primary = deploy("westeurope", { downConsecutiveRuns: 1, downMinFailingLocations: 2, ...extra });
  const appInsightsId = primary.outputs.appInsightsId as string;
  const secondaries = ["eastus", "japaneast"].map((region) =>
    deploy(region, { appInsightsMode: "existing", existingAppInsightsResourceId: appInsightsId, deployAlerts: false, ...extra }),
  );
  return [primary, ...secondaries];
}

/** Resources meant to be shared by every region of one resource group: the global privatelink zones. */
const SHARED_TYPES = new Set(["microsoft.network/privatednszones"]);

describe.each([
  ["public", {}],
  ["each region in its own new virtual network", { vnetMode: "new" }],
])("three regions in one resource group (%s)", (_label, extra) => {
  const [primary, ...secondaries] = regions(extra);
  const all = [primary, ...secondaries];

  it("the primary creates Application Insights, the action group, the rules and the workbook; the others none of them", () => {
    const types = (d: Deployment) => new Set(d.resources.map((r) => r.type));
    for (const type of ["microsoft.insights/components", "microsoft.operationalinsights/workspaces", "microsoft.insights/actiongroups", "microsoft.insights/scheduledqueryrules", "microsoft.insights/workbooks"]) {
      expect(types(primary).has(type), `primary ${type}`).toBe(true);
      for (const s of secondaries) expect(types(s).has(type), `${s.region} ${type}`).toBe(false);
    }
  });

  it("every region reports to the primary's one Application Insights, each under its own run location", () => {
    expect(primary.outputs.appInsightsId).toBe("/resourceId/Microsoft.Insights/components/apimsmoke-appi");
    for (const d of all) {
      expect(d.settings.APPLICATIONINSIGHTS_CONNECTION_STRING, d.region).toBe("connection-string-of(/resourceId/Microsoft.Insights/components/apimsmoke-appi)");
      expect(d.settings.PROBE_RUN_LOCATION, d.region).toBe(d.region);
      expect(d.outputs.appInsightsId, d.region).toBe(primary.outputs.appInsightsId);
    }
    expect(new Set(all.map((d) => d.settings.PROBE_RUN_LOCATION)).size).toBe(all.length);
  });

  it("no deployment overwrites another's resources: app, plan, storage, identity and network names differ per region", () => {
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    for (const d of all) {
      for (const r of d.resources.filter((r) => !SHARED_TYPES.has(r.type))) {
        const key = `${r.type} ${r.name}`;
        const other = seen.get(key);
        if (other !== undefined && other !== d.region) clashes.push(`${key}: ${other} and ${d.region}`);
        seen.set(key, d.region);
      }
    }
    expect(clashes).toEqual([]);
    expect(new Set(all.map((d) => d.outputs.functionAppName)).size).toBe(all.length);
  });

  it("the primary's api-down rule fires on 2 failing locations of those reporting, after 1 bad run", () => {
    const down = primary.ruleQuery("api-down");
    expect(down).toContain("let consecutiveRuns = 1;\nlet minFailingLocations = 2;\n");
  });
});
