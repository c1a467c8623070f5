/**
 * The typed form of an APIM policy, as far as this product needs it: the inbound `validate-jwt`.
 * Attribute and element names follow Microsoft's validate-jwt reference (docs/REFERENCE.md §3, [A]
 * validate-jwt-policy.md); defaults are the documented ones.
 */

/** Where the policy looks for the token: exactly one of the three attributes. */
export type TokenSource =
  | { kind: "header"; name: string }
  | { kind: "query"; name: string }
  /** `token-value` as a literal. */
  | { kind: "value"; value: string }
  /**
   * A policy expression in `token-value`, `header-name` or `query-parameter-name`: evaluated where it
   * reads the request in a way `token-expression.ts` knows, otherwise not evaluable offline. Never
   * taken as the token itself.
   */
  | { kind: "expression"; attribute: "token-value" | "header-name" | "query-parameter-name"; text: string };

/** The inputs of a token check that a rule may need and that can be out of sight offline. */
export type CheckInput =
  | "openid-config"
  | "signing-keys"
  | "audiences"
  | "issuers"
  | "client-application-ids"
  | "tenant-id"
  | "required-claims"
  | "token-source";

/**
 * An input written as a named value without a value (secret and Key Vault named values are never
 * exported), a policy expression, or a certificate uploaded to APIM: present, but not visible here.
 */
export interface UnresolvedInput {
  input: CheckInput;
  /** The element or attribute, e.g. `validate-jwt/audiences/audience`. */
  path: string;
  /** As written (clipped), e.g. `{{aad-tenant-id}}` or `@(context.Request.OriginalUrl.Host)`. */
  written: string;
  kind: "named value" | "expression" | "certificate";
}

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
  /**
   * The element this check was read from. `validate-azure-ad-token` is read into the same checks:
   * the tenant's v1 and v2 metadata as openid-config, `client-application-ids` as the caller rule.
   */
  element: "validate-jwt" | "validate-azure-ad-token";
  /** validate-azure-ad-token: the token's caller (`azp` in v2, `appid` in v1) must be one of these. */
  clientApplicationIds?: readonly string[];
  /**
   * What this check holds that cannot be judged offline, each naming the element: policy
   * expressions, named values without a value, `certificate-id` keys, decryption keys, unknown
   * elements. The check is evaluated without them; a finding that rests on one says so.
   */
  notEvaluable: readonly string[];
  /** The inputs present but not visible offline; the rules that need them are "not judged". */
  unresolvedInputs: readonly UnresolvedInput[];
  /** 1-based line of the element in its document (0 when built in code). */
  line: number;
  /** The `<choose>` conditions this check stands under, outermost first; empty when it always applies. */
  conditions: readonly string[];
  /** In a composed policy: the scope and file the check stands in. */
  source?: { scope: string; file: string };
}

/** Another inbound policy that refuses callers, as the gateway and the diagnoses need to know it. */
export interface AccessRestriction {
  name: "ip-filter" | "rate-limit" | "rate-limit-by-key" | "quota" | "quota-by-key" | "check-header";
  attributes: Readonly<Record<string, string>>;
  /** ip-filter: `allow` or `forbid`, with its addresses and ranges as written. */
  addresses?: readonly string[];
  line: number;
  conditions: readonly string[];
  source?: { scope: string; file: string };
}

/**
 * The inbound section as APIM runs it: policies in document order, `<choose>` with its branches
 * (exactly one of which runs), so that a refusal stops everything after it.
 */
export type InboundStep =
  | { kind: "token-check"; check: ValidateJwtPolicy }
  | { kind: "restriction"; restriction: AccessRestriction }
  | { kind: "choose"; line: number; branches: readonly ChooseBranch[]; source?: { scope: string; file: string } }
  /** `<return-response>`: the gateway answers itself (status from `<set-status code>`, default 200). */
  | { kind: "return-response"; status: number | undefined; line: number };

export interface ChooseBranch {
  /** The `<when condition>` as written; undefined for `<otherwise>`. */
  condition?: string;
  line: number;
  steps: readonly InboundStep[];
}

/** A scope whose inbound section does not say `<base />`, and what of the enclosing scopes it thereby drops. */
export interface DroppedInheritance {
  scope: string;
  file: string;
  /** e.g. `validate-jwt (global policy.xml:4)`, `ip-filter (product products/p/policy.xml:3)`. */
  lost: readonly { kind: "token-check" | "ip-filter" | "rate-limit"; what: string }[];
  /** Whether the scope brings its own token check (a dropped one is then replaced, not lost outright). */
  ownTokenCheck: boolean;
}

/** A parsed policy document (or fragment). No token check is legitimate: the gateway is then open. */
export interface ApimPolicy {
  /** The first token check that always applies, else the first one: what one-check callers use. */
  validateJwt?: ValidateJwtPolicy;
  /** Every token check of the inbound section, in document order; APIM applies each in turn. */
  tokenChecks: readonly ValidateJwtPolicy[];
  accessRestrictions: readonly AccessRestriction[];
  /** The root element: `policies`, `fragment`, or a bare check. */
  root: string;
  /** Whether the inbound section says `<base />`: the enclosing scope's policy runs there. */
  inheritsInbound: boolean;
  /**
   * A `<policies>` document none of whose sections says `<base />`: what the global policy (which has
   * no enclosing scope) looks like. False for composed policies and documents that say it anywhere.
   */
  mayBeGlobal: boolean;
  /** `<include-fragment fragment-id>` ids, in order (expanded only by composition). */
  includedFragments: readonly string[];
  /** Named values `{{name}}` the document uses that had no value (secret or Key Vault ones, or unknown). */
  unresolvedNamedValues: readonly string[];
  /** Expressions `@(...)`/`@{...}` in the document, kept as written. */
  expressionCount: number;
  /** The inbound section in document order, with `<choose>` branches: what the gateway runs. */
  inbound: readonly InboundStep[];
  /**
   * Claim names the inbound policy checks in policy expressions: read by a `<choose>` condition
   * (`Claims["azp"]`, ...), or read by another policy while some branch refuses (401/403).
   */
  claimsCheckedInConditions: readonly string[];
  /** In a composed policy: scopes that drop an enclosing scope's inbound policies by not saying `<base />`. */
  droppedInheritance: readonly DroppedInheritance[];
}

/** `context.LastError.Reason` values of validate-jwt (docs/REFERENCE.md §3). */
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
      /**
       * The claim rules that fail too (lifetime, audience, issuer, required claims, caller), after the
       * one that decided: APIM stops at the first, but whoever fixes the token wants them all at once.
       */
      alsoFailing?: readonly { reason: JwtFailureReason; detail: string }[];
    };

/** What the evaluator needs to read from a request. */
export interface JwtRequest {
  headers: { get(name: string): string | null };
  url: URL;
}
