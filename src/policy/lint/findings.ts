/**
 * Finding codes of `apim-smoke policy check`: a public interface (CI gates key on them). Never rename
 * one; add new ones at the end.
 */
export const LINT_CODES = [
  "no-validate-jwt",
  "no-signing-keys",
  "token-version-mismatch",
  "openid-config-issuer-mismatch",
  "tenant-mismatch",
  "no-audience-check",
  "audience-incomplete",
  "no-role-claim",
  "client-claim-version",
  "expiration-not-required",
  "unsigned-tokens-allowed",
  "large-clock-skew",
  "no-require-scheme",
  "require-scheme-ignored",
  "no-issuer-check",
  "token-in-query",
  // Policies as APIM keeps them.
  "not-evaluable-offline",
  "conditional-token-validation",
  "unresolved-named-value",
  "client-application-ids-missing",
  "validation-inherited",
  // Keys written into the policy instead of read from metadata.
  "signing-keys-pinned",
  // Findings a senior APIM engineer would sign.
  "not-judged",
  "any-tenant-accepted",
  "base-dropped",
  "invalid-condition",
  "first-party-audience",
  // A value still as a documentation example writes it.
  "placeholder-left",
] as const;

export type LintCode = (typeof LINT_CODES)[number];

/**
 * - error: the gateway lets bad callers in, or refuses every good one.
 * - warning: a weakness troubleshooting reports warn about that depends on settings outside the policy.
 * - info: worth knowing.
 */
export type LintSeverity = "error" | "warning" | "info";

export interface LintFinding {
  code: LintCode;
  severity: LintSeverity;
  /** The element (or element/@attribute) at fault, e.g. `validate-jwt/@clock-skew`. */
  element: string;
  message: string;
  fix: string;
  /** 1-based line of the element in the document, when known. */
  line?: number;
  /** In an effective policy: the scope and the file where the rule stands. */
  scope?: string;
  file?: string;
  /**
   * What the finding rests on when the rule applies only to some tokens, e.g. `Entra ID issuer
   * (openid-config https://login.microsoftonline.com/...)` or `the audience is an app registration's`.
   */
  premise?: string;
}

/** What the policy is checked against; each field is optional and enables the checks that need it. */
export interface LintContext {
  /** The version the API's app registration issues (`accessTokenAcceptedVersion`: null/1 or 2). */
  tokenVersion?: 1 | 2;
  tenantId?: string;
  /** The API registration's Application (client) ID. */
  apiClientId?: string;
  /** The API registration's Application ID URI, e.g. `api://orders-api`. */
  appIdUri?: string;
}
