import { XMLParser, XMLValidator } from "fast-xml-parser";
import { PolicyError } from "../core/errors.js";

/** One XML element, with comments and processing instructions dropped. */
export interface XmlElement {
  name: string;
  attributes: Readonly<Record<string, string>>;
  children: readonly XmlElement[];
  /** Concatenated, trimmed text content. */
  text: string;
}

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
});

type RawNode = Record<string, unknown>;

/** Parses a document with exactly one root element; malformed XML is a PolicyError naming the line. */
export function parseXmlRoot(xml: string): XmlElement {
  const validation = XMLValidator.validate(xml);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    throw new PolicyError("xml", `malformed XML at line ${line}, column ${col}: ${msg}`);
  }
  const roots = toElements(parser.parse(xml) as unknown);
  if (roots.length !== 1) {
    throw new PolicyError("xml", `expected one root element, found ${roots.length}`);
  }
  return roots[0]!;
}

function toElements(nodes: unknown): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const elements: XmlElement[] = [];
  for (const node of nodes as RawNode[]) {
    const name = Object.keys(node).find((key) => key !== ATTRIBUTES);
    if (name === undefined || name === TEXT || name === COMMENT || name.startsWith("?")) continue;
    const content = node[name];
    const rawAttributes = (node[ATTRIBUTES] ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(rawAttributes)) attributes[key] = String(value);
    elements.push({ name, attributes, children: toElements(content), text: textOf(content) });
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
