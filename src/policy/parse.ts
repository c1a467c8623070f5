// Reads a policy document (xml.ts bounds and parses the XML) into the ApimPolicy model: the entry
// point of parsing; the element readers are the parse-*.ts modules.
import { PolicyError } from "./errors.js";
import { substituteNamedValues } from "./named-values.js";
import { InboundReader } from "./parse-inbound.js";
import { VALIDATE_AAD } from "./parse-validate-azure-ad-token.js";
import { VALIDATE_JWT } from "./parse-validate-jwt.js";
import type { ApimPolicy, InboundStep } from "./types.js";
import { parseXmlRoot, type XmlElement } from "./xml.js";

export interface ParsePolicyOptions {
  /** APIM named values, substituted for `{{name}}` in attributes and text. */
  namedValues?: Readonly<Record<string, string>>;
  /**
   * Refuse a `{{name}}` without a value (the sandbox gateway: it must enforce exactly what it was
   * given). By default it stays unresolved and is reported, as APIM's own secret named values are.
   */
  requireNamedValues?: boolean;
}

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
