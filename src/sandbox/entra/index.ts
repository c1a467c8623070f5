/** The emulated Entra tenant: public surface for the sandbox (src/sandbox/index.ts) and tests. */
export { startEntraEmulator } from "./server.js";
export type { EntraEmulator } from "./server.js";
export { createDefaultTenant } from "./model.js";
