/**
 * A small parser for ARM template expressions (`"[func(arg, ...).prop[index]]"`), enough to check
 * that every `parameters()`, `variables()`, `copyIndex()` and resource reference in infra/main.json
 * resolves, without deploying. Grammar (ARM template syntax reference): an expression is a function
 * call, a single-quoted string (`''` escapes a quote), an integer, followed by any number of
 * `.property` or `[index]` accessors. A JSON string starting with `[[` is a literal starting with `[`.
 *
 * `evaluateArm` interprets the pure subset (string, logical, numeric and array functions) over given
 * parameter and variable values, with stubs for the functions that need Azure (`reference`,
 * `resourceId`, ...), so tests can see what an app setting or an alert query becomes for a parameter
 * set. It never uses `eval`.
 */

export type ArmNode =
  | { kind: "string"; value: string }
  | { kind: "number"; value: number }
  | { kind: "call"; name: string; args: ArmNode[] }
  | { kind: "property"; target: ArmNode; name: string }
  | { kind: "index"; target: ArmNode; index: ArmNode };

export class ArmExpressionSyntaxError extends Error {
  readonly code = "ERR_ARM_EXPRESSION_SYNTAX";
  constructor(
    readonly expression: string,
    readonly position: number,
    problem: string,
  ) {
    super(`ARM expression ${JSON.stringify(expression)} at ${position}: ${problem}`);
  }
}

/** True when a JSON string value is an ARM expression (not a `[[` escaped literal). */
export function isArmExpression(value: string): boolean {
  return value.startsWith("[") && value.endsWith("]") && !value.startsWith("[[");
}

/** Parses the text of a JSON string that `isArmExpression`; throws ArmExpressionSyntaxError. */
export function parseArmExpression(value: string): ArmNode {
  const text = value.slice(1, -1);
  let pos = 0;
  const fail = (problem: string): never => {
    throw new ArmExpressionSyntaxError(value, pos + 1, problem);
  };
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const expect = (char: string): void => {
    skipSpace();
    if (text[pos] !== char) fail(`expected ${JSON.stringify(char)}, found ${JSON.stringify(text[pos] ?? "end")}`);
    pos++;
  };

  const parsePrimary = (): ArmNode => {
    skipSpace();
    const c = text[pos];
    if (c === "'") {
      pos++;
      let out = "";
      for (;;) {
        if (pos >= text.length) fail("unterminated string");
        if (text[pos] === "'") {
          if (text[pos + 1] === "'") {
            out += "'";
            pos += 2;
            continue;
          }
          pos++;
          return { kind: "string", value: out };
        }
        out += text[pos];
        pos++;
      }
    }
    const number = /^-?\d+/.exec(text.slice(pos));
    if (number) {
      pos += number[0].length;
      return { kind: "number", value: Number(number[0]) };
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(pos));
    if (!ident) return fail(`unexpected ${JSON.stringify(c ?? "end")}`);
    // Function names may be namespaced (`namespace.function`): take the longest name before `(`.
    let name = ident[0];
    while (name.includes(".") && text[pos + name.length] !== "(") name = name.slice(0, name.lastIndexOf("."));
    pos += name.length;
    expect("(");
    const args: ArmNode[] = [];
    skipSpace();
    if (text[pos] === ")") {
      pos++;
    } else {
      for (;;) {
        args.push(parseExpression());
        skipSpace();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        expect(")");
        break;
      }
    }
    return { kind: "call", name, args };
  };

  const parseExpression = (): ArmNode => {
    let node = parsePrimary();
    for (;;) {
      skipSpace();
      if (text[pos] === ".") {
        pos++;
        const prop = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(pos));
        if (!prop) return fail("expected a property name after '.'");
        pos += prop[0].length;
        node = { kind: "property", target: node, name: prop[0] };
      } else if (text[pos] === "[") {
        pos++;
        const index = parseExpression();
        expect("]");
        node = { kind: "index", target: node, index };
      } else {
        return node;
      }
    }
  };

  const root = parseExpression();
  skipSpace();
  if (pos !== text.length) fail("unexpected text after the expression");
  return root;
}

/** Every node of the tree, depth first, the root first. */
export function* walkArm(node: ArmNode): Generator<ArmNode> {
  yield node;
  if (node.kind === "call") for (const arg of node.args) yield* walkArm(arg);
  else if (node.kind === "property") yield* walkArm(node.target);
  else if (node.kind === "index") {
    yield* walkArm(node.target);
    yield* walkArm(node.index);
  }
}

/** Every function call in the tree (including nested ones). */
export function armCalls(node: ArmNode): Extract<ArmNode, { kind: "call" }>[] {
  return [...walkArm(node)].filter((n): n is Extract<ArmNode, { kind: "call" }> => n.kind === "call");
}

/** The literal string argument at `index` of a call, or undefined when it is not a literal. */
export function literalArg(call: Extract<ArmNode, { kind: "call" }>, index: number): string | undefined {
  const arg = call.args[index];
  return arg?.kind === "string" ? arg.value : undefined;
}

/** Canonical text of a node, to compare two expressions (e.g. a resource name and a resourceId arg). */
export function armText(node: ArmNode): string {
  switch (node.kind) {
    case "string":
      return `'${node.value.replaceAll("'", "''")}'`;
    case "number":
      return String(node.value);
    case "call":
      return `${node.name.toLowerCase()}(${node.args.map(armText).join(", ")})`;
    case "property":
      return `${armText(node.target)}.${node.name}`;
    case "index":
      return `${armText(node.target)}[${armText(node.index)}]`;
  }
}

export interface ArmEvaluationContext {
  parameters: Record<string, unknown>;
  /** Variable values, already evaluated (the caller resolves variables that are expressions). */
  variables: Record<string, unknown>;
  /** Stubs for functions that need Azure; called with evaluated arguments. */
  stubs?: Record<string, (...args: unknown[]) => unknown>;
}

export class ArmEvaluationError extends Error {
  readonly code = "ERR_ARM_EVALUATION";
}

function format(template: string, args: unknown[]): string {
  return template.replace(/\{(\d+)\}/g, (_, i: string) => {
    const value = args[Number(i)];
    if (value === undefined) throw new ArmEvaluationError(`format: no argument {${i}}`);
    return typeof value === "string" ? value : JSON.stringify(value);
  });
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

function asNumber(value: unknown, fn: string): number {
  if (typeof value !== "number") throw new ArmEvaluationError(`${fn}: expected a number, got ${typeof value}`);
  return value;
}

function lookup(record: Record<string, unknown>, key: string, what: string): unknown {
  // ARM names are case-insensitive.
  const found = Object.keys(record).find((k) => k.toLowerCase() === key.toLowerCase());
  if (found === undefined) throw new ArmEvaluationError(`${what} '${key}' is not defined`);
  return record[found];
}

/** Interprets an expression tree over the context. Unknown functions throw ArmEvaluationError. */
export function evaluateArm(node: ArmNode, ctx: ArmEvaluationContext): unknown {
  const ev = (n: ArmNode): unknown => evaluateArm(n, ctx);
  switch (node.kind) {
    case "string":
    case "number":
      return node.value;
    case "property": {
      const target = ev(node.target);
      if (target === null || typeof target !== "object") throw new ArmEvaluationError(`.${node.name} on a non-object`);
      return lookup(target as Record<string, unknown>, node.name, "property");
    }
    case "index": {
      const target = ev(node.target);
      const index = ev(node.index);
      if (Array.isArray(target) && typeof index === "number") return target[index];
      if (target !== null && typeof target === "object" && typeof index === "string") {
        return lookup(target as Record<string, unknown>, index, "property");
      }
      throw new ArmEvaluationError("bad index");
    }
    case "call":
      break;
  }
  const name = node.name.toLowerCase();
  // `if` evaluates only the branch it takes, as ARM does.
  if (name === "if") return ev(node.args[0]!) === true ? ev(node.args[1]!) : ev(node.args[2]!);
  const args = node.args.map(ev);
  const s = (i: number): string => {
    const v = args[i];
    if (typeof v !== "string") throw new ArmEvaluationError(`${name}: argument ${i} is not a string`);
    return v;
  };
  switch (name) {
    case "parameters":
      return lookup(ctx.parameters, s(0), "parameter");
    case "variables":
      return lookup(ctx.variables, s(0), "variable");
    case "equals":
      return JSON.stringify(args[0]) === JSON.stringify(args[1]);
    case "not":
      return args[0] !== true;
    case "and":
      return args.every((a) => a === true);
    case "or":
      return args.some((a) => a === true);
    case "empty":
      return isEmpty(args[0]);
    case "format":
      return format(s(0), args.slice(1));
    case "concat":
      return args.every(Array.isArray) ? args.flat() : args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join("");
    case "replace":
      return s(0).split(s(1)).join(s(2));
    case "string":
      return typeof args[0] === "string" ? args[0] : JSON.stringify(args[0]);
    case "tolower":
      return s(0).toLowerCase();
    case "take":
      return typeof args[0] === "string" ? args[0].slice(0, asNumber(args[1], name)) : (args[0] as unknown[]).slice(0, asNumber(args[1], name));
    case "length":
      return typeof args[0] === "string" || Array.isArray(args[0]) ? args[0].length : Object.keys(args[0] as object).length;
    case "add":
      return asNumber(args[0], name) + asNumber(args[1], name);
    case "mul":
      return asNumber(args[0], name) * asNumber(args[1], name);
    case "createarray":
      return args;
    case "createobject": {
      const out: Record<string, unknown> = {};
      for (let i = 0; i + 1 < args.length; i += 2) out[s(i)] = args[i + 1];
      return out;
    }
    case "union":
      return Object.assign({}, ...args.map((a) => a as object)) as unknown;
    case "true":
      return true;
    case "false":
      return false;
    case "null":
      return null;
  }
  const stub = ctx.stubs?.[node.name] ?? ctx.stubs?.[name];
  if (stub) return stub(...args);
  throw new ArmEvaluationError(`function ${node.name}() is not evaluated here`);
}
