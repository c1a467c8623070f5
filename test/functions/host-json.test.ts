import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  HTTP_RUN_BUDGET_MS,
  RUN_BUDGET_MS,
  TELEMETRY_FLUSH_TIMEOUT_MS,
} from "../../src/functions/support/probe-runtime.js";

/**
 * The files the Functions host and `func` read (docs/REFERENCE.md §5), kept in step with the code: the
 * timeout with the run budget, the settings sample with the settings the app reads.
 */

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(repoRoot, file), "utf8")) as unknown;

/** The host's sampling types (docs/REFERENCE.md §4). Availability is not one: the host never samples availability items. */
const SAMPLING_TYPES = ["Dependency", "Event", "Exception", "PageView", "Request", "Trace"];

/** `hh:mm:ss` or `d.hh:mm:ss` (a .NET TimeSpan, as host.json writes it) to milliseconds. */
function timeSpanToMs(value: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):([0-5]\d):([0-5]\d)(?:\.(\d{1,7}))?$/.exec(value);
  if (!match) throw new Error(`functionTimeout "${value}" is not a [d.]hh:mm:ss TimeSpan`);
  const [, days = "0", h = "0", m = "0", s = "0", fraction = "0"] = match;
  return (
    ((Number(days) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000 + Number(`0.${fraction}`) * 1000
  );
}

interface HostJson {
  version?: unknown;
  functionTimeout?: unknown;
  extensionBundle?: { id?: unknown; version?: unknown };
  logging?: {
    applicationInsights?: {
      samplingSettings?: { isEnabled?: boolean; excludedTypes?: string; includedTypes?: string };
    };
  };
}

const typesOf = (list: string | undefined): string[] =>
  (list ?? "")
    .split(";")
    .map((t) => t.trim())
    .filter(Boolean);

describe("host.json", () => {
  const host = readJson("host.json") as HostJson;

  it("is the v2 schema on the v4 extension bundle range", () => {
    expect(host.version).toBe("2.0");
    expect(host.extensionBundle).toEqual({ id: "Microsoft.Azure.Functions.ExtensionBundle", version: "[4.*, 5.0.0)" });
  });

  it("gives an invocation longer than a whole run plus the telemetry flush, so the host never kills one mid-report", () => {
    expect(typeof host.functionTimeout).toBe("string");
    const timeoutMs = timeSpanToMs(host.functionTimeout as string);
    expect(timeoutMs).toBeGreaterThan(RUN_BUDGET_MS + TELEMETRY_FLUSH_TIMEOUT_MS);
    // Consumption's ceiling is 10 minutes (docs/REFERENCE.md §5): a longer value would not be honoured there.
    expect(timeoutMs).toBeLessThanOrEqual(10 * 60_000);
    expect(timeSpanToMs("1.00:00:00")).toBe(86_400_000);
  });

  it("keeps an on-demand run and its flush inside the 230 s an HTTP-triggered function may take to answer", () => {
    expect(HTTP_RUN_BUDGET_MS).toBeGreaterThan(0);
    expect(HTTP_RUN_BUDGET_MS + TELEMETRY_FLUSH_TIMEOUT_MS).toBeLessThan(230_000);
  });

  it("keeps availability out of sampling: only real sampling types are named, and included types (if any) do not sample everything", () => {
    const sampling = host.logging?.applicationInsights?.samplingSettings;
    const excluded = typesOf(sampling?.excludedTypes);
    const included = typesOf(sampling?.includedTypes);
    // Naming Availability would suggest it can be sampled; naming an unknown type is silently ignored by the host.
    for (const type of [...excluded, ...included]) expect(SAMPLING_TYPES).toContain(type);
    expect([...excluded, ...included]).not.toContain("Availability");
  });
});

describe("local.settings.sample.json", () => {
  const text = readFileSync(join(repoRoot, "local.settings.sample.json"), "utf8");

  it("is plain JSON as func expects: no comments, IsEncrypted false, the node worker", () => {
    expect(() => JSON.parse(text) as unknown).not.toThrow();
    expect(text).not.toMatch(/^\s*\/\/|\/\*/m);
    const sample = JSON.parse(text) as { IsEncrypted?: unknown; Values?: Record<string, unknown> };
    expect(sample.IsEncrypted).toBe(false);
    expect(sample.Values?.["FUNCTIONS_WORKER_RUNTIME"]).toBe("node");
    // Timers need storage locally (Azurite): docs/REFERENCE.md §5.
    expect(sample.Values?.["AzureWebJobsStorage"]).toBe("UseDevelopmentStorage=true");
    for (const [name, value] of Object.entries(sample.Values ?? {})) expect(typeof value, name).toBe("string");
  });

  it.runIf(existsSync(join(repoRoot, "infra/app-settings.json")))(
    "lists every setting the app reads (infra/app-settings.json), and nothing it does not",
    () => {
      const values = Object.keys((JSON.parse(text) as { Values: Record<string, string> }).Values);
      const { settings } = readJson("infra/app-settings.json") as { settings: { name: string }[] };
      const appSettings = settings.map((s) => s.name);
      expect(appSettings.length).toBeGreaterThan(0);
      expect(values).toEqual(expect.arrayContaining(appSettings));
      const hostOnly = ["FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage"];
      expect(values.filter((v) => !appSettings.includes(v) && !hostOnly.includes(v))).toEqual([]);
    },
  );

  it.runIf(existsSync(join(repoRoot, "infra/app-settings.json")))(
    "holds placeholders, not secrets: every secret setting is a placeholder or empty",
    () => {
      const sample = (JSON.parse(text) as { Values: Record<string, string> }).Values;
      const { settings } = readJson("infra/app-settings.json") as { settings: { name: string; secret: boolean }[] };
      for (const { name } of settings.filter((s) => s.secret)) {
        const value = sample[name] ?? "";
        expect(value === "" || /^<.*>$/.test(value), name).toBe(true);
      }
    },
  );
});
