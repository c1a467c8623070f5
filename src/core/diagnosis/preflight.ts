import {
  decideCondition,
  evaluateSourceExpression,
  evaluateValidateJwt,
  type ApimPolicy,
  type EvaluateDeps,
  type JwtRequest,
  type ValidateJwtPolicy,
} from "../../policy/index.js";
import type { PreflightFailure, PreflightOutcome } from "./observation.js";

/**
 * Runs the shared validate-jwt evaluator (the one the sandbox gateway runs) on a freshly acquired
 * token before the API is called, so a 401 on `valid` is explained by the exact failing rule.
 * Undefined when there is nothing to check: no validate-jwt, or a policy whose token is a literal
 * `token-value` (it would not look at ours).
 * The token goes only into the evaluator's request; the outcome never contains it.
 */
export async function preflightAgainstPolicy(
  token: string,
  policy: ApimPolicy | ValidateJwtPolicy,
  deps: EvaluateDeps,
): Promise<PreflightOutcome | undefined> {
  // Every check of the policy, in turn, as the gateway applies them; a check under a <choose>
  // condition the probe's own request decides is taken or skipped, any other is judged and marked.
  const checks = "tokenSource" in policy ? [policy] : policy.tokenChecks;
  let judged = false;
  for (const jwt of checks) {
    if (jwt.tokenSource.kind === "value") continue;
    const request = requestCarrying(token, jwt);
    // An expression only APIM's runtime can evaluate (a context variable) does not read our token here.
    if (jwt.tokenSource.kind === "expression" && !evaluateSourceExpression(jwt.tokenSource, request).evaluable)
      continue;
    const decided = jwt.conditions.map((c) => decideCondition(c, { ...request, method: "GET" }));
    if (decided.includes(false)) continue;
    judged = true;
    const failure = await judge(jwt, request, deps);
    if (failure) {
      const undecided = jwt.conditions.filter((_c, i) => decided[i] === undefined);
      if (undecided.length > 0) failure.dependsOn = undecided;
      if (jwt.source)
        failure.checkSource = `${jwt.source.scope} ${jwt.source.file}${jwt.line > 0 ? `:${jwt.line}` : ""}`;
      return failure;
    }
  }
  return judged ? { ok: true } : undefined;
}

async function judge(
  jwt: ValidateJwtPolicy,
  request: JwtRequest,
  deps: EvaluateDeps,
): Promise<PreflightFailure | undefined> {
  const outcome = await evaluateValidateJwt(jwt, request, deps);
  if (outcome.ok) return undefined;
  const failure: PreflightFailure = { ok: false, reason: outcome.reason, detail: outcome.detail };
  if (outcome.alsoFailing && outcome.alsoFailing.length > 0)
    failure.alsoFailing = outcome.alsoFailing.map((f) => `${f.reason}: ${f.detail}`);
  switch (outcome.reason) {
    case "TokenAudienceNotAllowed":
      if (jwt.audiences) failure.expectedAudiences = jwt.audiences;
      break;
    case "TokenIssuerNotAllowed":
      failure.expectedIssuers = jwt.issuers ?? (await openIdConfigIssuers(jwt, deps));
      break;
    case "TokenClaimNotFound":
    case "TokenClaimValueNotAllowed": {
      if (outcome.detail.startsWith("client-application-ids ")) {
        failure.claim = "client-application-ids";
        if (jwt.clientApplicationIds) failure.expectedValues = jwt.clientApplicationIds;
        break;
      }
      // The evaluator checks required claims in order and stops at the first failing one.
      const claim = jwt.requiredClaims.find((c) => outcome.detail.startsWith(`claim ${c.name} `));
      if (claim) {
        failure.claim = claim.name;
        failure.expectedValues = claim.values;
      }
      break;
    }
    case "TokenNotPresent":
      if (jwt.requireScheme !== undefined) failure.requireScheme = jwt.requireScheme;
      break;
    default:
      break;
  }
  return failure;
}

/** The request the probe sends, as the policy reads it: `Authorization: Bearer <token>` or the query. */
function requestCarrying(token: string, policy: ValidateJwtPolicy): JwtRequest {
  const url = new URL("https://preflight.invalid/");
  const headers = new Map<string, string>();
  if (policy.tokenSource.kind === "query") url.searchParams.set(policy.tokenSource.name, token);
  // The probe always sends `Authorization: Bearer`; a policy reading another header will not find it,
  // which is exactly what the gateway will say.
  else headers.set("authorization", `Bearer ${token}`);
  return { url, headers: { get: (name) => headers.get(name.toLowerCase()) ?? null } };
}

/** The issuers the openid-config documents publish (cached by the resolver, so no second fetch). */
async function openIdConfigIssuers(policy: ValidateJwtPolicy, deps: EvaluateDeps): Promise<string[]> {
  const issuers: string[] = [];
  for (const url of policy.openIdConfigUrls) {
    try {
      issuers.push((await deps.keys.resolve(url)).issuer);
    } catch {
      // The evaluator already reported what it could; an unavailable document adds no evidence.
    }
  }
  return issuers;
}
