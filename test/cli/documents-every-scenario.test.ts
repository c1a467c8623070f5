import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";
import { SCENARIO_NAMES, startSandbox, type ScenarioName } from "../../src/sandbox/index.js";
import { junitSchemaErrors, runDocumentIssues } from "../support/output-schemas.js";

/** slow-backend waits out its deadline and a retry: its document is the same shape as backend-error's. */
const SCENARIOS = SCENARIO_NAMES.filter((s): s is Exclude<ScenarioName, "slow-backend"> => s !== "slow-backend");

describe("every scenario's outputs are valid for a pipeline", () => {
  it.each(SCENARIOS)(
    "%s: the JSON against schema/run-result.schema.json, the JUnit against the XSD",
    { timeout: 60_000 },
    async (scenario) => {
      const sandbox = await startSandbox({ scenario });
      try {
        const dir = mkdtempSync(join(tmpdir(), "documents-"));
        let stdout = "";
        const { APPLICATIONINSIGHTS_CONNECTION_STRING: _ingestion, ...env } = sandbox.settings;
        const io: CliIo = {
          env,
          cwd: dir,
          stdout: { write: (s: string) => (stdout += s) },
          stderr: { write: () => true },
        };
        const code = await runCli(["run", "--format", "json", "--junit", "results.xml"], io);
        const doc = JSON.parse(stdout) as { exitCode: number; results: { cause?: string }[] };
        expect(runDocumentIssues(doc)).toEqual([]);
        expect(doc.exitCode).toBe(code);
        expect(doc.results.filter((r) => r.cause?.startsWith("AADSTS"))).toEqual([]);
        expect(await junitSchemaErrors(readFileSync(join(dir, "results.xml"), "utf8"))).toEqual([]);
      } finally {
        await sandbox.close();
      }
    },
  );
});
