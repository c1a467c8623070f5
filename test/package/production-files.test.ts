import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { packageContents, PackagingError, productionPackages } from "../../scripts/packaging/production-files.js";
import { createZip } from "../../scripts/packaging/zip.js";

/** A small app root: what the packager reads, written by hand. */
let root: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function lock(packages: Record<string, Record<string, unknown>>): void {
  write("package-lock.json", JSON.stringify({ lockfileVersion: 3, packages: { "": { name: "app" }, ...packages } }));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "apim-smoke-packaging-"));
  write("package.json", JSON.stringify({ name: "app", main: "dist/src/functions/*.js" }));
  write("host.json", "{}");
  write("dist/src/functions/probe.js", "export {};\n");
  write("dist/src/functions/probe.js.map", "{}");
  write("dist/test/x.test.js", "");
  write("src/functions/probe.ts", "");
  write("node_modules/lib/package.json", JSON.stringify({ name: "lib", version: "1.0.0" }));
  write("node_modules/lib/index.js", "module.exports = 1;\n");
  write("node_modules/lib/index.d.ts", "export {};\n");
  write("node_modules/lib/README.md", "# lib\n");
  write("node_modules/lib/LICENSE", "MIT\n");
  write("node_modules/lib/node_modules/inner/package.json", JSON.stringify({ name: "inner", version: "2.0.0" }));
  write("node_modules/lib/node_modules/inner/index.js", "");
  write("node_modules/devtool/package.json", JSON.stringify({ name: "devtool", version: "1.0.0" }));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("the package's contents", () => {
  it("takes the root files, dist/src without maps, and the lock's production packages without declarations or docs", () => {
    lock({
      "node_modules/lib": { version: "1.0.0" },
      "node_modules/lib/node_modules/inner": { version: "2.0.0" },
      "node_modules/devtool": { version: "1.0.0", dev: true },
      "node_modules/other-platform": { version: "1.0.0", optional: true },
    });
    const contents = packageContents(root);
    expect(contents.app.map((f) => f.name)).toEqual(["package.json", "host.json", "dist/src/functions/probe.js"]);
    expect(contents.packages).toEqual(["node_modules/lib", "node_modules/lib/node_modules/inner"]);
    expect(contents.dependencies.map((f) => f.name).sort()).toEqual([
      "node_modules/lib/LICENSE",
      "node_modules/lib/index.js",
      "node_modules/lib/node_modules/inner/index.js",
      "node_modules/lib/node_modules/inner/package.json",
      "node_modules/lib/package.json",
    ]);
  });

  it("refuses a node_modules that is not what the lock describes, naming the package", () => {
    lock({ "node_modules/lib": { version: "1.0.1" } });
    expect(() => productionPackages(root)).toThrow(
      new PackagingError("node_modules/lib is installed at 1.0.0 but package-lock.json says 1.0.1: run npm ci"),
    );
    lock({ "node_modules/missing": { version: "1.0.0" } });
    expect(() => productionPackages(root)).toThrow(
      /node_modules\/missing is a production dependency in package-lock.json but is not installed: run npm ci/,
    );
  });

  it("refuses a build output whose source is gone (a removed trigger would still register)", () => {
    lock({});
    write("dist/src/functions/removed.js", "export {};\n");
    expect(() => packageContents(root)).toThrow(
      new PackagingError(
        "dist/src/functions/removed.js has no source src/functions/removed.ts: a stale build output; delete dist and build again",
      ),
    );
  });

  it("refuses to package an app that was not built", () => {
    lock({});
    rmSync(join(root, "dist"), { recursive: true });
    expect(() => packageContents(root)).toThrow(/dist\/src\/functions is missing: build first/);
  });
});

/** The general-purpose flags of every central-directory record (PKWARE APPNOTE 4.3.12), read from the bytes. */
function centralFlags(zip: Buffer): number[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const flags: number[] = [];
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    flags.push(zip.readUInt16LE(at + 8));
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return flags;
}

describe("the zip writer", () => {
  const entries = [
    { name: "a.txt", data: Buffer.from("x") },
    { name: "dir/b.js", data: Buffer.from("export const b = 1;\n".repeat(200)) },
    { name: "dir/ü.json", data: Buffer.from(JSON.stringify({ ok: true })) },
    { name: "empty", data: Buffer.alloc(0) },
  ];
  const build = async (name: string): Promise<Buffer> => {
    const zip = await createZip(join(root, name));
    for (const entry of entries) zip.add(entry);
    expect(await zip.close()).toBe(readFileSync(join(root, name)).length);
    return readFileSync(join(root, name));
  };

  it("writes an archive Info-ZIP's unzip tests clean and extracts byte for byte", async () => {
    await build("out.zip");
    const file = join(root, "out.zip");
    await promisify(execFile)("unzip", ["-tq", file]);
    const out = join(root, "out");
    await promisify(execFile)("unzip", ["-q", file, "-d", out]);
    for (const entry of entries) expect(readFileSync(join(out, entry.name)).equals(entry.data), entry.name).toBe(true);
  });

  it("deflates every entry as a regular rw-r--r-- file with a UTF-8 name", async () => {
    const zip = await build("out.zip");
    // zipinfo's short format: mode, version, origin system, size, type, method, date, time, name.
    const { stdout } = await promisify(execFile)("zipinfo", [join(root, "out.zip")]);
    const listed = stdout
      .split("\n")
      .filter((line) => line.endsWith(" a.txt") || line.includes(" dir/") || line.endsWith(" empty"));
    expect(listed).toHaveLength(entries.length);
    for (const line of listed) expect(line).toMatch(/^-rw-r--r-- .* unx .* defN 80-Jan-02 00:00 /);
    expect(listed.some((line) => line.endsWith(" dir/ü.json"))).toBe(true);
    // Bit 11: the name is UTF-8.
    expect(centralFlags(zip).map((flags) => flags & (1 << 11))).toEqual(entries.map(() => 1 << 11));
  });

  it("gives the same bytes for the same entries, at any moment and in any time zone", async () => {
    const zone = process.env.TZ;
    try {
      process.env.TZ = "UTC";
      const one = await build("one.zip");
      const utcMidnight = new Date(1980, 0, 2).getTime();
      process.env.TZ = "Pacific/Auckland";
      const two = await build("two.zip");
      expect(new Date(1980, 0, 2).getTime(), "the time zone changed").not.toBe(utcMidnight);
      expect(one.equals(two)).toBe(true);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it("refuses names that would land outside the folder it is unzipped into", async () => {
    const zip = await createZip(join(root, "bad.zip"));
    for (const name of ["../evil.js", "/abs.js", "dir\\win.js"])
      expect(() => zip.add({ name, data: Buffer.from("") })).toThrow(/not a relative forward-slash path/);
    await zip.abort();
  });
});
