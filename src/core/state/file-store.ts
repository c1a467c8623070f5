import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { StateStoreError } from "../errors.js";
import { displayPath } from "../settings/looks-like-secret.js";
import { setAsideName, type StateStore, type StoredDocument } from "./store.js";

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * The CLI's state: one JSON file per document in a folder the user chose (`--state-dir`,
 * `PROBE_STATE_DIR`), created with mode 700, files 600. A write goes to a temporary file renamed
 * over the old one, so a run killed mid-write leaves the previous document whole. The version is a
 * hash of the file's bytes, checked and replaced under a lock file (created exclusively, naming its
 * holder; one left by a killed process is taken over at once when that process was on this host,
 * else after LOCK_STALE_MS), so two processes sharing the folder never lose each other's update. A
 * read needs no lock: a rename replaces the file whole, and the version is the hash of what was read.
 */
export function createFileStateStore(dir: string): StateStore {
  const root = resolve(dir);
  const description = `state dir ${displayPath(dir)}`;
  const fileOf = (name: string): string => {
    if (!NAME.test(name)) throw new TypeError(`state document name ${JSON.stringify(name)} is not a plain name`);
    return join(root, `${name}.json`);
  };

  async function read(name: string): Promise<StoredDocument | undefined> {
    let text: string;
    try {
      text = await readFile(fileOf(name), "utf8");
    } catch (error) {
      if ((error as { code?: unknown }).code === "ENOENT") return undefined;
      throw new StateStoreError(description, `cannot read ${name}.json (${codeOf(error)})`, { cause: error });
    }
    return { text, version: versionOf(text) };
  }

  return {
    description,
    read,
    async setAside(name, text, at) {
      fileOf(name);
      for (let n = 0; ; n++) {
        const copy = setAsideName(name, at, n === 0 ? "" : `-${n}`);
        try {
          // Exclusive: a copy is never overwritten, not even by another run's copy of the same moment.
          await writeFile(join(root, copy), text, { mode: 0o600, flag: "wx" });
          return copy;
        } catch (error) {
          if ((error as { code?: unknown }).code === "EEXIST" && n < 100) continue;
          throw new StateStoreError(description, `cannot keep a copy of the damaged ${name}.json (${codeOf(error)})`, {
            cause: error,
          });
        }
      }
    },
    async write(name, text, expected) {
      try {
        await mkdir(root, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new StateStoreError(description, `cannot create the folder (${codeOf(error)})`, { cause: error });
      }
      const file = fileOf(name);
      return withLock(`${file}.lock`, description, async () => {
        const current = await read(name);
        if (current?.version !== expected) return false;
        const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
        try {
          await writeFile(temporary, text, { mode: 0o600 });
          await rename(temporary, file);
        } catch (error) {
          await rm(temporary, { force: true }).catch(() => undefined);
          throw new StateStoreError(description, `cannot write ${name}.json (${codeOf(error)})`, { cause: error });
        }
        return true;
      });
    },
  };
}

/** A lock older than this was left by a process that died holding it: a write takes milliseconds. */
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 15_000;

async function withLock<T>(lockFile: string, description: string, body: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lockFile, "wx", 0o600);
      // Who holds it, so that a process killed holding it is recognised at once on this host.
      await handle.writeFile(`${hostname()} ${process.pid}`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as { code?: unknown }).code !== "EEXIST")
        throw new StateStoreError(description, `cannot lock (${codeOf(error)})`, { cause: error });
      const age = await stat(lockFile).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      const gone = age > LOCK_STALE_MS ? undefined : await deadHolder(lockFile);
      if (age > LOCK_STALE_MS) await rm(lockFile, { force: true });
      // Removed only if it still names the dead process: another waiter may have taken it over since.
      else if (gone !== undefined && (await readFile(lockFile, "utf8").catch(() => "")) === gone)
        await rm(lockFile, { force: true });
      else if (Date.now() - started > LOCK_WAIT_MS)
        throw new StateStoreError(
          description,
          `another process holds ${lockFile} for more than ${LOCK_WAIT_MS / 1000} s`,
        );
      else await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  }
  try {
    return await body();
  } finally {
    await rm(lockFile, { force: true });
  }
}

/** The lock's text when it names a process of this host that no longer runs (killed while writing). */
async function deadHolder(lockFile: string): Promise<string | undefined> {
  const text = await readFile(lockFile, "utf8").catch(() => "");
  const [host, pidText] = text.split(" ");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (error) {
    return (error as { code?: unknown }).code === "ESRCH" ? text : undefined;
  }
}

function versionOf(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : error instanceof Error ? error.name : "unknown error";
}
