import { isGuid, isMultiTenantAlias, type TokenVersion } from "../../entra/issuers.js";
import { conditionProblem } from "../conditions.js";
import { parsePolicy, type ParsePolicyOptions } from "../parse.js";
import type { ApimPolicy, CheckInput, InboundStep, ValidateJwtPolicy } from "../types.js";
import type { LintContext, LintFinding } from "./findings.js";
import {
  acceptedEntraShapes,
  acceptedVersion,
  audienceKind,
  callerRestriction,
  entraOpenIdConfig,
  entraPremise,
  multiTenantConfig,
  tenantRestriction,
  UNKNOWN_TENANT,
} from "./premises.js";

/** [A] validate-jwt: clock-skew defaults to 0 s; more than 5 minutes keeps stolen or stale tokens alive. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** Findings that say a rule is missing (rather than wrong): met when any check of the policy has the rule. */
const ABSENCE_CODES: ReadonlySet<LintFinding["code"]> = new Set([
  "no-audience-check",
  "no-role-claim",
  "no-issuer-check",
  "no-signing-keys",
]);

/**
 * Lints a policy document for the mistakes people troubleshooting APIM token validation report. Parses with the shared
 * parser, so a document the gateway would refuse throws its PolicyError (naming the element) here too.
 * Findings come in document order of the checks below; none repeats.
 */
export function lintPolicy(
  xml: string,
  context: LintContext = {},
  parseOptions: ParsePolicyOptions = {},
): LintFinding[] {
  return lintParsedPolicy(parsePolicy(xml, parseOptions), context);
}

/** A finding before the check's element, line and scope are stamped on it. */
type Draft = Omit<LintFinding, "line" | "scope" | "file">;

/** What a rule needs from the policy around the check. */
interface Surroundings {
  policy: ApimPolicy;
  context: LintContext;
  /** Checks inside a `<choose>` whose every branch validates or refuses: not a conditional gap. */
  covered: ReadonlySet<ValidateJwtPolicy>;
  /** An unconditional check stands in the policy: conditional ones only add to it. */
  unconditional: boolean;
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
  findings.push(...droppedInheritanceFindings(policy), ...conditionFindings(policy.inbound));
  if (policy.tokenChecks.length === 0) {
    if (policy.inheritsInbound || policy.includedFragments.length > 0) {
      findings.push({
        code: "validation-inherited",
        // Info: whether an enclosing scope validates is not in this document; --apiops judges it
        // (and reports no-validate-jwt or base-dropped where nothing does).
        severity: "info",
        element: "policies/inbound",
        message: `no token validation in this document; it ${policy.inheritsInbound ? "inherits the enclosing scope's inbound policy (<base />)" : ""}${policy.inheritsInbound && policy.includedFragments.length > 0 ? " and " : ""}${policy.includedFragments.length > 0 ? `includes fragment(s) ${policy.includedFragments.join(", ")}` : ""}, which may validate tokens`,
        fix: "Lint the effective policy of each operation: apim-smoke policy check --apiops DIR (global, product, API and operation scopes with their fragments).",
      });
      return findings;
    }
    // An inbound section that always answers itself (<return-response>, e.g. a metadata document)
    // reaches no backend: nothing is exposed by the missing token check.
    const answers = policy.inbound.find((s) => s.kind === "return-response");
    if (answers) {
      findings.push({
        code: "no-validate-jwt",
        severity: "info",
        element: "policies/inbound",
        message: `no token validation, but the gateway answers every request itself (<return-response> at line ${answers.line}): no backend is reached`,
        fix: "Nothing to change if the answer is public by design (a metadata document); otherwise validate tokens before <return-response>.",
      });
      return findings;
    }
    if (policy.mayBeGlobal) {
      // No section says <base />: the global policy looks like this, and APIs may validate at their
      // own scope. A warning here; --apiops decides (an error where nothing validates).
      findings.push({
        code: "no-validate-jwt",
        severity: "warning",
        element: "policies/inbound",
        message:
          "no validate-jwt or validate-azure-ad-token, and no section says <base />: if this is the global policy, APIs may validate at their own scope; if it is an API's, product's or operation's, the gateway lets any caller with a subscription key (or none) through without a token",
        fix: "Lint the effective policy of each operation: apim-smoke policy check --apiops DIR. An API scope's policy should say <base /> and validate tokens (validate-azure-ad-token or validate-jwt).",
      });
      return findings;
    }
    // An enclosing scope does validate, but a scope without <base /> drops it: the fix is <base />,
    // not another validate-jwt (base-dropped names the file).
    const dropping = policy.droppedInheritance.filter((d) => d.lost.some((l) => l.kind === "token-check"));
    findings.push({
      code: "no-validate-jwt",
      severity: "error",
      element: "policies/inbound",
      message:
        dropping.length > 0
          ? `no validate-jwt or validate-azure-ad-token is left in the effective policy: ${dropping.map((d) => `${d.scope} ${d.file}`).join(", ")} drops the enclosing scope's (base-dropped); the gateway lets any caller with a subscription key (or none) through without a token`
          : "no validate-jwt or validate-azure-ad-token: the gateway lets any caller with a subscription key (or none) through without a token",
      fix:
        dropping.length > 0
          ? `Put <base /> first in the inbound section of ${dropping.map((d) => d.file).join(", ")}, so the enclosing scope's token validation applies.`
          : "Add validate-azure-ad-token (with client-application-ids) or validate-jwt (with openid-config, <audiences>, <issuers> and the app role in required-claims) to the API's inbound policy.",
    });
    return findings;
  }
  const surroundings: Surroundings = {
    policy,
    context,
    covered: coveredChecks(policy.inbound),
    unconditional: policy.tokenChecks.some((c) => c.conditions.length === 0),
  };
  // APIM applies every check in turn, so a rule that one check lacks but another (unconditional)
  // one has is in force: an "absent rule" finding stands only when no check has the rule.
  const perCheck = policy.tokenChecks.map((check) => lintCheck(check, surroundings));
  const unconditional = policy.tokenChecks
    .map((check, i) => ({ check, found: perCheck[i]! }))
    .filter(({ check }) => check.conditions.length === 0);
  for (const found of perCheck) {
    findings.push(
      ...found.filter(
        (f) => !ABSENCE_CODES.has(f.code) || unconditional.every((u) => u.found.some((g) => g.code === f.code)),
      ),
    );
  }
  // Each check is linted on its own; the same finding from two checks is said once. Findings about
  // the document itself (a condition, a scope) stand each at its own place.
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code}\u0000${f.element}${f.code === "invalid-condition" || f.code === "base-dropped" ? `\u0000${f.file ?? ""}:${f.line ?? ""}` : ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The rules a check's unresolved inputs keep from being judged, collected as the rules run. */
class NotJudged {
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

function lintCheck(check: ValidateJwtPolicy, around: Surroundings): LintFinding[] {
  const notJudged = new NotJudged(check);
  const entra = entraPremise(check);
  const found =
    check.element === "validate-azure-ad-token"
      ? [
          ...lintTenant(check, around, entra),
          ...lintClientApplications(check, around, notJudged),
          ...lintAudiences(check, around, entra, notJudged),
          ...lintCallers(check, around, entra, notJudged),
        ]
      : [
          ...lintSignatureAndLifetime(check, notJudged),
          ...lintTokenSource(check),
          ...lintIssuers(check, around, entra, notJudged),
          ...lintAudiences(check, around, entra, notJudged),
          ...lintCallers(check, around, entra, notJudged),
        ];
  // Said within any-tenant-accepted already: every tenant's users, not just this one's.
  if (found.some((f) => f.code === "any-tenant-accepted"))
    found.splice(0, found.length, ...found.filter((f) => f.code !== "first-party-audience"));
  const extra: Draft[] = [...placeholderFindings(check)];
  // Entra rolls its signing keys over (learn.microsoft.com/entra/identity-platform/signing-key-rollover);
  // a key copied into the policy stops verifying then. Another token service's pinned key is its own business.
  const pinned = check.issuerSigningKeys.filter((k) => k.kind === "rsa");
  if (pinned.length > 0 && entra !== undefined) {
    extra.push({
      code: "signing-keys-pinned",
      severity: "warning",
      element: `${check.element}/issuer-signing-keys`,
      message: `${pinned.length} RSA key(s) pinned in the policy: when Entra rolls its signing keys over, tokens signed with the new key are refused`,
      fix: "Take Entra's keys from <openid-config> (APIM refreshes them hourly and on an unknown kid) and remove the pinned keys.",
      premise: entra,
    });
  }
  if (check.conditions.length > 0 && !around.unconditional && !around.covered.has(check)) {
    extra.push({
      code: "conditional-token-validation",
      severity: "warning",
      element: `${check.element} in <choose>`,
      message: `token validation applies only when: ${check.conditions.join(" and ")}; a request on a branch without validation (and without a refusal) reaches the backend unchecked`,
      fix: "Validate tokens unconditionally (outside <choose>), or make every other branch validate too or refuse (<return-response> with 401).",
    });
  }
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
  return [...found, ...extra].map((f) => ({
    ...f,
    element: f.element.replace(/^validate-jwt/, check.element),
    ...(check.line > 0 ? { line: check.line } : {}),
    ...(check.source ? { scope: check.source.scope, file: check.source.file } : {}),
  }));
}

/** validate-azure-ad-token on a multi-tenant alias takes tokens of every tenant. */
function lintTenant(check: ValidateJwtPolicy, around: Surroundings, entra: string | undefined): Draft[] {
  return anyTenant(check, around, entra);
}

function anyTenant(check: ValidateJwtPolicy, around: Surroundings, entra: string | undefined): Draft[] {
  const config = multiTenantConfig(check);
  if (config === undefined || entra === undefined) return [];
  const restricted =
    check.issuers !== undefined ||
    check.unresolvedInputs.some((u) => u.input === "issuers") ||
    tenantRestriction(check, around.policy);
  if (restricted) return [];
  const firstParty = (check.audiences ?? []).filter((a) => audienceKind(a) === "first-party");
  return [
    {
      code: "any-tenant-accepted",
      severity: "error",
      element: `${check.element}/openid-config`,
      message: `${config} is the multi-tenant metadata and nothing restricts the tenant (no <issuers>, no tid check): tokens issued by any Entra tenant are accepted${firstParty.length > 0 ? `, and the audience ${firstParty.join(", ")} is a Microsoft resource every tenant's users and apps can get tokens for` : ""}`,
      fix: "Use the tenant's own metadata (https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration), or list the accepted tenants' issuers in <issuers>, or require the tid claim.",
      premise: entra,
    },
  ];
}

function lintClientApplications(check: ValidateJwtPolicy, around: Surroundings, notJudged: NotJudged): Draft[] {
  if (check.clientApplicationIds !== undefined) return [];
  if (!notJudged.visible("client-application-ids-missing", "client-application-ids")) return [];
  // Something else already says who may call; or the audience is the API's own app registration,
  // whose app roles (no-role-claim) are the way to restrict callers.
  if (callerRestriction(check, around.policy) !== undefined) return [];
  const audiences = check.audiences ?? [];
  if (audiences.length > 0 && audiences.every((a) => audienceKind(a) === "app-registration")) return [];
  if (!notJudged.visible("client-application-ids-missing", "audiences")) return [];
  const firstParty = audiences.filter((a) => audienceKind(a) === "first-party");
  return [
    {
      code: "client-application-ids-missing",
      severity: "warning",
      element: "validate-azure-ad-token/client-application-ids",
      message:
        firstParty.length > 0
          ? `no <client-application-ids> (documented as required) and the audience ${firstParty.join(", ")} is a Microsoft resource: any user or app of the tenant can get such a token and call the API`
          : "no <client-application-ids> (documented as required) and no audience: any token of the tenant, from any app, for any resource, is accepted",
      fix: "Add <client-application-ids><application-id>CLIENT ID</application-id></client-application-ids> listing the apps allowed to call the API.",
      premise: "validate-azure-ad-token (Entra ID tokens only)",
    },
  ];
}

function lintSignatureAndLifetime(jwt: ValidateJwtPolicy, notJudged: NotJudged): Draft[] {
  const findings: Draft[] = [];
  if (!jwt.requireSignedTokens) {
    findings.push({
      code: "unsigned-tokens-allowed",
      severity: "error",
      element: "validate-jwt/@require-signed-tokens",
      message: 'require-signed-tokens="false": unsigned tokens (alg none) are accepted, so anyone can mint one',
      fix: "Remove require-signed-tokens (default true).",
    });
  } else if (
    jwt.openIdConfigUrls.length === 0 &&
    jwt.issuerSigningKeys.length === 0 &&
    notJudged.visible("no-signing-keys", "openid-config", "signing-keys")
  ) {
    findings.push({
      code: "no-signing-keys",
      severity: "error",
      element: "validate-jwt",
      message: "neither openid-config nor issuer-signing-keys: no key can verify a token, so every call is refused",
      fix: 'Add <openid-config url="https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration" />.',
    });
  }
  if (!jwt.requireExpirationTime) {
    findings.push({
      code: "expiration-not-required",
      severity: "error",
      element: "validate-jwt/@require-expiration-time",
      message: 'require-expiration-time="false": a token without exp never expires',
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

function lintTokenSource(jwt: ValidateJwtPolicy): Draft[] {
  const source = jwt.tokenSource;
  if (source.kind === "query") {
    return [
      {
        code: "token-in-query",
        severity: "warning",
        element: "validate-jwt/@query-parameter-name",
        message: `the token is read from query parameter ${source.name}: URLs end up in logs and browser history`,
        fix: 'Read it from the Authorization header: header-name="Authorization" require-scheme="Bearer".',
      },
    ];
  }
  if (source.kind !== "header") return [];
  const isAuthorization = source.name.toLowerCase() === "authorization";
  if (isAuthorization && jwt.requireScheme === undefined) {
    return [
      {
        code: "no-require-scheme",
        // Info: the token is still validated in full; only its scheme is not insisted on.
        severity: "info",
        element: "validate-jwt/@require-scheme",
        message:
          "header-name=\"Authorization\" without require-scheme: a bare token is accepted as well as 'Bearer <token>' (it is still validated in full)",
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

function lintIssuers(
  jwt: ValidateJwtPolicy,
  around: Surroundings,
  entra: string | undefined,
  notJudged: NotJudged,
): Draft[] {
  const { context } = around;
  const findings: Draft[] = [...anyTenant(jwt, around, entra)];
  const configShapes = jwt.openIdConfigUrls.map(entraOpenIdConfig).filter((s) => s !== undefined);
  const accepted = acceptedEntraShapes(jwt);
  const element = accepted.from === "issuers" ? "validate-jwt/issuers" : "validate-jwt/openid-config";

  if (
    jwt.issuers === undefined &&
    jwt.openIdConfigUrls.length === 0 &&
    notJudged.visible("no-issuer-check", "issuers", "openid-config")
  ) {
    findings.push({
      code: "no-issuer-check",
      // Info: with keys in the policy itself, whoever holds the key is the issuer; the issuer claim adds little.
      severity: "info",
      element: "validate-jwt",
      message:
        "no <issuers> and no openid-config: the token's issuer claim is not checked (the inline keys decide who can sign)",
      fix: "Add <issuers> with the token service's issuer (for Entra ID: https://login.microsoftonline.com/{tenant}/v2.0, or the v1 issuer if the API issues v1 tokens).",
    });
  }

  if (
    jwt.issuers !== undefined &&
    configShapes.length > 0 &&
    notJudged.visible("openid-config-issuer-mismatch", "issuers", "openid-config")
  ) {
    const listed = new Set(accepted.shapes.map((s) => s.version));
    const stale = configShapes.filter((s) => listed.size > 0 && !listed.has(s.version));
    if (stale.length > 0) {
      findings.push({
        code: "openid-config-issuer-mismatch",
        severity: "error",
        element: "validate-jwt/openid-config",
        message: `openid-config is the v${stale[0]!.version} metadata but <issuers> lists only v${[...listed].join("/")} issuers: v1 tokens are validated with v1 metadata and v2 tokens with v2 metadata, so one of them is stale`,
        fix: "Use the metadata of the version the API issues: v1 /{tenant}/.well-known/openid-configuration (issuer https://sts.windows.net/{tenant}/), v2 /{tenant}/v2.0/.well-known/openid-configuration (issuer https://login.microsoftonline.com/{tenant}/v2.0).",
        ...(entra ? { premise: entra } : {}),
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

  const tenants = new Set(
    accepted.shapes.map((s) => s.tenant.toLowerCase()).filter((t) => !isMultiTenantAlias(t) && t !== UNKNOWN_TENANT),
  );
  if (
    context.tenantId !== undefined &&
    isGuid(context.tenantId) &&
    tenants.size > 0 &&
    !tenants.has(context.tenantId.toLowerCase())
  ) {
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

function lintAudiences(
  jwt: ValidateJwtPolicy,
  around: Surroundings,
  entra: string | undefined,
  notJudged: NotJudged,
): Draft[] {
  const { context } = around;
  const audClaim = jwt.requiredClaims.find((c) => c.name === "aud" && c.values.length > 0);
  const audiences = jwt.audiences ?? audClaim?.values;
  const element = jwt.audiences ? "validate-jwt/audiences" : "validate-jwt/required-claims/claim[@name=aud]";
  if (!audiences) {
    if (!notJudged.visible("no-audience-check", "audiences")) return [];
    const restricted = callerRestriction(jwt, around.policy);
    return [
      {
        code: "no-audience-check",
        // An error where any app of an Entra tenant gets in; a warning where the caller is pinned
        // (only that caller's tokens for other resources pass) or the issuer is not a shared one.
        // With only inline keys of another issuer, whoever holds the key mints the tokens: info.
        severity:
          entra !== undefined
            ? restricted === undefined
              ? "error"
              : "warning"
            : jwt.openIdConfigUrls.length > 0
              ? "warning"
              : "info",
        element: "validate-jwt",
        message:
          entra !== undefined
            ? `no <audiences>: a token the tenant issued for any other API (e.g. Microsoft Graph) is accepted${restricted ? `, from the callers ${restricted} allows` : ""}`
            : "no <audiences>: a token its issuer minted for another audience is accepted as well",
        fix: "Add <audiences> with the API's audience (for an Entra app registration: its App ID URI and client ID).",
        ...(entra ? { premise: entra } : {}),
      },
    ];
  }
  // The "v2 carries the client ID, v1 the App ID URI" rule is Entra's, for an app registration's audience.
  if (entra === undefined || !audiences.every((a) => audienceKind(a) === "app-registration")) return [];
  if (!notJudged.visible("audience-incomplete", "audiences")) return [];
  const version = context.tokenVersion ?? acceptedVersion(jwt);
  const missing: string[] = [];
  let severity: LintFinding["severity"] = "warning";
  if (context.apiClientId !== undefined || context.appIdUri !== undefined) {
    if (context.apiClientId !== undefined && !audiences.includes(context.apiClientId)) {
      missing.push(`the client ID ${context.apiClientId}`);
      // v2 tokens always carry the API's client ID as aud (learn.microsoft.com/entra/identity-platform/access-token-claims-reference): none would pass.
      if (context.tokenVersion === 2) severity = "error";
    }
    if (context.appIdUri !== undefined && !audiences.includes(context.appIdUri) && version !== 2)
      missing.push(`the App ID URI ${context.appIdUri}`);
  } else {
    const guids = audiences.filter(isGuid);
    // v2 tokens carry the client ID and nothing else; v1 tokens the identifier the client asked for.
    if (guids.length === audiences.length && version === undefined) missing.push("the App ID URI");
    else if (guids.length === 0 && version !== 1) missing.push("the client ID");
  }
  if (missing.length === 0) return [];
  return [
    {
      code: "audience-incomplete",
      severity,
      element,
      message: `audiences list ${audiences.join(", ")} but not ${missing.join(" or ")}: ${version === 2 ? "v2 tokens carry the client ID as aud" : "v2 tokens carry the client ID, v1 tokens the App ID URI or ID requested"}`,
      fix: "List both the App ID URI and the client ID in <audiences>.",
      premise: `${entra}; the audience is an app registration's`,
    },
  ];
}

function lintCallers(
  jwt: ValidateJwtPolicy,
  around: Surroundings,
  entra: string | undefined,
  notJudged: NotJudged,
): Draft[] {
  const findings: Draft[] = [];
  if (entra === undefined) return findings;
  const hasValues = (name: string) => jwt.requiredClaims.some((c) => c.name === name && c.values.length > 0);
  const audiences =
    jwt.audiences ?? jwt.requiredClaims.find((c) => c.name === "aud" && c.values.length > 0)?.values ?? [];
  // App roles belong to the API's own app registration; a Microsoft resource's token has none of ours.
  const ownApp = audiences.length > 0 && audiences.every((a) => audienceKind(a) === "app-registration");
  if (!hasValues("roles") && notJudged.visible("no-role-claim", "required-claims", "audiences") && ownApp) {
    const restricted = callerRestriction(jwt, around.policy);
    findings.push({
      code: "no-role-claim",
      severity: restricted ? "info" : "warning",
      element: "validate-jwt/required-claims",
      message: restricted
        ? `no required roles claim; callers are restricted by ${restricted} instead`
        : "no required roles claim: any app in the tenant can get a token for the API and call it unless the API's enterprise application has 'Assignment required'",
      fix: 'Require the app role: <claim name="roles" match="any"><value>{role}</value></claim>, and set \'Assignment required\' on the API\'s enterprise application.',
      premise: `${entra}; the audience is an app registration's`,
    });
  }
  // A Microsoft resource's audience (ARM, Azure AI) with nothing else pinning the caller: every user
  // and app of the tenant can get such a token. validate-azure-ad-token says so as client-application-ids-missing.
  const firstParty = audiences.length > 0 && audiences.every((a) => audienceKind(a) === "first-party");
  if (
    jwt.element === "validate-jwt" &&
    firstParty &&
    callerRestriction(jwt, around.policy) === undefined &&
    notJudged.visible("first-party-audience", "required-claims")
  ) {
    findings.push({
      code: "first-party-audience",
      severity: "warning",
      element: "validate-jwt/audiences",
      message: `the audience ${audiences.join(", ")} is a Microsoft resource's and nothing restricts the caller: any user or app of the tenant can get such a token and call the API`,
      fix: "Validate tokens issued for the API's own app registration (its client ID and App ID URI) and require its app role; or require the callers' azp/appid.",
      premise: `${entra}; the audience is a Microsoft first-party resource's`,
    });
  }
  const azp = hasValues("azp");
  const appid = hasValues("appid");
  const version = around.context.tokenVersion ?? acceptedVersion(jwt);
  // v2 tokens name the caller in azp, v1 tokens in appid (Entra access token claims); the other claim is absent.
  const wrong = version === 1 && azp && !appid ? "azp" : version === 2 && appid && !azp ? "appid" : undefined;
  if (wrong !== undefined) {
    findings.push({
      code: "client-claim-version",
      severity: "error",
      element: `validate-jwt/required-claims/claim[@name=${wrong}]`,
      message: `${wrong} is required but v${version} tokens carry the caller in ${wrong === "azp" ? "appid" : "azp"}: every token is refused`,
      fix: `Require ${wrong === "azp" ? "appid" : "azp"} instead, with the same client IDs.`,
      premise: entra,
    });
  }
  return findings;
}

/**
 * Checks standing in a `<choose>` none of whose branches lets a request through unchecked: each
 * branch (the missing `<otherwise>` included) validates a token or refuses (401/403).
 */
function coveredChecks(steps: readonly InboundStep[]): Set<ValidateJwtPolicy> {
  const covered = new Set<ValidateJwtPolicy>();
  const guards = (branch: readonly InboundStep[]): boolean =>
    branch.some(
      (s) =>
        s.kind === "token-check" ||
        (s.kind === "return-response" && (s.status === 401 || s.status === 403)) ||
        (s.kind === "choose" &&
          s.branches.some((b) => b.condition === undefined) &&
          s.branches.every((b) => guards(b.steps))),
    );
  const visit = (list: readonly InboundStep[]) => {
    for (const step of list) {
      if (step.kind !== "choose") continue;
      const complete =
        step.branches.some((b) => b.condition === undefined) && step.branches.every((b) => guards(b.steps));
      if (complete) for (const check of checksIn(step.branches.flatMap((b) => b.steps))) covered.add(check);
      for (const branch of step.branches) visit(branch.steps);
    }
  };
  visit(steps);
  return covered;
}

function checksIn(steps: readonly InboundStep[]): ValidateJwtPolicy[] {
  return steps.flatMap((s) =>
    s.kind === "token-check" ? [s.check] : s.kind === "choose" ? checksIn(s.branches.flatMap((b) => b.steps)) : [],
  );
}

/** `<when condition>`s that are not valid expressions or that no request can satisfy. */
function conditionFindings(steps: readonly InboundStep[]): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const step of steps) {
    if (step.kind !== "choose") continue;
    for (const branch of step.branches) {
      const problem = branch.condition === undefined ? undefined : conditionProblem(branch.condition);
      if (problem !== undefined) {
        findings.push({
          code: "invalid-condition",
          severity: "warning",
          element: "choose/when/@condition",
          message: `condition ${clip(branch.condition!)} ${problem}; the branch it guards does not run as written`,
          fix: 'Correct the expression (C# inside @(...)); the request method is upper case and compared exactly, e.g. @(context.Request.Method == "POST").',
          ...(branch.line > 0 ? { line: branch.line } : {}),
          ...(step.source ? { scope: step.source.scope, file: step.source.file } : {}),
        });
      }
      findings.push(...conditionFindings(branch.steps));
    }
  }
  return findings;
}

function droppedInheritanceFindings(policy: ApimPolicy): LintFinding[] {
  return policy.droppedInheritance.map((drop) => {
    const tokenLost = drop.lost.some((l) => l.kind === "token-check");
    const openNow = tokenLost && !policy.tokenChecks.some((c) => c.conditions.length === 0);
    return {
      code: "base-dropped",
      severity: openNow ? "error" : "warning",
      element: "policies/inbound",
      message: `${drop.scope} ${drop.file} has no <base /> in its inbound section, so it drops ${drop.lost.map((l) => l.what).join(", ")}${openNow ? ": no token validation is left for this operation" : tokenLost && drop.ownTokenCheck ? " (its own token check replaces the dropped one)" : ""}`,
      fix: `Put <base /> in the inbound section of ${drop.file} (first, so the enclosing scopes' checks run before its own policies).`,
      scope: drop.scope,
      file: drop.file,
    };
  });
}

/**
 * A `{placeholder}` (single braces: `{{name}}` is a named value) as Microsoft's policy reference
 * pages write what to fill in, e.g. `{tenant-id-or-domain}` or `{audience-value}`. APIM takes it
 * literally: the metadata URL cannot be fetched, and no token carries that audience, issuer or value.
 */
const PLACEHOLDER = /(?<!\{)\{(?!\{)[^{}]*[A-Za-z][^{}]*\}(?!\})/;

function placeholderFindings(check: ValidateJwtPolicy): Draft[] {
  const values: [string, string][] = [
    ...check.openIdConfigUrls.map((v): [string, string] => ["openid-config/@url", v]),
    ...(check.audiences ?? []).map((v): [string, string] => ["audiences/audience", v]),
    ...(check.issuers ?? []).map((v): [string, string] => ["issuers/issuer", v]),
    ...(check.clientApplicationIds ?? []).map((v): [string, string] => ["client-application-ids/application-id", v]),
    ...check.requiredClaims.flatMap((c) =>
      c.values.map((v): [string, string] => [`required-claims/claim[@name=${c.name}]/value`, v]),
    ),
  ];
  return values
    .flatMap(([path, value]): [string, string, string][] => {
      const placeholder = value.trimStart().startsWith("@") ? undefined : PLACEHOLDER.exec(value)?.[0];
      return placeholder === undefined ? [] : [[path, value, placeholder]];
    })
    .map(([path, value, placeholder]) => ({
      code: "placeholder-left" as const,
      severity: "error" as const,
      element: `${check.element}/${path}`,
      message: `${value === placeholder ? placeholder : `${placeholder} in ${clip(value)}`} is a placeholder left from a documentation example: APIM takes it literally, so ${path === "openid-config/@url" ? "the metadata cannot be fetched and every token is refused" : "no token matches it"}`,
      fix: "Put the real value in its place (the tenant ID, the API's App ID URI or client ID, the issuer, the role), or a {{named value}} that holds it.",
    }));
}

function clip(value: string): string {
  const line = value.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 80)}...` : line;
}
