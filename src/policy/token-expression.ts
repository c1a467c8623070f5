import type { JwtRequest, TokenSource } from "./types.js";
import { clip } from "./parse-values.js";

type ExpressionSource = Extract<TokenSource, { kind: "expression" }>;

/** What an expression in a token check's source comes to for one request, when that can be known offline. */
export type ExpressionValue = { evaluable: true; value: string | undefined } | { evaluable: false; why: string };

const STRING = String.raw`"((?:[^"\\]|\\.)*)"`;
const HEADER_READ = new RegExp(
  String.raw`^context\.Request\.Headers\.GetValueOrDefault\(\s*${STRING}\s*(?:,\s*${STRING}\s*)?\)`,
);
const QUERY_READ = new RegExp(
  String.raw`^context\.Request\.Url\.Query\.GetValueOrDefault\(\s*${STRING}\s*(?:,\s*${STRING}\s*)?\)`,
);
const LITERAL = new RegExp(String.raw`^${STRING}$`);

/**
 * Evaluates the expressions a token check's source is commonly written with ([A] validate-jwt:
 * "Policy expressions are allowed"), and only those: a string literal (for `header-name` and
 * `query-parameter-name`), or for `token-value` a read of a request header or query parameter, with
 * an optional default, followed by the string operations used to strip a scheme (`.Split(' ')`
 * with `.Last()` or `[n]`, `.Replace("Bearer ", "")`, `.Substring(n)`, `.Trim()`). Anything else
 * (context variables set by earlier policies, the body, casts) needs APIM's runtime: not evaluable,
 * never guessed and never taken as the token itself.
 */
export function evaluateSourceExpression(source: ExpressionSource, request: JwtRequest): ExpressionValue {
  const body = /^\s*@\(([\s\S]*)\)\s*$/.exec(source.text)?.[1]?.trim();
  if (body === undefined)
    return {
      evaluable: false,
      why: `${source.attribute} ${clip(source.text)} is not a single-line expression this tool evaluates`,
    };
  if (source.attribute !== "token-value") {
    const literal = LITERAL.exec(body);
    return literal
      ? { evaluable: true, value: unescape(literal[1]!) }
      : { evaluable: false, why: `${source.attribute} ${clip(source.text)} is computed at run time` };
  }
  const header = HEADER_READ.exec(body);
  const read = header ?? QUERY_READ.exec(body);
  if (!read)
    return {
      evaluable: false,
      why: `token-value ${clip(source.text)} reads what only APIM's runtime has (a context variable, the body)`,
    };
  const name = unescape(read[1]!);
  const fallback = read[2] === undefined ? undefined : unescape(read[2]);
  const raw = header ? request.headers.get(name) : request.url.searchParams.get(name);
  let value: string | undefined = raw ?? fallback;
  let rest = body.slice(read[0].length).trim();
  while (rest.length > 0) {
    const step =
      /^\.(Trim\(\)|Split\(\s*(?:'(.)'|"(.)")\s*\)(?:\.Last\(\)|\[(\d)\])|Replace\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)|Substring\(\s*(\d+)\s*\))/.exec(
        rest,
      );
    if (!step)
      return {
        evaluable: false,
        why: `token-value ${clip(source.text)} uses string operations this tool does not evaluate`,
      };
    if (value !== undefined) value = apply(step, value);
    rest = rest.slice(step[0].length).trim();
  }
  return { evaluable: true, value };
}

function apply(step: RegExpExecArray, value: string): string | undefined {
  const [, op, charA, charB, index, from, to, start] = step;
  if (op === "Trim()") return value.trim();
  if (op!.startsWith("Split")) {
    const parts = value.split((charA ?? charB)!);
    return index === undefined ? parts.at(-1) : parts[Number(index)];
  }
  if (op!.startsWith("Replace")) return value.split(unescape(from!)).join(unescape(to!));
  // C# Substring past the end throws: APIM would answer 500; here the token is simply absent.
  const n = Number(start);
  return n > value.length ? undefined : value.slice(n);
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, "$1");
}
