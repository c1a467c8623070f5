import type { ProbeConfig } from "../settings/types.js";
import { createBlobStateStore, storageConnectionFrom, type StorageEnv } from "./blob-store.js";
import { createFileStateStore } from "./file-store.js";
import { ProbeState } from "./probe-state.js";

export { ProbeState } from "./probe-state.js";
export { Outbox, type DeliveryVerdict } from "./outbox.js";
export { createFileStateStore } from "./file-store.js";
export { createBlobStateStore, storageConnectionFrom } from "./blob-store.js";
export { describeDamaged, type StateStore } from "./store.js";

/** The CLI's state, in the folder `--state-dir` / PROBE_STATE_DIR names. */
export function stateInFolder(dir: string, config: ProbeConfig, now?: () => number): ProbeState {
  return new ProbeState(createFileStateStore(dir), config.stateKey, now);
}

/** The Function app's state, in its own storage account (AzureWebJobsStorage); undefined when none is configured. */
export function stateInAppStorage(env: StorageEnv, config: ProbeConfig, now?: () => number): ProbeState | undefined {
  const connection = storageConnectionFrom(env);
  return connection ? new ProbeState(createBlobStateStore(connection), config.stateKey, now) : undefined;
}
