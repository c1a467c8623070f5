import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";
import { startSandbox, type Sandbox, type ScenarioName } from "../../src/sandbox/index.js";

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

const dir = mkdtempSync(join(tmpdir(), "cli-e2e-"));

async function cli(argv: string[], env: Record<string, string | undefined>) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    env,
    cwd: dir,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** The sandbox's generated secrets: none may appear in any output. */
function canaries(s: Sandbox): string[] {
  return ["PROBE_CLIENT_SECRET", "PROBE_UNASSIGNED_CLIENT_SECRET", "PROBE_SUBSCRIPTION_KEY", "IDENTITY_HEADER"]
    .map((k) => s.settings[k]!)
    .filter(Boolean);
}

function expectNoSecrets(s: Sandbox, ...texts: string[]): void {
  const all = texts.join("\n");
  for (const secret of canaries(s)) expect(all).not.toContain(secret);
  expect(all).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
}

describe("apim-smoke run against the sandbox", () => {
  it.runIf(existsSync("/dev/full"))(
    "a --junit file that cannot be written after the run (disk full): results sent first, exit 5 naming --junit",
    async () => {
      sandbox = await startSandbox({ scenario: "healthy" });
      const { code, stderr } = await cli(["run", "--format", "json", "--junit", "/dev/full"], { ...sandbox.settings });
      expect(stderr).toMatch(/availability: 11\/11 results accepted/);
      expect(sandbox.ingestion.availability()).toHaveLength(11);
      expect(stderr).toContain("--junit: cannot write /dev/full (ENOSPC: no space left on the device)");
      expect(code).toBe(5);
    },
  );

  it("a --junit path that is a folder is refused before any probe runs, exit 5", async () => {
    sandbox = await startSandbox({ scenario: "healthy" });
    const { code, stdout, stderr } = await cli(["run", "--junit", dir], { ...sandbox.settings });
    expect(stderr).toContain("--junit: cannot write");
    expect(stdout).toBe("");
    expect(sandbox.entra.tokenRequests()).toHaveLength(0);
    expect(code).toBe(5);
  });

  it("healthy: exit 0, JSON and JUnit without secrets, availability results accepted by ingestion", async () => {
    sandbox = await startSandbox({ scenario: "healthy" });
    const junit = join(dir, "healthy.xml");
    const { code, stdout, stderr } = await cli(["run", "--format", "json", "--junit", junit], { ...sandbox.settings });
    const doc = JSON.parse(stdout) as { results: { outcome: string }[]; summary: { ok: boolean; total: number } };
    expect(doc.summary).toMatchObject({ ok: true, total: 12 });
    expect(code).toBe(0);
    // Eleven probes ran (expired-token was skipped); each became an availability result.
    expect(stderr).toMatch(/availability: 11\/11 results accepted/);
    expect(sandbox.ingestion.availability()).toHaveLength(11);
    const xml = readFileSync(junit, "utf8");
    expectNoSecrets(sandbox, stdout, stderr, xml, JSON.stringify(sandbox.ingestion.accepted()));
  });

  it.each<[ScenarioName, number]>([
    ["fail-open", 1],
    ["invalid-secret", 1],
    ["assignment-not-required", 1],
  ])("%s: exit %i, table output without secrets", async (scenario, exit) => {
    sandbox = await startSandbox({ scenario });
    const { APPLICATIONINSIGHTS_CONNECTION_STRING: _ai, ...settings } = sandbox.settings;
    const { code, stdout, stderr } = await cli(["run"], settings);
    expect(code).toBe(exit);
    expect(stdout).toContain("NOT OK");
    expectNoSecrets(sandbox, stdout, stderr);
  });

  it("bad settings: exit 2 naming the setting, no secret", async () => {
    sandbox = await startSandbox({ scenario: "healthy" });
    const { code, stdout, stderr } = await cli(["run"], {
      ...sandbox.settings,
      PROBE_API_SCOPE: "api://orders-api",
      PROBE_CLIENT_CERTIFICATE_PATH: sandbox.clientCertificateFile,
    });
    expect(code).toBe(2);
    expect(stderr).toContain("PROBE_API_SCOPE");
    expect(stderr).toContain("PROBE_CLIENT_CERTIFICATE_PATH");
    expectNoSecrets(sandbox, stdout, stderr);
  });
});
