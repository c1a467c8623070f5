import type { ServerResponse } from "node:http";

/**
 * The gateway's own answers. Bodies are APIM's (docs/REFERENCE.md §3): `{"statusCode":n,"message":"..."}`.
 * The request id header: APIM-fronted Azure services answer `apim-request-id` (a GUID); stock APIM
 * documents no request id header of its own (unconfirmed), so the sandbox sends `apim-request-id`
 * on every response, gateway errors and forwarded answers alike.
 */
export const REQUEST_ID_HEADER = "apim-request-id";

export const MESSAGES = {
  notFound: "Resource not found",
  missingKey:
    "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
  invalidKey:
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
  // What APIM answers when forward-request cannot reach the backend (unconfirmed wording).
  backendFailure: "Internal server error",
} as const;

export function sendApimError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = JSON.stringify({ statusCode: status, message });
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
