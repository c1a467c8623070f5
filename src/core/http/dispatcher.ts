// A namespace import: a named import of getCACertificates (Node.js 22.15) would fail to link on an
// older Node.js, before the app could say which version it needs.
import * as tls from "node:tls";
import { Agent, buildConnector, type Dispatcher } from "undici";
import { PresentedCertificates } from "./presented-certificates.js";

export interface ProbeDispatcherOptions {
  /**
   * Extra CA certificates (PEM) trusted on top of Node's default roots (which already include
   * NODE_EXTRA_CA_CERTS when it was set before the process started). The sandbox's CA comes in
   * this way; `NODE_TLS_REJECT_UNAUTHORIZED=0` is never an option.
   */
  extraCaPem?: readonly string[];
  /** TCP + TLS handshake deadline, ms. */
  connectTimeoutMs?: number;
}

/** The probe's trust store: Node's default roots plus the extra CAs, as one context every connection shares. */
export function probeSecureContext(extraCaPem: readonly string[] = []): tls.SecureContext {
  return tls.createSecureContext(
    extraCaPem.length > 0 ? { ca: [...tls.getCACertificates("default"), ...extraCaPem] } : {},
  );
}

/**
 * The one undici dispatcher a process uses for Entra and the API. Product code receives it as a
 * parameter (never the global dispatcher) so tests and proxies can plug in.
 *
 * The trust store is built once, as one TLS SecureContext shared by every connection. Given a `ca`
 * option instead, tls.connect builds a new context per connection, parsing Node's ~140 roots each
 * time: at 500 targets that was 145 MB of the probe's peak RSS and 2 s of its first run (bench figure 2).
 */
export function createProbeDispatcher(options: ProbeDispatcherOptions = {}): Dispatcher {
  return createProbeConnections(options).dispatcher;
}

/**
 * The dispatcher, and the certificates its TLS connections were shown (the tls-certificate probe
 * reads them: no extra connection where the API probes already made one).
 */
export function createProbeConnections(options: ProbeDispatcherOptions & { now?: () => number } = {}): {
  dispatcher: Dispatcher;
  certificates: PresentedCertificates;
} {
  const secureContext = probeSecureContext(options.extraCaPem);
  const certificates = new PresentedCertificates(secureContext, options.now);
  const connector = buildConnector({ secureContext, timeout: options.connectTimeoutMs ?? 10_000 });
  const dispatcher = new Agent({
    connect: (connectOptions, callback) =>
      connector(connectOptions, (...args) => {
        const [error, socket] = args;
        if (error === null && socket instanceof tls.TLSSocket)
          certificates.record(connectOptions.hostname, Number(connectOptions.port || 443), socket);
        callback(...args);
      }),
    // Keep-alive shorter than APIM's idle timeout so a reused socket is rarely a dead one.
    keepAliveTimeout: 4_000,
  });
  return { dispatcher, certificates };
}
