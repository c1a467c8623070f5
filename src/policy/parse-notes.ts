// What reading a token-check element could not judge offline: policy expressions and named values
// without a value are kept and reported (with the check input they hide), never refused.
import { clip } from "./parse-values.js";
import type { CheckInput, UnresolvedInput } from "./types.js";
import { isExpression } from "./xml.js";

/** What a check element's reading collects besides the model: what it could not judge. */
export class Notes {
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
