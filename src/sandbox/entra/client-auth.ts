import { createHash, X509Certificate } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { refuse, type Refusal } from "./errors.js";
import { v1Issuer, v2Issuer } from "./issuers.js";
import type { AppRegistration, TenantModel } from "./model.js";
import type { SigningKeyRing } from "./signing-keys.js";

export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export type ClientAuthMethod = "secret" | "certificate" | "federated";

export interface AuthenticatedClient {
  method: ClientAuthMethod;
  /** `appidacr`/`azpacr`: "1" secret, "2" certificate; federated also "2" (unconfirmed in docs/REFERENCE.md §1). */
  acr: "1" | "2";
}

export interface ClientCredentials {
  secret?: string | undefined;
  assertion?: string | undefined;
  assertionType?: string | undefined;
}

/**
 * Skew allowed on assertion times. MSAL rounds its `nbf` to the nearest second (so it can be up to
 * 0.5 s ahead), and Entra, like Microsoft.IdentityModel's default, tolerates 5 minutes (unconfirmed).
 */
const ASSERTION_CLOCK_SKEW_SECONDS = 300;

export interface ClientAuthContext {
  model: TenantModel;
  nowMs: number;
  /** Accepted `aud` of a certificate assertion: this tenant's token endpoints. */
  tokenEndpoints: readonly string[];
  keys: SigningKeyRing;
}

/**
 * Authenticates a confidential client the three ways Entra accepts for client credentials:
 * a secret, a certificate-signed assertion, or a federated assertion (here: a managed-identity token
 * issued by this emulator, docs/REFERENCE.md §6).
 */
export async function authenticateClient(
  app: AppRegistration,
  credentials: ClientCredentials,
  ctx: ClientAuthContext,
): Promise<AuthenticatedClient | Refusal> {
  if (credentials.assertion !== undefined) {
    if (credentials.assertionType !== JWT_BEARER_ASSERTION) {
      return refuse(900144, "The request body must contain the following parameter: 'client_assertion_type'.");
    }
    let iss: unknown;
    try {
      iss = decodeJwt(credentials.assertion).iss;
    } catch {
      return refuse(
        700027,
        "Client assertion failed signature validation. Reason - The assertion is not a well-formed JWT.",
      );
    }
    // A certificate assertion is issued by the client itself; anything else claims to be federated.
    return iss === app.clientId
      ? verifyCertificateAssertion(app, credentials.assertion, ctx)
      : verifyFederatedAssertion(app, credentials.assertion, ctx);
  }
  if (credentials.secret !== undefined) return verifySecret(app, credentials.secret, ctx.nowMs);
  return refuse(
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
}

function verifySecret(app: AppRegistration, secret: string, nowMs: number): AuthenticatedClient | Refusal {
  const match = app.secrets.find((s) => s.value === secret);
  if (match === undefined) {
    return refuse(
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
    );
  }
  if (Date.parse(match.expiresAt) <= nowMs) {
    return refuse(
      7000222,
      `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app, or consider using certificate credentials for added security.`,
    );
  }
  return { method: "secret", acr: "1" };
}

function thumbprint(cert: X509Certificate, algorithm: "sha1" | "sha256"): string {
  return createHash(algorithm).update(cert.raw).digest("base64url");
}

async function verifyCertificateAssertion(
  app: AppRegistration,
  assertion: string,
  ctx: ClientAuthContext,
): Promise<AuthenticatedClient | Refusal> {
  const header = decodeProtectedHeader(assertion);
  const certs = app.certificates.map((c) => new X509Certificate(c.certPem));
  // MSAL sends x5t#S256 with a SHA-256 thumbprint, x5t with a SHA-1 one (docs/REFERENCE.md §6).
  const cert = certs.find(
    (c) =>
      (header["x5t#S256"] !== undefined && header["x5t#S256"] === thumbprint(c, "sha256")) ||
      (header.x5t !== undefined && header.x5t === thumbprint(c, "sha1")),
  );
  if (cert === undefined) {
    const sent = header["x5t#S256"] ?? header.x5t;
    return refuse(
      700027,
      `Client assertion failed signature validation. Reason - The key was not found. Thumbprint of key used by client: '${typeof sent === "string" ? sent : ""}'.`,
    );
  }
  try {
    await jwtVerify(assertion, cert.publicKey, {
      algorithms: ["RS256", "PS256"],
      audience: [...ctx.tokenEndpoints],
      issuer: app.clientId,
      subject: app.clientId,
      currentDate: new Date(ctx.nowMs),
      clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "nbf"],
    });
  } catch (error) {
    return assertionRefusal(error);
  }
  return { method: "certificate", acr: "2" };
}

async function verifyFederatedAssertion(
  app: AppRegistration,
  assertion: string,
  ctx: ClientAuthContext,
): Promise<AuthenticatedClient | Refusal> {
  const claims = decodeJwt(assertion);
  const iss = typeof claims.iss === "string" ? claims.iss : "";
  const candidates = app.federatedCredentials.filter((f) => f.issuer === iss);
  if (candidates.length === 0) {
    return refuse(700211, `No matching federated identity record found for presented assertion issuer '${iss}'.`);
  }
  // The emulator can only check signatures of tokens it issued itself (its managed-identity tokens);
  // an external issuer's keys would have to be fetched from the internet.
  const tenantId = ctx.model.tenantId;
  if (iss !== v2Issuer(tenantId, ctx.model.cloud) && iss !== v1Issuer(tenantId, ctx.model.cloud)) {
    return refuse(
      700027,
      `Client assertion failed signature validation. Reason - The sandbox cannot fetch the keys of issuer '${iss}'.`,
    );
  }
  let verified: { sub?: string | undefined; aud?: string | string[] | undefined };
  try {
    const active = await ctx.keys.active();
    const getKey: JWTVerifyGetKey = (protectedHeader) => {
      const key = active.find((k) => k.kid === protectedHeader.kid);
      if (key === undefined) throw new joseErrors.JWKSNoMatchingKey();
      return key.publicKey;
    };
    ({ payload: verified } = await jwtVerify(assertion, getKey, {
      algorithms: ["RS256"],
      issuer: iss,
      currentDate: new Date(ctx.nowMs),
      clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
      requiredClaims: ["exp", "sub", "aud"],
    }));
  } catch (error) {
    return assertionRefusal(error);
  }
  const audiences = typeof verified.aud === "string" ? [verified.aud] : (verified.aud ?? []);
  const match = candidates.find((f) => f.subject === verified.sub && f.audiences.some((a) => audiences.includes(a)));
  if (match === undefined) {
    return refuse(
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${verified.sub ?? ""}'. Assertion Audience: '${audiences.join(",")}'.`,
    );
  }
  return { method: "federated", acr: "2" };
}

/**
 * jose's verdict in Entra's words. Outside the time range: 700024 (docs/REFERENCE.md §2). Issuer or subject not the
 * client: 700021. Anything else (signature, key, audience, malformed): 700027, a sandbox choice.
 */
function assertionRefusal(error: unknown): Refusal {
  if (error instanceof joseErrors.JWTExpired) {
    return refuse(700024, "Client assertion is not within its valid time range.");
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "nbf" || error.claim === "iat" || error.claim === "exp") {
      return refuse(700024, "Client assertion is not within its valid time range.");
    }
    if (error.claim === "iss" || error.claim === "sub") {
      return refuse(700021, "Client assertion application identifier doesn't match 'client_id' parameter.");
    }
    return refuse(
      700027,
      `Client assertion failed signature validation. Reason - The '${error.claim}' claim is not valid.`,
    );
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return refuse(700027, "Client assertion failed signature validation. Reason - The key was not found.");
  }
  return refuse(
    700027,
    "Client assertion failed signature validation. Reason - The provided signature value did not match the expected signature value.",
  );
}
