import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import type { CliIo } from "../../src/cli/io.js";

function captureIo(cwd: string, signal?: AbortSignal) {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = {
    env: {},
    cwd,
    stdout: { write: (s: string) => (out.stdout += s), isTTY: false },
    stderr: { write: (s: string) => (out.stderr += s), isTTY: false },
    ...(signal ? { signal } : {}),
  };
  return { io, out };
}

describe("apim-smoke sandbox", () => {
  it("runs until stopped, writes its settings to a private env file and never prints a secret", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-sandbox-"));
    const stop = new AbortController();
    const { io, out } = captureIo(dir, stop.signal);
    const running = runCli(["sandbox", "--state-dir", "state", "--scenario", "fail-open"], io);
    await expect.poll(() => out.stdout, { timeout: 10_000 }).toContain("Ctrl-C stops the sandbox");

    const envFile = join(dir, "state", "sandbox.env");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const settings = parseEnv(readFileSync(envFile, "utf8"));
    for (const secret of ["PROBE_CLIENT_SECRET", "PROBE_UNASSIGNED_CLIENT_SECRET", "PROBE_SUBSCRIPTION_KEY"]) {
      expect(settings[secret]?.length).toBeGreaterThan(8);
      expect(out.stdout).not.toContain(settings[secret]);
      expect(out.stdout).toContain(`${secret}=********`);
    }
    expect(out.stdout).toContain("scenario fail-open");

    // A POSIX shell sourcing the file reads the same values as the CLI (the connection string's `;` quoted).
    expect(settings.APPLICATIONINSIGHTS_CONNECTION_STRING).toContain(";");
    const sourced = execFileSync("sh", ["-c", 'set -a && . "$1" && env', "sh", envFile], { encoding: "utf8", env: {} });
    const shellSettings = parseEnv(sourced);
    for (const [name, value] of Object.entries(settings)) expect(shellSettings[name], name).toBe(value);

    // The env file is enough for a separate `run` to probe the sandbox (it is still up).
    const runner = captureIo(dir);
    expect(
      await runCli(["run", "--env-file", "state/sandbox.env", "--format", "json", "--probe", "no-token"], runner.io),
    ).toBe(1);
    const report = JSON.parse(runner.out.stdout) as { results: { probe: string; outcome: string }[] };
    expect(report.results).toEqual([expect.objectContaining({ probe: "no-token", outcome: "security" })]);
    // The sandbox says what its ingestion accepted from that run, as demo does.
    await expect
      .poll(() => out.stderr, { timeout: 5_000 })
      .toMatch(/sandbox ingestion: accepted 1 of 1 item; availability results: 1 in all/);

    // A second sandbox on the same state folder is refused, naming the running one; the first's file stays.
    const second = captureIo(dir);
    expect(await runCli(["sandbox", "--state-dir", "state"], second.io)).toBe(2);
    expect(second.out.stderr).toContain(`a sandbox is already running there (PID ${process.pid})`);
    expect(readFileSync(envFile, "utf8")).toContain(settings.PROBE_CLIENT_SECRET!);

    stop.abort();
    expect(await running).toBe(0);
    // Stopped: the folder is free again.
    expect(existsSync(join(dir, "state", "sandbox.pid"))).toBe(false);
  });

  it("refuses an unknown scenario with exit 2, naming the known ones", async () => {
    const { io, out } = captureIo(mkdtempSync(join(tmpdir(), "cli-sandbox-")));
    expect(await runCli(["sandbox", "--scenario", "nope"], io)).toBe(2);
    expect(out.stderr).toContain("--scenario");
    expect(out.stderr).toContain("fail-open");
  });
});

describe("apim-smoke demo (npm start)", () => {
  it("prints the passing matrix, expired-token included, and what ingestion accepted", async () => {
    const { io, out } = captureIo(mkdtempSync(join(tmpdir(), "cli-demo-")));
    expect(await runCli(["demo", "--format", "json"], io)).toBe(0);
    const report = JSON.parse(out.stdout) as {
      results: { probe: string; outcome: string }[];
      summary: { ok: boolean; total: number };
    };
    expect(report.summary).toMatchObject({ ok: true, total: 12 });
    expect(report.results.every((r) => r.outcome === "pass")).toBe(true);
    expect(out.stderr).toContain("sandbox ingestion accepted 12 availability results");
  });

  it("--scenario entra-ingestion: the managed identity trusts the sandbox's CA like every other leg; every result is accepted", async () => {
    const { io, out } = captureIo(mkdtempSync(join(tmpdir(), "cli-demo-")));
    expect(await runCli(["demo", "--scenario", "entra-ingestion", "--format", "json"], io)).toBe(0);
    expect(out.stderr).toContain("availability: 12/12 results accepted");
    expect(out.stderr).toContain("sandbox ingestion accepted 12 availability results");
    // Lent for the demo only: the process's environment is as it was.
    expect(process.env.IDENTITY_ENDPOINT).toBeUndefined();
  });

  it("exits 3 when results were lost, as run does (the managed identity the shell names cannot be reached)", async () => {
    const { io, out } = captureIo(mkdtempSync(join(tmpdir(), "cli-demo-")));
    // The process's own IDENTITY_ENDPOINT wins over the sandbox's, as the host's would: here, one that
    // refuses connections, so ingestion gets no token, answers 401, and every result is lost.
    process.env.IDENTITY_ENDPOINT = "http://127.0.0.1:9/msi/token";
    process.env.IDENTITY_HEADER = "unused";
    try {
      expect(await runCli(["demo", "--scenario", "entra-ingestion", "--format", "json"], io)).toBe(3);
    } finally {
      delete process.env.IDENTITY_ENDPOINT;
      delete process.env.IDENTITY_HEADER;
    }
    expect(out.stderr).toMatch(/availability: 0\/12 results accepted/);
    // Named as what it is: the identity gave no token (not "no answer from ingestion"), and the fix.
    expect(out.stderr).toContain("the managed identity (client id");
    expect(out.stderr).toContain("gave no token");
    expect(out.stderr).toContain("IDENTITY_ENDPOINT and IDENTITY_HEADER");
    expect(out.stderr).not.toContain("no answer from ingestion");
    expect(out.stderr).toContain("sandbox ingestion accepted 0 availability results");
    expect(JSON.parse(out.stdout)).toMatchObject({ summary: { ok: true }, exitCode: 3 });
  });

  it("shows what a failure looks like with --scenario, exit 1", async () => {
    const { io, out } = captureIo(mkdtempSync(join(tmpdir(), "cli-demo-")));
    expect(await runCli(["demo", "--scenario", "fail-open"], io)).toBe(1);
    expect(out.stdout).toMatch(/no-token\s+security/);
  });

  it("--policy runs your own policy on the gateway and explains what it refuses", async () => {
    const { io, out } = captureIo(process.cwd());
    expect(await runCli(["demo", "--policy", "test/fixtures/policies/custom-header.xml"], io)).toBe(1);
    expect(out.stdout).toMatch(/valid\s+fail/);
    expect(out.stdout).toContain("missing-bearer-scheme");
  });

  it("--policy with an unreadable file is a usage error naming the option", async () => {
    const { io, out } = captureIo(mkdtempSync(join(tmpdir(), "cli-demo-")));
    expect(await runCli(["demo", "--policy", "nope.xml"], io)).toBe(2);
    expect(out.stderr).toContain("--policy");
  });
});
