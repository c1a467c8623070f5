import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "undici";
import { createOpenIdConfigResolver } from "../policy/index.js";
import { startApimGateway, type ApimGateway } from "./apim/index.js";
import type { ApiDefinition } from "./apim/types.js";
import { startEntraEmulator, createDefaultTenant, type EntraEmulator } from "./entra/index.js";
import { startIngestionEmulator, type IngestionEmulator } from "./ingestion/index.js";
import { entraIngestionVerifier } from "./ingestion/entra-auth.js";
import { CLOUDS, type CloudName } from "../entra/clouds.js";
import {
  AZURE_MONITOR,
  ORDERS_API,
  ORDERS_API_PATH,
  ORDERS_OPERATION_PATH,
  PROBE_CLIENT,
  PROBE_MANAGED_IDENTITY,
  SANDBOX_TENANT_ID,
  UNASSIGNED_CLIENT,
} from "./identities.js";
import { ordersApiPolicyXml, SCENARIOS, type ScenarioName } from "./scenarios.js";
import { createSandboxCa, writeCaFile } from "./tls/ca.js";
import { publishApiopsFolder } from "./apiops.js";
import { ENTRA_HOSTS, openIdConfigOnEmulator } from "./entra-hosts.js";
import { SUCCESS_STATUSES } from "../probe-matrix/statuses.js";
import { randomBytes } from "node:crypto";

export { SCENARIO_NAMES, SCENARIOS, isScenarioName, ordersApiPolicyXml, type ScenarioName } from "./scenarios.js";

export interface SandboxOptions {
  /** Default `healthy`. */
  scenario?: ScenarioName;
  /** exp - iat of the tokens the tenant issues. Default 3900 s (Entra's). Short lifetimes make expired tokens in seconds. */
  tokenLifetimeSeconds?: number;
  /** The backend's added latency, ms (the `slow-backend` scenario sets its own). */
  backendLatencyMs?: number;
  /** APIs published besides the default one (`orders-2`, `orders-3`, ...), each like it: for the benchmark's many targets. */
  extraApis?: number;
  /** Where the CA and the client certificate are written. Default: a new temporary folder, removed on close. */
  stateDir?: string;
  /** Clock for every emulator (ms). */
  now?: () => number;
  /**
   * Your own API policy (APIM policy XML) instead of the scenario's, to try it offline. It may use the
   * named values in SANDBOX_NAMED_VALUES (`{{tenant-id}}`, ...) where your tenant's values would be;
   * any other `{{named value}}` not in `namedValues` is refused at start, naming it.
   */
  policyXml?: string;
  /**
   * Values for the named values your policy or APIOps folder uses that the sandbox cannot know: a
   * secret or Key Vault named value (APIM resolves it at run time; an APIOps folder does not hold its
   * value). The sandbox's own (SANDBOX_NAMED_VALUES) win: its tenant issues the tokens.
   */
  namedValues?: Readonly<Record<string, string>>;
  /**
   * The national cloud the tenant emulates (default public): its issuers in tokens and discovery
   * documents, its federated-credential audience, Graph's host, and the scenario policies' URLs.
   */
  cloud?: CloudName;
  /**
   * An APIOps folder to publish instead of the default API: each HTTP API at its path with its
   * effective policy (the scenario's API changes do not apply; its tenant and backend ones do).
   * The settings then name PROBE_APIOPS_DIR (a copy pointing at the emulated tenant), not a policy file.
   */
  apiops?: string;
}

/** Named values a policy given to the sandbox may use, as APIM named values (`{{name}}`). */
export const SANDBOX_NAMED_VALUES: Readonly<Record<string, string>> = {
  "tenant-id": SANDBOX_TENANT_ID,
  "api-client-id": ORDERS_API.clientId,
  "api-app-id-uri": ORDERS_API.appIdUri,
  "api-role": ORDERS_API.role,
  "probe-client-id": PROBE_CLIENT.clientId,
};

/** A value as XML text or attribute text, so the policy around it still parses. */
function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Fills the named values in; others stay for the policy parser to refuse by name. */
function withNamedValues(policyXml: string, namedValues: Readonly<Record<string, string>>): string {
  return policyXml.replace(/\{\{([A-Za-z0-9._-]+)\}\}/g, (whole, name: string) =>
    Object.hasOwn(namedValues, name) ? escapeXml(namedValues[name]!) : whole,
  );
}

export interface Sandbox {
  readonly scenario: ScenarioName;
  /**
   * The settings that point a probe at this sandbox, under the names the probe reads (PROBE_*,
   * APPLICATIONINSIGHTS_CONNECTION_STRING, NODE_EXTRA_CA_CERTS, IDENTITY_ENDPOINT/IDENTITY_HEADER).
   * They hold the sandbox's generated secrets: show them only to the person who started it.
   */
  readonly settings: Readonly<Record<string, string>>;
  /** The CA every sandbox server's certificate chains to, and the file it was written to. */
  readonly caPem: string;
  readonly caFile: string;
  /** PEM file with the probe client's certificate and private key (for PROBE_CLIENT_CERTIFICATE_PATH). */
  readonly clientCertificateFile: string;
  /**
   * The default API's policy as the gateway runs it, written for the probe's preflight (a target's
   * `policyFile`): its openid-config URLs name this sandbox's tenant origin instead of
   * login.microsoftonline.com, so the probe fetches them as written, as it would against Azure.
   */
  readonly policyFile: string;
  /** The operation URL of each published API, default one first. */
  readonly apiUrls: readonly string[];
  readonly entra: EntraEmulator;
  readonly gateway: ApimGateway;
  readonly ingestion: IngestionEmulator;
  close(): Promise<void>;
}

/** A policy written with the public cloud's Entra URLs, for another cloud's tenant. */
function forCloud(policyXml: string, cloud: CloudName): string {
  if (cloud === "public") return policyXml;
  const c = CLOUDS[cloud];
  return policyXml
    .replaceAll("https://login.microsoftonline.com/", `https://${c.v2IssuerHost}/`)
    .replaceAll("https://sts.windows.net/", `https://${c.v1IssuerHost}/`);
}

/** Starts the emulated Entra tenant, APIM gateway (with its backend) and App Insights ingestion, over HTTPS on loopback. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const scenario = SCENARIOS[options.scenario ?? "healthy"];
  const now = options.now ?? Date.now;
  const ownsStateDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), "apim-smoke-sandbox-")));

  const ca = await createSandboxCa();
  const serverCertificate = await ca.issueServerCertificate();
  const tls = { certPem: serverCertificate.certPem, keyPem: serverCertificate.keyPem };
  const cloud = options.cloud ?? "public";
  const tenant = await createDefaultTenant({ now, cloud });
  const model = scenario.tenant ? scenario.tenant(tenant.model, now()) : tenant.model;

  const started: { close(): Promise<void> }[] = [];
  try {
    const entra = await startEntraEmulator({
      model,
      tls,
      now,
      ...(options.tokenLifetimeSeconds ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
      ...(scenario.signingKeyRolloverEveryMs ? { signingKeyRolloverEveryMs: scenario.signingKeyRolloverEveryMs } : {}),
    });
    started.push(entra);

    const subscriptionKey = randomBytes(16).toString("hex");
    const entraOrigin = new URL(entra.origin);
    const resolverDispatcher = new Agent({ connect: { ca: ca.certPem } });
    started.push({ close: () => resolverDispatcher.close() });
    const openIdConfig = createOpenIdConfigResolver({
      dispatcher: resolverDispatcher,
      now,
      rewriteUrl: (url) => {
        if (!ENTRA_HOSTS.has(url.hostname)) return url;
        const rewritten = new URL(url);
        rewritten.protocol = entraOrigin.protocol;
        rewritten.host = entraOrigin.host;
        return rewritten;
      },
    });

    const namedValues = { ...options.namedValues, ...SANDBOX_NAMED_VALUES };
    const apis: ApiDefinition[] = [];
    const estate =
      options.apiops === undefined
        ? undefined
        : await publishApiopsFolder(options.apiops, {
            subscriptionKey,
            namedValues,
            identityNamedValues: SANDBOX_NAMED_VALUES,
            entraOrigin: entra.origin,
            copyTo: join(stateDir, "apiops"),
          });
    if (estate) apis.push(...estate.apis);
    for (let i = 0; estate === undefined && i <= (options.extraApis ?? 0); i++) {
      const base: ApiDefinition = {
        name: i === 0 ? ORDERS_API.displayName : `${ORDERS_API.displayName}-${i + 1}`,
        path: i === 0 ? ORDERS_API_PATH : `${ORDERS_API_PATH}-${i + 1}`,
        subscriptionRequired: true,
        subscriptionKeys: [subscriptionKey],
        policyXml: ordersApiPolicyXml(),
      };
      const scenarioApi = scenario.api ? scenario.api(base) : base;
      const api =
        scenarioApi.policyXml === undefined
          ? scenarioApi
          : { ...scenarioApi, policyXml: forCloud(scenarioApi.policyXml, cloud) };
      apis.push(
        options.policyXml === undefined ? api : { ...api, policyXml: withNamedValues(options.policyXml, namedValues) },
      );
    }
    // The gateway's own certificate when the scenario says how long it lives (the expiring custom domain).
    const gatewayTls =
      scenario.gatewayCertificateDays === undefined
        ? tls
        : await ca.issueServerCertificate(undefined, { validDays: scenario.gatewayCertificateDays });
    const gateway = await startApimGateway({
      tls: { certPem: gatewayTls.certPem, keyPem: gatewayTls.keyPem, caPem: ca.certPem },
      apis,
      openIdConfig,
      now,
    });
    started.push(gateway);
    const backend = {
      ...scenario.backend,
      ...(options.backendLatencyMs !== undefined ? { latencyMs: options.backendLatencyMs } : {}),
    };
    if (Object.keys(backend).length > 0) gateway.setBackend(backend);

    const entraOnly = scenario.ingestion === "entra-only";
    const ingestion = await startIngestionEmulator({
      tls,
      now,
      ...(entraOnly
        ? {
            verifyBearer: entraIngestionVerifier({
              metadataUrl: `https://${CLOUDS[cloud].authorityHost}/${SANDBOX_TENANT_ID}/.well-known/openid-configuration`,
              issuer: `https://${CLOUDS[cloud].v1IssuerHost}/${SANDBOX_TENANT_ID}/`,
              audience: AZURE_MONITOR.appIdUri,
              publishers: [PROBE_MANAGED_IDENTITY.principalId],
              keys: openIdConfig,
            }),
          }
        : {}),
    });
    started.push(ingestion);

    const caFile = await writeCaFile(ca, stateDir);
    const clientCertificateFile = join(stateDir, "probe-client.pem");
    await writeFile(
      clientCertificateFile,
      `${tenant.probeClient.certificate.certPem.trim()}\n${tenant.probeClient.certificate.keyPem.trim()}\n`,
      { mode: 0o600 },
    );

    const policyFile = join(stateDir, "orders-api.policy.xml");
    await writeFile(policyFile, openIdConfigOnEmulator(apis[0]!.policyXml ?? "<policies />", entra.origin));

    const operation = ORDERS_OPERATION_PATH.slice(ORDERS_API_PATH.length);
    const apiUrls = apis.map((api) => `${gateway.origin}${api.path}${operation}`);
    const settings: Record<string, string> = {
      PROBE_TENANT_ID: SANDBOX_TENANT_ID,
      PROBE_AUTHORITY_HOST: entra.origin,
      // The authority is loopback, which names no cloud: say which one the tenant emulates.
      PROBE_CLOUD: cloud,
      PROBE_CLIENT_ID: PROBE_CLIENT.clientId,
      PROBE_CLIENT_SECRET:
        scenario.clientSecret === "secret-id" ? tenant.probeClient.secret.id : tenant.probeClient.secret.value,
      // An estate is a targets file, one target per API; the default API is the single-target settings.
      ...(estate
        ? {
            PROBE_TARGETS_FILE: await writeEstateTargets(stateDir, apis, apiUrls),
            [ESTATE_KEY_SETTING]: subscriptionKey,
          }
        : {
            PROBE_API_URL: apiUrls[0]!,
            PROBE_API_METHOD: "GET",
            PROBE_API_SCOPE: `${ORDERS_API.appIdUri}/.default`,
            PROBE_SUBSCRIPTION_KEY: subscriptionKey,
          }),
      PROBE_UNASSIGNED_CLIENT_ID: UNASSIGNED_CLIENT.clientId,
      PROBE_UNASSIGNED_CLIENT_SECRET: tenant.unassignedClient.secret.value,
      // The probe checks each token against the API's policy before calling: the file, or the folder.
      ...(estate ? { PROBE_APIOPS_DIR: estate.probeFolder } : { PROBE_POLICY_FILE: policyFile }),
      PROBE_RUN_LOCATION: "sandbox",
      ...(scenario.timeoutMs ? { PROBE_TIMEOUT_MS: String(scenario.timeoutMs) } : {}),
      // Microsoft Graph, emulated by the tenant (credential-expiry reads the probe's registration there).
      PROBE_GRAPH_URL: entra.origin,
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString(),
      ...(entraOnly
        ? { APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `Authorization=AAD;ClientId=${PROBE_MANAGED_IDENTITY.clientId}` }
        : {}),
      NODE_EXTRA_CA_CERTS: caFile,
      IDENTITY_ENDPOINT: entra.identityEndpoint,
      IDENTITY_HEADER: entra.identityHeader,
    };

    return {
      scenario: scenario.name,
      settings,
      caPem: ca.certPem,
      caFile,
      clientCertificateFile,
      policyFile,
      apiUrls,
      entra,
      gateway,
      ingestion,
      async close() {
        await closeAll(started);
        if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await closeAll(started);
    if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
}

/** The setting that holds the subscription key in an estate's targets file (the file names settings, never keys). */
export const ESTATE_KEY_SETTING = "SANDBOX_SUBSCRIPTION_KEY";

/**
 * One target per published API: each probed at its `/health` operation with the orders API's scope
 * (the sandbox tenant's one API registration), its preflight on its API's effective policy, and
 * the key probes expecting what the folder says of its subscription.
 */
async function writeEstateTargets(
  stateDir: string,
  apis: readonly ApiDefinition[],
  urls: readonly string[],
): Promise<string> {
  const file = join(stateDir, "targets.json");
  const targets = apis.map((api, i) => ({
    name: api.name,
    url: urls[i]!,
    scope: `${ORDERS_API.appIdUri}/.default`,
    subscriptionKeySetting: ESTATE_KEY_SETTING,
    apiopsApi: api.name,
    // The folder says this API needs no subscription: the key-less request is expected to get in.
    ...(api.subscriptionRequired ? {} : { expectedStatuses: { "no-subscription-key": [...SUCCESS_STATUSES] } }),
  }));
  await writeFile(file, `${JSON.stringify({ targets }, null, 2)}\n`);
  return file;
}

async function closeAll(servers: readonly { close(): Promise<void> }[]): Promise<void> {
  await Promise.allSettled([...servers].reverse().map((s) => s.close()));
}
