import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createBlobStateStore,
  createFileStateStore,
  storageConnectionFrom,
  type StateStore,
} from "../../../src/core/state/index.js";
import { updateDocument, jsonCodec } from "../../../src/core/state/store.js";
import { startAzurite, type Azurite } from "../../support/azurite.js";

let azurite: Azurite;
const dirs: string[] = [];
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(async () => {
  await azurite.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const stores: [string, () => StateStore][] = [
  [
    "a state dir",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "probe-state-"));
      dirs.push(dir);
      return createFileStateStore(join(dir, "state"));
    },
  ],
  [
    "blob storage through Azurite",
    () => createBlobStateStore(storageConnectionFrom({ AzureWebJobsStorage: azurite.connectionString })!),
  ],
];

describe.each(stores)("the state store in %s", (_kind, makeStore) => {
  it("reads nothing before the first write, then what was written", async () => {
    const store = makeStore();
    const name = `doc-${Math.random().toString(36).slice(2, 8)}`;
    expect(await store.read(name)).toBeUndefined();
    expect(await store.write(name, '{"a":1}', undefined)).toBe(true);
    expect((await store.read(name))?.text).toBe('{"a":1}');
  });

  it("refuses a write made from a stale read, so two runs never overwrite each other", async () => {
    const store = makeStore();
    const name = `race-${Math.random().toString(36).slice(2, 8)}`;
    expect(await store.write(name, "v1", undefined)).toBe(true);
    const first = await store.read(name);
    const second = await store.read(name);
    expect(await store.write(name, "from first", first!.version)).toBe(true);
    expect(await store.write(name, "from second", second!.version)).toBe(false);
    expect(await store.write(name, "create again", undefined)).toBe(false);
    expect((await store.read(name))?.text).toBe("from first");
  });

  it("sets a damaged document aside under a name with the time, never over another copy, and replaces it once", async () => {
    const store = makeStore();
    const name = `damaged-${Math.random().toString(36).slice(2, 8)}`;
    expect(await store.write(name, '{"version":1,"results":[{"item"', undefined)).toBe(true);
    const at = new Date("2026-12-03T11:20:00.000Z");
    expect(await store.setAside(name, "copy one", at)).toBe(`${name}.damaged-2026-12-03T11-20-00.000Z.json`);
    expect(await store.setAside(name, "copy two", at)).toBe(`${name}.damaged-2026-12-03T11-20-00.000Z-1.json`);

    const codec = {
      ...jsonCodec<{ n: number[] }>(
        (v) => v as { n: number[] },
        () => ({ n: [] }),
      ),
      damage: (text: string) => (text.endsWith("}") ? undefined : "truncated"),
    };
    const damaged: string[] = [];
    await updateDocument(store, name, codec, (doc) => ({ next: { n: [...doc.n, 1] }, result: undefined }), {
      onDamaged: (d) => damaged.push(d.savedAs),
      now: () => at.getTime() + 1000,
    });
    expect(damaged).toEqual([`${name}.damaged-2026-12-03T11-20-01.000Z.json`]);
    expect((await store.read(name))?.text).toBe('{"n":[1]}');
  });

  it("updateDocument applies concurrent changes one after the other, none lost", async () => {
    const store = makeStore();
    const name = `counter-${Math.random().toString(36).slice(2, 8)}`;
    const codec = jsonCodec<{ n: number[] }>(
      (v) => v as { n: number[] },
      () => ({ n: [] }),
    );
    await Promise.all(
      [1, 2, 3].map((i) =>
        updateDocument(store, name, codec, (doc) => ({ next: { n: [...doc.n, i] }, result: undefined })),
      ),
    );
    const final = codec.parse((await store.read(name))?.text);
    expect([...final.n].sort()).toEqual([1, 2, 3]);
  });
});

/**
 * A plain HTTP proxy in front of Azurite that can run something before it forwards a request: the
 * way to put a second run's write exactly between two requests of the first.
 */
async function startInterposingProxy(target: string): Promise<{
  endpoint: string;
  before: (hook: ((req: IncomingMessage) => Promise<void>) | undefined) => void;
  close: () => Promise<void>;
}> {
  const upstream = new URL(target);
  let hook: ((req: IncomingMessage) => Promise<void>) | undefined;
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      await hook?.(req);
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(Buffer.concat(chunks));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}${upstream.pathname}`,
    before: (next) => (hook = next),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("a read-modify-write of blob state is one conditional cycle", () => {
  it("keeps both updates when a second run writes between the first run's requests", async () => {
    const proxy = await startInterposingProxy(azurite.blobEndpoint);
    try {
      const direct = createBlobStateStore(storageConnectionFrom({ AzureWebJobsStorage: azurite.connectionString })!);
      const throughProxy = createBlobStateStore(
        storageConnectionFrom({
          AzureWebJobsStorage: azurite.connectionString.replace(azurite.blobEndpoint, proxy.endpoint),
        })!,
      );
      const name = `interleave-${Math.random().toString(36).slice(2, 8)}`;
      const codec = jsonCodec<{ runs: string[] }>(
        (v) => v as { runs: string[] },
        () => ({ runs: [] }),
      );
      const add = (run: string) => (doc: { runs: string[] }) => ({
        next: { runs: [...doc.runs, run] },
        result: undefined,
      });
      await updateDocument(direct, name, codec, add("first run, long ago"));

      let seen = 0;
      proxy.before(async (req) => {
        if (!req.url?.includes(`/${name}.json`)) return;
        seen += 1;
        // The second request the first run makes for this document: the other run's whole update lands before it.
        if (seen === 2) await updateDocument(direct, name, codec, add("the other run, which made the document longer"));
      });
      await updateDocument(throughProxy, name, codec, add("this run"));
      proxy.before(undefined);

      expect(seen).toBeGreaterThanOrEqual(2);
      const final = codec.parse((await direct.read(name))?.text);
      expect([...final.runs].sort()).toEqual([
        "first run, long ago",
        "the other run, which made the document longer",
        "this run",
      ]);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});

describe("the state dir on disk", () => {
  it("is created private (700) with private files (600), and leaves no temporary file behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "probe-state-"));
    dirs.push(dir);
    const store = createFileStateStore(join(dir, "nested", "state"));
    await store.write("outbox", "{}", undefined);
    const root = join(dir, "nested", "state");
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, "outbox.json")).mode & 0o777).toBe(0o600);
    expect(readdirSync(root)).toEqual(["outbox.json"]);
    expect(readFileSync(join(root, "outbox.json"), "utf8")).toBe("{}");
  });
});

describe("the state dir's lock", () => {
  it("is taken over at once when the process that held it on this host was killed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "probe-state-"));
    dirs.push(dir);
    const store = createFileStateStore(dir);
    await store.write("outbox", "v1", undefined);
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => child.once("exit", resolve));
    const lock = join(dir, "outbox.json.lock");
    writeFileSync(lock, `${hostname()} ${child.pid}`);
    // Dated ahead, so it never ages into "stale": only knowing its holder died frees it.
    const ahead = new Date(Date.now() + 3_600_000);
    utimesSync(lock, ahead, ahead);
    expect(await store.write("outbox", "v2", (await store.read("outbox"))!.version)).toBe(true);
    expect(existsSync(lock)).toBe(false);
    expect((await store.read("outbox"))?.text).toBe("v2");
  });
});

describe("AzureWebJobsStorage as the Functions host reads it", () => {
  it("takes a connection string, or the identity-based settings the ARM template sets", () => {
    expect(storageConnectionFrom({})).toBeUndefined();
    expect(storageConnectionFrom({ AzureWebJobsStorage: "UseDevelopmentStorage=true" })).toMatchObject({
      kind: "connection-string",
      account: "devstoreaccount1 (Azurite)",
    });
    expect(
      storageConnectionFrom({
        AzureWebJobsStorage__accountName: "stprobe123",
        AzureWebJobsStorage__credential: "managedidentity",
        AzureWebJobsStorage__clientId: "11111111-2222-3333-4444-555555555555",
      }),
    ).toEqual({
      kind: "identity",
      blobServiceUri: "https://stprobe123.blob.core.windows.net",
      account: "stprobe123",
      managedIdentityClientId: "11111111-2222-3333-4444-555555555555",
    });
  });

  it("refuses a blob service URI that is not https, naming the setting", () => {
    expect(() =>
      storageConnectionFrom({ AzureWebJobsStorage__blobServiceUri: "http://stprobe.blob.core.windows.net" }),
    ).toThrow(/AzureWebJobsStorage__blobServiceUri: must be an https/);
  });

  it("names the account, never the key, when the storage cannot be reached", async () => {
    const store = createBlobStateStore(
      storageConnectionFrom({
        AzureWebJobsStorage: azurite.connectionString.replace(/127\.0\.0\.1:\d+/, "127.0.0.1:9"),
      })!,
    );
    const error = await store.read("outbox").then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/storage account devstoreaccount1, container apim-smoke-probe-state/);
    expect(error?.message).not.toContain("AccountKey");
    expect(error?.message).not.toContain("Eby8");
  }, 60_000);
});
