import {
  checkServerIdentity,
  connect,
  type DetailedPeerCertificate,
  type SecureContext,
  type TLSSocket,
} from "node:tls";
import { escapeRemoteText } from "./remote-text.js";
import { toTransportError } from "./transport-error.js";

/** What a server's TLS certificate says about itself, as the probe reports it. Public data only. */
export interface PresentedCertificate {
  /** The subject's common name, else its first DNS name. */
  subject: string;
  /** The issuer's common name and organisation, e.g. `Microsoft Azure RSA TLS Issuing CA 03 (Microsoft Corporation)`. */
  issuer: string;
  /** The chain above the leaf, issuer names from the leaf up, as the server sent it. */
  chain: string[];
  /** ISO time of `notAfter`. */
  notAfter: string;
  /** Whether the certificate names the host the probe connected to (it always does after a verified handshake). */
  namesHost: boolean;
  /** When the handshake took place (ms). */
  seenAt: number;
}

/**
 * The certificates the probe's own connections were shown, per origin: the tls-certificate
 * probe reads the handshake the API probes already made instead of opening another connection. A
 * dispatcher built with `createProbeDispatcher({ certificates })` records every new TLS connection.
 */
export class PresentedCertificates {
  readonly #byOrigin = new Map<string, PresentedCertificate>();

  constructor(
    private readonly secureContext: SecureContext,
    private readonly now: () => number = Date.now,
  ) {}

  /** Called by the dispatcher's connector for each verified TLS connection. */
  record(host: string, port: number, socket: TLSSocket): void {
    const peer = socket.getPeerCertificate(true);
    if (!peer || Object.keys(peer).length === 0) return;
    this.#byOrigin.set(originOf(host, port), summarize(host, peer, this.now()));
  }

  /** The certificate `origin` showed since `sinceMs`, else one fresh handshake (a run that called nothing there). */
  async of(origin: string, sinceMs: number, timeoutMs: number, signal: AbortSignal): Promise<PresentedCertificate> {
    const seen = this.#byOrigin.get(origin);
    if (seen && seen.seenAt >= sinceMs) return seen;
    const url = new URL(origin);
    const port = Number(url.port || 443);
    const socket = await handshake(url.hostname, port, this.secureContext, timeoutMs, signal).catch(
      (error: unknown) => {
        throw toTransportError(error, origin, timeoutMs) ?? error;
      },
    );
    try {
      this.record(url.hostname, port, socket);
    } finally {
      socket.destroy();
    }
    const fresh = this.#byOrigin.get(origin);
    if (!fresh) throw new Error(`${origin} presented no certificate`);
    return fresh;
  }
}

export function originOf(host: string, port: number): string {
  return port === 443 ? `https://${host}` : `https://${host}:${port}`;
}

function handshake(
  host: string,
  port: number,
  secureContext: SecureContext,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...(isIp(host) ? {} : { servername: host }), secureContext });
    const abort = (): void =>
      void socket.destroy(Object.assign(new Error("TLS handshake timed out"), { code: "ETIMEDOUT" }));
    const timer = setTimeout(abort, timeoutMs);
    signal.addEventListener("abort", abort, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
    };
    socket.once("secureConnect", () => {
      done();
      resolve(socket);
    });
    socket.once("error", (error: Error) => {
      done();
      reject(error);
    });
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

function summarize(host: string, peer: DetailedPeerCertificate, seenAt: number): PresentedCertificate {
  const chain: string[] = [];
  const seen = new Set<DetailedPeerCertificate>([peer]);
  for (let c = peer.issuerCertificate; c && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    chain.push(nameOf(c.subject) ?? "(unnamed)");
  }
  const dnsNames = (peer.subjectaltname ?? "")
    .split(", ")
    .filter((n) => n.startsWith("DNS:"))
    .map((n) => escapeRemoteText(n.slice(4)));
  return {
    subject: nameOf(peer.subject) ?? dnsNames[0] ?? "(no subject name)",
    issuer: nameOf(peer.issuer) ?? "(unnamed issuer)",
    chain,
    notAfter: new Date(peer.valid_to).toISOString(),
    namesHost: checkServerIdentity(host, peer) === undefined,
    seenAt,
  };
}

/** A certificate's CN and O as the server sent them: remote text, shown escaped (escapeRemoteText). */
function nameOf(name: DetailedPeerCertificate["subject"] | undefined): string | undefined {
  const first = (v: string | string[] | undefined) => {
    const value = Array.isArray(v) ? v[0] : v;
    return value === undefined ? undefined : escapeRemoteText(value);
  };
  const cn = first(name?.CN);
  const org = first(name?.O);
  if (cn === undefined) return org;
  return org === undefined || org === cn ? cn : `${cn} (${org})`;
}
