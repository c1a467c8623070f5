import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SettingsError } from "../../../src/core/errors.js";
import { loadTargetPolicies } from "../../../src/core/probes/target-policy.js";
import { loadSettings } from "../../../src/core/settings/load-settings.js";

const dir = mkdtempSync(join(tmpdir(), "target-policy-"));
const ENV = {
  PROBE_TENANT_ID: "7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47",
  PROBE_CLIENT_ID: "c2a8e5f1-7b39-4d06-8e4a-1f5c9b3d7a62",
  PROBE_CLIENT_SECRET: "not-a-real-secret",
  PROBE_API_URL: "https://contoso.azure-api.net/orders/health",
  PROBE_API_SCOPE: "api://orders-api/.default",
};

function problemsOf(action: () => unknown): { setting: string; problem: string }[] {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return [...(error as SettingsError).problems];
  }
  throw new Error("expected a SettingsError");
}

describe("PROBE_POLICY_FILE", () => {
  it("names the single target's policy, resolved from the working directory", () => {
    writeFileSync(
      join(dir, "api.xml"),
      `<validate-jwt header-name="Authorization"><audiences><audience>x</audience></audiences></validate-jwt>`,
    );
    const config = loadSettings({ ...ENV, PROBE_POLICY_FILE: "api.xml" }, { cwd: dir });
    expect(config.targets[0]).toMatchObject({
      policyFile: join(dir, "api.xml"),
      policyFileSetting: "PROBE_POLICY_FILE",
    });
    expect(loadTargetPolicies(config.targets).get("default")?.validateJwt?.audiences).toEqual(["x"]);
  });

  it("a missing or broken policy file is a settings error naming PROBE_POLICY_FILE (and the element at fault)", () => {
    // Not a policy document at all (what is still refused): an unclosed element.
    writeFileSync(join(dir, "broken.xml"), `<validate-jwt header-name="Authorization"><audiences></validate-jwt>`);
    const missing = loadSettings({ ...ENV, PROBE_POLICY_FILE: "nope.xml" }, { cwd: dir });
    expect(problemsOf(() => loadTargetPolicies(missing.targets))).toEqual([
      { setting: "PROBE_POLICY_FILE", problem: expect.stringContaining("cannot read") as unknown },
    ]);
    const broken = loadSettings({ ...ENV, PROBE_POLICY_FILE: "broken.xml" }, { cwd: dir });
    const [problem] = problemsOf(() => loadTargetPolicies(broken.targets));
    expect(problem?.setting).toBe("PROBE_POLICY_FILE");
    expect(problem?.problem).toMatch(/malformed XML at line 1/);
  });

  it("cannot be combined with PROBE_TARGETS_FILE, whose targets name their own policyFile", () => {
    writeFileSync(
      join(dir, "targets.json"),
      JSON.stringify({ targets: [{ name: "a", url: ENV.PROBE_API_URL, scope: ENV.PROBE_API_SCOPE }] }),
    );
    const problems = problemsOf(() =>
      loadSettings(
        {
          ...ENV,
          PROBE_API_URL: undefined,
          PROBE_API_SCOPE: undefined,
          PROBE_TARGETS_FILE: "targets.json",
          PROBE_POLICY_FILE: "api.xml",
        },
        { cwd: dir },
      ),
    );
    expect(problems.map((p) => p.setting)).toContain("PROBE_POLICY_FILE");
  });
});

describe("a targets file's policyFile", () => {
  it("may be an absolute path under a generated folder name: paths are not mistaken for secrets", () => {
    const generated = mkdtempSync(join(tmpdir(), "k8Zq3xW9pLm2Tv7R-"));
    writeFileSync(join(generated, "api.xml"), '<validate-jwt header-name="Authorization" />');
    writeFileSync(
      join(dir, "abs-targets.json"),
      JSON.stringify({
        targets: [
          {
            name: "a",
            url: ENV.PROBE_API_URL,
            scope: ENV.PROBE_API_SCOPE,
            policyFile: join(generated, "Xk29aPq81Zm4Lw7Rt5Vb3Nc6.xml"),
          },
        ],
      }),
    );
    const config = loadSettings(
      { ...ENV, PROBE_API_URL: undefined, PROBE_API_SCOPE: undefined, PROBE_TARGETS_FILE: "abs-targets.json" },
      { cwd: dir },
    );
    expect(config.targets[0]?.policyFileSetting).toBe('PROBE_TARGETS_FILE target "a" policyFile');
  });
});
