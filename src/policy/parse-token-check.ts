// What both token-check elements (validate-jwt, validate-azure-ad-token) share: where the token is
// read from, audiences, required claims, string lists, and the notes on unknown attributes.
import { PolicyError } from "./errors.js";
import type { Notes } from "./parse-notes.js";
import { clip, nonEmpty } from "./parse-values.js";
import type { CheckInput, RequiredClaim, TokenSource, ValidateJwtPolicy } from "./types.js";
import { isExpression, type XmlElement } from "./xml.js";

const NO_ATTRIBUTES: ReadonlySet<string> = new Set();
const CLAIM_ATTRIBUTES: ReadonlySet<string> = new Set(["name", "match", "separator"]);

/** The children both token checks have: audiences, required claims, decryption keys; anything else is noted. */
export function readCommonChild(policy: ValidateJwtPolicy, child: XmlElement, path: string, notes: Notes): void {
  switch (child.name) {
    case "audiences":
      policy.audiences = [...(policy.audiences ?? []), ...parseStringList(child, path, "audience", notes, "audiences")];
      break;
    case "required-claims":
      policy.requiredClaims = [...policy.requiredClaims, ...parseRequiredClaims(child, path, notes)];
      break;
    case "decryption-keys":
      notes.add(path, "encrypted tokens (JWE) cannot be decrypted offline; signed tokens are checked as usual");
      break;
    default:
      notes.add(path, "unknown element, ignored");
  }
}

/** A list whose every item was an expression is unknown, not empty: no check rather than "nothing passes". */
export function dropEmptyLists(policy: ValidateJwtPolicy, notes: Notes): void {
  if (policy.audiences?.length === 0) {
    delete policy.audiences;
    notes.add(`${policy.element}/audiences`, "no literal audience: the audience is not checked here");
  }
  if (policy.issuers?.length === 0) {
    delete policy.issuers;
    notes.add(`${policy.element}/issuers`, "no literal issuer: the openid-config issuers stand in");
  }
}

export function parseTokenSource(
  element: XmlElement,
  name: string,
  notes: Notes,
  fallbackHeader: string | undefined,
): TokenSource {
  const a = element.attributes;
  const given = (["header-name", "query-parameter-name", "token-value"] as const).filter((n) => a[n] !== undefined);
  if (given.length === 0 && fallbackHeader !== undefined) return { kind: "header", name: fallbackHeader };
  if (given.length !== 1) {
    throw new PolicyError(
      given.length === 0 ? name : `${name}/@${given[1]}`,
      given.length === 0
        ? "one of header-name, query-parameter-name or token-value is required"
        : `only one of header-name, query-parameter-name or token-value may be set (found ${given.join(", ")})`,
    );
  }
  const which = given[0]!;
  const raw = a[which]!;
  // An expression (token-value usually is one, reading a header or a context variable) is never the
  // token itself: kept as written, evaluated where it reads the request in a known way.
  if (isExpression(raw)) {
    notes.unresolved.push({ input: "token-source", path: `${name}/@${which}`, written: clip(raw), kind: "expression" });
    return { kind: "expression", attribute: which, text: raw.trim() };
  }
  if (which === "token-value") return { kind: "value", value: raw };
  const value = nonEmpty(notes.literal(raw, `${name}/@${which}`, "token-source"), `${name}/@${which}`);
  if (value === undefined) return { kind: "expression", attribute: which, text: raw.trim() };
  return which === "header-name" ? { kind: "header", name: value } : { kind: "query", name: value };
}

export function parseStringList(
  element: XmlElement,
  path: string,
  itemName: string,
  notes: Notes,
  input: CheckInput,
): string[] {
  const values: string[] = [];
  for (const child of element.children) {
    const itemPath = `${path}/${child.name}`;
    if (child.name !== itemName) {
      notes.add(itemPath, "unknown element, ignored");
      continue;
    }
    noteUnknownAttributes(child, itemPath, NO_ATTRIBUTES, notes);
    const value = notes.literal(child.text, itemPath, input);
    if (value !== undefined && value !== "") values.push(value);
  }
  return values;
}

export function parseRequiredClaims(element: XmlElement, path: string, notes: Notes): RequiredClaim[] {
  const claims: RequiredClaim[] = [];
  for (const child of element.children) {
    const claimPath = `${path}/${child.name}`;
    if (child.name !== "claim") {
      notes.add(claimPath, "unknown element, ignored");
      continue;
    }
    noteUnknownAttributes(child, claimPath, CLAIM_ATTRIBUTES, notes);
    const name = notes.literal(child.attributes.name, `${claimPath}/@name`);
    if (child.attributes.name === undefined || child.attributes.name.trim() === "")
      throw new PolicyError(`${claimPath}/@name`, "is required");
    if (name === undefined) continue;
    const named = `${path}/claim[@name=${name}]`;
    const match = notes.literal(child.attributes.match, `${named}/@match`) ?? "all";
    if (match !== "all" && match !== "any")
      throw new PolicyError(`${named}/@match`, `must be "all" or "any", got "${clip(match)}"`);
    const values: string[] = [];
    let unknownValue = false;
    for (const valueElement of child.children) {
      if (valueElement.name !== "value") {
        notes.add(`${named}/${valueElement.name}`, "unknown element, ignored");
        continue;
      }
      const value = notes.literal(valueElement.text, `${named}/value`, "required-claims");
      if (value === undefined) unknownValue = true;
      else values.push(value);
    }
    // A claim with an unknown value cannot be judged: checked for presence only when nothing literal is left.
    if (unknownValue && values.length === 0 && match === "all") continue;
    const claim: RequiredClaim = { name, match, values };
    const separator = child.attributes.separator;
    if (separator !== undefined && separator !== "") claim.separator = separator;
    claims.push(claim);
  }
  return claims;
}

export function noteUnknownAttributes(
  element: XmlElement,
  path: string,
  allowed: ReadonlySet<string>,
  notes: Notes,
): void {
  for (const name of Object.keys(element.attributes))
    if (!allowed.has(name)) notes.add(`${path}/@${name}`, "unknown attribute, ignored");
}
