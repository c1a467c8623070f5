import { readFileSync, writeFileSync } from "node:fs";
import { XMLParser } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { junitSchemaErrors, publishedSchemaValidator, RUN_RESULT_SCHEMA_PATH } from "../../support/output-schemas.js";
import { RESULT_SCHEMA_VERSION, runDocument, runDocumentJsonSchema } from "../../../src/core/results/document.js";
import { renderJson } from "../../../src/core/results/json.js";
import { renderJunit } from "../../../src/core/results/junit.js";
import { summarize } from "../../../src/core/results/summary.js";
import type { Outcome, ProbeResult, RunReport } from "../../../src/core/results/types.js";
import type { ProbeName } from "../../../src/probe-matrix/names.js";

const schemaPath = RUN_RESULT_SCHEMA_PATH;

function result(target: string, probe: ProbeName, outcome: Outcome, extra: Partial<ProbeResult> = {}): ProbeResult {
  return {
    target,
    probe,
    outcome,
    expectedStatuses: [401],
    durationMs: 12.345678,
    message: `${probe} <&> "msg"`,
    startedAt: "2026-01-01T00:00:00.000Z",
    ...extra,
  };
}

const invalidSecret = {
  cause: "invalid-client-secret",
  summary: "Entra refused the client secret",
  fix: "Use the secret's Value, not its Secret ID.",
  evidence: { tenant: "t" },
};
const results = [
  result("orders", "valid", "pass", {
    expectedStatuses: [200, 201],
    actualStatus: 200,
    token: { aud: "api://orders", roles: ["Probe"], ver: "2.0" },
  }),
  result("orders", "no-token", "security", {
    actualStatus: 200,
    diagnosis: { cause: "no-token-validation", summary: "nothing validates tokens", fix: "add validate-jwt" },
  }),
  result("orders", "wrong-audience", "pass", {
    actualStatus: 401,
    diagnosis: {
      cause: "audience-unproven",
      summary: "the token differed in more than its audience",
      fix: "Give the probe's app the API's accessTokenAcceptedVersion",
    },
  }),
  result("orders", "unassigned-client", "pass", {
    expectedStatuses: [401, 403],
    cause: "AADSTS501051",
    message: "refused by Entra as expected: AADSTS501051",
  }),
  result("billing", "token", "fail", {
    expectedStatuses: [],
    actualStatus: 401,
    cause: "AADSTS7000215",
    diagnosis: invalidSecret,
  }),
  result("billing", "valid", "blocked", {
    cause: "AADSTS7000215",
    blockedBy: "token",
    diagnosis: invalidSecret,
    durationMs: 0,
  }),
  result("billing", "alg-none", "error", {
    cause: "timeout",
    attempts: 2,
    diagnosis: { cause: "timeout", summary: "no answer in 2 s", fix: "check the backend" },
  }),
  result("billing", "expired-token", "skipped"),
];
const report: RunReport = {
  runId: "run-1",
  startedAt: "2026-01-01T00:00:00.000Z",
  trigger: "cli",
  results,
  summary: summarize(results, 99),
};

describe("schema/run-result.schema.json", () => {
  it("is the JSON Schema of the document as the code defines it (UPDATE_SCHEMA=1 rewrites it)", () => {
    const current = `${JSON.stringify(runDocumentJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA === "1") writeFileSync(schemaPath, current);
    expect(readFileSync(schemaPath, "utf8")).toBe(current);
  });

  it("forbids unknown properties and names the cause vocabulary", () => {
    const schema = JSON.stringify(runDocumentJsonSchema());
    expect(schema).toContain('"additionalProperties":false');
    const causes = (
      runDocumentJsonSchema() as { properties: { results: { items: { properties: { cause: { enum: string[] } } } } } }
    ).properties.results.items.properties.cause.enum;
    expect(schema).toContain('"additionalProperties":false');
    expect(causes).toContain("client-not-assigned");
    expect(causes.filter((c) => c.startsWith("AADSTS"))).toEqual([]);
  });
});

describe("the JSON document", () => {
  const doc = JSON.parse(renderJson(report, { exitCode: 1 })) as z.output<typeof runDocument>;

  it("validates against the published schema, and the schema refuses what it must", () => {
    const validator = publishedSchemaValidator();
    expect(validator.safeParse(doc).error?.issues).toBeUndefined();
    expect(validator.safeParse({ ...doc, extra: 1 }).success).toBe(false);
    expect(validator.safeParse({ ...doc, results: [{ ...doc.results[3], cause: "AADSTS7000215" }] }).success).toBe(
      false,
    );
    expect(runDocument.safeParse(doc).success).toBe(true);
  });

  it("says which schema version, which tool and version, and the run's exit code", () => {
    expect(doc.schemaVersion).toBe(RESULT_SCHEMA_VERSION);
    expect(doc.tool).toEqual({ name: "apim-smoke", version: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown });
    expect(doc.exitCode).toBe(1);
  });

  it("one cause vocabulary: the diagnosis code; Entra's code only as evidence", () => {
    const byProbe = Object.fromEntries(doc.results.map((r) => [`${r.target}/${r.probe}`, r]));
    expect(byProbe["orders/unassigned-client"]).not.toHaveProperty("cause");
    expect(byProbe["orders/unassigned-client"]?.evidence).toEqual({ code: "AADSTS501051" });
    expect(byProbe["billing/token"]).toMatchObject({
      cause: "invalid-client-secret",
      diagnosis: { evidence: { code: "AADSTS7000215" } },
    });
    expect(byProbe["billing/alg-none"]?.diagnosis?.evidence).not.toHaveProperty("code");
    expect(JSON.stringify(doc.results.map((r) => r.cause))).not.toContain("AADSTS");
  });
});

describe("the JUnit report", () => {
  const xml = renderJunit(report);

  it("is valid against the JUnit XSD Jenkins and Azure DevOps read (xmllint, strict)", async () => {
    expect(await junitSchemaErrors(xml)).toEqual([]);
  });

  it("the validator is strict: `skipped` on <testsuites> is refused", async () => {
    const errors = await junitSchemaErrors(xml.replace("<testsuites ", '<testsuites skipped="1" '));
    expect(errors.join("\n")).toContain("skipped");
  });

  it("one testcase per probe, classname the target, the cause code and fix in <failure>; no raw cause", () => {
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml) as {
      testsuites: {
        testsuite: {
          name: string;
          testcase: {
            name: string;
            classname: string;
            failure?: { message: string; "#text": string };
            error?: { message: string; "#text": string };
          }[];
        }[];
      };
    };
    const cases = doc.testsuites.testsuite.flatMap((s) => s.testcase);
    expect(cases.map((c) => `${c.classname}/${c.name}`)).toEqual(results.map((r) => `${r.target}/${r.probe}`));
    const token = cases.find((c) => c.classname === "billing" && c.name === "token")!;
    // A pass with a warning keeps it where a passing test's output goes.
    expect(JSON.stringify(cases.find((c) => c.name === "wrong-audience"))).toContain("[audience-unproven]");
    expect(token.failure?.message).toContain("[invalid-client-secret]");
    expect(token.failure?.message).toContain("Use the secret's Value");
    expect(token.failure?.["#text"]).toContain("cause: invalid-client-secret");
    expect(token.failure?.["#text"]).toContain("fix: Use the secret's Value");
    expect(xml).not.toMatch(/cause: AADSTS/);
    expect(xml).toContain("evidence code: AADSTS7000215");
  });
});
