// The public surface of src/core/diagnosis, export by export. The engine calls diagnose/diagnoseRun
// (and preflightAgainstPolicy when a target names its policy); the CLI's diagnose command calls
// explainToken with expectations from a policy or the settings.
export { CAUSE_CODES } from "./catalogue.js";
export type { CauseCode } from "./catalogue.js";
export { buildDiagnosis, diagnose, diagnoseRun } from "./diagnose.js";
export type { FolderPromises, TenantContext } from "./diagnose.js";
export { expectationsFromPolicy, expectationsFromSettings } from "./expectations.js";
export type { Expectations } from "./expectations.js";
export { explainToken } from "./explain-token.js";
export { answeredByFromBody, observationFromResult, observeError } from "./observation.js";
export type { PreflightOutcome, ProbeObservation } from "./observation.js";
export { preflightAgainstPolicy } from "./preflight.js";
