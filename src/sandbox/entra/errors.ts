import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { NO_STORE, sendJson } from "./http.js";

/**
 * The AADSTS codes the emulator produces, with the OAuth `error` and HTTP status Entra answers with
 * (docs/REFERENCE.md §2). Where the reference marks a status or error "unconfirmed", the choice is noted.
 */
export const AADSTS = {
  /** Invalid client secret (often the secret's id sent instead of its value). */
  7000215: { error: "invalid_client", status: 401 },
  /** Client secret expired. */
  7000222: { error: "invalid_client", status: 401 },
  /** Neither client_assertion nor client_secret. */
  7000218: { error: "invalid_client", status: 401 },
  /** Application not found in the directory. Status unconfirmed: 400 chosen (as the docs' samples). */
  700016: { error: "unauthorized_client", status: 400 },
  /** Resource principal not found in the tenant. */
  500011: { error: "invalid_resource", status: 400 },
  /**
   * Client not assigned to a role of a resource that requires assignment. The docs say invalid_client,
   * real answers users quote say invalid_grant: invalid_grant / 400 chosen (unconfirmed).
   */
  501051: { error: "invalid_grant", status: 400 },
  /** Scope not valid (not one resource, empty). */
  70011: { error: "invalid_scope", status: 400 },
  /** Client-credentials scope without `/.default`. Status unconfirmed: 400 chosen. */
  1002012: { error: "invalid_scope", status: 400 },
  /** Tenant not found. Older answers said invalid_request; invalid_tenant chosen (current docs). */
  90002: { error: "invalid_tenant", status: 400 },
  /** Client assertion failed signature validation / key not found. invalid_client / 401 chosen (unconfirmed). */
  700027: { error: "invalid_client", status: 401 },
  /** Client assertion outside its valid time range. invalid_client / 401 chosen (as 700027). */
  700024: { error: "invalid_client", status: 401 },
  /** Client assertion iss/sub is not the client_id. */
  700021: { error: "invalid_client", status: 401 },
  /** Federated assertion: no federated credential with the assertion's issuer. */
  700211: { error: "invalid_request", status: 400 },
  /** Federated assertion: no federated credential matching subject and audience. */
  70021: { error: "invalid_request", status: 400 },
  /** `resource` sent to the v2 endpoint. */
  901002: { error: "invalid_request", status: 400 },
  /** A required parameter is missing. */
  900144: { error: "invalid_request", status: 400 },
  /** grant_type other than client_credentials. */
  70003: { error: "unsupported_grant_type", status: 400 },
} as const satisfies Record<number, { error: string; status: number }>;

export type AadstsCode = keyof typeof AADSTS;

/** A refused request: which AADSTS code, and the sentence after `AADSTSnnnn: `. */
export interface Refusal {
  readonly kind: "refusal";
  readonly aadsts: AadstsCode;
  readonly text: string;
}

export function refuse(aadsts: AadstsCode, text: string): Refusal {
  return { kind: "refusal", aadsts, text };
}

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "refusal";
}

/** `2026-11-22 00:09:17Z`: the timestamp format of Entra's error bodies. */
function entraTimestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * Sends a refusal in Entra's JSON shape (docs/REFERENCE.md §2): `error_description` starts `AADSTSnnnn:` and ends
 * with the Trace ID, Correlation ID and Timestamp lines. The correlation id echoes the client's
 * `client-request-id` when it sent one, as Entra does.
 */
export function sendRefusal(
  res: ServerResponse,
  refusal: Refusal,
  context: { now: number; correlationId?: string | undefined },
): void {
  const { error, status } = AADSTS[refusal.aadsts];
  const traceId = randomUUID();
  const correlationId = context.correlationId ?? randomUUID();
  const timestamp = entraTimestamp(context.now);
  sendJson(
    res,
    status,
    {
      error,
      error_description: `AADSTS${refusal.aadsts}: ${refusal.text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [refusal.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${refusal.aadsts}`,
    },
    { ...NO_STORE, "x-ms-request-id": traceId },
  );
}
