import type { IncomingMessage, ServerResponse } from "node:http";
import { ProbeError } from "../../core/errors.js";

/** Token requests are small forms; anything larger is refused before it is buffered. */
const MAX_BODY_BYTES = 64 * 1024;

/** A request body over the sandbox's limit; the token endpoint answers 413. */
export class BodyTooLargeError extends ProbeError {
  readonly code = "APIM_SMOKE_SANDBOX_BODY_TOO_LARGE";
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError("request body too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Entra's token responses must not be cached by anyone in between (docs/REFERENCE.md §1). */
export const NO_STORE = { "cache-control": "no-store, no-cache", pragma: "no-cache" } as const;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
