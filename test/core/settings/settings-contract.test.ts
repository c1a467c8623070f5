import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_METHOD,
  DEFAULT_SCHEDULE,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_CERT_WARN_DAYS,
  DEFAULT_TARGET_CONCURRENCY,
} from "../../../src/core/settings/defaults.js";
import { SECRET_SETTINGS, SETTING_NAMES } from "../../../src/core/settings/env-schema.js";
import { DEFAULT_SUBSCRIPTION_KEY_HEADER } from "../../../src/core/settings/rules.js";

/**
 * The settings' names are a public interface, written down in four places besides the code: the
 * ARM template's list (infra/app-settings.json), local.settings.sample.json, and README.md. They
 * must not drift apart: a setting the code reads but the template never sets is a probe that
 * silently runs on defaults in Azure.
 */
interface AppSetting {
  name: string;
  secret: boolean;
  default: string | null;
}
const appSettings = (JSON.parse(readFileSync("infra/app-settings.json", "utf8")) as { settings: AppSetting[] })
  .settings;
const sample = JSON.parse(readFileSync("local.settings.sample.json", "utf8")) as { Values: Record<string, string> };
const readme = readFileSync("README.md", "utf8");

/** Read by the platform or the triggers rather than by loadSettings. */
const READ_ELSEWHERE = ["PROBE_SCHEDULE"];
/** Read by loadSettings but set by the platform (Azure sets REGION_NAME) or by Node itself. */
const PLATFORM_PROVIDED = ["REGION_NAME", "NODE_EXTRA_CA_CERTS"];

describe("the settings contract", () => {
  const codeNames = [...SETTING_NAMES.filter((n) => !PLATFORM_PROVIDED.includes(n)), ...READ_ELSEWHERE].sort();

  it("infra/app-settings.json lists exactly the settings the app reads", () => {
    expect(appSettings.map((s) => s.name).sort()).toEqual(codeNames);
  });

  it("marks as secret exactly the settings the code treats as secret", () => {
    expect(
      appSettings
        .filter((s) => s.secret)
        .map((s) => s.name)
        .sort(),
    ).toEqual([...SECRET_SETTINGS].sort());
  });

  it("local.settings.sample.json and README.md name every setting", () => {
    for (const name of codeNames) {
      expect(sample.Values, name).toHaveProperty(name);
      expect(readme, name).toContain(`\`${name}`);
    }
  });

  it("states the defaults the code applies", () => {
    const defaults = Object.fromEntries(appSettings.filter((s) => s.default !== null).map((s) => [s.name, s.default]));
    expect(defaults).toEqual({
      PROBE_AUTHORITY_HOST: DEFAULT_AUTHORITY_HOST,
      PROBE_API_METHOD: DEFAULT_METHOD,
      PROBE_TIMEOUT_MS: String(DEFAULT_TIMEOUT_MS),
      PROBE_CERT_WARN_DAYS: String(DEFAULT_CERT_WARN_DAYS),
      PROBE_SUBSCRIPTION_KEY_HEADER: DEFAULT_SUBSCRIPTION_KEY_HEADER,
      PROBE_TARGET_CONCURRENCY: String(DEFAULT_TARGET_CONCURRENCY),
      PROBE_SCHEDULE: DEFAULT_SCHEDULE,
    });
  });
});
