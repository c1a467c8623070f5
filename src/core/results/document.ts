import { z } from "zod";
import { CAUSE_CODES } from "../diagnosis/catalogue.js";
import { PROBE_NAMES } from "../../probe-matrix/names.js";
import type { DriftKind } from "../tokens/drift.js";
import { RESULT_SCHEMA_VERSION } from "./schema-version.js";
import { OUTCOMES, type ProbeResult, type RunReport } from "./types.js";

/**
 * The JSON document of a run (`--format json`, the HTTP trigger's answer, one line of `watch`), as a
 * zod schema: `jsonReport` is typed by it, the tests parse real runs with it, and
 * schema/run-result.schema.json is generated from it (a test keeps the file current). A field added
 * to the document is added here, and `UPDATE_SCHEMA=1` regenerates the published file.
 */

export { RESULT_SCHEMA_VERSION };

const DRIFT_KINDS = [
  "roles-removed",
  "roles-added",
  "version",
  "issuer",
  "audience",
  "signing-key",
] as const satisfies readonly DriftKind[];
// Every DriftKind listed: a new kind in the type fails the build here until the schema names it.
const _allDriftKinds: Exclude<DriftKind, (typeof DRIFT_KINDS)[number]> extends never ? true : never = true;
void _allDriftKinds;

const isoTime = z.iso.datetime({ offset: true });
const httpStatus = z.int().min(100).max(599);

const tokenSummary = z
  .strictObject({
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    iss: z.string().optional(),
    ver: z.string().optional(),
    client: z.string().optional().meta({ description: "The calling client: azp (v2) or appid (v1)." }),
    roles: z.array(z.string()).optional(),
    scp: z.string().optional().meta({ description: "Delegated scopes, which client-credentials tokens do not carry." }),
    exp: z.number().optional().meta({ description: "Unix seconds." }),
    kid: z.string().optional(),
    alg: z.string().optional(),
    firstParty: z
      .literal(true)
      .optional()
      .meta({ description: "The JWT header carries a nonce: a Microsoft first-party token (Graph's)." }),
  })
  .meta({ description: "What the token said about itself, decoded without verification. Never the token." });

const diagnosis = z
  .strictObject({
    summary: z.string().meta({ description: "One line with the observed values." }),
    fix: z.string(),
    evidence: z.record(z.string(), z.string()).meta({
      description:
        "Observed facts behind the diagnosis. `code` holds the raw code where there is one: Entra's AADSTS code, the transport kind, the OAuth error.",
    }),
  })
  .meta({
    description: "Present when the probe did not pass (and on a pass that carries a warning, e.g. audience-unproven).",
  });

const causeCode = z
  .enum(CAUSE_CODES)
  .meta({ description: "The diagnosis code: the one vocabulary alert rules, dashboards and pipelines key on." });

export const probeResultDocument = z.strictObject({
  target: z.string(),
  probe: z.enum(PROBE_NAMES),
  outcome: z.enum(OUTCOMES),
  expectedStatuses: z
    .array(httpStatus)
    .meta({ description: "Statuses that count as a pass; empty for `token` (success is a token)." }),
  actualStatus: httpStatus
    .optional()
    .meta({ description: "What the API (for `token`: the token endpoint) answered; absent when nothing answered." }),
  durationMs: z.number().min(0),
  message: z.string(),
  apimMessage: z.string().optional(),
  requestId: z.string().optional(),
  token: tokenSummary.optional(),
  startedAt: isoTime,
  cause: causeCode.optional(),
  evidence: z.strictObject({ code: z.string() }).optional().meta({
    description:
      "On a result without a diagnosis: the raw code it carries (a pass of unassigned-client: Entra's AADSTS501051).",
  }),
  diagnosis: diagnosis.optional(),
  blockedBy: z.string().optional().meta({ description: "For `blocked`: the prerequisite that failed." }),
  wwwAuthenticate: z.string().optional(),
  tokenDrift: z.array(z.enum(DRIFT_KINDS)).optional(),
  attempts: z.int().min(2).optional(),
  expiry: z.strictObject({ item: z.string(), expiresOn: isoTime, daysLeft: z.int() }).optional(),
});

const delivery = z.strictObject({
  endpoint: z.string().meta({ description: "Host of the ingestion endpoint." }),
  sent: z.int().min(0),
  accepted: z.int().min(0),
  kept: z.int().min(0).meta({ description: "Not accepted, kept in the outbox for a later run." }),
  lost: z.int().min(0).meta({ description: "Neither accepted nor kept, evictions included." }),
  evicted: z.strictObject({ total: z.int().min(0), byOutcome: z.record(z.string(), z.int().min(0)) }),
  earlier: z.strictObject({ delivered: z.int().min(0), refused: z.int().min(0), tooOld: z.int().min(0) }),
  waiting: z.int().min(0).optional(),
  store: z.string().optional(),
  durationMs: z.number().min(0),
  problems: z.array(
    z.strictObject({ reason: z.string(), fix: z.string().optional(), results: z.int().min(0), kept: z.int().min(0) }),
  ),
  damagedState: z
    .strictObject({ document: z.string(), problem: z.string(), savedAs: z.string(), store: z.string() })
    .optional(),
  stateProblem: z.string().optional(),
});

const byOutcome = z.strictObject(
  Object.fromEntries(OUTCOMES.map((o) => [o, z.int().min(0)])) as Record<(typeof OUTCOMES)[number], z.ZodInt>,
);

export const runDocument = z
  .strictObject({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    tool: z.strictObject({ name: z.literal("apim-smoke"), version: z.string() }),
    runId: z.string(),
    startedAt: isoTime,
    trigger: z.enum(["timer", "http", "cli"]),
    source: z.string().optional(),
    exitCode: z.int().min(0).max(255).optional().meta({
      description:
        "The CLI's exit code for this run (see the README's exit codes). Absent in the HTTP trigger's answer, whose status says the same.",
    }),
    results: z.array(probeResultDocument),
    summary: z.strictObject({
      total: z.int().min(0),
      byOutcome,
      ok: z.boolean().meta({ description: "Every probe passed or was skipped, and at least one passed." }),
      nothingProven: z
        .boolean()
        .meta({ description: "Every probe was skipped (or none ran): the run proved nothing (exit code 4)." }),
      durationMs: z.number().min(0),
    }),
    delivery: delivery.optional().meta({
      description:
        "The run's availability results on their way to Application Insights; absent without a connection string.",
    }),
  })
  .meta({
    title: "apim-smoke run result",
    description: "One run of the probe matrix as `apim-smoke run --format json` writes it.",
  });

export type RunDocument = z.output<typeof runDocument>;
export type ProbeResultDocument = z.output<typeof probeResultDocument>;

// Every field of a result and of a run is in the document or deliberately left out: a field added to
// ProbeResult or RunReport fails the build here until the schema says how it is published.
type Published<T, D, Left extends keyof T = never> = Exclude<keyof T, keyof D | Left> extends never ? true : never;
const _resultPublished: Published<ProbeResult, ProbeResultDocument> = true;
const _reportPublished: Published<RunReport, RunDocument> = true;
void _resultPublished;
void _reportPublished;

/** The JSON Schema published as schema/run-result.schema.json. */
export function runDocumentJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(runDocument, { io: "output", target: "draft-2020-12" });
}
