import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeKql, kqlErrors, kqlResultColumns } from "./kusto.js";
import { ALERT_RULES } from "./rules.js";
import { INFRA_DIR, REQUIRED_PARAMETERS, evaluateValue, evaluationContext, loadTemplate, readInfraText } from "./template-model.js";

const template = loadTemplate();
const kqlFiles = readdirSync(join(INFRA_DIR, "kql")).filter((f) => f.endsWith(".kql"));

function ruleQuery(ruleName: string, overrides: Record<string, unknown>): string {
  const rule = template.resources.find((r) => r.type === "Microsoft.Insights/scheduledQueryRules" && r.name.includes(`-${ruleName}'`));
  if (!rule) throw new Error(`no rule ${ruleName}`);
  const query = (rule.properties as { criteria: { allOf: { query: string }[] } }).criteria.allOf[0]!.query;
  return evaluateValue(query, evaluationContext(template, { ...REQUIRED_PARAMETERS, ...overrides })) as string;
}

describe("KQL checker", () => {
  it("reports an unknown column and an unknown table (the check is live)", () => {
    expect(analyzeKql("availabilityResults | where outcom == 'x'").map((d) => d.code)).toContain("KS142");
    expect(analyzeKql("availabilityResult | take 1").map((d) => d.code)).toContain("KS204");
    expect(kqlErrors("availabilityResults | summarize count() by")).not.toEqual([]);
  });

  it("knows both availability tables with their columns", () => {
    expect(kqlErrors("availabilityResults | project timestamp, name, location, success, message, duration, customDimensions, customMeasurements, operation_Id")).toEqual([]);
    expect(kqlErrors("AppAvailabilityResults | project TimeGenerated, Name, Location, Success, Message, DurationMs, Properties, Measurements, OperationId")).toEqual([]);
  });
});

describe("infra/kql/*.kql", () => {
  it("has the alert and workbook queries", () => {
    expect(kqlFiles.filter((f) => f.startsWith("alert-")).sort()).toEqual(ALERT_RULES.map((r) => r.kqlFile).sort());
    expect(kqlFiles.filter((f) => f.startsWith("workbook-")).length).toBeGreaterThanOrEqual(5);
  });

  it.each(kqlFiles)("%s parses and binds without errors or warnings", (file) => {
    const diagnostics = analyzeKql(readInfraText(`kql/${file}`));
    expect(diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message}`)).toEqual([]);
  });

  it.each(ALERT_RULES.map((r) => [r.name, r] as const))("%s returns its dimension columns as strings", (_, rule) => {
    const columns = kqlResultColumns(readInfraText(`kql/${rule.kqlFile}`));
    for (const dimension of rule.dimensions) expect(columns, dimension).toContainEqual({ name: dimension, type: "string" });
  });

  it("token-endpoint counts every blocked result: no list of causes to fall out of step with the catalogue", () => {
    const text = readInfraText("kql/alert-token-endpoint.kql");
    expect(text).toContain('tostring(customDimensions.outcome) == "blocked"');
    expect(text).not.toMatch(/cause in \(|contains "AADSTS"/);
  });
});

describe("queries as deployed", () => {
  const parameterSets: Record<string, unknown>[] = [
    {},
    { scheduleMinutes: 1, downConsecutiveRuns: 1, downMinFailingLocations: 1 },
    { scheduleMinutes: 10, downConsecutiveRuns: 5, downMinFailingLocations: 10 },
  ];

  it.each(parameterSets.map((p) => [JSON.stringify(p), p] as const))("alert queries parse for parameters %s", (_, overrides) => {
    for (const rule of ALERT_RULES) expect(kqlErrors(ruleQuery(rule.name, overrides)), rule.name).toEqual([]);
  });

  it("workbook queries (infra/workbook.json and the template's copy) parse", () => {
    const workbook = JSON.parse(readInfraText("workbook.json")) as { items: { name: string; content: { query?: string } }[] };
    const embedded = template.variables.workbook as typeof workbook;
    const queries = [...workbook.items, ...embedded.items].filter((i) => typeof i.content.query === "string");
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const item of queries) expect(kqlErrors(item.content.query!), item.name).toEqual([]);
  });
});
