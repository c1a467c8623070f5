import { CLOUDS } from "../entra/clouds.js";
import { PolicyError } from "./errors.js";
import type {
  AccessRestriction,
  ApimPolicy,
  CheckInput,
  ChooseBranch,
  InboundStep,
  IssuerSigningKey,
  RequiredClaim,
  TokenSource,
  UnresolvedInput,
  ValidateJwtPolicy,
} from "./types.js";
import { isExpression, parseXmlRoot, type XmlElement } from "./xml.js";

export interface ParsePolicyOptions {
  /** APIM named values, substituted for `{{name}}` in attributes and text. */
  namedValues?: Readonly<Record<string, string>>;
  /**
   * Refuse a `{{name}}` without a value (the sandbox gateway: it must enforce exactly what it was
   * given). By default it stays unresolved and is reported, as APIM's own secret named values are.
   */
  requireNamedValues?: boolean;
}

const VALIDATE_JWT = "validate-jwt";
const VALIDATE_AAD = "validate-azure-ad-token";

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

const VALIDATE_AAD_ATTRIBUTES = new Set([
  "tenant-id",
  "header-name",
  "query-parameter-name",
  "token-value",
  "authentication-endpoint",
  "failed-validation-httpcode",
  "failed-validation-error-message",
  "output-token-variable-name",
]);

const NO_ATTRIBUTES: ReadonlySet<string> = new Set();
const CLAIM_ATTRIBUTES: ReadonlySet<string> = new Set(["name", "match", "separator"]);

const RESTRICTIONS = new Set<AccessRestriction["name"]>([
  "ip-filter",
  "rate-limit",
  "rate-limit-by-key",
  "quota",
  "quota-by-key",
  "check-header",
]);

/**
 * Parses a policy document as APIM keeps it: `<policies>`, a `<fragment>`, or a bare
 * `<validate-jwt>` / `<validate-azure-ad-token>`. Reads the inbound section (all of a fragment):
 * every token check, inside `<choose>` branches too (with their conditions), the access
 * restrictions, `<base />` and `<include-fragment>`. Other policies are tolerated. Policy
 * expressions and named values without a value are kept and reported, never refused: only a
 * document that is not a policy document at all is a PolicyError.
 */
export function parsePolicy(xml: string, options: ParsePolicyOptions = {}): ApimPolicy {
  const unresolved = new Set<string>();
  const root = substituteNamedValues(
    parseXmlRoot(xml),
    options.namedValues ?? {},
    "",
    unresolved,
    options.requireNamedValues === true,
  );
  return { ...policyFromRoot(root, unresolved), expressionCount: (xml.match(/@[({]/g) ?? []).length };
}

/** The policy of a parsed (or composed) root element whose named values were already substituted. */
export function policyFromRoot(root: XmlElement, unresolved: ReadonlySet<string>): ApimPolicy {
  const reader = new InboundReader();
  let inbound: InboundStep[] = [];
  if (root.name === VALIDATE_JWT || root.name === VALIDATE_AAD) inbound = reader.read([root], []);
  else if (root.name === "fragment") inbound = reader.read(root.children, []);
  else if (root.name === "policies") {
    const inbounds = root.children.filter((child) => child.name === "inbound");
    if (inbounds.length > 1) throw new PolicyError("policies/inbound", "appears more than once");
    if (inbounds[0]) inbound = reader.read(inbounds[0].children, []);
  } else {
    throw new PolicyError(
      root.name,
      "expected <policies>, <fragment>, <validate-jwt> or <validate-azure-ad-token> as the root element",
    );
  }
  const checks = reader.checks;
  const first = checks.find((c) => c.conditions.length === 0) ?? checks[0];
  return {
    ...(first ? { validateJwt: first } : {}),
    tokenChecks: checks,
    accessRestrictions: reader.restrictions,
    root: root.name,
    inheritsInbound: reader.inherits,
    mayBeGlobal:
      root.name === "policies" && !root.children.some((section) => section.children.some((c) => c.name === "base")),
    includedFragments: reader.fragments,
    unresolvedNamedValues: [...unresolved],
    expressionCount: 0,
    inbound,
    // A claim read into a variable counts where a branch refuses on it: the policy checks the caller there.
    claimsCheckedInConditions: [
      ...new Set([...reader.conditionClaims, ...(reader.refuses ? reader.expressionClaims : [])]),
    ],
    droppedInheritance: [],
  };
}

/** `Claims["azp"]`, `Claims.GetValueOrDefault("groups", ...)`, `Claims.ContainsKey("roles")`: claim names a condition reads. */
const CLAIM_READ = /Claims(?:\[\s*"([^"]+)"\s*\]|\.(?:GetValueOrDefault|ContainsKey|TryGetValue)\(\s*"([^"]+)")/g;

/** Walks inbound policies, descending into `<choose>`, collecting what the probe needs. */
class InboundReader {
  readonly checks: ValidateJwtPolicy[] = [];
  readonly restrictions: AccessRestriction[] = [];
  readonly fragments: string[] = [];
  readonly conditionClaims = new Set<string>();
  /** Claims read by other policies' expressions (`<set-variable value="@(...Claims...)">`). */
  readonly expressionClaims = new Set<string>();
  /** Some `<choose>` branch answers 401 or 403 itself. */
  refuses = false;
  inherits = false;

  /** Collects what the probe needs from `elements` and returns them as the gateway runs them. */
  read(elements: readonly XmlElement[], conditions: readonly string[]): InboundStep[] {
    const steps: InboundStep[] = [];
    for (const element of elements) {
      switch (element.name) {
        case VALIDATE_JWT:
        case VALIDATE_AAD: {
          const parsed = element.name === VALIDATE_JWT ? parseValidateJwt(element) : parseValidateAzureAdToken(element);
          const check: ValidateJwtPolicy = {
            ...parsed,
            conditions,
            ...(element.origin ? { source: element.origin } : {}),
          };
          this.checks.push(check);
          steps.push({ kind: "token-check", check });
          break;
        }
        case "return-response": {
          const code = element.children.find((c) => c.name === "set-status")?.attributes.code;
          steps.push({
            kind: "return-response",
            status:
              code !== undefined && /^\d{3}$/.test(code.trim())
                ? Number(code.trim())
                : code === undefined
                  ? 200
                  : undefined,
            line: element.line,
          });
          break;
        }
        case "base":
          if (conditions.length === 0) this.inherits = true;
          break;
        case "include-fragment": {
          const id = element.attributes["fragment-id"];
          if (id) this.fragments.push(id);
          break;
        }
        case "choose":
          steps.push(this.readChoose(element, conditions));
          break;
        default:
          this.readClaims(element);
          if (RESTRICTIONS.has(element.name as AccessRestriction["name"])) {
            const r: AccessRestriction = {
              ...restriction(element, conditions),
              ...(element.origin ? { source: element.origin } : {}),
            };
            this.restrictions.push(r);
            steps.push({ kind: "restriction", restriction: r });
          }
      }
    }
    return steps;
  }

  private readClaims(element: XmlElement): void {
    for (const text of [...Object.values(element.attributes), element.text])
      for (const match of text.matchAll(CLAIM_READ)) this.expressionClaims.add(match[1] ?? match[2]!);
    for (const child of element.children) this.readClaims(child);
  }

  /** `<when condition>` branches in order, then `<otherwise>`: exactly one runs, the first whose condition holds. */
  private readChoose(choose: XmlElement, conditions: readonly string[]): InboundStep {
    const earlier: string[] = [];
    const branches: ChooseBranch[] = [];
    for (const branch of choose.children) {
      if (branch.name === "when") {
        const condition = branch.attributes.condition ?? "(no condition)";
        for (const match of condition.matchAll(CLAIM_READ)) this.conditionClaims.add(match[1] ?? match[2]!);
        const steps = this.read(branch.children, [...conditions, ...earlier.map((c) => `not ${c}`), condition]);
        if (steps.some((s) => s.kind === "return-response" && (s.status === 401 || s.status === 403)))
          this.refuses = true;
        branches.push({ condition, line: branch.line, steps });
        earlier.push(condition);
      } else if (branch.name === "otherwise") {
        branches.push({
          line: branch.line,
          steps: this.read(branch.children, [
            ...conditions,
            ...(earlier.length > 0 ? earlier.map((c) => `not ${c}`) : ["otherwise"]),
          ]),
        });
      }
    }
    return { kind: "choose", line: choose.line, branches, ...(choose.origin ? { source: choose.origin } : {}) };
  }
}

function restriction(element: XmlElement, conditions: readonly string[]): AccessRestriction {
  const base: AccessRestriction = {
    name: element.name as AccessRestriction["name"],
    attributes: element.attributes,
    line: element.line,
    conditions,
  };
  if (element.name !== "ip-filter") return base;
  const addresses = element.children.flatMap((c) =>
    c.name === "address"
      ? [c.text]
      : c.name === "address-range"
        ? [`${c.attributes.from ?? "?"}-${c.attributes.to ?? "?"}`]
        : [],
  );
  return { ...base, addresses };
}

/** What a check element's reading collects besides the model: what it could not judge. */
class Notes {
  readonly items: string[] = [];
  readonly unresolved: UnresolvedInput[] = [];
  add(path: string, why: string): void {
    this.items.push(`${path}: ${why}`);
  }
  /**
   * The value, or undefined (noted) when it is an expression or an unresolved named value. With
   * `input`, the rules that need that input learn it is there but out of sight.
   */
  literal(value: string | undefined, path: string, input?: CheckInput): string | undefined {
    if (value === undefined) return undefined;
    if (isExpression(value)) {
      this.add(path, `policy expression ${clip(value)} is not evaluable offline`);
      if (input) this.unresolved.push({ input, path, written: clip(value), kind: "expression" });
      return undefined;
    }
    const named = /\{\{[^{}]+\}\}/.exec(value);
    if (named) {
      this.add(path, `named value ${named[0]} has no value here (a secret or Key Vault named value, or not given)`);
      if (input) this.unresolved.push({ input, path, written: clip(value), kind: "named value" });
      return undefined;
    }
    return value;
  }
}

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

/**
 * Parses `<validate-azure-ad-token>` into the checks it makes ([A] validate-azure-ad-token-policy.md):
 * the token from `Authorization: Bearer` (or the given header, query parameter or value), issued for
 * `tenant-id` by the Entra of `authentication-endpoint` (default the public cloud), signed with the
 * tenant's keys (its v1 and v2 metadata), not expired, its caller one of `client-application-ids`,
 * its audience one of `audiences` or `backend-application-ids` when given, and `required-claims`.
 */
export function parseValidateAzureAdToken(element: XmlElement): ValidateJwtPolicy {
  const at = (attribute: string) => `${VALIDATE_AAD}/@${attribute}`;
  const notes = new Notes();
  noteUnknownAttributes(element, VALIDATE_AAD, VALIDATE_AAD_ATTRIBUTES, notes);
  const a = element.attributes;
  if (a["tenant-id"] === undefined) throw new PolicyError(at("tenant-id"), "is required");
  const tenant = tenantName(notes.literal(a["tenant-id"], at("tenant-id"), "tenant-id"));
  const endpoint = authenticationHost(
    notes.literal(a["authentication-endpoint"], at("authentication-endpoint")),
    at("authentication-endpoint"),
  );
  const policy: ValidateJwtPolicy = {
    element: VALIDATE_AAD,
    tokenSource: parseTokenSource(element, VALIDATE_AAD, notes, "Authorization"),
    failedValidationHttpCode: parseInteger(
      notes.literal(a["failed-validation-httpcode"], at("failed-validation-httpcode")),
      at("failed-validation-httpcode"),
      401,
      100,
      599,
    ),
    requireExpirationTime: true,
    requireSignedTokens: true,
    clockSkewSeconds: 0,
    openIdConfigUrls:
      tenant === undefined
        ? []
        : [
            `https://${endpoint}/${tenant}/v2.0/.well-known/openid-configuration`,
            `https://${endpoint}/${tenant}/.well-known/openid-configuration`,
          ],
    issuerSigningKeys: [],
    requiredClaims: [],
    notEvaluable: notes.items,
    unresolvedInputs: notes.unresolved,
    line: element.line,
    conditions: [],
  };
  // The Authorization header carries "Bearer <token>"; a custom header carries the bare token ([A]).
  if (policy.tokenSource.kind === "header" && policy.tokenSource.name.toLowerCase() === "authorization")
    policy.requireScheme = "Bearer";
  const message = notes.literal(a["failed-validation-error-message"], at("failed-validation-error-message"));
  if (message !== undefined) policy.failedValidationErrorMessage = message;
  const output = nonEmpty(a["output-token-variable-name"], at("output-token-variable-name"));
  if (output !== undefined) policy.outputTokenVariableName = output;

  let clientIds: string[] | undefined;
  const backendIds: string[] = [];
  for (const child of element.children) {
    const path = `${VALIDATE_AAD}/${child.name}`;
    switch (child.name) {
      case "client-application-ids":
        clientIds = [
          ...(clientIds ?? []),
          ...parseStringList(child, path, "application-id", notes, "client-application-ids"),
        ];
        break;
      case "backend-application-ids":
        backendIds.push(...parseStringList(child, path, "application-id", notes, "audiences"));
        break;
      default:
        readCommonChild(policy, child, path, notes);
    }
  }
  if (clientIds === undefined)
    notes.add(
      `${VALIDATE_AAD}/client-application-ids`,
      "is documented as required and missing: this check does not restrict the calling application",
    );
  else if (clientIds.length > 0) policy.clientApplicationIds = clientIds;
  if (backendIds.length > 0) policy.audiences = [...(policy.audiences ?? []), ...backendIds];
  dropEmptyLists(policy, notes);
  return policy;
}

/** The children both token checks have: audiences, required claims, decryption keys; anything else is noted. */
function readCommonChild(policy: ValidateJwtPolicy, child: XmlElement, path: string, notes: Notes): void {
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

/** `tenant-id` may be a GUID, a domain, or a URL naming the domain ([A]). */
function tenantName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  try {
    return trimmed.includes("://") ? new URL(trimmed).hostname : trimmed;
  } catch {
    return trimmed;
  }
}

/** `authentication-endpoint` (a national cloud's Entra) as a host; default the public cloud's. */
function authenticationHost(value: string | undefined, path: string): string {
  if (value === undefined) return CLOUDS.public.authorityHost;
  try {
    const url = new URL(value.includes("://") ? value : `https://${value}`);
    if (url.protocol !== "https:") throw new PolicyError(path, "must be an https URL");
    return url.host;
  } catch (cause) {
    if (cause instanceof PolicyError) throw cause;
    throw new PolicyError(path, "is not a URL", { cause });
  }
}

/** A list whose every item was an expression is unknown, not empty: no check rather than "nothing passes". */
function dropEmptyLists(policy: ValidateJwtPolicy, notes: Notes): void {
  if (policy.audiences?.length === 0) {
    delete policy.audiences;
    notes.add(`${policy.element}/audiences`, "no literal audience: the audience is not checked here");
  }
  if (policy.issuers?.length === 0) {
    delete policy.issuers;
    notes.add(`${policy.element}/issuers`, "no literal issuer: the openid-config issuers stand in");
  }
}

function parseTokenSource(
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

function parseStringList(
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

function parseRequiredClaims(element: XmlElement, path: string, notes: Notes): RequiredClaim[] {
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

function noteUnknownAttributes(element: XmlElement, path: string, allowed: ReadonlySet<string>, notes: Notes): void {
  for (const name of Object.keys(element.attributes))
    if (!allowed.has(name)) notes.add(`${path}/@${name}`, "unknown attribute, ignored");
}

function nonEmpty(value: string | undefined, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") throw new PolicyError(path, "is empty");
  return value.trim();
}

function parseInteger(value: string | undefined, path: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) throw new PolicyError(path, `expected a whole number, got "${clip(value)}"`);
  const parsed = Number(value.trim());
  if (parsed < min || parsed > max)
    throw new PolicyError(path, `expected a number from ${min} to ${max}, got ${parsed}`);
  return parsed;
}

/**
 * `clock-skew` is a "Timespan" ([A] validate-jwt-policy.md): whole seconds as the examples write it,
 * or .NET's TimeSpan form `[d.]hh:mm[:ss[.fff]]` (fractions are dropped: the check works in seconds).
 */
export function parseClockSkew(value: string | undefined, path: string): number {
  if (value === undefined) return 0;
  const text = value.trim();
  const span = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d{1,7})?)?$/.exec(text);
  if (span) {
    const [, days, hours, minutes, seconds] = span;
    if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds ?? 0) > 59)
      throw new PolicyError(path, `"${clip(value)}" is not a valid timespan`);
    const total = Number(days ?? 0) * 86_400 + Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds ?? 0);
    if (total > 86_400) throw new PolicyError(path, `expected at most one day, got ${total} s`);
    return total;
  }
  return parseInteger(text, path, 0, 0, 86_400);
}

function parseBoolean(value: string | undefined, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const lowered = value.trim().toLowerCase();
  if (lowered === "true") return true;
  if (lowered === "false") return false;
  throw new PolicyError(path, `expected "true" or "false", got "${clip(value)}"`);
}

function isBase64Url(value: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(value);
}

function clip(value: string): string {
  const line = value.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 80)}...` : line;
}

const NAMED_VALUE = /\{\{([^{}]+)\}\}/g;

export function substituteNamedValues(
  element: XmlElement,
  namedValues: Readonly<Record<string, string>>,
  path: string,
  unresolved: Set<string>,
  strict: boolean,
): XmlElement {
  const here = path === "" ? element.name : `${path}/${element.name}`;
  const substitute = (value: string, at: string) =>
    value.replace(NAMED_VALUE, (whole, rawName: string) => {
      const name = rawName.trim();
      const found = Object.hasOwn(namedValues, name) ? namedValues[name] : undefined;
      if (found !== undefined) return found;
      if (strict)
        throw new PolicyError(
          at,
          `named value {{${name}}} has no value (not defined, or a secret or Key Vault named value, whose value an APIOps folder does not hold)`,
          { namedValue: name },
        );
      unresolved.add(name);
      return whole;
    });
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(element.attributes))
    attributes[name] = substitute(value, `${here}/@${name}`);
  return {
    name: element.name,
    attributes,
    text: substitute(element.text, here),
    line: element.line,
    ...(element.origin ? { origin: element.origin } : {}),
    children: element.children.map((child) => substituteNamedValues(child, namedValues, here, unresolved, strict)),
  };
}
