import { StateStoreError } from "../errors.js";

/** One stored document and the version it was read at (an ETag, or a hash of a file's bytes). */
export interface StoredDocument {
  text: string;
  version: string;
}

/**
 * Where the probe keeps what must outlive its process (issue 14): the outbox of availability
 * results, the expired-token harvest and the last token summaries. Two kinds, one contract: a
 * folder for the CLI (`--state-dir`), a blob container in the Function app's own storage account.
 *
 * Writes are conditional so that two runs at once (a timer run and an on-demand run on another
 * instance) never overwrite each other's changes: `write` stores only when the document is still
 * at `expected` (undefined: only when there is none yet) and says false otherwise.
 */
export interface StateStore {
  /** How the user would name it: `state dir ./state`, `storage account probe123, container apim-smoke-probe-state`. */
  readonly description: string;
  read(name: string): Promise<StoredDocument | undefined>;
  write(name: string, text: string, expected: string | undefined): Promise<boolean>;
}

/** How often a conditional update is tried again after another run wrote first. */
const UPDATE_ATTEMPTS = 5;

/**
 * Read, change, write back conditionally, again on conflict: the change function sees the latest
 * document each time, so it must be a pure function of it. Returns what the last call returned.
 */
/** How one kind of document is read (an unreadable or absent one reads as empty) and written. */
export interface DocumentCodec<T> {
  parse(text: string | undefined): T;
  serialize(value: T): string;
}

export async function updateDocument<T, R>(
  store: StateStore,
  name: string,
  codec: DocumentCodec<T>,
  change: (current: T) => { next: T; result: R } | { unchanged: R },
): Promise<R> {
  for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
    const stored = await store.read(name);
    const outcome = change(codec.parse(stored?.text));
    if ("unchanged" in outcome) return outcome.unchanged;
    if (await store.write(name, codec.serialize(outcome.next), stored?.version)) return outcome.result;
  }
  throw new StateStoreError(store.description, `${name} kept changing under this run (${UPDATE_ATTEMPTS} attempts); is another probe writing the same state?`);
}

/**
 * A JSON document; one that cannot be read (hand-edited, or from a newer release) reads as empty
 * and is rewritten whole on the next update: state is a cache of what runs saw, never configuration.
 */
export function jsonCodec<T>(read: (value: unknown) => T | undefined, empty: () => T): DocumentCodec<T> {
  return {
    parse(text) {
      if (text === undefined) return empty();
      try {
        return read(JSON.parse(text) as unknown) ?? empty();
      } catch {
        return empty();
      }
    },
    serialize: (value) => JSON.stringify(value),
  };
}
