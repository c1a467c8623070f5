/**
 * The typed form of an APIM policy, as far as this product needs it: the inbound `validate-jwt`.
 * Attribute and element names follow Microsoft's validate-jwt reference (FACTS.md §3, [A]
 * validate-jwt-policy.md); defaults are the documented ones.
 */

/** Where the policy looks for the token: exactly one of the three attributes. */
export type TokenSource =
  | { kind: "header"; name: string }
  | { kind: "query"; name: string }
  /** `token-value`: a literal (policy expressions are refused at parse time). */
  | { kind: "value"; value: string };

export type IssuerSigningKey =
  /** Base64 symmetric key (HS256/HS384/HS512). */
  | { kind: "symmetric"; id?: string; secret: Uint8Array }
  /** RSA public key from its base64url modulus and exponent. */
  | { kind: "rsa"; id?: string; n: string; e: string };

export interface RequiredClaim {
  name: string;
  /** Default `all`: every listed value must be present in the token. */
  match: "all" | "any";
  /** Splits a single string claim into values, e.g. "," for `"a,b"`. */
  separator?: string;
  /** Empty: the claim only has to be present. */
  values: readonly string[];
}

export interface ValidateJwtPolicy {
  tokenSource: TokenSource;
  /** e.g. "Bearer"; only enforced when the token comes from the Authorization header. */
  requireScheme?: string;
  /** Default 401. */
  failedValidationHttpCode: number;
  /** Absent: the documented per-failure defaults ("JWT not present.", "Invalid JWT."). */
  failedValidationErrorMessage?: string;
  /** Default true. */
  requireExpirationTime: boolean;
  /** Default true. */
  requireSignedTokens: boolean;
  /** Default 0 seconds. */
  clockSkewSeconds: number;
  outputTokenVariableName?: string;
  openIdConfigUrls: readonly string[];
  issuerSigningKeys: readonly IssuerSigningKey[];
  /** Absent: no audience check. Present: at least one, any-of. */
  audiences?: readonly string[];
  /** Absent: the issuers published by the openid-config documents (if any). */
  issuers?: readonly string[];
  requiredClaims: readonly RequiredClaim[];
}

/** A parsed policy document. No `validateJwt` is legitimate: the gateway is then open. */
export interface ApimPolicy {
  validateJwt?: ValidateJwtPolicy;
}

/** `context.LastError.Reason` values of validate-jwt (FACTS.md §3). */
export type JwtFailureReason =
  | "TokenNotPresent"
  | "JwtInvalid"
  | "TokenSignatureInvalid"
  | "TokenSignatureKeyNotFound"
  | "TokenExpired"
  | "TokenAudienceNotAllowed"
  | "TokenIssuerNotAllowed"
  | "TokenClaimNotFound"
  | "TokenClaimValueNotAllowed";

export const JWT_FAILURE_REASONS: readonly JwtFailureReason[] = [
  "TokenNotPresent",
  "JwtInvalid",
  "TokenSignatureInvalid",
  "TokenSignatureKeyNotFound",
  "TokenExpired",
  "TokenAudienceNotAllowed",
  "TokenIssuerNotAllowed",
  "TokenClaimNotFound",
  "TokenClaimValueNotAllowed",
];

export type JwtValidationOutcome =
  | { ok: true; claims: Readonly<Record<string, unknown>>; header: Readonly<Record<string, unknown>> }
  | {
      ok: false;
      reason: JwtFailureReason;
      /** Names the rule and the observed value, e.g. `audience expected [a] received b`; never the token. */
      detail: string;
      /** `failed-validation-httpcode`. */
      status: number;
      /** `failed-validation-error-message`, or the documented default. */
      message: string;
    };

/** What the evaluator needs to read from a request. */
export interface JwtRequest {
  headers: { get(name: string): string | null };
  url: URL;
}
