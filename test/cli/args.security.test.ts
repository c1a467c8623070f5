import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { parseCommandArgs } from "../../src/cli/args.js";
import type { CliIo } from "../../src/cli/io.js";
import { UsageError } from "../../src/core/errors.js";

// A token pasted where a file name belongs: `apim-smoke diagnose $(cat token.txt)`.
const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcGk6Ly9vcmRlcnMifQ.c2lnbmF0dXJlLW5vdC1yZWFs";

describe("parseCommandArgs never echoes a stray argument", () => {
  it("names the unexpected positional argument by position, not by value", () => {
    let caught: unknown;
    try {
      parseCommandArgs(["--format", "json", TOKEN], { format: { type: "string" } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).code).toBe("APIM_SMOKE_USAGE");
    expect((caught as UsageError).message).not.toContain(TOKEN);
    expect((caught as UsageError).message).toContain("argument 3");
  });

  it("apim-smoke diagnose <token> exits 2 without printing the token", async () => {
    const err: string[] = [];
    const out: string[] = [];
    const io: CliIo = {
      env: {},
      cwd: "/nonexistent",
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
    };
    expect(await runCli(["diagnose", TOKEN], io)).toBe(2);
    expect(err.join("")).toContain("argument 1 is not an option");
    expect(err.join("")).toContain("--token-file");
    expect(err.join("") + out.join("")).not.toContain(TOKEN);
    expect(err.join("") + out.join("")).not.toContain(TOKEN.slice(0, 20));
  });
});
