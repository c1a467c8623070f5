import { z } from "zod";
import { CLOUD_NAMES } from "../../entra/clouds.js";
import {
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_CERT_WARN_DAYS,
  DEFAULT_TARGET_CONCURRENCY,
  DEFAULT_TIMEOUT_MS,
} from "./defaults.js";
import {
  clientCredentialsScope,
  clientId,
  connectionStringProblem,
  httpMethod,
  httpsUrl,
  httpsUrlProblem,
  subscriptionKeyHeaderName,
  tenantId,
} from "./rules.js";

/** Settings whose values are secrets: they are never echoed, whatever is wrong with them. */
export const SECRET_SETTINGS = [
  "PROBE_CLIENT_SECRET",
  "PROBE_UNASSIGNED_CLIENT_SECRET",
  "PROBE_SUBSCRIPTION_KEY",
  "PROBE_EXPIRED_TOKEN",
  "PROBE_STATE_KEY",
] as const;

const required = (what: string) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? "is required" : `must be ${what}`),
});

export const envSchema = z.object({
  PROBE_TENANT_ID: z.string(required("text")).pipe(tenantId),
  PROBE_AUTHORITY_HOST: z
    .string()
    .default(DEFAULT_AUTHORITY_HOST)
    .superRefine((v, ctx) => {
      const problem = httpsUrlProblem(v, { allowPath: false });
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  PROBE_CLIENT_ID: z.string(required("text")).pipe(clientId),
  PROBE_CLIENT_SECRET: z.string().optional(),
  PROBE_CLIENT_CERTIFICATE_PATH: z.string().optional(),
  PROBE_CREDENTIAL: z.enum(["managed-identity"], { error: 'must be "managed-identity" when set' }).optional(),
  PROBE_MANAGED_IDENTITY_CLIENT_ID: clientId.optional(),
  PROBE_API_URL: httpsUrl.optional(),
  PROBE_API_METHOD: httpMethod.optional(),
  PROBE_API_SCOPE: clientCredentialsScope.optional(),
  PROBE_SUBSCRIPTION_KEY: z.string().optional(),
  PROBE_SUBSCRIPTION_KEY_HEADER: subscriptionKeyHeaderName.optional(),
  PROBE_WRONG_AUDIENCE_SCOPE: clientCredentialsScope.optional(),
  PROBE_CLOUD: z.enum(CLOUD_NAMES, { error: `must be one of ${CLOUD_NAMES.join(", ")}` }).optional(),
  PROBE_UNASSIGNED_CLIENT_ID: clientId.optional(),
  PROBE_UNASSIGNED_CLIENT_SECRET: z.string().optional(),
  PROBE_EXPIRED_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/, "must be a JWT (three base64url parts)")
    .optional(),
  // 230 s is the longest an HTTP-triggered function may answer (docs/REFERENCE.md §5).
  PROBE_TIMEOUT_MS: z.coerce
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(100, "must be at least 100 ms")
    .max(230_000, "must be at most 230000 ms")
    .default(DEFAULT_TIMEOUT_MS),
  // The whole run's budget: at most 8 minutes, what a timer invocation gets of the Functions host's 10
  // (src/functions/support/probe-runtime.ts). Unset: 8 minutes there, per wave of targets on the CLI.
  PROBE_RUN_BUDGET_MS: z.coerce
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(1_000, "must be at least 1000 ms")
    .max(480_000, "must be at most 480000 ms (8 minutes: the Functions host stops an invocation at 10)")
    .optional(),
  PROBE_TARGET_CONCURRENCY: z.coerce
    .number({ error: "must be a number of targets" })
    .int("must be a whole number of targets")
    .min(1, "must be at least 1")
    .max(32, "must be at most 32")
    .default(DEFAULT_TARGET_CONCURRENCY),
  PROBE_RUN_LOCATION: z.string().max(1024, "must be at most 1024 characters (App Insights limit)").optional(),
  PROBE_POLICY_FILE: z.string().optional(),
  PROBE_TARGETS_FILE: z.string().optional(),
  PROBE_APIOPS_DIR: z.string().optional(),
  PROBE_GATEWAY_URL: z
    .string()
    .superRefine((v, ctx) => {
      const problem = httpsUrlProblem(v, { allowPath: false });
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  APPLICATIONINSIGHTS_CONNECTION_STRING: z
    .string()
    .superRefine((v, ctx) => {
      const problem = connectionStringProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  PROBE_CERT_WARN_DAYS: z.coerce
    .number({ error: "must be a number of days" })
    .int("must be a whole number of days")
    .min(1, "must be at least 1 day")
    .max(365, "must be at most 365 days")
    .default(DEFAULT_CERT_WARN_DAYS),
  PROBE_GRAPH_URL: z
    .string()
    .superRefine((v, ctx) => {
      const problem = httpsUrlProblem(v, { allowPath: false });
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z.string().optional(),
  PROBE_STATE_KEY: z.string().optional(),
  NODE_EXTRA_CA_CERTS: z.string().optional(),
  REGION_NAME: z.string().optional(),
});

/** Every setting `loadSettings` reads: the public interface that app settings, the ARM template and README list. */
export const SETTING_NAMES: readonly string[] = Object.keys(envSchema.shape);
