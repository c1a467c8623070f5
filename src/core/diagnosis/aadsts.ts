import type { CauseCode } from "./catalogue.js";
import { TOKEN_NOT_JWT } from "../errors.js";

/**
 * AADSTS codes of the token endpoint and the cause each one means (docs/REFERENCE.md §2, [E]
 * reference-error-codes.md). A code missing here is reported as `token-request-failed` with the
 * code as evidence, never guessed from its neighbours.
 */
export const AADSTS_CAUSES: ReadonlyMap<number, CauseCode> = new Map<number, CauseCode>([
  [7000215, "invalid-client-secret"],
  [7000222, "client-secret-expired"],
  [700016, "unknown-client"],
  [500011, "unknown-resource"],
  [70011, "invalid-scope"],
  // Client credentials scope must end in /.default.
  [1002012, "invalid-scope"],
  [90002, "unknown-tenant"],
  [501051, "client-not-assigned"],
  // Client assertion (certificate, federated credential): signature key not found, outside its time range.
  [700027, "invalid-client-assertion"],
  // Client assertion is not within its valid time range (the host's clock, or a stale assertion).
  [700024, "invalid-client-assertion"],
  // The reference's codes a client-credentials caller meets (reference-error-codes.md). Statuses as
  // Entra sends them where seen: 400 invalid_request / invalid_client; 401 for client authentication.
  // 90038 NationalCloudTenantRedirection: the tenant is in another national cloud (400).
  [90038, "wrong-cloud"],
  // 70021 NoMatchingFederatedIdentityRecordFound; 700211/700212/700213: no federated credential
  // matches the assertion's issuer / audience / subject (400 invalid_client, unconfirmed).
  [70021, "federated-credential-mismatch"],
  [700211, "federated-credential-mismatch"],
  [700212, "federated-credential-mismatch"],
  [700213, "federated-credential-mismatch"],
  // 7000112 UnauthorizedClientApplicationDisabled: the application is disabled (400 unauthorized_client).
  [7000112, "application-disabled"],
  // 7000229: the client application is missing a service principal in the tenant (400 invalid_client).
  [7000229, "client-service-principal-missing"],
  // 65001 DelegationDoesNotExist: no consent for the application (400 invalid_grant, consent_required).
  [65001, "consent-required"],
]);

/** Token endpoint refusals are throttled with HTTP 429 and Retry-After (docs/REFERENCE.md §2). */
export const THROTTLED_STATUS = 429;

export interface TokenFailure {
  aadsts?: number;
  oauthError?: string;
  status?: number;
  retryAfterSeconds?: number;
  /** The request was sent twice (an Entra 5xx is retried once); absent when it was sent once. */
  retried?: true;
}

/** The cause of a refused token request: the AADSTS table first, then a 429, else generic. */
export function causeOfTokenFailure(failure: TokenFailure): CauseCode {
  if (failure.aadsts !== undefined) {
    const known = AADSTS_CAUSES.get(failure.aadsts);
    if (known) return known;
  }
  if (failure.status === THROTTLED_STATUS) return "throttled";
  // Before the AADSTS-less fallbacks: where the failure happened decides whose fix applies.
  if (failure.oauthError === "managed_identity_unavailable") return "managed-identity-unavailable";
  if (failure.oauthError === TOKEN_NOT_JWT) return "token-not-jwt";
  if (failure.status !== undefined && failure.status >= 500) return "token-endpoint-unavailable";
  // MSAL reads the tenant's metadata document before asking for a token and reports a refusal of it
  // only as endpoints_resolution_error with the status; Entra answers that document with 400
  // AADSTS90002 for a tenant it does not know (docs/REFERENCE.md §2: "also from discovery").
  if (failure.oauthError === "endpoints_resolution_error" && failure.status === 400) return "unknown-tenant";
  return "token-request-failed";
}
