import type { CauseCode } from "./catalogue.js";

/**
 * AADSTS codes of the token endpoint and the cause each one means (FACTS.md §2, [E]
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
  [700024, "invalid-client-assertion"],
]);

/** Token endpoint refusals are throttled with HTTP 429 and Retry-After (FACTS.md §2). */
export const THROTTLED_STATUS = 429;

export interface TokenFailure {
  aadsts?: number;
  oauthError?: string;
  status?: number;
  retryAfterSeconds?: number;
}

/** The cause of a refused token request: the AADSTS table first, then a 429, else generic. */
export function causeOfTokenFailure(failure: TokenFailure): CauseCode {
  if (failure.aadsts !== undefined) {
    const known = AADSTS_CAUSES.get(failure.aadsts);
    if (known) return known;
  }
  if (failure.status === THROTTLED_STATUS) return "throttled";
  // MSAL reads the tenant's metadata document before asking for a token and reports a refusal of it
  // only as endpoints_resolution_error with the status; Entra answers that document with 400
  // AADSTS90002 for a tenant it does not know (FACTS.md §2: "also from discovery").
  if (failure.oauthError === "endpoints_resolution_error" && failure.status === 400) return "unknown-tenant";
  return "token-request-failed";
}
