// The public surface of src/policy, export by export. The sandbox gateway and the engine's preflight
// both go through it, so there is one evaluator.
export { parsePolicy } from "./parse.js";
export { parseValidateAzureAdToken } from "./parse-validate-azure-ad-token.js";
export { parseValidateJwt } from "./parse-validate-jwt.js";
export { conditionProblem, decideCondition } from "./conditions.js";
export { evaluateSourceExpression } from "./token-expression.js";
export { validatesOnEveryPath } from "./paths.js";
export { composeEffectivePolicy, POLICY_SCOPES } from "./compose.js";
export type { PolicyFragment, PolicyScope, ScopedPolicy } from "./compose.js";
export type { ConditionRequest } from "./conditions.js";
export { isExpression } from "./xml.js";
export { OpenIdConfigError, PolicyError, PolicyLibraryError } from "./errors.js";
export type { ParsePolicyOptions } from "./parse.js";
export { evaluateValidateJwt, DEFAULT_MESSAGE_INVALID, DEFAULT_MESSAGE_NOT_PRESENT } from "./evaluate.js";
export type { EvaluateDeps } from "./evaluate.js";
export { createOpenIdConfigResolver, METADATA_TTL_MS, REFETCH_INTERVAL_MS } from "./openid-config.js";
export type { OpenIdConfig, OpenIdConfigResolverOptions, SigningKeyResolver } from "./openid-config.js";
export { ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS } from "./signature.js";
export { JWT_FAILURE_REASONS } from "./types.js";
export type {
  AccessRestriction,
  ApimPolicy,
  CheckInput,
  ChooseBranch,
  DroppedInheritance,
  InboundStep,
  UnresolvedInput,
  IssuerSigningKey,
  JwtFailureReason,
  JwtRequest,
  JwtValidationOutcome,
  RequiredClaim,
  TokenSource,
  ValidateJwtPolicy,
} from "./types.js";
