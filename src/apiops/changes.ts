import { execFileSync } from "node:child_process";
import { ProbeError } from "../errors/probe-error.js";
import type { ApiopsFolder } from "./folder.js";

/** The APIs whose artifacts changed, or every API when something they all share changed. */
export type ChangedApis = { all: true; because: string } | { all: false; apis: Set<string> };

/**
 * What changed in the folder since a git ref (`git diff --name-only REF`, the working tree against
 * the ref), as APIs: a file under `apis/<api>` (any revision) is that API; under `products/<p>`, the
 * product's APIs; the global policy, fragments, named values and version sets are every API's.
 */
export function changedApis(folder: ApiopsFolder, ref: string): ChangedApis {
  // A ref is never an option: `--changed-since=--output=FILE` must not make git write a file.
  // Refused outright (no git ref starts with "-", git check-ref-format), and passed after
  // --end-of-options besides, so git cannot read it as one whatever it looks like.
  if (ref.startsWith("-") || ref.trim() === "")
    throw new ChangedSinceError(ref, { problem: "is not a git ref (a ref cannot be empty or start with '-')" });
  let output: string;
  try {
    output = execFileSync("git", ["diff", "--name-only", "--relative", "--end-of-options", ref, "--", "."], {
      cwd: folder.root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (cause) {
    throw new ChangedSinceError(ref, { cause });
  }
  const apis = new Set<string>();
  for (const file of output.split("\n").filter(Boolean)) {
    const [top, second] = file.split("/");
    if (top === "apis" && second) apis.add(second.split(";rev=")[0]!);
    else if (top === "products" && second)
      for (const api of folder.products.find((p) => p.name === second)?.apis ?? []) apis.add(api);
    else if (
      [
        "policy.xml",
        "policy fragments",
        "policyFragments",
        "named values",
        "namedValues",
        "version sets",
        "versionSets",
      ].includes(top ?? "")
    ) {
      return { all: true, because: file };
    }
  }
  return { all: false, apis };
}

/** `--changed-since` could not be answered by git (not a repository, unknown ref, no git). */
export class ChangedSinceError extends ProbeError {
  readonly code = "APIM_SMOKE_CHANGED_SINCE";
  constructor(
    readonly ref: string,
    options?: { cause?: unknown; problem?: string },
  ) {
    super(
      options?.problem
        ? `--changed-since ${options.problem}`
        : `--changed-since: git could not compare the folder with ${JSON.stringify(ref.slice(0, 60))} (is it a git repository, and the ref known?)`,
      options?.cause === undefined ? {} : { cause: options.cause },
    );
  }
}
