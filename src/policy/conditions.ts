import type { JwtRequest } from "./types.js";

/** The request facts a `<when condition>` may depend on and that are known before sending it. */
export interface ConditionRequest extends JwtRequest {
  method: string;
}

/**
 * Decides a `<choose>` condition (a C# policy expression) for one request, when it depends only on
 * that request: its method, its path, whether a header is present, or a negation of those. Any other
 * condition (variables, the body, the backend, the subscription, the time) needs APIM's runtime:
 * undefined, "depends on", never guessed.
 */
export function decideCondition(condition: string, request: ConditionRequest): boolean | undefined {
  if (condition === "otherwise") return true;
  const negated = /^not (.*)$/s.exec(condition);
  if (negated) {
    const inner = decideCondition(negated[1]!, request);
    return inner === undefined ? undefined : !inner;
  }
  const body = /^\s*@\((.*)\)\s*$/s.exec(condition)?.[1]?.trim();
  if (body === undefined) return undefined;
  return decideExpression(body, request);
}

function decideExpression(expression: string, request: ConditionRequest): boolean | undefined {
  const e = stripParens(expression.trim());
  if (e.startsWith("!")) {
    const inner = decideExpression(e.slice(1), request);
    return inner === undefined ? undefined : !inner;
  }
  // C# string equality is ordinal: "get" is not "GET" (APIM's method is upper case).
  const method = /^context\.Request\.Method\s*(==|!=)\s*"([^"]*)"$/.exec(e);
  if (method) return (request.method.toUpperCase() === method[2]!) === (method[1] === "==");
  const equals =
    /^context\.Request\.Method\.Equals\(\s*"([^"]*)"\s*(,\s*StringComparison\.OrdinalIgnoreCase\s*)?\)$/.exec(e);
  if (equals)
    return equals[2]
      ? request.method.toUpperCase() === equals[1]!.toUpperCase()
      : request.method.toUpperCase() === equals[1]!;
  const header = /^context\.Request\.Headers\.ContainsKey\(\s*"([^"]+)"\s*\)$/.exec(e);
  if (header) return request.headers.get(header[1]!) !== null;
  const path =
    /^context\.Request\.Url\.Path\.StartsWith\(\s*"([^"]*)"\s*(?:,\s*StringComparison\.OrdinalIgnoreCase\s*)?\)$/.exec(
      e,
    );
  if (path) return request.url.pathname.toLowerCase().startsWith(path[1]!.toLowerCase());
  return undefined;
}

function stripParens(e: string): string {
  let s = e;
  while (s.startsWith("(") && s.endsWith(")") && balanced(s.slice(1, -1))) s = s.slice(1, -1).trim();
  return s;
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    if (c === "(") depth++;
    else if (c === ")" && --depth < 0) return false;
  }
  return depth === 0;
}

/**
 * What is wrong with a `<when condition>` on its face, or undefined: not a policy expression
 * (`@(...)`/`@{...}`), not valid C# (misplaced quotes, unbalanced brackets, `=` where `==` was
 * meant), or a comparison that no request can satisfy: an HTTP method or header name literal with a
 * space or punctuation in it (`context.Request.Method == "GET "`). APIM refuses to save an invalid
 * expression only when it can compile it; exported and hand-edited documents carry such conditions.
 */
export function conditionProblem(condition: string): string | undefined {
  const text = condition.trim();
  if (text === "(no condition)") return "has no condition attribute";
  const wrapped = /^@\(([\s\S]*)\)$/.exec(text) ?? /^@\{([\s\S]*)\}$/.exec(text);
  if (!wrapped) return "is not a policy expression: a condition is written @(...) or @{...}";
  const body = wrapped[1]!;
  if (body.trim() === "") return "is an empty expression";
  const syntax = csharpSyntaxProblem(body, text.startsWith("@("));
  if (syntax) return `is not a valid C# policy expression: ${syntax}`;
  for (const literal of methodLiterals(body)) {
    if (!/^[A-Za-z]+$/.test(literal.value)) {
      return `compares the request method with "${literal.value}", which is no HTTP method (${describeStray(literal.value)}): it is ${literal.negated ? "always" : "never"} true`;
    }
  }
  for (const match of body.matchAll(/Headers\.(?:ContainsKey|GetValueOrDefault)\(\s*"([^"]*)"/g)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(match[1]!))
      return `reads header "${match[1]}", which no request can carry (${describeStray(match[1]!)})`;
  }
  return undefined;
}

function describeStray(value: string): string {
  if (value === "") return "it is empty";
  if (/^\s|\s$/.test(value)) return "a stray space";
  return /\s/.test(value) ? "a space inside" : "a character no token has";
}

/** `Method == "X"`, `Method != "X"`, `Method.Equals("X"...)`, `new [] {"X", ...}.Contains(context.Request.Method...)`. */
function methodLiterals(body: string): { value: string; negated: boolean }[] {
  const found: { value: string; negated: boolean }[] = [];
  for (const m of body.matchAll(/context\.Request\.Method\s*(==|!=)\s*"([^"]*)"/g))
    found.push({ value: m[2]!, negated: m[1] === "!=" });
  for (const m of body.matchAll(/"([^"]*)"\s*(==|!=)\s*context\.Request\.Method\b/g))
    found.push({ value: m[1]!, negated: m[2] === "!=" });
  for (const m of body.matchAll(/(!?)\s*\(?\s*context\.Request\.Method\.Equals\(\s*"([^"]*)"/g))
    found.push({ value: m[2]!, negated: m[1] === "!" });
  for (const m of body.matchAll(
    /new\s*(?:string)?\s*\[\s*\]\s*\{([^}]*)\}\s*\.Contains\(\s*context\.Request\.Method/g,
  )) {
    for (const item of m[1]!.matchAll(/"([^"]*)"/g)) found.push({ value: item[1]!, negated: false });
  }
  return found;
}

/**
 * A light C# scan: string and character literals (regular and verbatim), brackets, and, in a
 * single-expression `@(...)`, an assignment `=`. Not a compiler: it finds the mistakes seen in
 * exported documents, and says nothing when unsure.
 */
function csharpSyntaxProblem(body: string, singleExpression: boolean): string | undefined {
  const stack: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "/" && (body[i + 1] === "/" || body[i + 1] === "*")) {
      const end = body[i + 1] === "/" ? body.indexOf("\n", i) : body.indexOf("*/", i + 2);
      if (end < 0) return body[i + 1] === "*" ? "a comment is not closed" : undefined;
      i = body[i + 1] === "/" ? end : end + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      const verbatim = c === '"' && body[i - 1] === "@";
      let j = i + 1;
      while (j < body.length) {
        if (verbatim && body[j] === '"' && body[j + 1] === '"') j += 2;
        else if (!verbatim && body[j] === "\\") j += 2;
        else if (body[j] === c) break;
        else j++;
      }
      if (j >= body.length) return "a string literal is not closed";
      const next = body.slice(j + 1).trimStart()[0];
      if (next === '"' || (next !== undefined && /[A-Za-z0-9_]/.test(next)))
        return `a quote out of place after ${body.slice(i, j + 1)}`;
      i = j;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") stack.push(c === "(" ? ")" : c === "[" ? "]" : "}");
    else if (c === ")" || c === "]" || c === "}") {
      if (stack.pop() !== c) return `unbalanced ${c}`;
    } else if (
      singleExpression &&
      c === "=" &&
      !"=!<>".includes(body[i - 1] ?? "") &&
      body[i + 1] !== "=" &&
      body[i + 1] !== ">"
    ) {
      return "= assigns; a comparison is ==";
    }
  }
  return stack.length > 0 ? `unbalanced ${stack.at(-1) === ")" ? "(" : stack.at(-1) === "]" ? "[" : "{"}` : undefined;
}
