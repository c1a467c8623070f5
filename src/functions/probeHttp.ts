import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { debugFailure } from "../core/debug.js";
import { isProductError } from "../core/errors.js";
import { renderJson } from "../core/results/json.js";
import { invocationLogger, logRunSummary } from "./support/invocation-logger.js";
import { functionsNodeVersionProblem } from "./support/node-version.js";

/**
 * Status when the run finished but not every probe passed: 4xx so that `curl --fail` and pipeline
 * gates stop, and not 5xx so retrying proxies do not re-run a suite that answered.
 */
export const NOT_ALL_PASSED_STATUS = 422;

const json = (status: number, body: unknown): HttpResponseInit => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

const problem = (status: number, message: string): HttpResponseInit => json(status, { error: { status, message } });

/**
 * On-demand run after a deploy. Body (optional): `{ "targets": [...], "probes": [...], "source": "build 123" }`.
 * Answers the CLI's JSON; 200 only when every probe passed or was skipped. It never takes a URL, a
 * token or a key from the caller: it probes what the app's settings name.
 */
export async function probeHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  if (request.method !== "POST") {
    return {
      ...problem(405, `Method ${request.method} is not allowed; use POST.`),
      headers: { allow: "POST", "content-type": "application/json; charset=utf-8" },
    };
  }
  const tooOld = functionsNodeVersionProblem(process.versions.node);
  if (tooOld) {
    context.error(tooOld);
    return problem(500, tooOld);
  }
  // Imported on the first invocation, not while the worker indexes the app: the probe runtime (MSAL,
  // undici, zod, the telemetry SDK) would block the worker's event loop for up to seconds.
  const [{ HTTP_RUN_BUDGET_MS, sharedProbeRuntime }, { MAX_RUN_REQUEST_BYTES, parseRunRequest }] = await Promise.all([
    import("./support/probe-runtime.js"),
    import("./support/run-request.js"),
  ]);
  const declaredLength = Number(request.headers.get("content-length") ?? "0");
  if (declaredLength > MAX_RUN_REQUEST_BYTES)
    return problem(413, `Request body is larger than ${MAX_RUN_REQUEST_BYTES} bytes.`);

  let runtime;
  try {
    runtime = sharedProbeRuntime();
  } catch (error) {
    // Settings problems name the setting and never carry its value (SettingsError): their message is
    // marked safe; anything else is answered without its message (NODE_DEBUG=apim-smoke logs it, redacted).
    debugFailure("probe settings", error);
    const message =
      isProductError(error) && error.safeMessage ? error.message : "The probe could not start; see the function's log.";
    context.error(`probe settings: ${message}`);
    return problem(500, message);
  }

  const parsed = parseRunRequest(await request.text(), request.headers.get("content-type"), runtime.targetNames);
  if (!parsed.ok) return problem(parsed.status, parsed.message);

  const { report, telemetry } = await runtime.run({
    trigger: "http",
    runId: context.invocationId,
    runBudgetMs: HTTP_RUN_BUDGET_MS,
    logger: invocationLogger(context),
    ...(parsed.request.targets ? { targets: parsed.request.targets } : {}),
    ...(parsed.request.probes ? { probes: parsed.request.probes } : {}),
    ...(parsed.request.source ? { source: parsed.request.source } : {}),
  });
  logRunSummary(context, report, telemetry);
  return json(report.summary.ok ? 200 : NOT_ALL_PASSED_STATUS, renderJson(report));
}

app.http("probeHttp", { methods: ["POST"], authLevel: "function", route: "probe/run", handler: probeHttp });
