// The public surface of the policy linter (`apim-smoke policy check`).
export { LINT_CODES } from "./findings.js";
export type { LintCode, LintContext, LintFinding, LintSeverity } from "./findings.js";
export { lintParsedPolicy, lintPolicy } from "./lint.js";
