// APIM named values (`{{name}}`) substituted in attributes and text before a policy is read.
import { PolicyError } from "./errors.js";
import type { XmlElement } from "./xml.js";

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
