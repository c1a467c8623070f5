import { writeFile } from "node:fs/promises";
import type { TargetsFile } from "../src/core/settings/targets-file.js";

/**
 * Name of the setting the targets file points at for the subscription key (the file never holds the
 * key). Not PROBE_SUBSCRIPTION_KEY: loadSettings refuses that one next to PROBE_TARGETS_FILE.
 */
export const SUBSCRIPTION_KEY_SETTING = "BENCH_SUBSCRIPTION_KEY";

/**
 * `count` targets cycling over the sandbox's published APIs, all with the same scope: the shape of a
 * team monitoring many operations of one API app (one token serves them all).
 */
export function benchTargets(
  apiUrls: readonly string[],
  count: number,
  scope: string,
  policyFile?: string,
): TargetsFile {
  if (apiUrls.length === 0) throw new RangeError("no API URLs");
  return {
    targets: Array.from({ length: count }, (_, i) => ({
      name: `bench-${String(i + 1).padStart(4, "0")}`,
      url: apiUrls[i % apiUrls.length]!,
      method: "GET",
      scope,
      subscriptionKeySetting: SUBSCRIPTION_KEY_SETTING,
      // Every published API has the default API's policy, so one file serves all (the engine's preflight).
      ...(policyFile ? { policyFile } : {}),
    })),
  };
}

export async function writeTargetsFile(path: string, file: TargetsFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
}

/** Settings that describe the single target; loadSettings refuses them next to PROBE_TARGETS_FILE. */
const SINGLE_TARGET_SETTINGS = [
  "PROBE_API_URL",
  "PROBE_API_METHOD",
  "PROBE_API_SCOPE",
  "PROBE_SUBSCRIPTION_KEY",
  "PROBE_POLICY_FILE",
];

/**
 * The settings an engine child runs with for a targets file: the sandbox's settings without the
 * single-target ones, the subscription key moved to the setting the file's subscriptionKeySetting
 * names (the policy file goes into the targets file: see benchTargets).
 */
export function targetsFileEnv(
  settings: Readonly<Record<string, string>>,
  targetsFile: string,
): Record<string, string> {
  const env = Object.fromEntries(Object.entries(settings).filter(([name]) => !SINGLE_TARGET_SETTINGS.includes(name)));
  const key = settings.PROBE_SUBSCRIPTION_KEY;
  return { ...env, ...(key ? { [SUBSCRIPTION_KEY_SETTING]: key } : {}), PROBE_TARGETS_FILE: targetsFile };
}
