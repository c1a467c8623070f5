import { PolicyError } from "../core/errors.js";
import type { ApimPolicy, IssuerSigningKey, RequiredClaim, TokenSource, ValidateJwtPolicy } from "./types.js";
import { parseXmlRoot, type XmlElement } from "./xml.js";

export interface ParsePolicyOptions {
  /**
   * APIM named values, substituted for `{{name}}` in attributes and text. A `{{name}}` without an
   * entry here is refused: guessing its value would validate against a policy that is not the real one.
   */
  namedValues?: Readonly<Record<string, string>>;
}

const VALIDATE_JWT = "validate-jwt";

const VALIDATE_JWT_ATTRIBUTES = new Set([
  "header-name",
  "query-parameter-name",
  "token-value",
  "failed-validation-httpcode",
  "failed-validation-error-message",
  "require-expiration-time",
  "require-scheme",
  "require-signed-tokens",
  "clock-skew",
  "output-token-variable-name",
]);

/**
 * Inbound policies that also authenticate the caller. Ignoring one would make the emulated gateway
 * (or the preflight) think an API is open when Azure would refuse, so they are refused instead.
 */
const UNSUPPORTED_AUTH_POLICIES = new Set(["validate-azure-ad-token", "check-header", "authentication-certificate"]);

/**
 * Parses a whole `<policies>` document or a bare `<validate-jwt>` element. Only `<inbound>` is read;
 * every other section and every other inbound policy (`base`, `set-backend-service`, `cors`, ...)
 * is tolerated and ignored.
 */
export function parsePolicy(xml: string, options: ParsePolicyOptions = {}): ApimPolicy {
  const root = substituteNamedValues(parseXmlRoot(xml), options.namedValues ?? {}, "");
  if (root.name === VALIDATE_JWT) return { validateJwt: parseValidateJwt(root) };
  if (root.name !== "policies") {
    throw new PolicyError(root.name, "expected <policies> or <validate-jwt> as the root element");
  }
  const inbounds = root.children.filter((child) => child.name === "inbound");
  if (inbounds.length > 1) throw new PolicyError("policies/inbound", "appears more than once");
  const inbound = inbounds[0];
  if (inbound === undefined) return {};
  for (const child of inbound.children) {
    if (UNSUPPORTED_AUTH_POLICIES.has(child.name)) {
      throw new PolicyError(`inbound/${child.name}`, "this policy is not supported; only validate-jwt is evaluated");
    }
  }
  const jwtPolicies = inbound.children.filter((child) => child.name === VALIDATE_JWT);
  if (jwtPolicies.length > 1) {
    throw new PolicyError(`inbound/${VALIDATE_JWT}`, "more than one validate-jwt is not supported");
  }
  const jwt = jwtPolicies[0];
  return jwt === undefined ? {} : { validateJwt: parseValidateJwt(jwt) };
}

/** Parses one `<validate-jwt>` element. */
export function parseValidateJwt(element: XmlElement): ValidateJwtPolicy {
  const at = (attribute: string) => `${VALIDATE_JWT}/@${attribute}`;
  checkAttributes(element, VALIDATE_JWT, VALIDATE_JWT_ATTRIBUTES);
  const a = element.attributes;

  const policy: ValidateJwtPolicy = {
    tokenSource: parseTokenSource(element),
    failedValidationHttpCode: parseInteger(a["failed-validation-httpcode"], at("failed-validation-httpcode"), 401, 100, 599),
    requireExpirationTime: parseBoolean(a["require-expiration-time"], at("require-expiration-time"), true),
    requireSignedTokens: parseBoolean(a["require-signed-tokens"], at("require-signed-tokens"), true),
    clockSkewSeconds: parseInteger(a["clock-skew"], at("clock-skew"), 0, 0, 86_400),
    openIdConfigUrls: [],
    issuerSigningKeys: [],
    requiredClaims: [],
  };
  const scheme = nonEmpty(a["require-scheme"], at("require-scheme"));
  if (scheme !== undefined) policy.requireScheme = scheme;
  const message = a["failed-validation-error-message"];
  if (message !== undefined) policy.failedValidationErrorMessage = message;
  const output = nonEmpty(a["output-token-variable-name"], at("output-token-variable-name"));
  if (output !== undefined) policy.outputTokenVariableName = output;

  const seen = new Set<string>();
  const openIdConfigUrls: string[] = [];
  for (const child of element.children) {
    const path = `${VALIDATE_JWT}/${child.name}`;
    if (child.name !== "openid-config") {
      if (seen.has(child.name)) throw new PolicyError(path, "appears more than once");
      seen.add(child.name);
    }
    switch (child.name) {
      case "openid-config":
        openIdConfigUrls.push(parseOpenIdConfig(child, path));
        break;
      case "issuer-signing-keys":
        policy.issuerSigningKeys = parseSigningKeys(child, path);
        break;
      case "audiences":
        policy.audiences = parseStringList(child, path, "audience");
        break;
      case "issuers":
        policy.issuers = parseStringList(child, path, "issuer");
        break;
      case "required-claims":
        policy.requiredClaims = parseRequiredClaims(child, path);
        break;
      case "decryption-keys":
        throw new PolicyError(path, "encrypted tokens (JWE) are not supported");
      default:
        throw new PolicyError(path, "unknown element");
    }
  }
  policy.openIdConfigUrls = openIdConfigUrls;
  return policy;
}

function parseTokenSource(element: XmlElement): TokenSource {
  const a = element.attributes;
  const given = (["header-name", "query-parameter-name", "token-value"] as const).filter((name) => a[name] !== undefined);
  if (given.length !== 1) {
    throw new PolicyError(
      given.length === 0 ? VALIDATE_JWT : `${VALIDATE_JWT}/@${given[1]}`,
      given.length === 0
        ? "one of header-name, query-parameter-name or token-value is required"
        : `only one of header-name, query-parameter-name or token-value may be set (found ${given.join(", ")})`,
    );
  }
  const which = given[0]!;
  const value = nonEmpty(a[which], `${VALIDATE_JWT}/@${which}`)!;
  if (which === "header-name") return { kind: "header", name: value };
  if (which === "query-parameter-name") return { kind: "query", name: value };
  return { kind: "value", value };
}

function parseOpenIdConfig(element: XmlElement, path: string): string {
  checkAttributes(element, path, new Set(["url"]));
  checkNoChildren(element, path);
  const url = nonEmpty(element.attributes.url, `${path}/@url`);
  if (url === undefined) throw new PolicyError(`${path}/@url`, "is required");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new PolicyError(`${path}/@url`, "is not an absolute URL", { cause });
  }
  if (parsed.protocol !== "https:") throw new PolicyError(`${path}/@url`, "must be an https URL");
  return url;
}

function parseSigningKeys(element: XmlElement, path: string): IssuerSigningKey[] {
  checkAttributes(element, path, new Set());
  const keys: IssuerSigningKey[] = [];
  for (const child of element.children) {
    const keyPath = `${path}/${child.name}`;
    if (child.name !== "key") throw new PolicyError(keyPath, "unknown element");
    checkAttributes(child, keyPath, new Set(["id", "certificate-id", "n", "e"]));
    checkNoChildren(child, keyPath);
    const { id, n, e } = child.attributes;
    if (child.attributes["certificate-id"] !== undefined) {
      throw new PolicyError(
        `${keyPath}/@certificate-id`,
        "certificates uploaded to API Management cannot be resolved here; give the key as n and e",
      );
    }
    const base = id === undefined ? {} : { id };
    if (n !== undefined || e !== undefined) {
      if (n === undefined || e === undefined) throw new PolicyError(`${keyPath}/@${n === undefined ? "n" : "e"}`, "n and e must be given together");
      if (child.text !== "") throw new PolicyError(keyPath, "give either n and e or a base64 key, not both");
      if (!isBase64Url(n) || !isBase64Url(e)) throw new PolicyError(keyPath, "n and e must be base64url");
      keys.push({ kind: "rsa", ...base, n, e });
    } else {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(child.text)) throw new PolicyError(keyPath, "expected a base64 symmetric key");
      keys.push({ kind: "symmetric", ...base, secret: new Uint8Array(Buffer.from(child.text, "base64")) });
    }
  }
  if (keys.length === 0) throw new PolicyError(path, "at least one key is required");
  return keys;
}

function parseStringList(element: XmlElement, path: string, itemName: string): string[] {
  checkAttributes(element, path, new Set());
  const values: string[] = [];
  for (const child of element.children) {
    const itemPath = `${path}/${child.name}`;
    if (child.name !== itemName) throw new PolicyError(itemPath, "unknown element");
    checkAttributes(child, itemPath, new Set());
    checkNoChildren(child, itemPath);
    if (child.text === "") throw new PolicyError(itemPath, "is empty");
    values.push(checkLiteral(child.text, itemPath));
  }
  // FACTS.md §3: "audiences/audience (at least one when present)".
  if (values.length === 0) throw new PolicyError(path, `at least one <${itemName}> is required`);
  return values;
}

function parseRequiredClaims(element: XmlElement, path: string): RequiredClaim[] {
  checkAttributes(element, path, new Set());
  const claims: RequiredClaim[] = [];
  for (const child of element.children) {
    const claimPath = `${path}/${child.name}`;
    if (child.name !== "claim") throw new PolicyError(claimPath, "unknown element");
    checkAttributes(child, claimPath, new Set(["name", "match", "separator"]));
    const name = nonEmpty(child.attributes.name, `${claimPath}/@name`);
    if (name === undefined) throw new PolicyError(`${claimPath}/@name`, "is required");
    const named = `${path}/claim[@name=${name}]`;
    const match = child.attributes.match ?? "all";
    if (match !== "all" && match !== "any") throw new PolicyError(`${named}/@match`, `must be "all" or "any", got "${match}"`);
    const values: string[] = [];
    for (const valueElement of child.children) {
      const valuePath = `${named}/${valueElement.name}`;
      if (valueElement.name !== "value") throw new PolicyError(valuePath, "unknown element");
      checkAttributes(valueElement, valuePath, new Set());
      checkNoChildren(valueElement, valuePath);
      values.push(checkLiteral(valueElement.text, valuePath));
    }
    const claim: RequiredClaim = { name, match, values };
    const separator = child.attributes.separator;
    if (separator !== undefined) {
      if (separator === "") throw new PolicyError(`${named}/@separator`, "is empty");
      claim.separator = separator;
    }
    claims.push(claim);
  }
  return claims;
}

function checkAttributes(element: XmlElement, path: string, allowed: ReadonlySet<string>): void {
  for (const [name, value] of Object.entries(element.attributes)) {
    if (!allowed.has(name)) throw new PolicyError(`${path}/@${name}`, "unknown attribute");
    checkLiteral(value, `${path}/@${name}`);
  }
}

function checkNoChildren(element: XmlElement, path: string): void {
  const first = element.children[0];
  if (first !== undefined) throw new PolicyError(`${path}/${first.name}`, "unknown element");
}

/** Policy expressions need APIM's C# runtime; evaluating them wrongly would be worse than refusing. */
function checkLiteral(value: string, path: string): string {
  if (/^@[({]/.test(value.trim())) throw new PolicyError(path, "policy expressions are not supported; use a literal value");
  return value;
}

function nonEmpty(value: string | undefined, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") throw new PolicyError(path, "is empty");
  return value.trim();
}

function parseInteger(value: string | undefined, path: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) throw new PolicyError(path, `expected a whole number, got "${value}"`);
  const parsed = Number(value.trim());
  if (parsed < min || parsed > max) throw new PolicyError(path, `expected a number from ${min} to ${max}, got ${parsed}`);
  return parsed;
}

function parseBoolean(value: string | undefined, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const lowered = value.trim().toLowerCase();
  if (lowered === "true") return true;
  if (lowered === "false") return false;
  throw new PolicyError(path, `expected "true" or "false", got "${value}"`);
}

function isBase64Url(value: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(value);
}

const NAMED_VALUE = /\{\{([^{}]+)\}\}/g;

function substituteNamedValues(element: XmlElement, namedValues: Readonly<Record<string, string>>, path: string): XmlElement {
  const here = path === "" ? element.name : `${path}/${element.name}`;
  const substitute = (value: string, at: string) =>
    value.replace(NAMED_VALUE, (_whole, rawName: string) => {
      const name = rawName.trim();
      const found = Object.hasOwn(namedValues, name) ? namedValues[name] : undefined;
      if (found === undefined) throw new PolicyError(at, `named value {{${name}}} is not defined`);
      return found;
    });
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(element.attributes)) attributes[name] = substitute(value, `${here}/@${name}`);
  return {
    name: element.name,
    attributes,
    text: substitute(element.text, here),
    children: element.children.map((child) => substituteNamedValues(child, namedValues, here)),
  };
}
