import type { IncomingMessage, ServerResponse } from "node:http";
import { gunzipSync } from "node:zlib";
import { startLoopbackHttps, type LoopbackServer } from "../core/http/loopback-https.js";

/**
 * An Application Insights ingestion endpoint written for the tests from the documented contract
 * alone, independently of the sandbox's emulator: POST `/v2.1/track` (or `/v2/track`) takes a JSON
 * array, or newline-delimited JSON, optionally gzip-compressed, and answers
 * `{ itemsReceived, itemsAccepted, errors: [{ index, statusCode, message }] }` with 200 when all
 * were accepted, 206 when some were not. It keeps every item it accepted, in arrival order.
 */
export interface PlainIngestion {
  readonly origin: string;
  readonly caPem: string;
  readonly connectionString: string;
  /** Every item accepted, as posted. */
  readonly items: {
    data?: { baseType?: string; baseData?: { id?: string; name?: string; properties?: Record<string, string> } };
  }[];
  /** Items received per POST. */
  readonly posts: number[];
  /** Until cleared, answer every POST with this status and no item accepted. */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

const IKEY = "3b9f6c1e-5d2a-4e87-9c04-7a1b8e6d2f53";

export async function startPlainIngestion(): Promise<PlainIngestion> {
  const items: PlainIngestion["items"] = [];
  const posts: number[] = [];
  let failure: number | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== "POST" || !/\/v2(\.1)?\/track$/.test(req.url ?? "")) {
      res.writeHead(404).end();
      return;
    }
    let body = Buffer.concat(chunks);
    if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
    const text = body.toString("utf8").trim();
    let batch: unknown[];
    try {
      batch = text.startsWith("[")
        ? (JSON.parse(text) as unknown[])
        : text.split("\n").map((line) => JSON.parse(line) as unknown);
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end(
        JSON.stringify({
          itemsReceived: 0,
          itemsAccepted: 0,
          errors: [{ index: 0, statusCode: 400, message: "invalid JSON" }],
        }),
      );
      return;
    }
    posts.push(batch.length);
    if (failure !== undefined) {
      res
        .writeHead(failure, { "content-type": "application/json" })
        .end(JSON.stringify({ itemsReceived: batch.length, itemsAccepted: 0, errors: [] }));
      return;
    }
    const errors: { index: number; statusCode: number; message: string }[] = [];
    batch.forEach((item, index) => {
      const iKey = (item as { iKey?: unknown } | null)?.iKey;
      if (iKey !== IKEY) errors.push({ index, statusCode: 400, message: "Invalid instrumentation key" });
      else items.push(item as PlainIngestion["items"][number]);
    });
    res
      .writeHead(errors.length === 0 ? 200 : 206, { "content-type": "application/json" })
      .end(JSON.stringify({ itemsReceived: batch.length, itemsAccepted: batch.length - errors.length, errors }));
  };
  const server: LoopbackServer = await startLoopbackHttps((req, res) => void handle(req, res));
  return {
    origin: server.origin,
    caPem: server.caPem,
    connectionString: `InstrumentationKey=${IKEY};IngestionEndpoint=${server.origin}/`,
    items,
    posts,
    failWith: (status) => (failure = status),
    close: () => server.close(),
  };
}
