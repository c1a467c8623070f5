import type { TokenSummary } from "../results/types.js";

/** What a token keeps from run to run, to compare: the claims an app registration edit changes. */
export interface TokenShape {
  roles: string[];
  ver?: string;
  iss?: string;
  aud?: string;
  kid?: string;
}

/** How this run's token differs from the last run's for the same client and scope. */
export interface TokenDrift {
  rolesRemoved: string[];
  rolesAdded: string[];
  version?: { from?: string; to?: string };
  issuer?: { from?: string; to?: string };
  audience?: { from?: string; to?: string };
  signingKey?: { from?: string; to?: string };
}

/**
 * The kinds of change, as the `tokenDrift` property lists them (alert rules key on these names:
 * `roles-removed` and `version` fire the token-drift alert).
 */
export type DriftKind = "roles-removed" | "roles-added" | "version" | "issuer" | "audience" | "signing-key";

export function tokenShape(summary: TokenSummary): TokenShape {
  const aud = Array.isArray(summary.aud) ? summary.aud.join(",") : summary.aud;
  return {
    roles: [...(summary.roles ?? [])].sort(),
    ...(summary.ver !== undefined ? { ver: summary.ver } : {}),
    ...(summary.iss !== undefined ? { iss: summary.iss } : {}),
    ...(aud !== undefined ? { aud } : {}),
    ...(summary.kid !== undefined ? { kid: summary.kid } : {}),
  };
}

/** Undefined when nothing changed. */
export function tokenDrift(previous: TokenShape, current: TokenShape): TokenDrift | undefined {
  const drift: TokenDrift = {
    rolesRemoved: previous.roles.filter((r) => !current.roles.includes(r)),
    rolesAdded: current.roles.filter((r) => !previous.roles.includes(r)),
  };
  const changed = (from: string | undefined, to: string | undefined) =>
    from === to ? undefined : { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
  const version = changed(previous.ver, current.ver);
  const issuer = changed(previous.iss, current.iss);
  const audience = changed(previous.aud, current.aud);
  const signingKey = changed(previous.kid, current.kid);
  if (version) drift.version = version;
  if (issuer) drift.issuer = issuer;
  if (audience) drift.audience = audience;
  if (signingKey) drift.signingKey = signingKey;
  return driftKinds(drift).length > 0 ? drift : undefined;
}

export function driftKinds(drift: TokenDrift): DriftKind[] {
  const kinds: DriftKind[] = [];
  if (drift.rolesRemoved.length > 0) kinds.push("roles-removed");
  if (drift.rolesAdded.length > 0) kinds.push("roles-added");
  if (drift.version) kinds.push("version");
  if (drift.issuer) kinds.push("issuer");
  if (drift.audience) kinds.push("audience");
  if (drift.signingKey) kinds.push("signing-key");
  return kinds;
}

/** One line a person reads: `roles removed: Orders.Read; version 1.0 -> 2.0`. */
export function describeDrift(drift: TokenDrift): string {
  const parts: string[] = [];
  const arrow = (c: { from?: string; to?: string }) => `${c.from ?? "none"} -> ${c.to ?? "none"}`;
  if (drift.rolesRemoved.length > 0) parts.push(`roles removed: ${drift.rolesRemoved.join(", ")}`);
  if (drift.rolesAdded.length > 0) parts.push(`roles added: ${drift.rolesAdded.join(", ")}`);
  if (drift.version) parts.push(`version ${arrow(drift.version)}`);
  if (drift.issuer) parts.push(`issuer ${arrow(drift.issuer)}`);
  if (drift.audience) parts.push(`audience ${arrow(drift.audience)}`);
  if (drift.signingKey) parts.push(`signing key ${arrow(drift.signingKey)}`);
  return parts.join("; ");
}

/**
 * The last token shape per client and scope. `previous` is what the state held when the run began
 * (the last run's, by any instance) and does not move during the run, so every target with the
 * same scope is compared with the same baseline; what this run saw is recorded for the next.
 */
export class TokenHistory {
  #previous = new Map<string, TokenShape>();
  readonly #seen = new Map<string, TokenShape>();

  static key(client: string, scope: string): string {
    return `${client} ${scope}`;
  }

  /** The baseline for this run: the stored shapes, else what this process saw last. */
  begin(stored: ReadonlyMap<string, TokenShape> | undefined): void {
    this.#previous = new Map([...this.#previous, ...this.#seen, ...(stored ?? [])]);
    this.#seen.clear();
  }

  observe(client: string, scope: string, summary: TokenSummary): TokenDrift | undefined {
    const key = TokenHistory.key(client, scope);
    const shape = tokenShape(summary);
    this.#seen.set(key, shape);
    const previous = this.#previous.get(key);
    return previous ? tokenDrift(previous, shape) : undefined;
  }

  /** What this run saw, to store. */
  seen(): ReadonlyMap<string, TokenShape> {
    return this.#seen;
  }
}
