import { debuglog, inspect } from "node:util";
import { Secret } from "./settings/secret.js";

/**
 * The opt-in debug channel: `NODE_DEBUG=apim-smoke` (Node's util.debuglog, read once at process
 * start: https://nodejs.org/api/util.html#utildebuglogsection-callback) prints the run's steps and
 * the stack of a failure to stderr. Off, it costs one boolean test per step.
 *
 * Every line is redacted as the results are: the value of every `Secret` the run was configured
 * with (client secrets, subscription keys, the expired token, the state key; remembered by
 * `rememberSecrets`), anything shaped like a JWT, an APIM subscription key or an Entra client
 * secret. Fields are rendered with JSON.stringify and errors with util.inspect, which both print a
 * `Secret` as `[redacted]`.
 */
const log = debuglog("apim-smoke");

const REDACTED = "[redacted]";
/** A compact JWS/JWT, or its first two segments (a clipped token is still a token). */
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?/g;
/** APIM subscription keys are 32 hex characters. */
const APIM_KEY_LIKE = /\b[0-9a-f]{32}\b/gi;
/** Entra client secret values carry `Q~` after a 3-character prefix and a digit. */
const ENTRA_SECRET_LIKE = /[A-Za-z0-9_.-]{3}\dQ~[A-Za-z0-9_.~-]{20,}/g;
/** Shorter values are not searched for: they would redact ordinary words. */
const MIN_SECRET_CHARS = 8;

const secrets = new Set<string>();

export function debugEnabled(): boolean {
  return log.enabled;
}

/** Remembers the revealed value of every `Secret` inside `value` (a run's settings), so that no debug line shows it. */
export function rememberSecrets(value: unknown): void {
  if (!log.enabled) return;
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (v instanceof Secret) {
      const revealed = v.reveal().trim();
      if (revealed.length >= MIN_SECRET_CHARS) secrets.add(revealed);
      return;
    }
    if (!v || typeof v !== "object" || seen.has(v) || depth > 8) return;
    seen.add(v);
    for (const child of v instanceof Map ? v.values() : Object.values(v)) walk(child, depth + 1);
  };
  walk(value, 0);
}

/** Remembers settings' values by name (the secret settings of the environment, before they are parsed). */
export function rememberSecretValues(values: Iterable<string | undefined>): void {
  if (!log.enabled) return;
  for (const v of values) if (v !== undefined && v.trim().length >= MIN_SECRET_CHARS) secrets.add(v.trim());
}

/** `text` with every remembered secret and every secret-shaped value replaced (case-insensitively). */
export function redactForDebug(text: string): string {
  let out = text;
  // Longest first, so that a secret containing another is replaced whole.
  for (const value of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.replace(new RegExp(value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi"), REDACTED);
  }
  return out.replace(JWT_LIKE, REDACTED).replace(ENTRA_SECRET_LIKE, REDACTED).replace(APIM_KEY_LIKE, REDACTED);
}

/** One step of a run: `step` and its fields as JSON, on one line. */
export function debugStep(step: string, fields: Readonly<Record<string, unknown>> = {}): void {
  if (!log.enabled) return;
  log("%s", redactForDebug(`${step} ${JSON.stringify(fields)}`));
}

/** A failure with its stack and its causes (util.inspect), redacted. */
export function debugFailure(context: string, error: unknown): void {
  if (!log.enabled) return;
  log("%s", redactForDebug(`${context}: ${inspect(error, { depth: 6, breakLength: Infinity })}`));
}
