import { z } from "zod";

/**
 * The App Insights ingestion envelope as documented (docs/REFERENCE.md §4), not as our exporter happens to
 * build it: the emulator must reject what real ingestion would reject, so that a bug in how we
 * feed `applicationinsights` shows up in tests instead of as silently dropped rows in Azure.
 */

/** `[D.]HH:MM:SS.fff` (the .NET TimeSpan format ingestion expects; docs/REFERENCE.md §4). */
const DURATION = /^(\d+\.)?([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,7})?$/;
/** ISO 8601 in UTC with an explicit `Z`: ingestion rejects local offsets and bare dates. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/;

// Field limits from docs/REFERENCE.md §4.
export const AVAILABILITY_LIMITS = {
  name: 1024,
  runLocation: 2024,
  message: 8192,
  propertyKey: 150,
  propertyValue: 8192,
} as const;

const properties = z.record(
  z.string().min(1).max(AVAILABILITY_LIMITS.propertyKey),
  z.string().max(AVAILABILITY_LIMITS.propertyValue),
);
const measurements = z.record(z.string().min(1), z.number().finite());

export const availabilityDataSchema = z.object({
  ver: z.literal(2),
  id: z.string().min(1),
  name: z.string().min(1).max(AVAILABILITY_LIMITS.name),
  duration: z.string().regex(DURATION, "must be [D.]HH:MM:SS.fff"),
  success: z.boolean(),
  runLocation: z.string().max(AVAILABILITY_LIMITS.runLocation).optional(),
  message: z.string().max(AVAILABILITY_LIMITS.message).optional(),
  properties: properties.optional(),
  measurements: measurements.optional(),
});

export type AvailabilityData = z.infer<typeof availabilityDataSchema>;

export const envelopeSchema = z.object({
  ver: z.number().int().optional(),
  name: z.string().min(1),
  time: z.string().regex(ISO_UTC, "must be ISO 8601 UTC ending in Z"),
  sampleRate: z.number().min(0).max(100).optional(),
  iKey: z.string().min(1),
  tags: z.record(z.string(), z.string()).optional(),
  data: z.object({
    baseType: z.string().min(1),
    baseData: z.record(z.string(), z.unknown()),
  }),
});

export type Envelope = z.infer<typeof envelopeSchema>;

export interface AvailabilityEnvelope extends Envelope {
  name: "Microsoft.ApplicationInsights.Availability";
  data: { baseType: "AvailabilityData"; baseData: AvailabilityData };
}

export const AVAILABILITY_ENVELOPE_NAME = "Microsoft.ApplicationInsights.Availability";

export type EnvelopeCheck = { ok: true; envelope: Envelope; availability: boolean } | { ok: false; message: string };

/**
 * Validates one item of a `/track` batch. AvailabilityData items are checked field by field; other
 * base types (messages, metrics, statsbeat) only as envelopes, since the emulator merely records them.
 */
export function checkEnvelope(item: unknown): EnvelopeCheck {
  const parsed = envelopeSchema.safeParse(item);
  if (!parsed.success) return { ok: false, message: describe(parsed.error) };
  const envelope = parsed.data;
  if (envelope.data.baseType !== "AvailabilityData") return { ok: true, envelope, availability: false };

  if (envelope.name !== AVAILABILITY_ENVELOPE_NAME) {
    return { ok: false, message: `name: must be ${AVAILABILITY_ENVELOPE_NAME} for AvailabilityData` };
  }
  const data = availabilityDataSchema.safeParse(envelope.data.baseData);
  if (!data.success) return { ok: false, message: describe(data.error, "data.baseData") };
  return {
    ok: true,
    envelope: { ...envelope, data: { baseType: "AvailabilityData", baseData: data.data } },
    availability: true,
  };
}

function describe(error: z.ZodError, prefix?: string): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
      return `${path || "(item)"}: ${issue.message}`;
    })
    .join("; ");
}
