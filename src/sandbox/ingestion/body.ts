import { gunzipSync } from "node:zlib";

/** Ingestion accepts a JSON array or newline-delimited JSON, optionally gzip-compressed (docs/REFERENCE.md §4). */
export type DecodedBatch = { ok: true; items: unknown[] } | { ok: false; message: string };

const GZIP_MAGIC = [0x1f, 0x8b] as const;

export function decodeTrackBody(raw: Buffer, contentEncoding: string | undefined): DecodedBatch {
  let text: string;
  try {
    // Trust the magic bytes as well as the header: some senders gzip without saying so.
    const gzipped =
      contentEncoding?.toLowerCase().includes("gzip") === true ||
      (raw[0] === GZIP_MAGIC[0] && raw[1] === GZIP_MAGIC[1]);
    text = (gzipped ? gunzipSync(raw) : raw).toString("utf8");
  } catch {
    return { ok: false, message: "body is not valid gzip" };
  }

  const trimmed = text.trim();
  if (trimmed === "") return { ok: false, message: "empty payload" };

  if (trimmed.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return { ok: true, items: parsed as unknown[] };
    } catch {
      return { ok: false, message: "body is not a valid JSON array" };
    }
  }

  const items: unknown[] = [];
  for (const line of trimmed.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    try {
      items.push(JSON.parse(line) as unknown);
    } catch {
      // Keep the slot so per-index errors line up with what the sender sent.
      items.push(INVALID_LINE);
    }
  }
  return { ok: true, items };
}

/** Marks an NDJSON line that was not JSON; the emulator reports it as a per-index 400. */
export const INVALID_LINE: unique symbol = Symbol("invalid-ndjson-line");
