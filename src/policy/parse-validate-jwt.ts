// Reads one `<validate-jwt>` element: its attributes, openid-config, issuer signing keys and issuers
// (the children it shares with validate-azure-ad-token are read in parse-token-check.ts).
import { PolicyError } from "./errors.js";
import { Notes } from "./parse-notes.js";
import {
  dropEmptyLists,
  noteUnknownAttributes,
  parseStringList,
  parseTokenSource,
  readCommonChild,
} from "./parse-token-check.js";
import { clip, isBase64Url, nonEmpty, parseBoolean, parseClockSkew, parseInteger } from "./parse-values.js";
import type { IssuerSigningKey, ValidateJwtPolicy } from "./types.js";
import type { XmlElement } from "./xml.js";

export const VALIDATE_JWT = "validate-jwt";

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

/** Parses one `<validate-jwt>` element. */
export function parseValidateJwt(element: XmlElement): ValidateJwtPolicy {
  const at = (attribute: string) => `${VALIDATE_JWT}/@${attribute}`;
  const notes = new Notes();
  noteUnknownAttributes(element, VALIDATE_JWT, VALIDATE_JWT_ATTRIBUTES, notes);
  const a = element.attributes;

  const policy: ValidateJwtPolicy = {
    element: VALIDATE_JWT,
    tokenSource: parseTokenSource(element, VALIDATE_JWT, notes, undefined),
    failedValidationHttpCode: parseInteger(
      notes.literal(a["failed-validation-httpcode"], at("failed-validation-httpcode")),
      at("failed-validation-httpcode"),
      401,
      100,
      599,
    ),
    requireExpirationTime: parseBoolean(
      notes.literal(a["require-expiration-time"], at("require-expiration-time")),
      at("require-expiration-time"),
      true,
    ),
    requireSignedTokens: parseBoolean(
      notes.literal(a["require-signed-tokens"], at("require-signed-tokens")),
      at("require-signed-tokens"),
      true,
    ),
    clockSkewSeconds: parseClockSkew(notes.literal(a["clock-skew"], at("clock-skew")), at("clock-skew")),
    openIdConfigUrls: [],
    issuerSigningKeys: [],
    requiredClaims: [],
    notEvaluable: notes.items,
    unresolvedInputs: notes.unresolved,
    line: element.line,
    conditions: [],
  };
  const scheme = nonEmpty(notes.literal(a["require-scheme"], at("require-scheme")), at("require-scheme"));
  if (scheme !== undefined) policy.requireScheme = scheme;
  const message = notes.literal(a["failed-validation-error-message"], at("failed-validation-error-message"));
  if (message !== undefined) policy.failedValidationErrorMessage = message;
  const output = nonEmpty(a["output-token-variable-name"], at("output-token-variable-name"));
  if (output !== undefined) policy.outputTokenVariableName = output;

  const openIdConfigUrls: string[] = [];
  for (const child of element.children) {
    const path = `${VALIDATE_JWT}/${child.name}`;
    switch (child.name) {
      case "openid-config": {
        const url = parseOpenIdConfig(child, path, notes);
        if (url !== undefined) openIdConfigUrls.push(url);
        break;
      }
      case "issuer-signing-keys":
        policy.issuerSigningKeys = [...policy.issuerSigningKeys, ...parseSigningKeys(child, path, notes)];
        break;
      case "issuers":
        policy.issuers = [...(policy.issuers ?? []), ...parseStringList(child, path, "issuer", notes, "issuers")];
        break;
      default:
        readCommonChild(policy, child, path, notes);
    }
  }
  policy.openIdConfigUrls = openIdConfigUrls;
  dropEmptyLists(policy, notes);
  return policy;
}

function parseOpenIdConfig(element: XmlElement, path: string, notes: Notes): string | undefined {
  const raw = element.attributes.url;
  if (raw === undefined || raw.trim() === "") throw new PolicyError(`${path}/@url`, "is required");
  const url = notes.literal(raw.trim(), `${path}/@url`, "openid-config");
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new PolicyError(`${path}/@url`, "is not an absolute URL", { cause });
  }
  if (parsed.protocol !== "https:") throw new PolicyError(`${path}/@url`, "must be an https URL");
  return url;
}

function parseSigningKeys(element: XmlElement, path: string, notes: Notes): IssuerSigningKey[] {
  const keys: IssuerSigningKey[] = [];
  for (const child of element.children) {
    const keyPath = `${path}/${child.name}`;
    if (child.name !== "key") {
      notes.add(keyPath, "unknown element, ignored");
      continue;
    }
    const { id, n, e } = child.attributes;
    const certificateId = child.attributes["certificate-id"];
    if (certificateId !== undefined) {
      notes.add(
        `${keyPath}[@certificate-id=${certificateId}]`,
        "a certificate uploaded to API Management: not resolvable offline",
      );
      notes.unresolved.push({
        input: "signing-keys",
        path: `${keyPath}[@certificate-id=${certificateId}]`,
        written: `certificate-id="${clip(certificateId)}"`,
        kind: "certificate",
      });
      continue;
    }
    const base = id === undefined ? {} : { id };
    if ((n === undefined) !== (e === undefined)) {
      notes.add(`${keyPath}/@${n === undefined ? "n" : "e"}`, "n and e must be given together; key ignored");
      continue;
    }
    if (n !== undefined || e !== undefined) {
      const modulus = notes.literal(n, `${keyPath}/@n`, "signing-keys");
      const exponent = notes.literal(e, `${keyPath}/@e`, "signing-keys");
      if (modulus === undefined || exponent === undefined) continue;
      if (!isBase64Url(modulus) || !isBase64Url(exponent)) throw new PolicyError(keyPath, "n and e must be base64url");
      keys.push({ kind: "rsa", ...base, n: modulus, e: exponent });
    } else {
      const secret = notes.literal(child.text, keyPath, "signing-keys");
      if (secret === undefined) continue;
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret)) throw new PolicyError(keyPath, "expected a base64 symmetric key");
      keys.push({ kind: "symmetric", ...base, secret: new Uint8Array(Buffer.from(secret, "base64")) });
    }
  }
  return keys;
}
