import { X509Certificate } from "node:crypto";
import { CLOUDS } from "../../entra/clouds.js";
import { TransportError, type ProbeError } from "../errors.js";
import { probeSecureContext } from "../http/dispatcher.js";
import { PresentedCertificates, type PresentedCertificate } from "../http/presented-certificates.js";
import { sendProbeRequest } from "../http/probe-request.js";
import { escapeRemoteText } from "../http/remote-text.js";
import type { Expiry } from "../results/types.js";
import type { Secret } from "../settings/secret.js";
import { causeOf, errorResult, skipped, type ProbePartial } from "./probe-partial.js";
import type { TargetRunContext } from "./target-probes.js";

const DAY_MS = 24 * 60 * 60_000;

/**
 * The Graph application permission that reads an app registration's credentials (learn.microsoft.com
 * graph/api/application-get, docs/REFERENCE.md §7). Without it credential-expiry says so and is skipped.
 */
export const GRAPH_READ_PERMISSION = "Application.Read.All";

/** Which target carries a forecast: the tls-certificate of each gateway origin, and the run's credential-expiry, once each. */
export interface ForecastCarriers {
  /** The target that checks this target's gateway certificate (this one, or the first with the same origin). */
  certificate?: string;
  /** The target that checks the probe's credentials this run. */
  credentials?: string;
}

/** A Microsoft Graph token for the probe's own client, or why there is none. */
export type GraphToken = () => Promise<{ ok: true; token: string } | { ok: false; error: ProbeError }>;

/** Days until `iso` on the probe's clock, counted up as people count them (an expiry 23 h away is 1 day left; 0 or less: expired). */
function daysUntil(iso: string, now: number): number {
  return Math.ceil((Date.parse(iso) - now) / DAY_MS);
}

/**
 * tls-certificate: the certificate the gateway presented to this run's own connection
 * (a fresh handshake only when the run made none there), its issuer, its chain, and the days to
 * notAfter. An expired or misnamed certificate never gets this far: the handshake fails, `tls-error`.
 */
export async function tlsCertificate(ctx: TargetRunContext): Promise<ProbePartial> {
  const carrier = ctx.forecasts.certificate;
  if (carrier !== ctx.target.name) return skipped(`checked once per gateway, on target ${carrier ?? "(none)"}`);
  const origin = new URL(ctx.target.url).origin;
  const certificates =
    ctx.certificates ?? new PresentedCertificates(probeSecureContext(ctx.config.extraCaPem), ctx.now);
  const started = ctx.now();
  let presented: PresentedCertificate;
  try {
    presented = await certificates.of(origin, ctx.runStartedMs, ctx.config.timeoutMs, ctx.signal);
  } catch (error) {
    return errorResult(error);
  }
  const daysLeft = daysUntil(presented.notAfter, ctx.now());
  const expiry: Expiry = {
    item: `TLS certificate ${presented.subject} (${new URL(origin).host})`,
    expiresOn: presented.notAfter,
    daysLeft,
  };
  const durationMs = presented.seenAt >= started ? ctx.now() - started : 0;
  const described = `${presented.subject}, issued by ${presented.issuer}${presented.chain.length > 0 ? ` (chain: ${presented.chain.join(" > ")})` : ""}, valid until ${presented.notAfter}: ${daysLeft} days left`;
  if (daysLeft < ctx.config.certWarnDays) {
    return {
      outcome: "fail",
      durationMs,
      message: `certificate ${described}, fewer than PROBE_CERT_WARN_DAYS (${ctx.config.certWarnDays})`,
      cause: "certificate-expiring",
      expiry,
      observed: {
        expiring: {
          cause: "certificate-expiring",
          evidence: {
            expectedStatus: `at least ${ctx.config.certWarnDays} days left`,
            origin,
            subject: presented.subject,
            issuer: presented.issuer,
            expiresOn: presented.notAfter,
            daysLeft: String(daysLeft),
            warnDays: String(ctx.config.certWarnDays),
          },
        },
      },
    };
  }
  return { outcome: "pass", durationMs, message: `certificate ${described}`, expiry };
}

/** One credential found, and the setting that holds it (for the fix). */
interface CredentialFact extends Expiry {
  clientId: string;
  setting: string;
}

/** What Graph says about an app's credentials (the `$select`ed fields). */
interface GraphApplication {
  passwordCredentials?: { displayName?: string | null; hint?: string | null; endDateTime?: string | null }[];
  keyCredentials?: { displayName?: string | null; endDateTime?: string | null }[];
}

/**
 * credential-expiry, once per run: days until the probe's own credential expires, and the
 * unassigned client's. A certificate's notAfter comes from its PEM; a secret's end date from Microsoft
 * Graph (`GET /applications(appId=...)`, `$select=passwordCredentials,keyCredentials`, with the probe's
 * own Graph token), the secret in use recognised by its hint (its first three characters). Without the
 * Graph permission the secret cannot be read: `skipped`, naming the permission, never a failure.
 */
export async function credentialExpiry(ctx: TargetRunContext, graphToken: GraphToken): Promise<ProbePartial> {
  const carrier = ctx.forecasts.credentials;
  if (carrier !== ctx.target.name) return skipped(`checked once per run, on target ${carrier ?? "(none)"}`);
  const { config } = ctx;
  const started = ctx.now();
  const facts: CredentialFact[] = [];
  const notes: string[] = [];
  const graph = graphApplications(ctx, graphToken);

  const credential = config.credential;
  if (credential.kind === "managed-identity") {
    notes.push("the probe's client uses a federated credential (managed identity): nothing of it expires");
  } else if (credential.kind === "certificate") {
    const cert = new X509Certificate(credential.certificatePem);
    const expiresOn = new Date(cert.validTo).toISOString();
    facts.push({
      item: `client certificate ${commonName(cert.subject)} (PROBE_CLIENT_CERTIFICATE_PATH) of ${config.clientId}`,
      expiresOn,
      daysLeft: daysUntil(expiresOn, ctx.now()),
      clientId: config.clientId,
      setting: "PROBE_CLIENT_CERTIFICATE_PATH",
    });
  } else {
    const found = await secretOf(graph, config.clientId, credential.secret, "PROBE_CLIENT_SECRET", ctx.now());
    if ("fact" in found) facts.push(found.fact);
    else notes.push(`the probe's client secret: ${found.note}`);
  }
  if (config.unassignedClient) {
    const found = await secretOf(
      graph,
      config.unassignedClient.clientId,
      config.unassignedClient.secret,
      "PROBE_UNASSIGNED_CLIENT_SECRET",
      ctx.now(),
    );
    if ("fact" in found) facts.push(found.fact);
    else notes.push(`the unassigned client's secret: ${found.note}`);
  }

  const durationMs = ctx.now() - started;
  const noted = notes.length > 0 ? `; not read: ${notes.join("; ")}` : "";
  const soonest = [...facts].sort((a, b) => a.daysLeft - b.daysLeft)[0];
  if (!soonest) return { ...skipped(notes.join("; ") || "no credential to check"), durationMs };
  const expiry: Expiry = { item: soonest.item, expiresOn: soonest.expiresOn, daysLeft: soonest.daysLeft };
  const listed = facts.map((f) => `${f.item}: ${f.daysLeft} days left (${f.expiresOn})`).join("; ");
  if (soonest.daysLeft < config.certWarnDays) {
    return {
      outcome: "fail",
      durationMs,
      message: `${soonest.item} expires in ${soonest.daysLeft} days (${soonest.expiresOn}), fewer than PROBE_CERT_WARN_DAYS (${config.certWarnDays})${others(facts, soonest)}${noted}`,
      cause: "credential-expiring",
      expiry,
      observed: {
        expiring: {
          cause: "credential-expiring",
          evidence: {
            expectedStatus: `at least ${config.certWarnDays} days left`,
            item: soonest.item,
            expiresOn: soonest.expiresOn,
            daysLeft: String(soonest.daysLeft),
            warnDays: String(config.certWarnDays),
            clientId: soonest.clientId,
            setting: soonest.setting,
          },
        },
      },
    };
  }
  return { outcome: "pass", durationMs, message: `${listed}${noted}`, expiry };
}

/** The other credentials' days left, after the one a failure is about. */
function others(facts: readonly CredentialFact[], soonest: CredentialFact): string {
  const rest = facts.filter((f) => f !== soonest);
  return rest.length > 0
    ? `; ${rest.map((f) => `${f.item}: ${f.daysLeft} days left (${f.expiresOn})`).join("; ")}`
    : "";
}

type GraphAnswer = { ok: true; app: GraphApplication } | { ok: false; note: string };

/** Reads an app registration's credentials from Microsoft Graph; the token is asked for on first use (and shared: `acquire` is memoised per target). */
function graphApplications(ctx: TargetRunContext, graphToken: GraphToken): (appId: string) => Promise<GraphAnswer> {
  return async (appId) => {
    const token = await graphToken();
    if (!token.ok) return { ok: false, note: `no Microsoft Graph token (${causeOf(token.error)})` };
    const url = `${ctx.config.graphUrl}/v1.0/applications(appId='${encodeURIComponent(appId)}')?$select=passwordCredentials,keyCredentials`;
    let res;
    try {
      res = await sendProbeRequest(
        {
          url,
          method: "GET",
          headers: { authorization: `Bearer ${token.token}`, accept: "application/json" },
          keepAnswer: true,
          timeoutMs: ctx.config.timeoutMs,
          signal: ctx.signal,
        },
        // The token goes to Graph's origin only, never to a target's.
        { dispatcher: ctx.http.dispatcher, allowedOrigins: new Set([ctx.config.graphUrl]) },
      );
    } catch (error) {
      const kind = error instanceof TransportError ? error.kind : "error";
      // A failed handshake is an answer the probe would not trust, not silence: name the trust fix.
      return {
        ok: false,
        note:
          kind === "tls"
            ? `the TLS handshake with Microsoft Graph at ${ctx.config.graphUrl} failed (tls): behind a TLS-inspecting proxy or a private CA, add that CA to NODE_EXTRA_CA_CERTS (a PEM file)`
            : `Microsoft Graph did not answer (${kind})`,
      };
    }
    if (res.status === 401 || res.status === 403) {
      return {
        ok: false,
        note: `reading it needs the Microsoft Graph application permission ${GRAPH_READ_PERMISSION} (with admin consent) for the probe's client; Graph answered ${res.status}`,
      };
    }
    if (res.status === 404)
      return { ok: false, note: `Microsoft Graph knows no application with client id ${appId} (404)` };
    if (res.status < 200 || res.status > 299) return { ok: false, note: `Microsoft Graph answered ${res.status}` };
    try {
      return { ok: true, app: JSON.parse(res.body ?? "") as GraphApplication };
    } catch {
      return { ok: false, note: "Microsoft Graph's answer is not JSON" };
    }
  };
}

/** The secret in use, recognised among the app's by its hint (Graph: "the first three characters of the password"). */
async function secretOf(
  graph: (appId: string) => Promise<GraphAnswer>,
  clientId: string,
  secret: Secret,
  setting: string,
  now: number,
): Promise<{ fact: CredentialFact } | { note: string }> {
  const answer = await graph(clientId);
  if (!answer.ok) return { note: answer.note };
  const secrets = (answer.app.passwordCredentials ?? []).filter(
    (c): c is { displayName?: string | null; hint?: string | null; endDateTime: string } =>
      typeof c.endDateTime === "string",
  );
  if (secrets.length === 0) return { note: `the app registration ${clientId} has no client secret` };
  const hint = secret.reveal().slice(0, 3);
  const matching = secrets.filter((c) => c.hint === hint);
  // Two secrets with the same first characters cannot be told apart: the sooner one is assumed.
  const candidates = matching.length > 0 ? matching : secrets;
  const chosen = [...candidates].sort((a, b) => Date.parse(a.endDateTime) - Date.parse(b.endDateTime))[0]!;
  // Graph's text (a secret's name, its hint) is remote text on its way to the terminal, JUnit and App Insights.
  const name = chosen.displayName ? ` "${escapeRemoteText(chosen.displayName)}"` : "";
  const which =
    matching.length === 0
      ? ` (none has the in-use secret's hint; the soonest of ${secrets.length})`
      : matching.length > 1
        ? ` (one of ${matching.length} with the same hint)`
        : "";
  const expiresOn = new Date(chosen.endDateTime).toISOString();
  return {
    fact: {
      item: `client secret${name} (hint ${chosen.hint ? escapeRemoteText(chosen.hint) : "?"}) of ${clientId}${which}`,
      expiresOn,
      daysLeft: daysUntil(expiresOn, now),
      clientId,
      setting,
    },
  };
}

function commonName(subject: string): string {
  return /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1] ?? subject.split("\n")[0] ?? "(no subject)";
}

/** The scope of the probe's Graph token: the cloud's Graph, `.default` (its application permissions). */
export function graphScope(cloud: keyof typeof CLOUDS | undefined): string {
  return `https://${CLOUDS[cloud ?? "public"].graphHost}/.default`;
}
