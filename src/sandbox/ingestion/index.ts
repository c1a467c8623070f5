export {
  startIngestionEmulator,
  SANDBOX_INSTRUMENTATION_KEY,
  type IngestionEmulator,
  type IngestionEmulatorOptions,
  type IngestionFault,
  type OtherRequestRecord,
  type RejectedItem,
  type TrackError,
  type TrackRequestRecord,
  type TrackResponse,
} from "./emulator.js";
export {
  checkEnvelope,
  availabilityDataSchema,
  envelopeSchema,
  AVAILABILITY_LIMITS,
  AVAILABILITY_ENVELOPE_NAME,
  type AvailabilityData,
  type AvailabilityEnvelope,
  type Envelope,
  type EnvelopeCheck,
} from "./schema.js";
