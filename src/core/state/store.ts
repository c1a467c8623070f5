import { StateStoreError } from "../errors.js";

/** One stored document and the version it was read at (an ETag, or a hash of a file's bytes). */
export interface StoredDocument {
  text: string;
  version: string;
}

/**
 * Where the probe keeps what must outlive its process: the outbox of availability
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
  /**
   * Keeps a copy of a document that cannot be read whole next to it, named with the time
   * (`outbox.damaged-2026-12-03T11-20-00-000Z.json`), before it is replaced: the evidence of what
   * went wrong is never lost. Returns the copy's name.
   */
  setAside(name: string, text: string, at: Date): Promise<string>;
}

/** A stored document that could not be read whole: what was wrong, and where the copy of it went. */
export interface DamagedDocument {
  /** `outbox.json` */
  document: string;
  /** `not JSON (truncated or garbage)`, `format version 2; this release reads version 1`... */
  problem: string;
  /** The copy's name in the same store. */
  savedAs: string;
  /** How the store is named to the user, e.g. `state dir ./state`. */
  store: string;
}

/** `outbox.json in state dir ./state was damaged (empty); a copy is kept as outbox.damaged-....json` */
export function describeDamaged(d: DamagedDocument): string {
  return `${d.document} in ${d.store} was damaged (${d.problem}); a copy is kept as ${d.savedAs}`;
}

/** The copy's name for a document set aside at `at`: its name, `damaged`, the time (no colons, for every file system). */
export function setAsideName(name: string, at: Date, suffix = ""): string {
  return `${name}.damaged-${at.toISOString().replace(/:/g, "-")}${suffix}.json`;
}

/** How often a conditional update is tried again after another run wrote first. */
const UPDATE_ATTEMPTS = 5;

/**
 * Read, change, write back conditionally, again on conflict: the change function sees the latest
 * document each time, so it must be a pure function of it. Returns what the last call returned.
 */
/** How one kind of document is read (an unreadable or absent one reads as empty, or as what of it is readable) and written. */
export interface DocumentCodec<T> {
  parse(text: string | undefined): T;
  serialize(value: T): string;
  /**
   * What is wrong with a stored text that cannot be read whole, undefined when nothing is. A codec
   * with it never has a damaged document replaced in silence: updateDocument sets a copy aside first.
   */
  damage?(text: string): string | undefined;
}

export interface UpdateOptions {
  /** Told once per damaged document found, after its copy was set aside. */
  onDamaged?: (damaged: DamagedDocument) => void;
  now?: () => number;
}

export async function updateDocument<T, R>(
  store: StateStore,
  name: string,
  codec: DocumentCodec<T>,
  change: (current: T) => { next: T; result: R } | { unchanged: R },
  options: UpdateOptions = {},
): Promise<R> {
  let setAsideVersion: string | undefined;
  for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
    const stored = await store.read(name);
    const problem = stored === undefined ? undefined : codec.damage?.(stored.text);
    if (stored !== undefined && problem !== undefined && setAsideVersion !== stored.version) {
      // Before anything replaces it: a failure to keep the copy fails the update, the document stays.
      const savedAs = await store.setAside(name, stored.text, new Date((options.now ?? Date.now)()));
      setAsideVersion = stored.version;
      options.onDamaged?.({ document: `${name}.json`, problem, savedAs, store: store.description });
    }
    const current = codec.parse(stored?.text);
    const outcome = change(current);
    // A damaged document is rewritten (its copy is kept) even when nothing changed, so it is set aside once.
    if ("unchanged" in outcome && problem === undefined) return outcome.unchanged;
    const [next, result] = "unchanged" in outcome ? [current, outcome.unchanged] : [outcome.next, outcome.result];
    if (await store.write(name, codec.serialize(next), stored?.version)) return result;
  }
  throw new StateStoreError(
    store.description,
    `${name} kept changing under this run (${UPDATE_ATTEMPTS} attempts); is another probe writing the same state?`,
  );
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
