import { createSecureContext, getCACertificates } from "node:tls";
import { Agent, type Dispatcher } from "undici";
import type { ProbeConfig } from "../src/core/settings/types.js";

/**
 * The engine's default dispatcher (src/core/http/dispatcher.ts) with one difference: the CA list is
 * turned into one TLS SecureContext shared by every connection. With a `ca` option instead, Node
 * builds a new context per connection (tls.connect calls createSecureContext when no `secureContext`
 * is given: https://nodejs.org/api/tls.html#tlsconnectoptions-callback), parsing Node's ~140 root
 * certificates plus the extra CA each time, which costs memory and CPU per connection. Bench-only:
 * figure 2 runs it next to the default to show what that costs.
 */
export function sharedTlsDispatcher(config: ProbeConfig): Dispatcher {
  const secureContext = createSecureContext({ ca: [...getCACertificates("default"), ...config.extraCaPem] });
  return new Agent({ connect: { secureContext, timeout: config.timeoutMs }, keepAliveTimeout: 4_000 });
}
