// The public surface of src/core/diagnosis, export by export. The engine calls diagnose/diagnoseRun
// (and preflightAgainstPolicy when a target names its policy); the CLI's diagnose command calls
// explainToken with expectations from a policy or the settings.
export { CATALOGUE, CAUSE_CODES, isCauseCode, renderTemplate, templateFields } from "./catalogue.js";
export type { CauseCode, CauseEntry } from "./catalogue.js";
export { AADSTS_CAUSES, causeOfTokenFailure } from "./aadsts.js";
export type { TokenFailure } from "./aadsts.js";
export { buildDiagnosis, diagnose, diagnoseRun } from "./diagnose.js";
export type { FolderPromises, TenantContext } from "./diagnose.js";
export { expectationsFromPolicy, expectationsFromSettings } from "./expectations.js";
export type { ExpectedClaim, Expectations } from "./expectations.js";
export { explainToken } from "./explain-token.js";
export type { ExplainOptions, TokenFinding } from "./explain-token.js";
export { issuerFor, issuerShape, openIdConfigShape, tokenVersionOf } from "../../entra/issuers.js";
export type { IssuerShape, TokenVersion } from "../../entra/issuers.js";
export { answeredByFromBody, observationFromResult, observeError } from "./observation.js";
export type { AnsweredBy, PreflightFailure, PreflightOutcome, ProbeObservation } from "./observation.js";
export { preflightAgainstPolicy } from "./preflight.js";
export { causeOfBearerChallenge, parseChallenge } from "./www-authenticate.js";
