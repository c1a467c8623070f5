import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";
import { junitSchemaErrors, runDocumentIssues } from "../support/output-schemas.js";
import { ORDERS_API } from "../../src/sandbox/identities.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

let sandbox: Sandbox;
const dir = mkdtempSync(join(tmpdir(), "cli-run-"));

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

/** The sandbox's settings without its ingestion: these tests are about the CLI's own output. */
function settings(): Record<string, string> {
  const { APPLICATIONINSIGHTS_CONNECTION_STRING: _ignored, ...rest } = sandbox.settings;
  return rest;
}

async function cli(argv: string[], env: Record<string, string | undefined>, tty = false, cwd = dir) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    env,
    cwd,
    stdout: { write: (s: string) => (stdout += s), isTTY: tty },
    stderr: { write: (s: string) => (stderr += s), isTTY: tty },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

function expectNoSecrets(...texts: string[]): void {
  const all = texts.join("\n");
  const s = sandbox.settings;
  for (const secret of [s.PROBE_CLIENT_SECRET!, s.PROBE_UNASSIGNED_CLIENT_SECRET!, s.PROBE_SUBSCRIPTION_KEY!]) {
    expect(all).not.toContain(secret);
  }
  // No bearer token-shaped string at all.
  expect(all).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
}

describe("apim-smoke run", () => {
  it("exits 4 when every probe was skipped: nothing was proven", async () => {
    const { code, stdout } = await cli(["run", "--probe", "expired-token"], settings());
    expect(stdout).toMatch(/NOTHING PROVEN: 1 probes/);
    expect(code).toBe(4);
  });

  it("--format json: every probe passes against a strict gateway, exit 0, no secret anywhere", async () => {
    const junit = join(dir, "junit.xml");
    const { code, stdout, stderr } = await cli(["run", "--format", "json", "--junit", junit], settings());
    const doc = JSON.parse(stdout) as {
      results: { probe: string; outcome: string }[];
      summary: { ok: boolean; total: number };
    };
    // A fresh process has no expired token of its own yet: that probe is skipped, which still exits 0.
    expect(doc.results.filter((r) => r.outcome !== "pass").map((r) => [r.probe, r.outcome])).toEqual([
      ["expired-token", "skipped"],
    ]);
    expect(doc.summary).toMatchObject({ ok: true, total: 12 });
    expect(code).toBe(0);
    const xml = readFileSync(junit, "utf8");
    expect(xml).toContain('<testsuite name="default"');
    // What a pipeline relies on: the document valid against the published schema, the JUnit against the XSD.
    expect(runDocumentIssues(doc)).toEqual([]);
    expect(doc).toMatchObject({ exitCode: 0, schemaVersion: expect.any(String) as unknown });
    expect(await junitSchemaErrors(xml)).toEqual([]);
    expectNoSecrets(stdout, stderr, xml);
  });

  it("table on a non-terminal: plain text; --probe filters", async () => {
    const { code, stdout } = await cli(["run", "--probe", "valid", "--probe", "no-token"], settings());
    expect(code).toBe(0);
    expect(stdout).not.toContain("\x1b[");
    expect(stdout).toMatch(/default\s+valid\s+pass/);
    expect(stdout).toMatch(/default\s+no-token\s+pass/);
    expect(stdout).not.toContain("alg-none");
  });

  it("exit 1 when a probe does not pass (wrong secret: token fails, dependents blocked)", async () => {
    const { code, stdout, stderr } = await cli(["run", "--format", "json"], {
      ...settings(),
      PROBE_CLIENT_SECRET: "canary-wrong-secret-Zq9~z",
    });
    const doc = JSON.parse(stdout) as { results: { probe: string; outcome: string; cause?: string }[] };
    expect(code).toBe(1);
    // One cause, the diagnosis's; Entra's code is evidence.
    expect(doc.results.find((r) => r.probe === "token")).toMatchObject({
      outcome: "fail",
      cause: "invalid-client-secret",
      diagnosis: { evidence: { code: "AADSTS7000215" } },
    });
    expect(doc.results.find((r) => r.probe === "valid")).toMatchObject({
      outcome: "blocked",
      blockedBy: "token",
      cause: "invalid-client-secret",
      message: "blocked by token: invalid-client-secret",
    });
    expect(doc.results.find((r) => r.probe === "no-token")?.outcome).toBe("pass");
    expect(runDocumentIssues(doc)).toEqual([]);
    expect(doc).toMatchObject({ exitCode: 1 });
    expect(stdout + stderr).not.toContain("canary-wrong-secret");
  });

  it("reads settings from --settings-file, and still from --env-file with a note to spell it --settings-file", async () => {
    const envFile = join(dir, "probe.env");
    writeFileSync(
      envFile,
      Object.entries(settings())
        .map(([k, v]) => `${k}=${v}`)
        .join("\n"),
    );
    const given = await cli(["run", "--settings-file", "probe.env", "--probe", "valid", "--format", "json"], {});
    expect(given.code).toBe(0);
    expect(JSON.parse(given.stdout)).toMatchObject({ summary: { ok: true, total: 1 } });
    expect(given.stderr).not.toContain("--env-file");
    const legacy = await cli(["run", "--env-file", "probe.env", "--probe", "valid", "--format", "json"], {});
    expect(legacy.code).toBe(0);
    expect(legacy.stderr).toContain("spell it --settings-file");
    expect((await cli(["run", "--env-file", "probe.env", "--settings-file", "probe.env"], {})).code).toBe(2);
  });

  it("run --settings-file with Entra-authenticated ingestion: the file's IDENTITY_ENDPOINT reaches the managed identity, lent for the run only", async () => {
    const entraOnly = await startSandbox({ scenario: "entra-ingestion" });
    try {
      const envFile = join(dir, "entra-ingestion.env");
      writeFileSync(
        envFile,
        Object.entries(entraOnly.settings)
          .map(([k, v]) => `${k}=${v}`)
          .join("\n"),
      );
      expect(process.env.IDENTITY_ENDPOINT).toBeUndefined();
      const { code, stderr } = await cli(["run", "--settings-file", "entra-ingestion.env", "--probe", "valid"], {});
      expect(stderr).toContain("availability: 1/1 results accepted");
      expect(code).toBe(0);
      expect(entraOnly.ingestion.availability()).toHaveLength(1);
      // The process's environment is as it was.
      expect(process.env.IDENTITY_ENDPOINT).toBeUndefined();
      expect(process.env.IDENTITY_HEADER).toBeUndefined();
    } finally {
      await entraOnly.close();
    }
  });

  it("many targets: the summary by default (a line per target), every row with --verbose, only the final line with --quiet", async () => {
    const {
      PROBE_API_URL: url,
      PROBE_API_SCOPE: scope,
      PROBE_SUBSCRIPTION_KEY: key,
      PROBE_API_METHOD: _m,
      PROBE_POLICY_FILE: _p,
      ...rest
    } = settings();
    const file = join(dir, "five.targets.json");
    const targets = ["alpha", "bravo", "charlie", "delta", "echo"].map((name) => ({
      name,
      url,
      scope,
      subscriptionKeySetting: "ORDERS_KEY",
    }));
    writeFileSync(file, JSON.stringify({ targets }));
    const env = { ...rest, PROBE_TARGETS_FILE: file, ORDERS_KEY: key };
    const probes = ["--probe", "token", "--probe", "valid", "--probe", "no-token"];
    const summary = await cli(["run", ...probes], env);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toContain("probes, in order: token valid no-token");
    // A cell per target, packed in columns: its name, then a glyph a probe.
    for (const t of targets) expect(summary.stdout).toMatch(new RegExp(`(^|\\s)${t.name}\\s+\\.\\.\\.(\\s|$)`, "m"));
    expect(summary.stdout).not.toMatch(/^alpha\s+valid\s+pass/m);
    expect(summary.stdout).toMatch(/^OK: 15 probes across 5 targets/m);
    const verbose = await cli(["run", ...probes, "--verbose"], env);
    expect(verbose.stdout.split("\n").filter((l) => /^\w+\s+(token|valid|no-token)\s+pass/.test(l))).toHaveLength(15);
    const quiet = await cli(["run", ...probes, "--quiet"], env);
    expect(quiet.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^OK: 15 probes across 5 targets/) as unknown,
    ]);
    expect((await cli(["run", "--verbose", "--quiet"], env)).code).toBe(2);
  });

  it.each(["local.settings.json", ".env"])(
    "no settings given: reads ./%s in the working directory, and says so",
    async (name) => {
      const here = mkdtempSync(join(tmpdir(), "cli-cwd-settings-"));
      const text =
        name === ".env"
          ? Object.entries(settings())
              .map(([k, v]) => `${k}=${v}`)
              .join("\n")
          : JSON.stringify({ IsEncrypted: false, Values: settings() });
      writeFileSync(join(here, name), text);
      const { code, stdout, stderr } = await cli(["run", "--probe", "valid", "--format", "json"], {}, false, here);
      expect(stderr).toContain(`settings: read ./${name}`);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ summary: { ok: true, total: 1 } });
      // Settings in the environment are the user's choice: the file is then left alone.
      const withEnv = await cli(["run", "--probe", "valid", "--format", "json"], settings(), false, here);
      expect(withEnv.stderr).not.toContain("settings: read");
    },
  );

  it("no settings anywhere: says where it looked before naming what is missing", async () => {
    const here = mkdtempSync(join(tmpdir(), "cli-cwd-no-settings-"));
    const { code, stderr } = await cli(["run"], {}, false, here);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^settings: none found \(no --settings-file given, no PROBE_\* setting in the environment, no \.\/local\.settings\.json or \.\/\.env here\)\n.*PROBE_TENANT_ID: is required/s,
    );
  });

  it.each([
    [["run", "--format", "yaml"], "--format"],
    [["run", "--probe", "sql-injection"], "--probe"],
    [["run", "--bogus"], "bogus"],
    [["run", "--target", "nope"], "--target"],
    [["launch"], "not a command"],
  ])("exit 2 for bad arguments %j", async (argv, mentioned) => {
    const { code, stderr, stdout } = await cli(argv, settings());
    expect(code).toBe(2);
    expect(stderr).toContain(mentioned);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack
    expectNoSecrets(stdout, stderr);
  });

  it("exit 2 for bad settings, naming them and never their values", async () => {
    const { code, stderr, stdout } = await cli(["run"], {
      ...settings(),
      PROBE_API_URL: `http://x.example/o`,
      PROBE_TIMEOUT_MS: sandbox.settings.PROBE_CLIENT_SECRET,
    });
    expect(code).toBe(2);
    expect(stderr).toContain("PROBE_API_URL");
    expect(stderr).toContain("PROBE_TIMEOUT_MS");
    expectNoSecrets(stdout, stderr);
  });

  it("a placeholder left in PROBE_STATE_DIR is refused (exit 2), not made a folder of that name", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "cli-state-placeholder-"));
    const { code, stderr } = await cli(
      ["run", "--probe", "no-token"],
      { ...settings(), PROBE_STATE_DIR: "<state-dir>" },
      false,
      cwd,
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/PROBE_STATE_DIR: still holds a placeholder/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("a misspelt setting is warned about on stderr with the closest known name; the run goes on", async () => {
    const { code, stderr } = await cli(["token"], { ...settings(), PROBE_TIMEOUT: "5000" });
    expect(code).toBe(0);
    expect(stderr).toMatch(/warning: setting PROBE_TIMEOUT is not read.*did you mean PROBE_TIMEOUT_MS\?/);
  });

  it.each([
    [
      "an XXE",
      '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><policies><inbound>&x;</inbound></policies>',
      /DOCTYPE/,
    ],
    [
      "a billion laughs",
      '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><policies><inbound>&b;</inbound></policies>',
      /DOCTYPE/,
    ],
    ["100 000 levels", `<policies>${"<a>".repeat(100_000)}${"</a>".repeat(100_000)}</policies>`, /nested/],
    ["a 20 MB file", `<policies><inbound>${"<base />".repeat(2_600_000)}</inbound></policies>`, /characters long/],
  ])("a policy file with %s: exit 2 with the parser's reason, not an unexpected error", async (_what, xml, reason) => {
    const policy = join(dir, `hostile-${Math.random().toString(36).slice(2)}.xml`);
    writeFileSync(policy, xml);
    const { code, stderr } = await cli(["run", "--probe", "token"], { ...settings(), PROBE_POLICY_FILE: policy });
    expect(stderr).toMatch(reason);
    expect(stderr).not.toMatch(/unexpected|RangeError/);
    expect(code).toBe(2);
  });

  it.each([
    ["100 000 levels", `{"targets":${"[".repeat(100_000)}${"]".repeat(100_000)}}`, /levels deep/],
    ["a 20 MB file", `{"targets":[],"pad":"${"x".repeat(20_000_000)}"}`, /characters long/],
  ])("a targets file with %s: exit 2 naming PROBE_TARGETS_FILE", async (_what, json, reason) => {
    const targets = join(dir, `hostile-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(targets, json);
    const {
      PROBE_API_URL: _u,
      PROBE_API_SCOPE: _s,
      PROBE_SUBSCRIPTION_KEY: _k,
      PROBE_POLICY_FILE: _p,
      ...rest
    } = settings();
    const { code, stderr } = await cli(["run"], { ...rest, PROBE_TARGETS_FILE: targets });
    expect(stderr).toContain("PROBE_TARGETS_FILE");
    expect(stderr).toMatch(reason);
    expect(code).toBe(2);
  });

  it("an unresolved Key Vault reference is refused with exit 2 before any request", async () => {
    const { code, stderr } = await cli(["run"], {
      ...settings(),
      PROBE_SUBSCRIPTION_KEY: "@Microsoft.KeyVault(VaultName=probe-kv;SecretName=apim-key)",
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/PROBE_SUBSCRIPTION_KEY: is an unresolved Key Vault reference/);
  });
});

describe("apim-smoke token", () => {
  it("prints the decoded summary, never the token", async () => {
    const { code, stdout, stderr } = await cli(["token"], settings());
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as { token: { aud: string; roles: string[] } };
    expect(doc.token).toMatchObject({ aud: ORDERS_API.clientId, ver: "2.0", roles: [ORDERS_API.role] });
    expectNoSecrets(stdout, stderr);
  });

  it("--raw prints the token alone", async () => {
    const { code, stdout } = await cli(
      ["token", "--raw", "--scope", "https://graph.microsoft.com/.default"],
      settings(),
    );
    expect(code).toBe(0);
    expect(decodeJwt(stdout.trim())).toMatchObject({ aud: "https://graph.microsoft.com", ver: "1.0" });
  });
});

describe("apim-smoke watch", () => {
  it("refuses a 5-field schedule with exit 2", async () => {
    const { code, stderr } = await cli(["watch", "--schedule", "*/5 * * * *"], settings());
    expect(code).toBe(2);
    expect(stderr).toContain("--schedule");
  });

  it("runs on the schedule until stopped", async () => {
    const stop = new AbortController();
    let stdout = "";
    const io: CliIo = {
      env: settings(),
      cwd: dir,
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => true },
      signal: stop.signal,
    };
    const done = runCli(["watch", "--schedule", "* * * * * *", "--probe", "no-token", "--format", "json"], io);
    // The run at start and one tick of the every-second schedule.
    const runsSoFar = () => stdout.split(/\n(?=\{)/).filter((s) => s.trim());
    await expect.poll(() => runsSoFar().length, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    stop.abort();
    expect(await done).toBe(0);
    const runs = runsSoFar();
    for (const run of runs) expect(JSON.parse(run)).toMatchObject({ summary: { total: 1, ok: true } });
  });
});
