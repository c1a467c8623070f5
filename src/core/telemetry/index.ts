export {
  createAvailabilityReporter,
  lostCount,
  type OutboxOutcome,
  type EarlierResults,
  type AvailabilityReporter,
  type AvailabilityReporterOptions,
  type NotAcceptedResult,
  type TelemetryOutcome,
} from "./reporter.js";
export { DELIVERY_CHUNK, type TelemetryLogger } from "./availability-sender.js";
export { preloadTelemetry } from "./sdk.js";
export { toAvailabilityItems, redactTokens, type AvailabilityItem } from "./availability.js";
export { ingestionTrustedCa } from "./ingestion-ca.js";
export { deliveryReport, deliveryNeedsAttention, describeDelivery, deliveryProblemLines } from "./delivery.js";
export { ingestionHost } from "./ingestion-problems.js";
