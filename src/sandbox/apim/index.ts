// The public surface of the emulated APIM gateway, export by export.
export { startApimGateway } from "./gateway.js";
export type { BackendEcho } from "./backend.js";
export { MESSAGES as APIM_MESSAGES, REQUEST_ID_HEADER } from "./responses.js";
export type { ApimGateway } from "./types.js";
