// Reads one `<validate-azure-ad-token>` element into the checks it makes: tenant, Entra endpoint,
// client and backend application ids (shared children are read in parse-token-check.ts).
import { CLOUDS } from "../entra/clouds.js";
import { PolicyError } from "./errors.js";
import { Notes } from "./parse-notes.js";
import {
  dropEmptyLists,
  noteUnknownAttributes,
  parseStringList,
  parseTokenSource,
  readCommonChild,
} from "./parse-token-check.js";
import { nonEmpty, parseInteger } from "./parse-values.js";
import type { ValidateJwtPolicy } from "./types.js";
import type { XmlElement } from "./xml.js";

export const VALIDATE_AAD = "validate-azure-ad-token";

const VALIDATE_AAD_ATTRIBUTES = new Set([
  "tenant-id",
  "header-name",
  "query-parameter-name",
  "token-value",
  "authentication-endpoint",
  "failed-validation-httpcode",
  "failed-validation-error-message",
  "output-token-variable-name",
]);

/**
 * Parses `<validate-azure-ad-token>` into the checks it makes ([A] validate-azure-ad-token-policy.md):
 * the token from `Authorization: Bearer` (or the given header, query parameter or value), issued for
 * `tenant-id` by the Entra of `authentication-endpoint` (default the public cloud), signed with the
 * tenant's keys (its v1 and v2 metadata), not expired, its caller one of `client-application-ids`,
 * its audience one of `audiences` or `backend-application-ids` when given, and `required-claims`.
 */
export function parseValidateAzureAdToken(element: XmlElement): ValidateJwtPolicy {
  const at = (attribute: string) => `${VALIDATE_AAD}/@${attribute}`;
  const notes = new Notes();
  noteUnknownAttributes(element, VALIDATE_AAD, VALIDATE_AAD_ATTRIBUTES, notes);
  const a = element.attributes;
  if (a["tenant-id"] === undefined) throw new PolicyError(at("tenant-id"), "is required");
  // Required, a tenant ID or URL (learn.microsoft.com/azure/api-management/validate-azure-ad-token-policy):
  // a blank one names no tenant, and the metadata URLs built from it would have none.
  const tenant = tenantName(nonEmpty(notes.literal(a["tenant-id"], at("tenant-id"), "tenant-id"), at("tenant-id")));
  const endpoint = authenticationHost(
    notes.literal(a["authentication-endpoint"], at("authentication-endpoint")),
    at("authentication-endpoint"),
  );
  const policy: ValidateJwtPolicy = {
    element: VALIDATE_AAD,
    tokenSource: parseTokenSource(element, VALIDATE_AAD, notes, "Authorization"),
    failedValidationHttpCode: parseInteger(
      notes.literal(a["failed-validation-httpcode"], at("failed-validation-httpcode")),
      at("failed-validation-httpcode"),
      401,
      100,
      599,
    ),
    requireExpirationTime: true,
    requireSignedTokens: true,
    clockSkewSeconds: 0,
    openIdConfigUrls:
      tenant === undefined
        ? []
        : [
            `https://${endpoint}/${tenant}/v2.0/.well-known/openid-configuration`,
            `https://${endpoint}/${tenant}/.well-known/openid-configuration`,
          ],
    issuerSigningKeys: [],
    requiredClaims: [],
    notEvaluable: notes.items,
    unresolvedInputs: notes.unresolved,
    line: element.line,
    conditions: [],
  };
  // The Authorization header carries "Bearer <token>"; a custom header carries the bare token ([A]).
  if (policy.tokenSource.kind === "header" && policy.tokenSource.name.toLowerCase() === "authorization")
    policy.requireScheme = "Bearer";
  const message = notes.literal(a["failed-validation-error-message"], at("failed-validation-error-message"));
  if (message !== undefined) policy.failedValidationErrorMessage = message;
  const output = nonEmpty(a["output-token-variable-name"], at("output-token-variable-name"));
  if (output !== undefined) policy.outputTokenVariableName = output;

  let clientIds: string[] | undefined;
  const backendIds: string[] = [];
  for (const child of element.children) {
    const path = `${VALIDATE_AAD}/${child.name}`;
    switch (child.name) {
      case "client-application-ids":
        clientIds = [
          ...(clientIds ?? []),
          ...parseStringList(child, path, "application-id", notes, "client-application-ids"),
        ];
        break;
      case "backend-application-ids":
        backendIds.push(...parseStringList(child, path, "application-id", notes, "audiences"));
        break;
      default:
        readCommonChild(policy, child, path, notes);
    }
  }
  if (clientIds === undefined)
    notes.add(
      `${VALIDATE_AAD}/client-application-ids`,
      "is documented as required and missing: this check does not restrict the calling application",
    );
  else if (clientIds.length > 0) policy.clientApplicationIds = clientIds;
  if (backendIds.length > 0) policy.audiences = [...(policy.audiences ?? []), ...backendIds];
  dropEmptyLists(policy, notes);
  return policy;
}

/** `tenant-id` may be a GUID, a domain, or a URL naming the domain ([A]). */
function tenantName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  try {
    return trimmed.includes("://") ? new URL(trimmed).hostname : trimmed;
  } catch {
    return trimmed;
  }
}

/** `authentication-endpoint` (a national cloud's Entra) as a host; default the public cloud's. */
function authenticationHost(value: string | undefined, path: string): string {
  if (value === undefined) return CLOUDS.public.authorityHost;
  try {
    const url = new URL(value.includes("://") ? value : `https://${value}`);
    if (url.protocol !== "https:") throw new PolicyError(path, "must be an https URL");
    return url.host;
  } catch (cause) {
    if (cause instanceof PolicyError) throw cause;
    throw new PolicyError(path, "is not a URL", { cause });
  }
}
