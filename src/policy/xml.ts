import { XMLParser, XMLValidator } from "fast-xml-parser";
import { PolicyError } from "./errors.js";

/** One XML element, with comments and processing instructions dropped. */
export interface XmlElement {
  name: string;
  attributes: Readonly<Record<string, string>>;
  children: readonly XmlElement[];
  /** Concatenated, trimmed text content. */
  text: string;
  /** 1-based line of the element's start tag in the document as given. */
  line: number;
  /** The scope and file a composed policy's element came from. */
  origin?: { scope: string; file: string };
}

/**
 * Limits on what is read, so a hostile or broken file costs bounded memory and time and ends as a
 * PolicyError (exit 2), never a crash: far above any real policy (APIM's nest a few <choose> deep
 * and weigh kilobytes), far below what would hurt. Documented in docs/ARCHITECTURE.md.
 */
export const MAX_POLICY_CHARS = 1024 * 1024;
export const MAX_POLICY_DEPTH = 100;

const ATTRIBUTES = ":@";
const TEXT = "#text";
const COMMENT = "#comment";

// preserveOrder keeps repeated siblings (several <audience>, several <claim>) in document order and
// lets us see every child name, which the parser needs to refuse unknown ones.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  commentPropName: COMMENT,
  parseTagValue: false,
  parseAttributeValue: false,
  // Not trimmed: a separator=" " (space-separated scp) is meaningful. Text is trimmed in textOf.
  trimValues: false,
  maxNestedTags: MAX_POLICY_DEPTH,
});

type RawNode = Record<string, unknown>;

/** `@(...)` or `@{...}` as a whole value: APIM evaluates it at run time, in C#. */
export function isExpression(value: string): boolean {
  return /^\s*@[({]/.test(value);
}

/**
 * Parses a policy document with exactly one root element, as APIM stores and exports it: either
 * XML-escaped, or "rawxml" (APIOps' default), where policy expressions keep raw quotes, `<`, `>` and
 * `&&` inside attribute values and element text (docs/REFERENCE.md §7). Expressions are lifted out before the
 * XML is read and put back verbatim afterwards, never rewritten; what cannot be read is a
 * PolicyError naming its line and column.
 */
export function parseXmlRoot(xml: string): XmlElement {
  if (xml.length > MAX_POLICY_CHARS) {
    throw new PolicyError(
      "xml",
      `is ${xml.length} characters long, more than the ${MAX_POLICY_CHARS} a policy document may have here`,
    );
  }
  // APIM policy documents have no DTD; one here only declares entities (external ones read files,
  // nested ones expand exponentially). Refused before any parser sees it.
  const doctype = /<!DOCTYPE/i.exec(xml);
  if (doctype) {
    throw new PolicyError(
      "xml",
      `has a DOCTYPE declaration at line ${xml.slice(0, doctype.index).split("\n").length}: policy documents have none (its entities are not read)`,
    );
  }
  const { protectedXml, restore } = protectExpressions(xml);
  const validation = XMLValidator.validate(protectedXml);
  if (validation !== true) {
    throw new PolicyError("xml", malformed(validation.err));
  }
  const lines = new StartTagLines(protectedXml);
  let parsed: unknown;
  try {
    parsed = parser.parse(protectedXml);
  } catch (error) {
    // The parser's own reason ("Maximum nested tags exceeded", entity limits), as a policy problem.
    const reason = error instanceof Error ? error.message : "unreadable";
    throw new PolicyError(
      "xml",
      `cannot be read: ${reason}${/nested/i.test(reason) ? ` (at most ${MAX_POLICY_DEPTH} levels)` : ""}`,
      { cause: error },
    );
  }
  const roots = toElements(parsed, restore, lines);
  if (roots.length !== 1) {
    throw new PolicyError("xml", `expected one root element, found ${roots.length}`);
  }
  return roots[0]!;
}

const PLACEHOLDER = /__apimexpr(\d+)__\s*/g;

/**
 * Replaces every `@(...)` / `@{...}` outside comments and CDATA with a placeholder (padded with the
 * expression's own line breaks, so line numbers stay true). The scan balances brackets and skips C#
 * string and character literals, so `")"` or `"}"` inside a literal does not end the expression.
 */
function protectExpressions(xml: string): { protectedXml: string; restore: (value: string) => string } {
  const expressions: string[] = [];
  let out = "";
  let i = 0;
  while (i < xml.length) {
    if (xml.startsWith("<!--", i) || xml.startsWith("<![CDATA[", i)) {
      const close = xml.startsWith("<!--", i) ? "-->" : "]]>";
      const end = xml.indexOf(close, i);
      const stop = end < 0 ? xml.length : end + close.length;
      out += xml.slice(i, stop);
      i = stop;
      continue;
    }
    if (xml[i] === "@" && (xml[i + 1] === "(" || xml[i + 1] === "{")) {
      const end = expressionEnd(xml, i + 1);
      if (end === undefined) {
        const { line, column } = positionOf(xml, i);
        throw new PolicyError("xml", `policy expression at line ${line}, column ${column} is not closed`);
      }
      const text = xml.slice(i, end);
      out += `__apimexpr${expressions.length}__${"\n".repeat(text.split("\n").length - 1)}`;
      expressions.push(text);
      i = end;
      continue;
    }
    out += xml[i];
    i++;
  }
  // An XML-escaped document (the portal's and the REST API's form) writes `&quot;` and `&amp;&amp;`
  // inside expressions, which APIM reads as `"` and `&&`: decoded here, as the XML parser does elsewhere.
  const restore = (value: string): string =>
    expressions.length === 0
      ? value
      : value.replace(PLACEHOLDER, (_m, n: string) => decodeEntities(expressions[Number(n)]!));
  return { protectedXml: out, restore };
}

const ENTITIES: Readonly<Record<string, string>> = { quot: '"', amp: "&", lt: "<", gt: ">", apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(quot|amp|lt|gt|apos|#\d+|#x[0-9a-fA-F]+);/g, (whole, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(Number(name.slice(1)));
    return ENTITIES[name] ?? whole;
  });
}

/** Index just past the bracket that closes the one at `open`, or undefined. */
function expressionEnd(text: string, open: number): number | undefined {
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    // C# comments: an apostrophe in "// we'll ..." is no character literal.
    if (c === "/" && (text[i + 1] === "/" || text[i + 1] === "*")) {
      const end = text[i + 1] === "/" ? text.indexOf("\n", i) : text.indexOf("*/", i + 2);
      if (end < 0) return undefined;
      i = text[i + 1] === "/" ? end : end + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      // C# literal; a verbatim string (@"...") doubles its quotes instead of escaping them.
      const verbatim = c === '"' && text[i - 1] === "@";
      i++;
      while (i < text.length) {
        if (verbatim && text[i] === '"' && text[i + 1] === '"') i += 2;
        else if (!verbatim && text[i] === "\\") i += 2;
        else if (text[i] === c) break;
        else i++;
      }
      continue;
    }
    if (c === "(" || c === "{" || c === "[") stack.push(c === "(" ? ")" : c === "{" ? "}" : "]");
    else if (c === ")" || c === "}" || c === "]") {
      if (stack.pop() !== c) return undefined;
      if (stack.length === 0) return i + 1;
    }
  }
  return undefined;
}

function positionOf(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/**
 * Lines of start tags, per element name, in document order: the nth `<name` outside comments is
 * the nth element of that name the parser yields (it keeps document order), so elements learn
 * their line without a second parser.
 */
class StartTagLines {
  readonly #byName = new Map<string, number[]>();
  readonly #taken = new Map<string, number>();

  constructor(xml: string) {
    const withoutComments = xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, (m) => m.replace(/[^\n]/g, " "));
    const tag = /<([A-Za-z_][\w.:-]*)/g;
    let line = 1;
    let last = 0;
    for (const match of withoutComments.matchAll(tag)) {
      for (let i = last; i < match.index; i++) if (withoutComments.charCodeAt(i) === 10) line++;
      last = match.index;
      const name = match[1]!;
      const list = this.#byName.get(name) ?? [];
      list.push(line);
      this.#byName.set(name, list);
    }
  }

  next(name: string): number {
    const n = this.#taken.get(name) ?? 0;
    this.#taken.set(name, n + 1);
    return this.#byName.get(name)?.[n] ?? 0;
  }
}

function toElements(nodes: unknown, restore: (value: string) => string, lines: StartTagLines): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const elements: XmlElement[] = [];
  for (const node of nodes as RawNode[]) {
    const name = Object.keys(node).find((key) => key !== ATTRIBUTES);
    if (name === undefined || name === TEXT || name === COMMENT || name.startsWith("?")) continue;
    const line = lines.next(name);
    const content = node[name];
    const rawAttributes = (node[ATTRIBUTES] ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(rawAttributes)) attributes[key] = restore(String(value));
    elements.push({
      name,
      attributes,
      children: toElements(content, restore, lines),
      text: restore(textOf(content)).trim(),
      line,
    });
  }
  return elements;
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return "";
  return (content as RawNode[])
    .filter((node) => TEXT in node)
    .map((node) => String(node[TEXT]))
    .join("")
    .trim();
}

/**
 * The validator's complaint in the policy's terms. A document cut short (several elements never
 * closed) comes from it as a serialized list of tag names at line 1, column 1: said as the
 * elements left open instead.
 */
function malformed(err: { code: string; msg: string; line: number; col: number }): string {
  const open = err.code === "InvalidXml" ? /^Invalid '(\[[\s\S]*\])' found\.$/.exec(err.msg) : null;
  if (open) {
    let tags: unknown;
    try {
      tags = JSON.parse(open[1]!);
    } catch {
      tags = undefined;
    }
    if (Array.isArray(tags) && tags.every((t) => typeof t === "string"))
      return `malformed XML: the document ends before ${tags.map((t) => `<${t}>`).join(", ")} ${tags.length === 1 ? "is" : "are"} closed`;
  }
  return `malformed XML at line ${err.line}, column ${err.col}: ${err.msg}`;
}
