import { z } from "zod";
import { PROBE_NAMES } from "../../probe-matrix/names.js";

/**
 * What the on-demand trigger accepts. Strict on purpose: the caller may narrow the run and tag it,
 * never point it elsewhere. A body that carries `url`, `token` or `subscriptionKey` is refused
 * rather than ignored, so nobody believes they changed what was probed.
 */
export const MAX_RUN_REQUEST_BYTES = 16 * 1024;

const runRequestSchema = z.strictObject({
  targets: z.array(z.string().min(1).max(200)).max(1000).optional(),
  probes: z.array(z.enum(PROBE_NAMES)).max(PROBE_NAMES.length).optional(),
  source: z.string().max(200).optional(),
});

export type RunRequest = z.infer<typeof runRequestSchema>;

export type RunRequestParse =
  { ok: true; request: RunRequest } | { ok: false; status: 400 | 413 | 415; message: string };

/** Parses the trigger's body: empty means "everything"; names are checked against `knownTargets`. */
export function parseRunRequest(
  body: string,
  contentType: string | null,
  knownTargets: readonly string[],
): RunRequestParse {
  if (Buffer.byteLength(body, "utf8") > MAX_RUN_REQUEST_BYTES) {
    return { ok: false, status: 413, message: `Request body is larger than ${MAX_RUN_REQUEST_BYTES} bytes.` };
  }
  if (body.trim() === "") return { ok: true, request: {} };
  if (contentType !== null && !/^application\/json\b/i.test(contentType)) {
    return {
      ok: false,
      status: 415,
      message: `Content-Type must be application/json, got "${contentType.slice(0, 100)}".`,
    };
  }

  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, message: "Request body is not valid JSON." };
  }

  const parsed = runRequestSchema.safeParse(json);
  if (!parsed.success) {
    // zod's messages name the field (`targets.0`, `probes.1`) but never quote the value.
    const problems = parsed.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join(".") : "body";
      if (issue.code === "unrecognized_keys") {
        return `${where}: unknown field(s) ${issue.keys.map((k) => JSON.stringify(k.slice(0, 50))).join(", ")}; allowed: targets, probes, source`;
      }
      if (issue.code === "invalid_value") return `${where}: unknown probe; known probes: ${PROBE_NAMES.join(", ")}`;
      return `${where}: ${issue.message}`;
    });
    return { ok: false, status: 400, message: problems.join("; ") };
  }

  const unknown = (parsed.data.targets ?? []).filter((t) => !knownTargets.includes(t));
  if (unknown.length > 0) {
    return {
      ok: false,
      status: 400,
      // Counted, never repeated: a request body is the caller's text and may carry anything.
      message: `targets: ${unknown.length} name(s) match no configured target; configured: ${knownTargets.join(", ")}`,
    };
  }
  return { ok: true, request: parsed.data };
}
