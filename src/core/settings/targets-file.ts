import { z } from "zod";
import { EXPIRY_PROBES, PROBE_NAMES } from "../../probe-matrix/names.js";
import { looksLikeSecret } from "./looks-like-secret.js";
import { headerValueProblem, transportHeaderProblem } from "./setting-values.js";
import { clientCredentialsScope, httpMethod, httpsUrl, settingName, subscriptionKeyHeaderName } from "./rules.js";

const status = z.int().min(100, "must be an HTTP status (100-599)").max(599, "must be an HTTP status (100-599)");

/** Probes that call the API, so they can have expected statuses (`token` cannot). */
const STATUS_PROBES = PROBE_NAMES.filter((p) => p !== "token" && !EXPIRY_PROBES.includes(p));

export const targetSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
        "must be 1-64 letters, digits, '.', '_' or '-' (it becomes part of availability result names)",
      )
      .meta({ description: "Stable name; availability results are named <target>/<probe>." }),
    url: httpsUrl.meta({ description: "The APIM operation to call (https)." }),
    method: httpMethod.optional().meta({ description: "HTTP method, default GET." }),
    scope: clientCredentialsScope.optional().meta({
      description:
        "Client-credentials scope of the API, e.g. api://<app-id>/.default. Without it the key probes and a key-only valid run, and the token probes are skipped (cause scope-unknown).",
    }),
    subscriptionKeySetting: settingName
      .optional()
      .meta({ description: "NAME of the setting holding the APIM subscription key (never the key itself)." }),
    subscriptionKeyHeader: subscriptionKeyHeaderName.optional().meta({
      description:
        "The header this API takes its subscription key in (APIM's subscriptionKeyParameterNames.header); default Ocp-Apim-Subscription-Key.",
    }),
    acceptOpen: z.string().trim().min(1, "must give the reason the API is open by design").optional().meta({
      description:
        'The API is open by design, and why (e.g. "public status endpoint, no data"): a rejecting probe let in is reported as accepted-open on every run instead of security.',
    }),
    policyFile: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "APIM policy XML for preflight checks, relative to this file." }),
    apiopsApi: z.string().min(1).optional().meta({
      description:
        "With PROBE_APIOPS_DIR: the API (its folder name) whose effective policy the preflight uses; default: the API whose path the URL starts with.",
    }),
    apiopsOperation: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "With PROBE_APIOPS_DIR: the operation (its folder name) whose policy scope applies." }),
    apiopsProduct: z.string().min(1).optional().meta({
      description:
        "With PROBE_APIOPS_DIR: the product whose policy applies (the subscription's); default the first that includes the API.",
    }),
    assertions: z
      .strictObject({
        bodyContains: z.string().min(1).optional(),
        jsonPointer: z
          .strictObject({
            pointer: z.string().regex(/^(\/.*)?$/, "must be an RFC 6901 pointer (/a/0/b)"),
            equals: z.union([z.string(), z.number(), z.boolean(), z.null()]),
          })
          .optional(),
        header: z.strictObject({ name: z.string().min(1), equals: z.string().optional() }).optional(),
        maxLatencyMs: z.number().int().positive().optional(),
      })
      .optional()
      .meta({
        description:
          "What the valid probe's 2xx answer must also hold; a 2xx that fails one is cause assertion-failed (or slow-response).",
      }),
    requestHeaders: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a header name")
          .refine(
            (n) => !/^(authorization|ocp-apim-subscription-key|proxy-authorization)$/i.test(n),
            "must not be a credential header (the probe sets those)",
          )
          .superRefine((n, ctx) => {
            const problem = transportHeaderProblem(n);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          }),
        z.string().superRefine((v, ctx) => {
          const problem = headerValueProblem(v);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }),
      )
      .optional()
      .meta({ description: "Non-secret request headers every probe of this target sends." }),
    body: z.string().optional().meta({ description: "Request body, for POST/PUT operations." }),
    expectedStatuses: z
      .partialRecord(z.enum(STATUS_PROBES), z.array(status).min(1, "must list at least one status"))
      .optional()
      .meta({
        description:
          "Statuses that count as a pass, per probe; defaults: valid 2xx, unassigned-client 401/403, others 401.",
      }),
    probes: z
      .array(z.enum(PROBE_NAMES, { error: `must be a probe name (${PROBE_NAMES.join(", ")})` }))
      .min(1, "must enable at least one probe")
      .optional()
      .meta({ description: "Probes to run for this target; default all." }),
  })
  .meta({ description: "One API operation behind APIM." });

export const targetsFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    targets: z
      .array(targetSchema)
      .min(1, "must list at least one target")
      .superRefine((targets, ctx) => {
        const seen = new Set<string>();
        targets.forEach((t, i) => {
          if (seen.has(t.name)) ctx.addIssue({ code: "custom", message: "duplicate target name", path: [i, "name"] });
          seen.add(t.name);
        });
      }),
  })
  .meta({
    title: "apim-smoke-probe targets",
    description: "Targets for PROBE_TARGETS_FILE. Secrets are references to settings, never values.",
  });

export type TargetsFile = z.output<typeof targetsFileSchema>;

/** The JSON Schema published as schema/targets.schema.json (editors validate the file with it). */
export function targetsJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(targetsFileSchema, { io: "input", target: "draft-2020-12" });
}

/**
 * Limits on a targets file, so a broken or hostile one is a settings problem in bounded memory, not
 * a crash: 500 targets weigh about 200 KB and nest 5 levels. Documented in docs/ARCHITECTURE.md.
 */
export const MAX_TARGETS_FILE_CHARS = 8 * 1024 * 1024;
export const MAX_TARGETS_FILE_DEPTH = 32;

/** How deep `text`'s arrays and objects nest (strings skipped), counted without parsing; stops past `limit`. */
export function jsonNestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "[" || ch === "{") {
      deepest = Math.max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (ch === "]" || ch === "}") depth--;
  }
  return deepest;
}

/** Fields that hold file paths: a long generated folder name is not a secret. */
const PATH_FIELDS = new Set(["policyFile"]);

/** Paths (`targets[0].url`) of string values in raw JSON that look like secret values. */
export function findSecretLikeValues(raw: unknown, path = ""): string[] {
  if (typeof raw === "string") return looksLikeSecret(raw) ? [path || "(root)"] : [];
  if (Array.isArray(raw)) return raw.flatMap((v, i) => findSecretLikeValues(v, `${path}[${i}]`));
  if (raw && typeof raw === "object") {
    return Object.entries(raw)
      .filter(([k]) => !PATH_FIELDS.has(k))
      .flatMap(([k, v]) => findSecretLikeValues(v, path ? `${path}.${k}` : k));
  }
  return [];
}
