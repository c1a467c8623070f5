// Findings about what cannot be seen offline: named values without a value, policy expressions and
// certificates uploaded to API Management. The rules they hide say so once (not-judged); the other
// notes the parser kept are said as they are (not-evaluable-offline).
import type { ApimPolicy, CheckInput, ValidateJwtPolicy } from "../types.js";
import type { LintFinding } from "./findings.js";
import type { Draft } from "./rule.js";

export function unresolvedNamedValueFindings(policy: ApimPolicy): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const name of policy.unresolvedNamedValues) {
    findings.push({
      code: "unresolved-named-value",
      severity: "info",
      element: `{{${name}}}`,
      message: `named value {{${name}}} has no value here (a secret or Key Vault named value, or not given); where a token rule needs it, that rule is not judged`,
      fix: `Give it with --named-value ${name}=VALUE, a --named-values JSON file, or --apiops DIR (non-secret named values are in the APIOps folder).`,
    });
  }
  return findings;
}

/** The rules a check's unresolved inputs keep from being judged, collected as the rules run. */
export class NotJudged {
  readonly rules = new Map<string, Set<CheckInput>>();
  constructor(private readonly check: ValidateJwtPolicy) {}

  /** Whether `inputs` are all visible; when not, `rule` is noted as not judged for them. */
  visible(rule: string, ...inputs: CheckInput[]): boolean {
    const hidden = inputs.filter((input) => this.check.unresolvedInputs.some((u) => u.input === input));
    if (hidden.length === 0) return true;
    const set = this.rules.get(rule) ?? new Set<CheckInput>();
    for (const input of hidden) set.add(input);
    this.rules.set(rule, set);
    return false;
  }

  finding(): Draft | undefined {
    if (this.rules.size === 0) return undefined;
    const inputs = new Set([...this.rules.values()].flatMap((s) => [...s]));
    const unresolved = this.check.unresolvedInputs.filter((u) => inputs.has(u.input));
    const kinds = new Set(unresolved.map((u) => u.kind));
    const resolvers = [
      kinds.has("named value")
        ? "give the named values with --named-value NAME=VALUE, --named-values FILE, or --apiops DIR (the folder holds the non-secret ones)"
        : undefined,
      kinds.has("expression")
        ? "policy expressions are evaluated only by APIM at run time: the probe's live calls judge them"
        : undefined,
      kinds.has("certificate")
        ? "certificates uploaded to API Management are not in the policy: the probe's live calls judge them"
        : undefined,
    ].filter((r) => r !== undefined);
    return {
      code: "not-judged",
      severity: "info",
      element: this.check.element,
      message: `not judged: ${[...this.rules.keys()].join(", ")}; they need ${[...new Set(unresolved.map((u) => `${u.path.replace(/^validate-(jwt|azure-ad-token)\//, "")} ${u.written}`))].join(", ")}, which cannot be seen offline`,
      fix: `${resolvers.join("; ")}.`,
    };
  }
}

/** The not-judged finding, then the parser's notes it does not already name. */
export function notJudgedFindings(check: ValidateJwtPolicy, notJudged: NotJudged): Draft[] {
  const extra: Draft[] = [];
  const judged = notJudged.finding();
  if (judged) extra.push(judged);
  // A note about an input the not-judged finding already names is said once, there.
  const covered = new Set(
    check.unresolvedInputs
      .filter((u) => notJudged.rules.size > 0 && [...notJudged.rules.values()].some((s) => s.has(u.input)))
      .map((u) => u.path),
  );
  for (const note of check.notEvaluable) {
    const path = note.split(": ")[0]!;
    if (
      covered.has(path) ||
      [...covered].some((c) => path === `${c.replace(/\/[^/]+$/, "")}` && /no literal/.test(note))
    )
      continue;
    extra.push({
      code: "not-evaluable-offline",
      severity: "info",
      element: path,
      message: note,
      fix: "Nothing to change in the policy; the probe's live calls judge what cannot be judged offline.",
    });
  }
  return extra;
}
