export {
  createAvailabilityReporter,
  DELIVERY_CHUNK,
  lostCount,
  type OutboxOutcome,
  type EarlierResults,
  type AvailabilityReporter,
  type AvailabilityReporterOptions,
  type NotAcceptedResult,
  type TelemetryLogger,
  type TelemetryOutcome,
} from "./reporter.js";
export { preloadTelemetry } from "./sdk.js";
export { toAvailabilityItems, redactTokens, type AvailabilityItem } from "./availability.js";
export { ingestionTrustedCa } from "./trust.js";
export { deliveryReport, deliveryNeedsAttention, describeDelivery, deliveryProblemLines } from "./delivery.js";
export { ingestionHost } from "./ingestion-problems.js";
