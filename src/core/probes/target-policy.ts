import { readFileSync } from "node:fs";
import { expectationsFromPolicy, expectationsFromSettings, preflightAgainstPolicy, type Expectations, type PreflightOutcome } from "../diagnosis/index.js";
import { ProbeError, SettingsError } from "../errors.js";
import { parsePolicy, type EvaluateDeps, type SigningKeyResolver, type ValidateJwtPolicy } from "../../policy/index.js";
import type { ProbeConfig, TargetConfig } from "../settings/types.js";

/** The validate-jwt of each target that names a policy file (undefined: the policy has none). */
export type TargetPolicies = ReadonlyMap<string, ValidateJwtPolicy | undefined>;

/**
 * Reads and parses every target's `policyFile` once, at engine creation, so a broken file is a
 * start-up error naming the target rather than a silent lack of preflight on every run.
 */
export function loadTargetPolicies(
  targets: readonly TargetConfig[],
  readTextFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): TargetPolicies {
  const policies = new Map<string, ValidateJwtPolicy | undefined>();
  const problems: { setting: string; problem: string }[] = [];
  for (const target of targets) {
    if (target.policyFile === undefined) continue;
    const setting = target.policyFileSetting ?? `target "${target.name}" policyFile`;
    let xml: string;
    try {
      xml = readTextFile(target.policyFile);
    } catch {
      problems.push({ setting, problem: `cannot read ${target.policyFile}` });
      continue;
    }
    try {
      policies.set(target.name, parsePolicy(xml).validateJwt);
    } catch (error) {
      // PolicyError messages name the element at fault, never a value of the request.
      problems.push({ setting, problem: error instanceof ProbeError ? error.message : "is not a readable APIM policy" });
    }
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return policies;
}

/** What a correct token looks like for this target: its policy's rules, or what the settings imply. */
export function expectationsFor(target: TargetConfig, config: ProbeConfig, policy: ValidateJwtPolicy | undefined): Expectations {
  return policy ? expectationsFromPolicy(policy) : expectationsFromSettings({ scope: target.scope, tenantId: config.tenantId });
}

/** The checks a target with a policy adds to a run: the preflight and the tenant's published kids. */
export interface PolicyChecks {
  /** The shared evaluator on the acquired token; undefined when it cannot say (never throws). */
  preflight(token: string): Promise<PreflightOutcome | undefined>;
  /** `kid`s the policy's openid-config documents publish (refetched once if `kid` is unknown). */
  publishedKids(kid: string | undefined): Promise<string[] | undefined>;
}

/**
 * Policy checks over the engine's resolver: its dispatcher trusts NODE_EXTRA_CA_CERTS and fetches
 * the openid-config URLs as the policy writes them (the sandbox's policy file names its own tenant).
 */
export function policyChecks(policy: ValidateJwtPolicy, deps: { keys: SigningKeyResolver; now: () => number }): PolicyChecks {
  const evaluateDeps: EvaluateDeps = { keys: deps.keys, now: deps.now };
  return {
    async preflight(token) {
      try {
        return await preflightAgainstPolicy(token, policy, evaluateDeps);
      } catch {
        // The preflight only explains; a metadata outage must not turn into a probe failure.
        return undefined;
      }
    },
    async publishedKids(kid) {
      if (policy.openIdConfigUrls.length === 0) return undefined;
      const kids: string[] = [];
      for (const url of policy.openIdConfigUrls) {
        try {
          const config = await deps.keys.resolve(url, kid === undefined ? {} : { kid });
          for (const key of config.keys) if (typeof key.kid === "string") kids.push(key.kid);
        } catch {
          // Without the document the kid cannot be judged: no evidence rather than a wrong one.
          return undefined;
        }
      }
      return kids;
    },
  };
}
