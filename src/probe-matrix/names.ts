/**
 * The probe names are a public interface: alert rules, dashboards and the HTTP trigger's filters
 * key on them. Never rename one; add new ones at the end.
 */
export const PROBE_NAMES = [
  "token",
  "valid",
  "no-subscription-key",
  "invalid-subscription-key",
  "no-token",
  "wrong-audience",
  "expired-token",
  "forged-signature",
  "alg-none",
  "unassigned-client",
  // Forecasts, not requests to the API.
  "tls-certificate",
  "credential-expiry",
] as const;

export type ProbeName = (typeof PROBE_NAMES)[number];

export function isProbeName(value: string): value is ProbeName {
  return (PROBE_NAMES as readonly string[]).includes(value);
}

/** Probes whose request carries a token (or, for no-token, none): the ones token validation refuses. */
export const TOKEN_PROBES: readonly ProbeName[] = [
  "no-token",
  "wrong-audience",
  "expired-token",
  "forged-signature",
  "alg-none",
  "unassigned-client",
];

/** Probes whose request lacks a valid subscription key: the ones APIM's key check refuses. */
export const KEY_PROBES: readonly ProbeName[] = ["no-subscription-key", "invalid-subscription-key"];

/** The token probes whose request carries a token: every one but `no-token`. */
export const SENDS_TOKEN: readonly ProbeName[] = TOKEN_PROBES.filter((name) => name !== "no-token");

/**
 * Forecasts: days until the gateway's TLS certificate (once per gateway origin) and the
 * probe's own credentials (once per run) expire. They send nothing to the API.
 */
export const EXPIRY_PROBES: readonly ProbeName[] = ["tls-certificate", "credential-expiry"];

/** Probes whose purpose is to be refused: a 2xx on any of them means the gateway is open. */
export const REJECTING_PROBES: readonly ProbeName[] = PROBE_NAMES.filter(
  (name) => name !== "token" && name !== "valid" && !EXPIRY_PROBES.includes(name),
);
