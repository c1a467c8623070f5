import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diagnoseCommand } from "../../../src/cli/commands/diagnose.js";
import type { CliIo } from "../../../src/cli/io.js";

const TOKEN =
  "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJhdWQiOiJhcGk6Ly9vcmRlcnMtYXBpIn0.c2lnbmF0dXJlLW5vdC1yZWFsLWJ1dC1sb25n";

function fakeIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env: {},
    cwd: mkdtempSync(join(tmpdir(), "diagnose-sec-")),
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  };
  return { io, all: () => out.join("") + err.join(""), stderr: () => err.join("") };
}

describe("apim-smoke diagnose never prints a token given where a file name belongs", () => {
  it.each([
    ["the bare token", TOKEN],
    ["a pasted header value", `Bearer ${TOKEN}`],
  ])("--token-file <%s> exits 2 and withholds the value", async (_what, value) => {
    const { io, all, stderr } = fakeIo();
    expect(await diagnoseCommand.run(["--token-file", value], io)).toBe(2);
    expect(stderr()).toContain("--token-file");
    expect(all()).not.toContain(TOKEN.split(".")[1]);
    expect(all()).not.toContain(TOKEN.split(".")[2]);
  });

  it("still names an ordinary missing file", async () => {
    const { io, stderr } = fakeIo();
    expect(await diagnoseCommand.run(["--token-file", "missing.jwt"], io)).toBe(2);
    expect(stderr()).toContain("cannot read --token-file missing.jwt");
  });
});
