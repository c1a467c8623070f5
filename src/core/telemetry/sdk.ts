import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as ApplicationInsights from "applicationinsights";

/**
 * `applicationinsights` takes about 1 s and 130 MB to import (docs/REFERENCE.md §4). It is loaded once, on
 * first use or through `preloadTelemetry()` at cold start, never inside a timed probe.
 */
export type ApplicationInsightsModule = typeof ApplicationInsights;

let loading: Promise<ApplicationInsightsModule> | undefined;

export function loadApplicationInsights(): Promise<ApplicationInsightsModule> {
  loading ??= import("applicationinsights").catch((error: unknown) => {
    // A failed import must not be cached forever: the next report may try again.
    loading = undefined;
    throw error;
  });
  return loading;
}

/** Loads `applicationinsights` now (e.g. from a Functions trigger at cold start) so no probe pays for it. */
export async function preloadTelemetry(): Promise<void> {
  await loadApplicationInsights();
}

/**
 * The exporter's switches for its own background traffic are environment variables only (read in
 * `@azure/monitor-opentelemetry-exporter` AzureMonitorBaseExporter/BaseSender when an exporter is
 * built): `APPLICATION_INSIGHTS_NO_STATSBEAT` stops statsbeat and SDK stats (sent to Microsoft's own
 * ingestion, not to ours), the other two cover newer releases. Set once, before any client exists;
 * a value the operator already set is left alone.
 */
const NO_BACKGROUND_TELEMETRY_ENV = [
  "APPLICATION_INSIGHTS_NO_STATSBEAT",
  "APPLICATIONINSIGHTS_STATSBEAT_DISABLED",
  "APPLICATIONINSIGHTS_SDKSTATS_DISABLED",
] as const;

export function disableBackgroundTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of NO_BACKGROUND_TELEMETRY_ENV) {
    if (!env[name]) env[name] = "true";
  }
}

/**
 * Every exporter constructor starts a process-wide "OneSettings" poller that calls
 * https://settings.sdk.monitor.azure.com 5-15 s later and then hourly; no option or environment
 * variable turns it off, and the class is not exported. We reach it by file path next to the
 * exporter the SDK actually loaded and stop it right after our exporters are built. Returns false
 * when the module is not where this release keeps it, so the caller can log that it is still on.
 */
export function stopRemoteConfigurationPolling(): boolean {
  try {
    const fromSdk = createRequire(createRequire(import.meta.url).resolve("applicationinsights"));
    const exporterEntry = fromSdk.resolve("@azure/monitor-opentelemetry-exporter");
    const managerModule = fromSdk(join(dirname(exporterEntry), "_configuration", "configurationManager.js")) as {
      ConfigurationManager?: { getInstance(): { shutdown(): void } };
    };
    if (typeof managerModule.ConfigurationManager?.getInstance !== "function") return false;
    managerModule.ConfigurationManager.getInstance().shutdown();
    return true;
  } catch {
    return false;
  }
}
