import type { Dispatcher } from "undici";

export interface CliStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** A terminal's width; the table fits itself to it. */
  columns?: number;
}

/**
 * Everything a command touches outside itself, so tests run commands in-process with their own
 * environment, streams, transport and clock. `main.ts` fills it from `process`.
 */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: CliStream;
  stderr: CliStream;
  /** Default: a dispatcher built from the settings (extra CA from NODE_EXTRA_CA_CERTS). */
  dispatcher?: Dispatcher;
  now?: () => number;
  /** How often a run without a terminal prints a progress line; default PROGRESS_INTERVAL_MS. */
  progressIntervalMs?: number;
  /** Ends long-running commands (`watch`); main.ts aborts it on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

export interface Command {
  /** One line for `apim-smoke --help`. */
  summary: string;
  /** The synopsis `apim-smoke <command> --help` prints. */
  usage: string;
  /** Returns the exit code: 0 ok, 1 a probe did not pass (or the command failed), 2 usage/settings. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_NOT_OK = 1;
export const EXIT_USAGE = 2;
/**
 * Every probe passed, but availability results were lost (ingestion did not accept them and they
 * are kept nowhere, or the full outbox evicted them), or the state's outbox was damaged (a copy was
 * set aside). Not 0, so a pipeline notices the hole in the availability history.
 */
export const EXIT_RESULTS_LOST = 3;
/** Every probe was skipped (or none ran): nothing was proven, which is no all-clear either. */
export const EXIT_NOTHING_PROVEN = 4;
/** An output file (`--junit`) could not be written; the results were still shown and sent. */
export const EXIT_OUTPUT_FILE = 5;
