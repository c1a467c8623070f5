import { PROBE_NAMES, type ProbeName } from "../../probe-matrix/names.js";
import { SUCCESS_STATUSES } from "../../probe-matrix/statuses.js";

export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com";
/**
 * PROBE_WRONG_AUDIENCE_SCOPE's default: a token for the probe's own app. Signed by the tenant like
 * the valid one, it differs only in `aud`, so its refusal proves the audience rule. Graph's tokens do
 * not: they carry a header nonce and fail signature validation anywhere but Graph (docs/REFERENCE.md §7), so a
 * gateway that never checks `aud` still refuses them.
 */
export function defaultWrongAudienceScope(clientId: string): string {
  return `${clientId}/.default`;
}
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_METHOD = "GET";
/** Target name used when the single target comes from PROBE_API_URL. */
export const DEFAULT_TARGET_NAME = "default";

/** Expected statuses per probe. `unassigned-client` also passes on AADSTS501051. */
export function defaultExpectedStatuses(): Record<ProbeName, readonly number[]> {
  const expected = {} as Record<ProbeName, readonly number[]>;
  for (const probe of PROBE_NAMES) expected[probe] = [401];
  expected.token = [];
  // Forecasts get no HTTP status: they pass on days left.
  expected["tls-certificate"] = [];
  expected["credential-expiry"] = [];
  expected.valid = SUCCESS_STATUSES;
  expected["unassigned-client"] = [401, 403];
  return expected;
}

/** PROBE_CERT_WARN_DAYS' default: a certificate or credential with fewer days left fails its forecast. */
export const DEFAULT_CERT_WARN_DAYS = 30;

/** PROBE_SCHEDULE's documented default: every 5 minutes (6-field NCRONTAB, UTC), for the timer and `watch`. */
export const DEFAULT_SCHEDULE = "0 */5 * * * *";

/** PROBE_TARGET_CONCURRENCY's default: targets probed at once in each lane. */
export const DEFAULT_TARGET_CONCURRENCY = 4;
