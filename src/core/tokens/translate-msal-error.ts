import { AuthError, ServerError } from "@azure/msal-node";
import { ProbeError, TokenAcquisitionError } from "../errors.js";
import { escapeRemoteText } from "../http/remote-text.js";
import { MAX_TOKEN_RESPONSE_BYTES, type TokenCallObservation } from "./msal-network-client.js";

const AADSTS = /AADSTS(\d+)/;

/**
 * MSAL error (plus what our network client observed) to TokenAcquisitionError or TransportError.
 * Keeps the AADSTS number, OAuth error and HTTP status; the message is MSAL's first line without
 * trace/correlation ids, and never carries a credential (MSAL does not echo secrets or assertions).
 */
export function translateMsalError(error: unknown, observed: TokenCallObservation, scope: string): ProbeError {
  if (observed.refused) return observed.refused;
  if (observed.transport) return observed.transport;
  if (observed.tooLarge) {
    const { origin, status } = observed.tooLarge;
    return new TokenAcquisitionError(
      `the answer from ${origin} for ${scope} (${status}) was longer than ${MAX_TOKEN_RESPONSE_BYTES} bytes, so reading stopped: ` +
        "an Entra answer is a few KB; a proxy, captive portal or wrong endpoint in between sends this",
      { oauthError: "response_too_large", status },
      { cause: error },
    );
  }
  if (error instanceof ProbeError) return error;
  const status = error instanceof ServerError && error.status !== undefined ? error.status : observed.status;
  const retry = observed.retryAfterSeconds !== undefined ? { retryAfterSeconds: observed.retryAfterSeconds } : {};
  // Entra's own failure (HTML or JSON 5xx): say so plainly; MSAL would call a non-JSON one a network or parsing error.
  if (
    status !== undefined &&
    status >= 500 &&
    !(error instanceof ServerError && (error.errorNo || AADSTS.test(error.errorMessage)))
  ) {
    return new TokenAcquisitionError(
      `Entra's token endpoint answered ${status}${observed.nonJsonBody ? " with a non-JSON body" : ""} for ${scope}${observed.retried ? " (also on the retry)" : ""}`,
      { oauthError: "server_error", status, ...retry, ...(observed.retried ? { retried: true as const } : {}) },
      { cause: error },
    );
  }
  if (status === 429) {
    return new TokenAcquisitionError(
      `token request for ${scope} was throttled (429)`,
      { oauthError: "throttled", status, ...retry },
      { cause: error },
    );
  }
  if (error instanceof ServerError) {
    const errorNo = error.errorNo ? Number(error.errorNo) : Number(AADSTS.exec(error.errorMessage)?.[1]);
    const aadsts = Number.isFinite(errorNo) && errorNo > 0 ? errorNo : undefined;
    // The server's own words: escaped and bounded before they reach a message or a cause.
    const oauthError = error.errorCode ? escapeRemoteText(error.errorCode).slice(0, 80) : undefined;
    return new TokenAcquisitionError(
      `token request for ${scope} refused: ${oauthError ?? "error"}${aadsts ? ` AADSTS${aadsts}` : ""}${status ? ` (${status})` : ""}`,
      { ...(oauthError ? { oauthError } : {}), ...(aadsts ? { aadsts } : {}), ...(status ? { status } : {}), ...retry },
      { cause: error },
    );
  }
  if (error instanceof AuthError) {
    return new TokenAcquisitionError(
      `token request for ${scope} failed: ${error.errorCode}${status ? ` (${status})` : ""}`,
      { oauthError: error.errorCode, ...(status ? { status } : {}), ...retry },
      { cause: error },
    );
  }
  return new TokenAcquisitionError(
    `token request for ${scope} failed${status ? ` (${status})` : ""}`,
    status ? { status } : {},
    { cause: error },
  );
}
