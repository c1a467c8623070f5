import type { ClientAuthMethod } from "./client-auth.js";
import type { TokenVersion } from "./access-token.js";
import type { TenantModel } from "./model.js";
import type { SigningKeyRing } from "./signing-keys.js";

/** What the emulator remembers of one token request. Never a secret, an assertion or a token. */
export interface TokenRequestRecord {
  /** ISO time, from the emulator's clock. */
  at: string;
  endpoint: "v1" | "v2" | "managed-identity";
  /** The tenant segment of the path (or the model's tenant for managed identity). */
  tenant: string;
  clientId?: string;
  /** The resource asked for: `resource`, or `scope` without `/.default`. */
  resource?: string;
  /** The raw `scope` (v2). */
  scope?: string;
  authMethod?: ClientAuthMethod | "managed-identity";
  status: number;
  outcome: "issued" | "refused" | "throttled" | "outage";
  /** Present when refused with an AADSTS code. */
  aadsts?: number;
  /** OAuth error, when refused. */
  error?: string;
  tokenVersion?: TokenVersion;
  /** `roles` of the issued token, when any. */
  roles?: string[];
}

/** The emulator's state as seen by its request handlers. */
export interface EmulatorContext {
  readonly origin: string;
  readonly identityHeader: string;
  readonly lifetimeSeconds: number;
  readonly keys: SigningKeyRing;
  /** Publishes the next signing keys whose time has come (signing-key-rollover scenario); a no-op otherwise. */
  rollOverDueKeys(): void;
  model(): TenantModel;
  now(): number;
  record(record: TokenRequestRecord): void;
  /** Consumes one throttled answer if any is pending; returns its Retry-After seconds. */
  takeThrottle(): number | undefined;
  /** The next programmed outage of the token endpoints, if any (see EntraEmulator.failNext). */
  takeOutage(): TokenEndpointOutage | undefined;
}

/**
 * How the token endpoints fail when told to, as Entra's front ends have been seen to: an HTML
 * error page with a 5xx status (not Entra's JSON), or no answer at all until the client gives up.
 *
 * `opaque-token` stands for a token endpoint that is not Entra's (a proxy or an identity provider
 * that issues reference tokens): 200 with an access token that is not a JWT.
 */
export type TokenEndpointOutage =
  { kind: "html-5xx"; status: number } | { kind: "no-answer" } | { kind: "opaque-token" };
