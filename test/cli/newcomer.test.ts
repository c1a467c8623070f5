import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { COMMANDS } from "../../src/cli/commands/index.js";
import type { CliIo } from "../../src/cli/io.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";

// The newcomer path. Each test pins one of the findings; each fails on the code before it.

let sandbox: Sandbox;
const dir = mkdtempSync(join(tmpdir(), "cli-newcomer-"));

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

function settings(extra: Record<string, string> = {}): Record<string, string> {
  const { APPLICATIONINSIGHTS_CONNECTION_STRING: _ingestion, ...rest } = sandbox.settings;
  return { ...rest, ...extra };
}

function capture(env: Record<string, string | undefined>, more: Partial<CliIo> = {}, tty = false) {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = {
    env,
    cwd: dir,
    stdout: { write: (s: string) => (out.stdout += s), isTTY: tty },
    stderr: { write: (s: string) => (out.stderr += s), isTTY: tty },
    ...more,
  };
  return { io, out };
}

/** A CA nobody's server uses: what a corporate machine puts in NODE_EXTRA_CA_CERTS for its proxy. */
function corporateCaFile(): string {
  const path = join(dir, "corporate-ca.pem");
  if (!existsSync(path)) {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "corp.key"),
        "-out",
        path,
        "-days",
        "2",
        "-subj",
        "/CN=Corporate Proxy CA",
      ],
      {
        stdio: "ignore",
      },
    );
  }
  return path;
}

describe("--env-file", () => {
  it("reads an Azure Functions local.settings.json (its Values)", async () => {
    writeFileSync(
      join(dir, "local.settings.json"),
      JSON.stringify(
        {
          IsEncrypted: false,
          Values: {
            FUNCTIONS_WORKER_RUNTIME: "node",
            AzureWebJobsStorage: "UseDevelopmentStorage=true",
            ...settings(),
          },
        },
        null,
        2,
      ),
    );
    const { io, out } = capture({});
    expect(await runCli(["run", "--env-file", "local.settings.json", "--probe", "valid", "--format", "json"], io)).toBe(
      0,
    );
    expect(JSON.parse(out.stdout)).toMatchObject({ summary: { ok: true, total: 1 } });
  });

  it("refuses an encrypted local.settings.json, naming the file and the fix", async () => {
    writeFileSync(
      join(dir, "encrypted.settings.json"),
      JSON.stringify({ IsEncrypted: true, Values: { PROBE_CLIENT_SECRET: "c2VjcmV0LWNpcGhlcnRleHQtY2FuYXJ5" } }),
    );
    const { io, out } = capture({});
    expect(await runCli(["run", "--env-file", "encrypted.settings.json"], io)).toBe(2);
    expect(out.stderr).toContain("encrypted.settings.json");
    expect(out.stderr).toContain("func settings decrypt");
    expect(out.stderr).not.toContain("c2VjcmV0");
  });

  it("waits for a settings file that appears after the command started (sandbox ... & then run)", async () => {
    const late = join(dir, "late", "sandbox.env");
    const { io, out } = capture({});
    const running = runCli(["run", "--env-file", "late/sandbox.env", "--probe", "no-token", "--format", "json"], io);
    await expect.poll(() => out.stderr, { timeout: 20_000, interval: 50 }).toContain("waiting for late/sandbox.env");
    mkdirSync(join(dir, "late"), { recursive: true });
    writeFileSync(
      late,
      Object.entries(settings())
        .map(([k, v]) => `${k}=${v}`)
        .join("\n"),
    );
    expect(await running).toBe(0);
    expect(out.stderr).toContain("waiting for late/sandbox.env");
    expect(JSON.parse(out.stdout)).toMatchObject({ summary: { ok: true } });
  });

  it("a mistyped settings file (not a sandbox's) is named at once as the option's problem, not waited for", async () => {
    const { io, out } = capture({});
    expect(await runCli(["run", "--settings-file", "prbe.env"], io)).toBe(2);
    expect(out.stderr).toContain("--settings-file: ");
    expect(out.stderr).toContain("prbe.env does not exist");
    expect(out.stderr).not.toContain("waiting for");
    expect(out.stderr).not.toContain("Invalid setting");
  });

  it("keeps the sandbox CA from the file when the shell already sets NODE_EXTRA_CA_CERTS", async () => {
    writeFileSync(
      join(dir, "with-ca.env"),
      Object.entries(settings())
        .map(([k, v]) => `${k}=${v}`)
        .join("\n"),
    );
    const { io, out } = capture({ NODE_EXTRA_CA_CERTS: corporateCaFile() });
    expect(await runCli(["run", "--env-file", "with-ca.env", "--probe", "valid", "--format", "json"], io)).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ results: [{ probe: "valid", outcome: "pass" }] });
  });
});

describe("settings validated before the first request", () => {
  it("a malformed APPLICATIONINSIGHTS_CONNECTION_STRING stops the run before any probe", async () => {
    const { io, out } = capture(
      settings({
        APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=not-a-guid;IngestionEndpoint=http://127.0.0.1:1/",
      }),
    );
    expect(await runCli(["run"], io)).toBe(2);
    expect(out.stderr).toContain("APPLICATIONINSIGHTS_CONNECTION_STRING");
    expect(out.stdout).toBe("");
    expect(out.stderr).not.toContain("not-a-guid");
  });
});

describe("a mistyped command", () => {
  it.each([
    ["policy-check", "policy check"],
    ["--run", "run"],
  ])("%s: exit 2 and the command it stands for, never the argument itself", async (typed, meant) => {
    const { io, out } = capture({});
    expect(await runCli([typed, "x.xml"], io)).toBe(2);
    expect(out.stderr).toContain(`did you mean: apim-smoke ${meant}?`);
    expect(out.stderr).not.toContain(typed);
  });

  it("an argument like no command (a pasted token) gets no guess", async () => {
    const { io, out } = capture({});
    expect(await runCli(["eyJ0eXAiOiJKV1QifQ.e30.sig"], io)).toBe(2);
    expect(out.stderr).not.toContain("did you mean");
  });
});

describe("--junit FILE", () => {
  it("creates a missing folder", async () => {
    const { io } = capture(settings());
    expect(await runCli(["run", "--probe", "no-token", "--junit", "reports/nested/probe.xml"], io)).toBe(0);
    expect(readFileSync(join(dir, "reports", "nested", "probe.xml"), "utf8")).toContain("<testsuites");
  });

  it("names the file when it cannot be written, before any probe runs", async () => {
    writeFileSync(join(dir, "not-a-folder"), "");
    const { io, out } = capture(settings());
    expect(await runCli(["run", "--junit", "not-a-folder/probe.xml"], io)).toBe(5);
    expect(out.stderr).toContain("--junit: cannot write not-a-folder/probe.xml");
    expect(out.stdout).toBe("");
  });

  it("a folder given as the file is said to be one, with what to give instead", async () => {
    mkdirSync(join(dir, "reports-folder"), { recursive: true });
    const { io, out } = capture(settings());
    expect(await runCli(["run", "--junit", "reports-folder"], io)).toBe(5);
    expect(out.stderr).toContain("--junit: cannot write reports-folder (EISDIR: it is a folder; name a file");
  });

  it("gives each suite a time within the run's total", async () => {
    const { io } = capture(settings());
    await runCli(["run", "--junit", "times.xml"], io);
    const xml = readFileSync(join(dir, "times.xml"), "utf8");
    const total = Number(/<testsuites [^>]*time="([\d.]+)"/.exec(xml)![1]);
    for (const m of xml.matchAll(/<testsuite [^>]*time="([\d.]+)"/g)) expect(Number(m[1])).toBeLessThanOrEqual(total);
  });
});

describe("token and diagnose give cause and fix like run", () => {
  it("token: a refused secret gets run's cause code and fix", async () => {
    const { io, out } = capture(settings({ PROBE_CLIENT_SECRET: "canary-wrong-secret-Zq9~z" }));
    expect(await runCli(["token"], io)).toBe(1);
    expect(out.stderr).toContain("-> invalid-client-secret:");
    expect(out.stderr).toContain("fix: Set PROBE_CLIENT_SECRET");
    expect(out.stderr).not.toContain("canary-wrong-secret");
  });

  it("diagnose: says plainly that there is nothing to check against (exit 2, not 'no problem found')", async () => {
    const token = execTokenRaw();
    // A folder of its own: a settings file in the working directory would be read.
    const empty = mkdtempSync(join(tmpdir(), "cli-diagnose-"));
    writeFileSync(join(empty, "token.txt"), token);
    const { io, out } = capture({}, { cwd: empty });
    expect(await runCli(["diagnose", "--token-file", "token.txt"], io)).toBe(2);
    expect(out.stderr).toContain("nothing to check the token against");
    expect(out.stdout).not.toContain("no problem found");
  });

  it("diagnose: honours --env-file and its PROBE_POLICY_FILE", async () => {
    writeFileSync(join(dir, "token.txt"), execTokenRaw());
    writeFileSync(join(dir, "diag.env"), `PROBE_POLICY_FILE=${sandbox.policyFile}\n`);
    const { io, out } = capture({});
    expect(await runCli(["diagnose", "--token-file", "token.txt", "--env-file", "diag.env"], io)).toBe(0);
    expect(out.stdout).toContain(`checked against: the policy (PROBE_POLICY_FILE ${sandbox.policyFile})`);
  });
});

/** A real token from the sandbox, through the CLI itself. */
let rawToken: string | undefined;
function execTokenRaw(): string {
  if (!rawToken) throw new Error("rawToken not acquired");
  return rawToken;
}
beforeAll(async () => {
  const { io, out } = capture(settings());
  await runCli(["token", "--raw"], io);
  rawToken = out.stdout.trim();
});

describe("sandbox --state-dir", () => {
  it("takes an absolute path as is, masks IDENTITY_HEADER, and removes its env file when it stops", async () => {
    const state = join(mkdtempSync(join(tmpdir(), "abs-state-")), "state");
    const stop = new AbortController();
    const { io, out } = capture({}, { signal: stop.signal });
    const running = runCli(["sandbox", "--state-dir", state], io);
    await expect.poll(() => out.stdout, { timeout: 10_000 }).toContain("Ctrl-C stops the sandbox");
    const envFile = join(state, "sandbox.env");
    const values = parseEnv(readFileSync(envFile, "utf8"));
    expect(values.IDENTITY_HEADER?.length).toBeGreaterThan(8);
    expect(out.stdout).not.toContain(values.IDENTITY_HEADER);
    expect(out.stdout).toContain("IDENTITY_HEADER=********");
    expect(existsSync(join(dir, state))).toBe(false);
    stop.abort();
    expect(await running).toBe(0);
    expect(existsSync(envFile)).toBe(false);
  });
});

describe("output for a person", () => {
  it.each([
    [{ NO_COLOR: "1" }, false],
    [{ TERM: "dumb" }, false],
    [{ FORCE_COLOR: "0" }, false],
    [{}, true],
  ])("colour on a terminal with %j: %s", async (env, coloured) => {
    const { io, out } = capture(settings(env), {}, true);
    await runCli(["run", "--probe", "no-token"], io);
    expect(out.stdout.includes("\x1b[")).toBe(coloured);
  });

  it("FORCE_COLOR colours even into a pipe", async () => {
    const { io, out } = capture(settings({ FORCE_COLOR: "1" }));
    await runCli(["run", "--probe", "no-token"], io);
    expect(out.stdout).toContain("\x1b[");
  });

  it("fits the terminal's width: detail and diagnosis wrap under the row", async () => {
    const { io, out } = capture(settings({ PROBE_CLIENT_SECRET: "canary-wrong-secret-Zq9~z" }));
    (io.stdout as { columns?: number }).columns = 80;
    await runCli(["run"], io);
    const lines = out.stdout.split("\n");
    const tooLong = lines.filter((l) => l.length > 80 && l.trim().includes(" "));
    // Only a single unbreakable word (a URL, a GUID) may pass the width.
    expect(
      tooLong.filter(
        (l) =>
          l
            .trim()
            .split(/\s+/)
            .some((w) => w.length > 40) === false,
      ),
    ).toEqual([]);
    expect(lines.filter((l) => l.includes("-> invalid-client-secret")).length).toBe(1);
  });

  it("prints a progress line every interval without a terminal", async () => {
    const slow = await startSandbox({ scenario: "slow-backend" });
    try {
      const { APPLICATIONINSIGHTS_CONNECTION_STRING: _i, ...env } = slow.settings;
      const { io, out } = capture(env, { progressIntervalMs: 300 });
      await runCli(["run", "--probe", "valid", "--probe", "no-token"], io);
      expect(out.stderr).toMatch(/progress: \d+\/2 probes: \d+ passed, \d+ failed, \d+ security/);
    } finally {
      await slow.close();
    }
  });

  it("says what Entra did for unassigned-client instead of a token-endpoint status", async () => {
    const { io, out } = capture(settings());
    await runCli(["run", "--probe", "unassigned-client"], io);
    expect(out.stdout).toMatch(
      /unassigned-client\s+pass\s+401\/403\s+refused\s+\d+ ms\s+refused\s+by\s+Entra\s+as\s+expected:\s+AADSTS501051/,
    );
  });

  it("rounds durations to 0.1 ms in JSON", async () => {
    const { io, out } = capture(settings());
    await runCli(["run", "--format", "json"], io);
    const doc = JSON.parse(out.stdout) as { results: { durationMs: number }[]; summary: { durationMs: number } };
    for (const d of [...doc.results.map((r) => r.durationMs), doc.summary.durationMs])
      expect(Math.round(d * 10) / 10).toBe(d);
  });

  it("watch --format json writes one run a line (NDJSON) and stamps each tick", async () => {
    const stop = new AbortController();
    const { io, out } = capture(settings(), { signal: stop.signal });
    const done = runCli(["watch", "--schedule", "* * * * * *", "--probe", "no-token", "--format", "json"], io);
    // The run at start and one tick of the every-second schedule.
    await expect
      .poll(() => out.stdout.split("\n").filter(Boolean).length, { timeout: 20_000, interval: 50 })
      .toBeGreaterThanOrEqual(2);
    stop.abort();
    expect(await done).toBe(0);
    const lines = out.stdout.split("\n").filter(Boolean);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ summary: { total: 1 } });
    expect(out.stderr).toMatch(/run 1 at \d{4}-\d\d-\d\dT/);
  });

  it.each(Object.keys(COMMANDS))("%s --help prints its usage, exit 0", async (name) => {
    const { io, out } = capture({});
    expect(await runCli([name, "--help"], io)).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^usage: apim-smoke ${name}`));
  });

  it("--version prints the package version", async () => {
    const { io, out } = capture({});
    expect(await runCli(["--version"], io)).toBe(0);
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(out.stdout.trim()).toBe(`apim-smoke ${pkg.version}`);
  });
});

describe("results lost to an ingestion outage", () => {
  it(
    "a run whose availability results ingestion refused exits 3, not 0, and says they were lost",
    { timeout: 60_000 },
    async () => {
      const lossy = await startSandbox();
      try {
        lossy.ingestion.setFault({ status: 500, times: 1000 });
        const { io, out } = capture({ ...lossy.settings });
        expect(await runCli(["run", "--probe", "no-token"], io)).toBe(3);
        expect(out.stderr).toMatch(/availability: 0\/1 results accepted by ingestion, 1 not accepted and lost/);
      } finally {
        await lossy.close();
      }
    },
  );
});
