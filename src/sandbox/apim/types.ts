import type { ApimPolicy, SigningKeyResolver } from "../../policy/index.js";

/** One API published on the emulated gateway. */
export interface ApiDefinition {
  /** Unique; names the API in records and in `setBackend`. */
  name: string;
  /** URL suffix, e.g. `/orders`; requests route by longest prefix. */
  path: string;
  subscriptionRequired: boolean;
  /** Keys of active subscriptions (primary and secondary keys alike). */
  subscriptionKeys: readonly string[];
  /** Default `Ocp-Apim-Subscription-Key`. */
  subscriptionKeyHeaderName?: string;
  /** Default `subscription-key`. */
  subscriptionKeyQueryParamName?: string;
  /** The API's policy document; absent or without validate-jwt: no token is required. */
  policyXml?: string;
  /** An effective policy composed already (an APIOps folder's); wins over `policyXml`. */
  policy?: ApimPolicy;
}

export interface GatewayOptions {
  /**
   * The gateway's server certificate. With `caPem` (the CA that issued it) the backend also speaks
   * HTTPS with the same certificate and the gateway trusts that CA; without it the backend is plain
   * HTTP on loopback.
   */
  tls: { certPem: string; keyPem: string; caPem?: string };
  apis: readonly ApiDefinition[];
  openIdConfig: SigningKeyResolver;
  /** Milliseconds since the epoch; token lifetimes are judged against it. Default `Date.now`. */
  now?: () => number;
}

/**
 * How the sandbox's API backend answers: one type for the gateway's `setBackend`, a scenario's
 * `backend` and the backend itself (which gets it without `apiName`, the API being its own argument).
 */
export interface BackendBehaviour {
  /** Status the backend answers instead of 200. */
  status?: number;
  /** Delay before the backend answers. */
  latencyMs?: number;
  /**
   * The backend drops every connection unanswered, as a crashed or unreachable backend does: the
   * gateway itself answers 500 (BackendConnectionFailure).
   */
  unreachable?: boolean;
  /** Pads the echo with this many bytes (`padding`), for answers larger than a reader's limit. */
  paddingBytes?: number;
  /** Only this API's backend; absent: every API without its own behaviour. */
  apiName?: string;
  /** Only for the next `times` requests, then the backend is healthy again (a restart, a recycled unit). */
  times?: number;
  /** The backend's 200 arrives at once, then its body trickles, hangs or is cut off. */
  bodyFault?: BodyFault;
}

export type BodyFault = "trickle" | "hang" | "reset";

/** What the gateway did with one request. Never a key, a token or a query string. */
export interface GatewayRequestRecord {
  requestId: string;
  /** ISO time from the gateway's clock. */
  at: string;
  method: string;
  /** Path only. */
  path: string;
  /** The matched API's name; absent on 404. */
  api?: string;
  status: number;
  /**
   * Why the gateway answered itself: `ResourceNotFound`, `SubscriptionKeyNotFound`,
   * `SubscriptionKeyInvalid`, a validate-jwt reason, or `BackendConnectionFailure`. Absent when the
   * backend answered.
   */
  reason?: string;
  /** The validate-jwt rule that failed, e.g. `audience expected [..] received X`. */
  detail?: string;
}

export interface ApimGateway {
  /** `https://127.0.0.1:<port>` */
  origin: string;
  setBackend(behaviour: BackendBehaviour): void;
  /** The backend's programmed delays as actually waited, ms, since the last call. */
  takeBackendDelays(): number[];
  requests(): readonly GatewayRequestRecord[];
  close(): Promise<void>;
}
