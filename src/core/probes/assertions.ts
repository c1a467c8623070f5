import type { ProbeResponse } from "../http/probe-request.js";
import { escapeRemoteText } from "../http/remote-text.js";

/** What a target's `valid` answer must hold besides its status (targets file `assertions`). */
export interface ResponseAssertions {
  bodyContains?: string;
  /** RFC 6901 pointer into the JSON body, and the value it must equal. */
  jsonPointer?: { pointer: string; equals: string | number | boolean | null };
  /** A response header that must be present (and, with `equals`, have that value). */
  header?: { name: string; equals?: string };
  maxLatencyMs?: number;
}

/** The first assertion a 2xx answer fails, with what was expected and what came; undefined when all hold. */
export interface AssertionFailure {
  cause: "assertion-failed" | "slow-response" | "error-document";
  assertion: string;
  expected: string;
  received: string;
}

/**
 * Checks an answer against the target's assertions. The body is read up to the probe's
 * limit: an assertion the read part cannot satisfy says so rather than claiming the text is absent.
 */
export function checkAssertions(assertions: ResponseAssertions, res: ProbeResponse): AssertionFailure | undefined {
  const body = res.body ?? "";
  const clipped = res.bodyTruncated === true ? ` (only the first ${Math.round(body.length / 1024)} KiB were read)` : "";
  if (assertions.maxLatencyMs !== undefined && res.durationMs > assertions.maxLatencyMs) {
    return {
      cause: "slow-response",
      assertion: "maxLatencyMs",
      expected: `at most ${assertions.maxLatencyMs} ms`,
      received: `${Math.round(res.durationMs)} ms`,
    };
  }
  if (assertions.header !== undefined) {
    const value = res.headers?.[assertions.header.name.toLowerCase()];
    if (value === undefined)
      return {
        cause: "assertion-failed",
        assertion: `header ${assertions.header.name}`,
        expected: "present",
        received: "absent",
      };
    if (assertions.header.equals !== undefined && value !== assertions.header.equals) {
      return {
        cause: "assertion-failed",
        assertion: `header ${assertions.header.name}`,
        expected: JSON.stringify(assertions.header.equals),
        received: JSON.stringify(clip(value)),
      };
    }
  }
  if (assertions.bodyContains !== undefined && !body.includes(assertions.bodyContains)) {
    return {
      cause: "assertion-failed",
      assertion: "bodyContains",
      expected: JSON.stringify(assertions.bodyContains),
      received: `not found${clipped}`,
    };
  }
  if (assertions.jsonPointer !== undefined) {
    const { pointer, equals } = assertions.jsonPointer;
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return {
        cause: "assertion-failed",
        assertion: `jsonPointer ${pointer}`,
        expected: JSON.stringify(equals),
        received: `a body that is not JSON${clipped}`,
      };
    }
    const found = resolvePointer(doc, pointer);
    if (!found.ok || found.value !== equals) {
      return {
        cause: "assertion-failed",
        assertion: `jsonPointer ${pointer}`,
        expected: JSON.stringify(equals),
        received: found.ok ? escapeRemoteText(clip(JSON.stringify(found.value))) : "no such member",
      };
    }
  }
  return undefined;
}

/**
 * A 2xx the probe expected whose body is APIM's own error document (`{statusCode, message}` with an
 * error status): checked on every target, assertions or not, since such a 2xx is a failure that
 * only its body tells (`return-response` without `set-status` answers 200: docs/REFERENCE.md §3).
 */
export function errorDocumentFailure(res: ProbeResponse): AssertionFailure | undefined {
  if (!res.errorDocument) return undefined;
  const { statusCode, message } = res.errorDocument;
  return {
    cause: "error-document",
    assertion: "the body",
    expected: "the API's answer",
    received: `APIM's error document, statusCode ${statusCode}${message ? `: ${JSON.stringify(message)}` : ""}`,
  };
}

/** RFC 6901: `/a/0/b`, with `~1` for `/` and `~0` for `~`. */
export function resolvePointer(doc: unknown, pointer: string): { ok: true; value: unknown } | { ok: false } {
  if (pointer === "") return { ok: true, value: doc };
  if (!pointer.startsWith("/")) return { ok: false };
  let current: unknown = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(current) && /^(0|[1-9]\d*)$/.test(key) && Number(key) < current.length)
      current = current[Number(key)];
    else if (current !== null && typeof current === "object" && !Array.isArray(current) && Object.hasOwn(current, key))
      current = (current as Record<string, unknown>)[key];
    else return { ok: false };
  }
  return { ok: true, value: current };
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}
