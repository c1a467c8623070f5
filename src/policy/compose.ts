import { PolicyError } from "./errors.js";
import { substituteNamedValues } from "./named-values.js";
import { policyFromRoot, type ParsePolicyOptions } from "./parse.js";
import type { ApimPolicy, DroppedInheritance } from "./types.js";
import { parseXmlRoot, type XmlElement } from "./xml.js";

/** APIM's policy scopes, outermost first ([A] api-management-howto-policies.md). */
export const POLICY_SCOPES = ["global", "workspace", "product", "api", "operation"] as const;
export type PolicyScope = (typeof POLICY_SCOPES)[number];

/** One scope's policy document, as found in a folder or given on the command line. */
export interface ScopedPolicy {
  scope: PolicyScope;
  /** Where it came from, for findings (a path, as the user knows it). */
  file: string;
  xml: string;
}

/** A policy fragment by its id (`<include-fragment fragment-id>`), root element `<fragment>`. */
export interface PolicyFragment {
  file: string;
  xml: string;
}

const SECTIONS = ["inbound", "backend", "outbound", "on-error"] as const;
/** Fragments may include fragments; a cycle (or a deep chain) stops here rather than looping. */
const MAX_FRAGMENT_DEPTH = 8;

/**
 * The effective policy of an operation, as APIM composes it: each scope's section replaces the
 * enclosing scope's, which runs where the inner one says `<base />` (a scope with no document
 * passes the enclosing one through); `<include-fragment>` is replaced by the fragment's content, as
 * is. Every element keeps the scope and file it came from, so findings and verdicts can name them.
 * `scopes` are given outermost first (global, product, API, operation).
 */
export function composeEffectivePolicy(
  scopes: readonly ScopedPolicy[],
  fragments: Readonly<Record<string, PolicyFragment>> = {},
  options: ParsePolicyOptions = {},
): ApimPolicy {
  const unresolved = new Set<string>();
  const parse = (xml: string, file: string, scope: string): XmlElement => {
    try {
      return withOrigin(
        substituteNamedValues(
          parseXmlRoot(xml),
          options.namedValues ?? {},
          "",
          unresolved,
          options.requireNamedValues === true,
        ),
        { scope, file },
      );
    } catch (error) {
      // A folder has many policy files: the message names the one at fault.
      if (error instanceof PolicyError)
        throw new PolicyError(`${file}: ${error.element}`, error.problem, {
          cause: error,
          ...(error.namedValue !== undefined ? { namedValue: error.namedValue } : {}),
        });
      throw error;
    }
  };

  let effective: Record<(typeof SECTIONS)[number], XmlElement[]> = {
    inbound: [],
    backend: [],
    outbound: [],
    "on-error": [],
  };
  let expressions = 0;
  const dropped: DroppedInheritance[] = [];
  for (const { scope, file, xml } of [...scopes].sort(
    (a, b) => POLICY_SCOPES.indexOf(a.scope) - POLICY_SCOPES.indexOf(b.scope),
  )) {
    const root = parse(xml, file, scope);
    if (root.name !== "policies")
      throw new PolicyError(`${file}: ${root.name}`, "a scope's policy must have <policies> as its root");
    expressions += (xml.match(/@[({]/g) ?? []).length;
    const next = { ...effective };
    for (const section of SECTIONS) {
      const own = root.children.find((c) => c.name === section);
      // A document without the section: the enclosing scope's applies as if it said <base />.
      if (own === undefined) continue;
      if (section === "inbound" && !own.children.some((c) => c.name === "base") && effective.inbound.length > 0) {
        const drop = droppedBy(scope, file, effective.inbound, own.children, (elements) =>
          expandFragments(elements, fragments, parse, new Set(), 0),
        );
        if (drop) dropped.push(drop);
      }
      next[section] = own.children.flatMap((child) => (child.name === "base" ? effective[section] : [child]));
    }
    effective = next;
  }
  const fragmentIds = new Set<string>();
  const inbound = expandFragments(effective.inbound, fragments, parse, fragmentIds, 0);
  const root: XmlElement = {
    name: "policies",
    attributes: {},
    text: "",
    line: 0,
    children: [{ name: "inbound", attributes: {}, text: "", line: 0, children: inbound }],
  };
  const policy = policyFromRoot(root, unresolved);
  return {
    ...policy,
    includedFragments: [...fragmentIds],
    inheritsInbound: false,
    mayBeGlobal: false,
    expressionCount: expressions,
    droppedInheritance: dropped,
  };
}

const RATE_LIMITS = new Set(["rate-limit", "rate-limit-by-key", "quota", "quota-by-key"]);

/**
 * What a scope's inbound section without `<base />` drops of the enclosing scopes' (PSRule's
 * Azure.APIM.PolicyBase, applied to the effective policy): their token checks, ip-filters and rate
 * limits, each only when the scope does not bring one of its own.
 */
function droppedBy(
  scope: string,
  file: string,
  enclosing: readonly XmlElement[],
  own: readonly XmlElement[],
  expand: (elements: readonly XmlElement[]) => XmlElement[],
): DroppedInheritance | undefined {
  const asPolicy = (elements: readonly XmlElement[]) =>
    policyFromRoot({ name: "fragment", attributes: {}, text: "", line: 0, children: expand(elements) }, new Set());
  const before = asPolicy(enclosing);
  const mine = asPolicy(own);
  const where = (source: { scope: string; file: string } | undefined, line: number) =>
    source ? ` (${source.scope} ${source.file}${line > 0 ? `:${line}` : ""})` : "";
  const lost: DroppedInheritance["lost"][number][] = [];
  if (mine.tokenChecks.length === 0) {
    for (const check of before.tokenChecks)
      lost.push({ kind: "token-check", what: `${check.element}${where(check.source, check.line)}` });
  }
  if (!mine.accessRestrictions.some((r) => r.name === "ip-filter")) {
    for (const r of before.accessRestrictions.filter((r) => r.name === "ip-filter"))
      lost.push({ kind: "ip-filter", what: `ip-filter${where(r.source, r.line)}` });
  }
  if (!mine.accessRestrictions.some((r) => RATE_LIMITS.has(r.name))) {
    for (const r of before.accessRestrictions.filter((r) => RATE_LIMITS.has(r.name)))
      lost.push({ kind: "rate-limit", what: `${r.name}${where(r.source, r.line)}` });
  }
  return lost.length === 0 ? undefined : { scope, file, lost, ownTokenCheck: mine.tokenChecks.length > 0 };
}

function expandFragments(
  elements: readonly XmlElement[],
  fragments: Readonly<Record<string, PolicyFragment>>,
  parse: (xml: string, file: string, scope: string) => XmlElement,
  used: Set<string>,
  depth: number,
): XmlElement[] {
  return elements.flatMap((element): XmlElement[] => {
    if (element.name === "include-fragment") {
      const id = element.attributes["fragment-id"] ?? "";
      const fragment = fragments[id];
      if (fragment === undefined)
        throw new PolicyError(`include-fragment[@fragment-id=${id}]`, `fragment "${id}" is not in the folder`);
      if (depth >= MAX_FRAGMENT_DEPTH)
        throw new PolicyError(
          `include-fragment[@fragment-id=${id}]`,
          "fragments include each other too deeply (a cycle?)",
        );
      used.add(id);
      const root = parse(fragment.xml, fragment.file, `fragment ${id}`);
      if (root.name !== "fragment")
        throw new PolicyError(`${fragment.file}: ${root.name}`, "a policy fragment's root element must be <fragment>");
      return expandFragments(root.children, fragments, parse, used, depth + 1);
    }
    if (element.children.length === 0) return [element];
    return [{ ...element, children: expandFragments(element.children, fragments, parse, used, depth) }];
  });
}

function withOrigin(element: XmlElement, origin: { scope: string; file: string }): XmlElement {
  return { ...element, origin, children: element.children.map((c) => withOrigin(c, origin)) };
}
