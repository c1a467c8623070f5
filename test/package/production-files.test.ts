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

describe("the zip writer", () => {
  it("writes an archive Info-ZIP's unzip tests clean and extracts byte for byte, stored and deflated alike", async () => {
    const file = join(root, "out.zip");
    const zip = await createZip(file);
    const entries = [
      { name: "a.txt", data: Buffer.from("x") },
      { name: "dir/b.js", data: Buffer.from("export const b = 1;\n".repeat(200)) },
      { name: "dir/ü.json", data: Buffer.from(JSON.stringify({ ok: true })) },
      { name: "empty", data: Buffer.alloc(0) },
    ];
    for (const entry of entries) await zip.add(entry);
    const size = await zip.close();
    expect(size).toBe(readFileSync(file).length);
    await promisify(execFile)("unzip", ["-tq", file]);
    const out = join(root, "out");
    await promisify(execFile)("unzip", ["-q", file, "-d", out]);
    for (const entry of entries) expect(readFileSync(join(out, entry.name)).equals(entry.data), entry.name).toBe(true);
  });

  it("gives the same bytes for the same entries (no timestamps of the moment)", async () => {
    const build = async (name: string): Promise<Buffer> => {
      const zip = await createZip(join(root, name));
      await zip.add({ name: "x.js", data: Buffer.from("1") });
      await zip.close();
      return readFileSync(join(root, name));
    };
    expect((await build("one.zip")).equals(await build("two.zip"))).toBe(true);
  });

  it("refuses names that would land outside the folder it is unzipped into", async () => {
    const zip = await createZip(join(root, "bad.zip"));
    await expect(zip.add({ name: "../evil.js", data: Buffer.from("") })).rejects.toThrow(
      /not a relative forward-slash path/,
    );
    await expect(zip.add({ name: "/abs.js", data: Buffer.from("") })).rejects.toThrow(
      /not a relative forward-slash path/,
    );
    await zip.abort();
  });
});
