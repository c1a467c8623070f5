import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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

describe("apim-smoke diagnose shows a token's claims as data", () => {
  it("escape sequences in its claims (a token pasted from elsewhere) never reach the terminal", async () => {
    const { io, all } = fakeIo();
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const token = [
      part({ alg: "RS256", kid: "k\u001b[2J" }),
      part({
        aud: "3f9a2c71-5d84-4b0e-a6c3-8e1f7b2d9045\u001b]0;pwned\u0007",
        azp: "c2a8e5f1\u001b[31m",
        iss: "https://login.microsoftonline.com/7d3c2f4e-1a6b-4c59-9e2d-5b8f0a1c3e47/v2.0",
        ver: "2.0",
        roles: ["Admin\u001b[8m"],
        exp: 4_000_000_000,
      }),
      "c2lnbmF0dXJl",
    ].join(".");
    writeFileSync(join(io.cwd, "token.jwt"), token);
    for (const format of ["text", "json"]) {
      await diagnoseCommand.run(
        [
          "--token-file",
          "token.jwt",
          "--policy",
          resolve("test/fixtures/policies/aud-azp-required-claims.xml"),
          "--format",
          format,
        ],
        io,
      );
    }
    expect(all()).toContain("\\x1b");
    // eslint-disable-next-line no-control-regex
    expect(all()).not.toMatch(/[\x1b\x07]/);
  });
});
