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
  const method = /^context\.Request\.Method\s*(==|!=)\s*"([A-Za-z]+)"$/.exec(e);
  if (method) return (request.method.toUpperCase() === method[2]!.toUpperCase()) === (method[1] === "==");
  const header = /^context\.Request\.Headers\.ContainsKey\(\s*"([^"]+)"\s*\)$/.exec(e);
  if (header) return request.headers.get(header[1]!) !== null;
  const path = /^context\.Request\.Url\.Path\.StartsWith\(\s*"([^"]*)"\s*(?:,\s*StringComparison\.OrdinalIgnoreCase\s*)?\)$/.exec(e);
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
