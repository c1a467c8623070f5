import { isGuid, issuerShape, openIdConfigShape, type IssuerShape, type TokenVersion } from "../../entra/issuers.js";
import { parsePolicy, type ApimPolicy, type ParsePolicyOptions, type ValidateJwtPolicy } from "../index.js";
import type { LintContext, LintFinding } from "./findings.js";

/** [A] validate-jwt: clock-skew defaults to 0 s; more than 5 minutes keeps stolen or stale tokens alive. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** Findings that say a rule is missing (rather than wrong): met when any check of the policy has the rule. */
const ABSENCE_CODES: ReadonlySet<LintFinding["code"]> = new Set(["no-audience-check", "no-role-claim", "no-issuer-check", "no-signing-keys"]);

const MULTI_TENANT = new Set(["common", "organizations", "consumers"]);

/**
 * Lints a policy document for the mistakes the troubleshooting seeds describe. Parses with the shared
 * parser, so a document the gateway would refuse throws its PolicyError (naming the element) here too.
 * Findings come in document order of the checks below; none repeats.
 */
export function lintPolicy(xml: string, context: LintContext = {}, parseOptions: ParsePolicyOptions = {}): LintFinding[] {
  return lintParsedPolicy(parsePolicy(xml, parseOptions), context);
}

/** The findings for an already parsed (or composed) policy: every token check, in document order. */
export function lintParsedPolicy(policy: ApimPolicy, context: LintContext = {}): LintFinding[] {
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
  if (policy.tokenChecks.length === 0) {
    if (policy.inheritsInbound || policy.includedFragments.length > 0) {
      findings.push({
        code: "validation-inherited",
        // A warning: on its own this document validates nothing; whether an enclosing scope does is
        // what --apiops answers.
        severity: "warning",
        element: "policies/inbound",
        message: `no token validation in this document; it ${policy.inheritsInbound ? "inherits the enclosing scope's inbound policy (<base />)" : ""}${policy.inheritsInbound && policy.includedFragments.length > 0 ? " and " : ""}${policy.includedFragments.length > 0 ? `includes fragment(s) ${policy.includedFragments.join(", ")}` : ""}, which may validate tokens`,
        fix: "Lint the effective policy of each operation: apim-smoke policy check --apiops DIR (global, product, API and operation scopes with their fragments).",
      });
      return findings;
    }
    findings.push({
      code: "no-validate-jwt",
      severity: "error",
      element: "policies/inbound",
      message: "no validate-jwt or validate-azure-ad-token: the gateway lets any caller with a subscription key (or none) through without a token",
      fix: "Add validate-azure-ad-token (with client-application-ids) or validate-jwt (with openid-config, <audiences>, <issuers> and the app role in required-claims) to the API's inbound policy.",
    });
    return findings;
  }
  // APIM applies every check in turn, so a rule that one check lacks but another (unconditional)
  // one has is in force: an "absent rule" finding stands only when no check has the rule.
  const perCheck = policy.tokenChecks.map((check) => lintCheck(check, context));
  const unconditional = policy.tokenChecks.map((check, i) => ({ check, found: perCheck[i]! })).filter(({ check }) => check.conditions.length === 0);
  for (const found of perCheck) {
    findings.push(...found.filter((f) => !ABSENCE_CODES.has(f.code) || unconditional.every((u) => u.found.some((g) => g.code === f.code))));
  }
  // Each check is linted on its own; the same finding from two checks is said once.
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code}\u0000${f.element}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function lintCheck(check: ValidateJwtPolicy, context: LintContext): LintFinding[] {
  const found =
    check.element === "validate-azure-ad-token"
      ? [...lintClientApplications(check), ...lintAudiences(check, context), ...lintCallers(check, context)]
      : [...lintSignatureAndLifetime(check), ...lintTokenSource(check), ...lintIssuers(check, context), ...lintAudiences(check, context), ...lintCallers(check, context)];
  const extra: LintFinding[] = [];
  // Entra rolls its signing keys over (FACTS.md §1); a key copied into the policy stops verifying then.
  const pinned = check.issuerSigningKeys.filter((k) => k.kind === "rsa");
  if (pinned.length > 0) {
    extra.push({
      code: "signing-keys-pinned",
      severity: "warning",
      element: `${check.element}/issuer-signing-keys`,
      message: `${pinned.length} RSA key(s) pinned in the policy: when Entra rolls its signing keys over, tokens signed with the new key are refused`,
      fix: "Take Entra's keys from <openid-config> (APIM refreshes them hourly and on an unknown kid) and remove the pinned keys.",
    });
  }
  if (check.conditions.length > 0) {
    extra.push({
      code: "conditional-token-validation",
      severity: "warning",
      element: `${check.element} in <choose>`,
      message: `token validation applies only when: ${check.conditions.join(" and ")}; requests on the other branches are not checked by it`,
      fix: "Validate tokens unconditionally (outside <choose>), and branch only on what to do after validation.",
    });
  }
  for (const note of check.notEvaluable) {
    extra.push({ code: "not-evaluable-offline", severity: "info", element: note.split(": ")[0]!, message: note, fix: "Nothing to change in the policy; the probe's live calls judge what cannot be judged offline." });
  }
  return [...found, ...extra].map((f) => ({
    ...f,
    element: f.element.replace(/^validate-jwt/, check.element),
    ...(check.line > 0 ? { line: check.line } : {}),
    ...(check.source ? { scope: check.source.scope, file: check.source.file } : {}),
  }));
}

function lintClientApplications(check: ValidateJwtPolicy): LintFinding[] {
  if (check.clientApplicationIds !== undefined) return [];
  return [
    {
      code: "client-application-ids-missing",
      severity: "error",
      element: "validate-azure-ad-token/client-application-ids",
      message: "no <client-application-ids>: APIM requires at least one; without it the policy does not say which callers are allowed",
      fix: "Add <client-application-ids><application-id>CLIENT ID</application-id></client-application-ids> listing the apps allowed to call the API.",
    },
  ];
}

function lintSignatureAndLifetime(jwt: ValidateJwtPolicy): LintFinding[] {
  const findings: LintFinding[] = [];
  if (!jwt.requireSignedTokens) {
    findings.push({
      code: "unsigned-tokens-allowed",
      severity: "error",
      element: "validate-jwt/@require-signed-tokens",
      message: "require-signed-tokens=\"false\": unsigned tokens (alg none) are accepted, so anyone can mint one",
      fix: "Remove require-signed-tokens (default true).",
    });
  } else if (jwt.openIdConfigUrls.length === 0 && jwt.issuerSigningKeys.length === 0) {
    findings.push({
      code: "no-signing-keys",
      severity: "error",
      element: "validate-jwt",
      message: "neither openid-config nor issuer-signing-keys: no key can verify a token, so every call is refused",
      fix: "Add <openid-config url=\"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration\" />.",
    });
  }
  if (!jwt.requireExpirationTime) {
    findings.push({
      code: "expiration-not-required",
      severity: "error",
      element: "validate-jwt/@require-expiration-time",
      message: "require-expiration-time=\"false\": a token without exp never expires",
      fix: "Remove require-expiration-time (default true).",
    });
  }
  if (jwt.clockSkewSeconds > MAX_CLOCK_SKEW_SECONDS) {
    findings.push({
      code: "large-clock-skew",
      severity: "warning",
      element: "validate-jwt/@clock-skew",
      message: `clock-skew ${jwt.clockSkewSeconds} s: expired tokens stay accepted that long (more than ${MAX_CLOCK_SKEW_SECONDS} s)`,
      fix: `Set clock-skew to at most ${MAX_CLOCK_SKEW_SECONDS} s (default 0); fix clocks, not the policy.`,
    });
  }
  return findings;
}

function lintTokenSource(jwt: ValidateJwtPolicy): LintFinding[] {
  const source = jwt.tokenSource;
  if (source.kind === "query") {
    return [
      {
        code: "token-in-query",
        severity: "warning",
        element: "validate-jwt/@query-parameter-name",
        message: `the token is read from query parameter ${source.name}: URLs end up in logs and browser history`,
        fix: "Read it from the Authorization header: header-name=\"Authorization\" require-scheme=\"Bearer\".",
      },
    ];
  }
  if (source.kind !== "header") return [];
  const isAuthorization = source.name.toLowerCase() === "authorization";
  if (isAuthorization && jwt.requireScheme === undefined) {
    return [
      {
        code: "no-require-scheme",
        severity: "warning",
        element: "validate-jwt/@require-scheme",
        message: "header-name=\"Authorization\" without require-scheme: a bare token or any scheme is accepted",
        fix: "Add require-scheme=\"Bearer\" so callers must send 'Authorization: Bearer <token>'.",
      },
    ];
  }
  if (!isAuthorization && jwt.requireScheme !== undefined) {
    return [
      {
        code: "require-scheme-ignored",
        severity: "info",
        element: "validate-jwt/@require-scheme",
        message: `require-scheme is ignored with the custom header ${source.name} ([A] validate-jwt)`,
        fix: "Remove require-scheme, or read the token from the Authorization header.",
      },
    ];
  }
  return [];
}

interface Accepted {
  /** Entra-shaped issuers the policy accepts, from <issuers> or else from the openid-config URLs. */
  shapes: IssuerShape[];
  from: "issuers" | "openid-config";
}

function acceptedIssuers(jwt: ValidateJwtPolicy): Accepted {
  if (jwt.issuers) return { shapes: jwt.issuers.map(issuerShape).filter((s) => s !== undefined), from: "issuers" };
  return { shapes: jwt.openIdConfigUrls.map(openIdConfigShape).filter((s) => s !== undefined), from: "openid-config" };
}

function lintIssuers(jwt: ValidateJwtPolicy, context: LintContext): LintFinding[] {
  const findings: LintFinding[] = [];
  const configShapes = jwt.openIdConfigUrls.map(openIdConfigShape).filter((s) => s !== undefined);
  const accepted = acceptedIssuers(jwt);
  const element = accepted.from === "issuers" ? "validate-jwt/issuers" : "validate-jwt/openid-config";

  if (jwt.issuers === undefined && jwt.openIdConfigUrls.length === 0) {
    findings.push({
      code: "no-issuer-check",
      severity: "warning",
      element: "validate-jwt",
      message: "no <issuers> and no openid-config: the token's issuer is not checked",
      fix: "Add <issuers><issuer>https://login.microsoftonline.com/{tenant}/v2.0</issuer></issuers> (or the v1 issuer if the API issues v1 tokens).",
    });
  }

  if (jwt.issuers !== undefined && configShapes.length > 0) {
    const listed = new Set(accepted.shapes.map((s) => s.version));
    const stale = configShapes.filter((s) => listed.size > 0 && !listed.has(s.version));
    if (stale.length > 0) {
      findings.push({
        code: "openid-config-issuer-mismatch",
        severity: "warning",
        element: "validate-jwt/openid-config",
        message: `openid-config is the v${stale[0]!.version} metadata but <issuers> lists only v${[...listed].join("/")} issuers: one of them is stale`,
        fix: "Use the metadata of the version the API issues: v1 /{tenant}/.well-known/openid-configuration (issuer https://sts.windows.net/{tenant}/), v2 /{tenant}/v2.0/.well-known/openid-configuration (issuer https://login.microsoftonline.com/{tenant}/v2.0).",
      });
    }
  }

  const versions = new Set(accepted.shapes.map((s) => s.version));
  if (context.tokenVersion !== undefined && versions.size > 0 && !versions.has(context.tokenVersion)) {
    const other = context.tokenVersion === 1 ? 2 : 1;
    findings.push({
      code: "token-version-mismatch",
      severity: "error",
      element,
      message: `the API's registration issues v${context.tokenVersion} tokens but the policy accepts only v${[...versions].join("/")} issuers (${versionIssuer(other)} vs ${versionIssuer(context.tokenVersion)}): every token is refused`,
      fix: `Set accessTokenAcceptedVersion to ${other} in the API app registration's manifest, or make openid-config and <issuers> v${context.tokenVersion}.`,
    });
  }

  const tenants = new Set(accepted.shapes.map((s) => s.tenant.toLowerCase()).filter((t) => !MULTI_TENANT.has(t)));
  if (context.tenantId !== undefined && isGuid(context.tenantId) && tenants.size > 0 && !tenants.has(context.tenantId.toLowerCase())) {
    findings.push({
      code: "tenant-mismatch",
      severity: "error",
      element,
      message: `the policy accepts tokens of tenant ${[...tenants].join(", ")}, not of tenant ${context.tenantId}`,
      fix: "Put the API's tenant id in the openid-config URL and <issuers>.",
    });
  }
  return findings;
}

function versionIssuer(version: TokenVersion): string {
  return version === 1 ? "sts.windows.net" : "login.microsoftonline.com/.../v2.0";
}

function lintAudiences(jwt: ValidateJwtPolicy, context: LintContext): LintFinding[] {
  const audClaim = jwt.requiredClaims.find((c) => c.name === "aud" && c.values.length > 0);
  const audiences = jwt.audiences ?? audClaim?.values;
  const element = jwt.audiences ? "validate-jwt/audiences" : "validate-jwt/required-claims/claim[@name=aud]";
  if (!audiences) {
    return [
      {
        code: "no-audience-check",
        severity: "error",
        element: "validate-jwt",
        message: "no <audiences>: a token the tenant issued for any other API (e.g. Microsoft Graph) is accepted",
        fix: "Add <audiences> with the API's App ID URI and client ID.",
      },
    ];
  }
  const tokenVersion = context.tokenVersion;
  const missing: string[] = [];
  let severity: LintFinding["severity"] = "warning";
  if (context.apiClientId !== undefined || context.appIdUri !== undefined) {
    if (context.apiClientId !== undefined && !audiences.includes(context.apiClientId)) {
      missing.push(`the client ID ${context.apiClientId}`);
      // v2 tokens always carry the API's client ID as aud (FACTS.md §1): none would pass.
      if (tokenVersion === 2) severity = "error";
    }
    if (context.appIdUri !== undefined && !audiences.includes(context.appIdUri)) missing.push(`the App ID URI ${context.appIdUri}`);
  } else {
    const guids = audiences.filter(isGuid);
    if (guids.length === audiences.length) missing.push("the App ID URI");
    else if (guids.length === 0) {
      missing.push("the client ID");
      if (tokenVersion === 2) severity = "error";
    }
  }
  if (missing.length === 0) return [];
  return [
    {
      code: "audience-incomplete",
      severity,
      element,
      message: `audiences list ${audiences.join(", ")} but not ${missing.join(" or ")}: v2 tokens carry the client ID, v1 tokens the App ID URI or ID requested`,
      fix: "List both the App ID URI and the client ID in <audiences>.",
    },
  ];
}

function lintCallers(jwt: ValidateJwtPolicy, context: LintContext): LintFinding[] {
  const findings: LintFinding[] = [];
  const hasValues = (name: string) => jwt.requiredClaims.some((c) => c.name === name && c.values.length > 0);
  const roles = hasValues("roles");
  const azp = hasValues("azp");
  const appid = hasValues("appid");
  if (!roles) {
    const restricted = azp || appid;
    findings.push({
      code: "no-role-claim",
      severity: restricted ? "info" : "warning",
      element: "validate-jwt/required-claims",
      message: restricted
        ? `no required roles claim; callers are restricted by ${azp ? "azp" : "appid"} instead`
        : "no required roles claim: any app in the tenant can get a token for the API and call it unless the API's enterprise application has 'Assignment required'",
      fix: "Require the app role: <claim name=\"roles\" match=\"any\"><value>{role}</value></claim>, and set 'Assignment required' on the API's enterprise application.",
    });
  }
  const versions = new Set(acceptedIssuers(jwt).shapes.map((s) => s.version));
  const version = context.tokenVersion ?? (versions.size === 1 ? [...versions][0] : undefined);
  // v2 tokens name the caller in azp, v1 tokens in appid (FACTS.md §1); the other claim is absent.
  const wrong = version === 1 && azp && !appid ? "azp" : version === 2 && appid && !azp ? "appid" : undefined;
  if (wrong !== undefined) {
    findings.push({
      code: "client-claim-version",
      severity: "error",
      element: `validate-jwt/required-claims/claim[@name=${wrong}]`,
      message: `${wrong} is required but v${version} tokens carry the caller in ${wrong === "azp" ? "appid" : "azp"}: every token is refused`,
      fix: `Require ${wrong === "azp" ? "appid" : "azp"} instead, with the same client IDs.`,
    });
  }
  return findings;
}
