import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeVersionProblem, REQUIRED_NODE } from "../../src/cli/node-version.js";
import { functionsNodeVersionProblem } from "../../src/functions/support/node-version.js";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } };

/**
 * A Node.js older than the one required, on PATH outside the project's own (the system's `node` of
 * this project's machines is one); none: that test is skipped.
 */
function olderNode(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "node");
    if (dir.includes("node_modules") || !existsSync(candidate)) continue;
    try {
      const version = execFileSync(candidate, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
      if (nodeVersionProblem(version)) return candidate;
    } catch {
      // not runnable: look further
    }
  }
  return undefined;
}

describe("the CLI on an old Node.js", () => {
  it("names the version needed, the same as package.json engines", () => {
    expect(pkg.engines.node).toBe(`>=${REQUIRED_NODE}`);
    expect(nodeVersionProblem("20.11.1")).toContain(`needs Node.js ${REQUIRED_NODE} or later; this is Node.js 20.11.1`);
    expect(nodeVersionProblem("22.18.9")).toBeDefined();
    expect(nodeVersionProblem("18.0.0")).toBeDefined();
    for (const ok of [REQUIRED_NODE, "22.20.0", "23.0.0", "24.1.0"]) expect(nodeVersionProblem(ok), ok).toBeUndefined();
  });

  it("the entry imports nothing else before the check (what it imports may not parse on an old Node)", () => {
    const entry = readFileSync("src/cli/main.ts", "utf8");
    expect([...entry.matchAll(/^import .* from "(.*)";$/gm)].map((m) => m[1])).toEqual(["./node-version.js"]);
  });

  const old = olderNode();
  it.runIf(old)("an older node on PATH gets one line and exit 2, not a stack", () => {
    const run = spawnSync(old!, ["dist/src/cli/main.js", "--help"], { encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain(`needs Node.js ${REQUIRED_NODE}`);
  });
});

describe("the Functions app on an old Node.js", () => {
  it("the app's version message names the Function App setting, from the same requirement as the CLI", () => {
    expect(functionsNodeVersionProblem("20.11.1")).toContain(
      `needs Node.js ${REQUIRED_NODE} or later; this Function App runs Node.js 20.11.1`,
    );
    expect(functionsNodeVersionProblem(REQUIRED_NODE)).toBeUndefined();
  });

  const old = olderNode();
  it.runIf(old)("indexes, and each trigger answers with the version to set instead of a SyntaxError stack", () => {
    // Real InvocationContext objects, the built entry files, the older node.
    const script = `
      // A CommonJS package: its named exports are not all seen by an older Node.js's ESM loader.
      const functions = await import("@azure/functions");
      const { InvocationContext, HttpRequest } = functions.default ?? functions;
      const { probeTimer } = await import("./dist/src/functions/probeTimer.js");
      const { probeHttp } = await import("./dist/src/functions/probeHttp.js");
      const logs = [];
      const context = (name) => new InvocationContext({ invocationId: "x", functionName: name,
        logHandler: (level, ...args) => logs.push(level + " " + args.join(" ")) });
      let thrown = "";
      try { await probeTimer({ isPastDue: false }, context("probeTimer")); } catch (e) { thrown = e.message; }
      const res = await probeHttp(new HttpRequest({ method: "POST", url: "https://app.example/api/probe/run" }), context("probeHttp"));
      console.log(JSON.stringify({ logs, thrown, status: res.status, body: res.body }));
    `;
    const run = spawnSync(old!, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(run.stderr).not.toContain("SyntaxError");
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as {
      logs: string[];
      thrown: string;
      status: number;
      body: string;
    };
    expect(out.thrown).toContain(`needs Node.js ${REQUIRED_NODE} or later; this Function App runs Node.js`);
    expect(
      out.logs.filter((l) => l.startsWith("error ") && l.includes("Set the app's Node.js version to 22")),
    ).toHaveLength(2);
    expect(out.status).toBe(500);
    expect(out.body).toContain(`needs Node.js ${REQUIRED_NODE}`);
  });
});
