// The public surface of the emulated APIM gateway, export by export.
export { startApimGateway } from "./gateway.js";
export { startBackend } from "./backend.js";
export type { BackendEcho, BackendOptions, SandboxBackend } from "./backend.js";
export { MESSAGES as APIM_MESSAGES, REQUEST_ID_HEADER } from "./responses.js";
export { DEFAULT_KEY_HEADER, DEFAULT_KEY_QUERY } from "./subscription.js";
export type { ApiDefinition, ApimGateway, BackendBehaviour, GatewayOptions, GatewayRequestRecord } from "./types.js";
