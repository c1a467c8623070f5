/**
 * Entra issuer and metadata URL shapes (FACTS.md §1): v1 tokens carry `https://sts.windows.net/{tid}/`,
 * v2 tokens `https://login.microsoftonline.com/{tid}/v2.0`; the v1 metadata document is
 * `/{tid}/.well-known/openid-configuration`, the v2 one `/{tid}/v2.0/.well-known/openid-configuration`.
 * Recognising them is what turns "issuer mismatch" into "v1 token, v2 policy: set accessTokenAcceptedVersion".
 */
export type TokenVersion = 1 | 2;

export interface IssuerShape {
  version: TokenVersion;
  tenant: string;
}

const V1_ISSUER = /^https:\/\/sts\.windows\.net\/([^/]+)\/$/i;
const V2_ISSUER = /^https:\/\/login\.microsoftonline\.com\/([^/]+)\/v2\.0\/?$/i;

/** The version and tenant an Entra issuer names, or undefined for any other issuer. */
export function issuerShape(issuer: string): IssuerShape | undefined {
  const v1 = V1_ISSUER.exec(issuer);
  if (v1) return { version: 1, tenant: v1[1]! };
  const v2 = V2_ISSUER.exec(issuer);
  if (v2) return { version: 2, tenant: v2[1]! };
  return undefined;
}

export function issuerFor(version: TokenVersion, tenant: string): string {
  return version === 1 ? `https://sts.windows.net/${tenant}/` : `https://login.microsoftonline.com/${tenant}/v2.0`;
}

/**
 * The version and tenant of an Entra openid-config URL (any authority host: the sandbox rewrites
 * login.microsoftonline.com, sovereign clouds use others), or undefined when it is not one.
 */
export function openIdConfigShape(url: string): IssuerShape | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const match = /^\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/i.exec(parsed.pathname);
  if (!match) return undefined;
  return { version: match[2] ? 2 : 1, tenant: match[1]! };
}

/** `ver` claim ("1.0"/"2.0") as a version, falling back to the issuer's shape. */
export function tokenVersionOf(token: { ver?: string; iss?: string }): TokenVersion | undefined {
  if (token.ver === "1.0") return 1;
  if (token.ver === "2.0") return 2;
  return token.iss ? issuerShape(token.iss)?.version : undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}
