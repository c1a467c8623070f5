import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { diagnoseCommand } from "../../../src/cli/commands/diagnose.js";
import { policyCommand } from "../../../src/cli/commands/policy-check.js";
import type { CliIo } from "../../../src/cli/io.js";
import { UsageError } from "../../../src/core/errors.js";
import { ORDERS_API, PROBE_CLIENT, SANDBOX_TENANT_ID } from "../../../src/sandbox/identities.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/policies");
const T = SANDBOX_TENANT_ID;
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function fakeIo(env: Record<string, string> = {}, cwd = FIXTURES) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env,
    cwd,
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    now: () => NOW,
  };
  return { io, stdout: () => out.join(""), stderr: () => err.join("") };
}

describe("apim-smoke policy check", () => {
  it.each([
    ["recommended-entra-jwt.xml", [], 0],
    ["broken/no-validate-jwt.xml", [], 0],
    ["broken/no-validation-no-base.xml", [], 1],
    ["broken/no-role-claim.xml", [], 0],
    ["recommended-entra-jwt.xml", ["--token-version", "1"], 1],
  ] as const)("%s %j exits %i", async (file, flags, code) => {
    const { io } = fakeIo();
    expect(await policyCommand.run(["check", file, ...flags], io)).toBe(code);
  });

  it("prints findings as JSON with codes and severities", async () => {
    const { io, stdout } = fakeIo();
    expect(await policyCommand.run(["check", "broken/unsigned-tokens-allowed.xml", "--format", "json"], io)).toBe(1);
    const parsed = JSON.parse(stdout()) as { findings: { code: string; severity: string; element: string }[] };
    expect(parsed.findings).toEqual([
      expect.objectContaining({
        code: "unsigned-tokens-allowed",
        severity: "error",
        element: "validate-jwt/@require-signed-tokens",
      }),
    ]);
  });

  it("takes the tenant from PROBE_TENANT_ID", async () => {
    const { io, stdout } = fakeIo({ PROBE_TENANT_ID: "11111111-2222-4333-8444-555555555555" });
    expect(await policyCommand.run(["check", "recommended-entra-jwt.xml", "--format", "json"], io)).toBe(1);
    expect(stdout()).toContain('"tenant-mismatch"');
  });

  it.each([
    ["broken/malformed.xml", "Policy xml:"],
    ["broken/not-a-policy.xml", "Policy configuration:"],
    ["does-not-exist.xml", "cannot read does-not-exist.xml (ENOENT)"],
  ])("%s exits 2 naming the problem", async (file, message) => {
    const { io, stderr } = fakeIo();
    expect(await policyCommand.run(["check", file], io)).toBe(2);
    expect(stderr()).toContain(message);
  });

  it("refuses a missing file argument or subcommand as usage errors", async () => {
    await expect(policyCommand.run(["check"], fakeIo().io)).rejects.toBeInstanceOf(UsageError);
    await expect(policyCommand.run(["lint", "x.xml"], fakeIo().io)).rejects.toBeInstanceOf(UsageError);
    await expect(policyCommand.run(["check", "x.xml", "--token-version", "3"], fakeIo().io)).rejects.toBeInstanceOf(
      UsageError,
    );
  });
});

describe("apim-smoke diagnose", () => {
  let dir: string;
  let v1Token: string;
  let goodToken: string;

  beforeAll(async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const sign = (claims: Record<string, unknown>, exp: number) =>
      new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "key-1" }).setExpirationTime(exp).sign(privateKey);
    v1Token = await sign(
      {
        aud: ORDERS_API.appIdUri,
        iss: `https://sts.windows.net/${T}/`,
        ver: "1.0",
        appid: PROBE_CLIENT.clientId,
        tid: T,
      },
      NOW / 1000 - 600,
    );
    goodToken = await sign(
      {
        aud: ORDERS_API.clientId,
        iss: `https://login.microsoftonline.com/${T}/v2.0`,
        ver: "2.0",
        azp: PROBE_CLIENT.clientId,
        roles: [ORDERS_API.role],
        tid: T,
      },
      NOW / 1000 + 3600,
    );
    dir = mkdtempSync(join(tmpdir(), "diagnose-"));
    writeFileSync(join(dir, "v1.jwt"), `Bearer ${v1Token}\n`);
    writeFileSync(join(dir, "good.jwt"), goodToken);
    writeFileSync(join(dir, "junk.jwt"), "not a token");
  });

  it("explains a v1, expired, role-less token against the recommended policy, without printing it", async () => {
    const { io, stdout } = fakeIo({}, dir);
    const code = await diagnoseCommand.run(
      ["--token-file", "v1.jwt", "--policy", join(FIXTURES, "recommended-entra-jwt.xml"), "--format", "json"],
      io,
    );
    expect(code).toBe(1);
    const parsed = JSON.parse(stdout()) as { diagnoses: { cause: string; evidence: Record<string, string> }[] };
    expect(parsed.diagnoses.map((d) => d.cause)).toEqual(["token-expired", "issuer-mismatch", "missing-role"]);
    expect(parsed.diagnoses[1]?.evidence).toMatchObject({ tokenVersion: "1", expectedVersion: "2" });
    expect(stdout()).not.toContain(v1Token.split(".")[2]);
    expect(stdout()).not.toContain(v1Token.split(".")[1]);
  });

  it("checks against the settings when there is no policy", async () => {
    const { io, stdout } = fakeIo({ PROBE_API_SCOPE: "api://someone-else/.default", PROBE_TENANT_ID: T }, dir);
    expect(await diagnoseCommand.run(["--token-file", "v1.jwt"], io)).toBe(1);
    expect(stdout()).toContain("audience-mismatch");
    expect(stdout()).not.toContain(v1Token.split(".")[2]);
  });

  it("exits 0 for a good token", async () => {
    const { io, stdout } = fakeIo({ PROBE_API_SCOPE: `${ORDERS_API.appIdUri}/.default`, PROBE_TENANT_ID: T }, dir);
    expect(
      await diagnoseCommand.run(
        ["--token-file", "good.jwt", "--policy", join(FIXTURES, "recommended-entra-jwt.xml")],
        io,
      ),
    ).toBe(0);
    expect(stdout()).toContain("no problem found");
    expect(stdout()).not.toContain(goodToken.split(".")[2]);
  });

  it.each([
    [["--token-file", "junk.jwt"], "does not hold a JWT"],
    [["--token-file", "missing.jwt"], "cannot read --token-file"],
    [["--token-file", "good.jwt", "--policy", join(FIXTURES, "broken/not-a-policy.xml")], "Policy configuration:"],
  ])("%j exits 2", async (args, message) => {
    const { io, stderr } = fakeIo({}, dir);
    expect(await diagnoseCommand.run(args, io)).toBe(2);
    expect(stderr()).toContain(message);
  });

  it("requires --token-file", async () => {
    await expect(diagnoseCommand.run([], fakeIo().io)).rejects.toBeInstanceOf(UsageError);
  });
});
