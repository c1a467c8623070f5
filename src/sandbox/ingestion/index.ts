export {
  startIngestionEmulator,
  SANDBOX_INSTRUMENTATION_KEY,
  type IngestionEmulator,
  type TrackResponse,
} from "./emulator.js";
export { checkEnvelope, type AvailabilityEnvelope } from "./schema.js";
