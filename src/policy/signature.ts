import { compactVerify, importJWK, type JWK } from "jose";
import { PolicyLibraryError } from "./errors.js";
import type { OpenIdConfig, SigningKeyResolver } from "./openid-config.js";
import type { IssuerSigningKey, ValidateJwtPolicy } from "./types.js";

/**
 * [A] validate-jwt usage notes: asymmetric RS256, RS512, PS256 and, in the current reference, ES256
 * (EC keys, from openid-config); symmetric keys only inline.
 */
export const ASYMMETRIC_ALGORITHMS = ["RS256", "RS512", "PS256", "ES256"] as const;
export const SYMMETRIC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;

export type SignatureCheck =
  { ok: true } | { ok: false; reason: "TokenSignatureInvalid" | "TokenSignatureKeyNotFound"; detail: string };

export interface ResolvedConfigs {
  configs: readonly OpenIdConfig[];
  /** One line per openid-config that could not be fetched, naming its URL and error code. */
  failures: readonly string[];
}

/** Fetches (or takes from cache) every openid-config of the policy; a failing one is noted, not thrown. */
export async function resolveOpenIdConfigs(
  policy: ValidateJwtPolicy,
  kid: string | undefined,
  resolver: SigningKeyResolver,
): Promise<ResolvedConfigs> {
  const configs: OpenIdConfig[] = [];
  const failures: string[] = [];
  for (const url of policy.openIdConfigUrls) {
    try {
      configs.push(await resolver.resolve(url, kid === undefined ? {} : { kid }));
    } catch (error) {
      failures.push(`openid-config ${url} unavailable (${error instanceof PolicyLibraryError ? error.code : "error"})`);
    }
  }
  return { configs, failures };
}

interface Candidate {
  source: string;
  kind: "symmetric" | "rsa" | "ec";
  material: JWK | Uint8Array;
}

/** The key type an algorithm verifies with: never an HMAC with a public key or the reverse (algorithm confusion). */
function keyKindOf(alg: string): Candidate["kind"] {
  if ((SYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) return "symmetric";
  return alg.startsWith("ES") ? "ec" : "rsa";
}

/**
 * Verifies the token's signature with the policy's inline keys and its openid-config keys.
 * Reasons mirror Microsoft.IdentityModel, which APIM runs on (unconfirmed for APIM itself): a `kid`
 * no key carries is TokenSignatureKeyNotFound; a key that is found but does not verify the
 * signature is TokenSignatureInvalid.
 */
export async function checkSignature(
  policy: ValidateJwtPolicy,
  token: string,
  header: { alg?: unknown; kid?: unknown },
  resolved: ResolvedConfigs,
): Promise<SignatureCheck> {
  const kid = typeof header.kid === "string" ? header.kid : undefined;
  const { configs, failures } = resolved;
  const alg = typeof header.alg === "string" ? header.alg : "";
  const symmetric = (SYMMETRIC_ALGORITHMS as readonly string[]).includes(alg);
  const kind = keyKindOf(alg);
  if (!symmetric && !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
    return { ok: false, reason: "TokenSignatureInvalid", detail: `algorithm ${describe(alg)} not allowed` };
  }

  const candidates = [...inlineCandidates(policy.issuerSigningKeys, kid), ...configCandidates(configs, kid)];
  if (candidates.length === 0) {
    const where = [
      `${policy.issuerSigningKeys.length} inline keys`,
      ...configs.map((c) => `${c.keys.length} keys of ${c.url}`),
      ...failures,
    ];
    return {
      ok: false,
      reason: "TokenSignatureKeyNotFound",
      detail: `signing key ${kid === undefined ? "(token has no kid)" : `kid ${describe(kid)}`} not found among ${where.join(", ")}`,
    };
  }
  const usable = candidates.filter((candidate) => candidate.kind === kind);
  for (const candidate of usable) {
    try {
      const key =
        candidate.material instanceof Uint8Array ? candidate.material : await importJWK(candidate.material, alg);
      await compactVerify(token, key, { algorithms: [alg] });
      return { ok: true };
    } catch {
      // Try the next key: [A] "each key is tried until either all are exhausted ... or one succeeds".
    }
  }
  return {
    ok: false,
    reason: "TokenSignatureInvalid",
    detail: `signature (${alg}${kid === undefined ? "" : `, kid ${describe(kid)}`}) verified by none of ${usable.length} usable keys (${candidates.length} matched)`,
  };
}

/**
 * The policy's own keys for this token: those whose `id` matches its `kid` (and those without an
 * id); when no key's id matches, every key, as APIM does ([A] issuer-signing-keys: "each key is
 * tried until either all are exhausted ... or one succeeds"; the id only picks a key when it matches).
 */
function inlineCandidates(keys: readonly IssuerSigningKey[], kid: string | undefined): Candidate[] {
  const matching = keys.filter((key) => kid === undefined || key.id === undefined || key.id === kid);
  return (matching.length > 0 ? matching : keys).map((key, index) =>
    key.kind === "symmetric"
      ? { source: `inline key ${index}`, kind: "symmetric" as const, material: key.secret }
      : { source: `inline key ${index}`, kind: "rsa" as const, material: { kty: "RSA", n: key.n, e: key.e } },
  );
}

function configCandidates(configs: readonly OpenIdConfig[], kid: string | undefined): Candidate[] {
  return configs.flatMap((config) =>
    config.keys
      .filter((key) => (key.kty === "RSA" || key.kty === "EC") && (kid === undefined || key.kid === kid))
      .map((key) => ({
        source: config.url,
        kind: key.kty === "EC" ? ("ec" as const) : ("rsa" as const),
        material: key,
      })),
  );
}

/** Header values are attacker-controlled: keep them short and printable in details. */
function describe(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, "?");
  return printable.length > 64 ? `${printable.slice(0, 64)}...` : printable || "(empty)";
}
