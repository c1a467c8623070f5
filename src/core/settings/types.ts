import type { StateKey } from "../state/state-key.js";
import type { IngestionAuthentication } from "../telemetry/ingestion-auth.js";
import type { ProbeName } from "../../probe-matrix/names.js";
import type { CloudName } from "../../entra/clouds.js";
import type { ResponseAssertions } from "../probes/assertions.js";
import type { Secret } from "./secret.js";

/** How the probe's own client proves who it is to Entra ID. */
export type CredentialConfig =
  | { kind: "secret"; secret: Secret }
  | {
      kind: "certificate";
      /** Path named by PROBE_CLIENT_CERTIFICATE_PATH (for messages; the PEM is already loaded). */
      path: string;
      /** Hex SHA-256 thumbprint of the certificate, as MSAL wants it. */
      thumbprintSha256: string;
      privateKey: Secret;
      /** The certificate itself (PEM), sent as x5c so subject-name/issuer auth works too. */
      certificatePem: string;
    }
  | { kind: "managed-identity"; managedIdentityClientId?: string };

export interface TargetConfig {
  /** Stable name: part of every availability result name (`<target>/<probe>`). */
  name: string;
  url: string;
  method: string;
  /**
   * Client-credentials scope for the API, `<resource>/.default`. Absent when nothing gives the API's
   * audience (an APIOps folder whose policy names none): the token probes are then skipped.
   */
  scope?: string;
  /** Setting that held the key (for messages), and the key itself. */
  subscriptionKeySetting?: string;
  subscriptionKey?: Secret;
  /** The header the API takes its key in, when it renames APIM's default (`subscriptionKeyParameterNames.header`). */
  subscriptionKeyHeader?: string;
  /**
   * The API is open by design, with the reason: a rejecting probe it lets in is `pass` with cause
   * `accepted-open`, said on every run, never a silent pass and never a default.
   */
  acceptOpen?: string;
  /** Absolute path of the APIM policy XML used by preflight checks. */
  policyFile?: string;
  /** The setting that named `policyFile` (PROBE_POLICY_FILE or the targets file entry), for messages. */
  policyFileSetting?: string;
  /** What `valid`'s 2xx answer must also hold (body, JSON value, header, latency). */
  assertions?: ResponseAssertions;
  /** Non-secret request headers every probe sends (never Authorization or the subscription key). */
  requestHeaders?: Readonly<Record<string, string>>;
  /** A request body (POST/PUT operations). */
  body?: string;
  /** The target's API in an APIOps folder (PROBE_APIOPS_DIR): its effective policy is the preflight's. */
  apiops?: { dir: string; api?: string; operation?: string; product?: string; setting: string };
  /** Statuses that count as a pass, per probe (every probe has an entry; `token` is empty). */
  expectedStatuses: Record<ProbeName, readonly number[]>;
  /** Probes this target runs, in matrix order. */
  probes: readonly ProbeName[];
}

export interface ProbeConfig {
  tenantId: string;
  /**
   * The national cloud: PROBE_CLOUD, else the one whose authority PROBE_AUTHORITY_HOST is. Undefined
   * for any other authority (an emulator): then the tenant's discovery documents alone say the issuers.
   */
  cloud?: CloudName;
  /** `https://host[:port]`, no trailing slash. */
  authorityHost: string;
  clientId: string;
  credential: CredentialConfig;
  wrongAudienceScope: string;
  /**
   * True when PROBE_WRONG_AUDIENCE_SCOPE was not set and the probe's own app (`<client id>/.default`)
   * is used: a tenant-signed token whose only defect for the API is its audience.
   */
  wrongAudienceIsOwnApp: boolean;
  unassignedClient?: { clientId: string; secret: Secret };
  expiredToken?: Secret;
  /** PROBE_CERT_WARN_DAYS: fewer days left than this on a certificate or credential fails its forecast. */
  certWarnDays: number;
  /** PROBE_GRAPH_URL, else the cloud's Microsoft Graph origin: where credential-expiry reads the app registrations. */
  graphUrl: string;
  /** PROBE_STATE_KEY: seals the expired-token harvest in the probe's state; without it the harvest is not kept. */
  stateKey?: StateKey;
  /** APPLICATIONINSIGHTS_AUTHENTICATION_STRING: availability results sent with the managed identity's token. */
  ingestionAuth?: IngestionAuthentication;
  /** Deadline of every single request (token endpoint and API), ms. */
  timeoutMs: number;
  /** PROBE_RUN_BUDGET_MS: the whole run's budget, ms; unset, the edge decides (Functions 8 min, CLI per wave of targets). */
  runBudgetMs?: number;
  /** PROBE_TARGET_CONCURRENCY: targets probed at once in each lane, gateway-decided and backend-bound (default 4). */
  targetConcurrency?: number;
  runLocation?: string;
  /**
   * Extra CA certificates (PEM) to trust besides the platform's roots, read from the file named
   * by NODE_EXTRA_CA_CERTS in the given settings. Node applies that variable only when it is set
   * before the process starts; reading it here makes an `--env-file` or an in-process sandbox work too.
   */
  extraCaPem: string[];
  targets: TargetConfig[];
  /** `PROBE_*` names that are set but not read (typos), each with the closest known name: shown, never fatal. */
  settingWarnings?: readonly string[];
}
