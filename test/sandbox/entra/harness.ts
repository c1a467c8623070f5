import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload, type JWTVerifyResult } from "jose";
import { Agent, fetch as undiciFetch, request, type Dispatcher } from "undici";
import { createDefaultTenant, type DefaultTenant } from "../../../src/sandbox/entra/model.js";
import { startEntraEmulator, type EntraEmulator } from "../../../src/sandbox/entra/server.js";
import { SANDBOX_TENANT_ID } from "../../../src/sandbox/identities.js";
import { createSandboxCa } from "../../../src/sandbox/tls/ca.js";

/** A default tenant behind a running emulator, and an undici agent that trusts the sandbox CA. */
export interface TestTenant {
  caPem: string;
  emulator: EntraEmulator;
  tenant: DefaultTenant;
  dispatcher: Agent;
  /** MSAL authority: `${origin}/${tenantId}`. */
  authority: string;
  close(): Promise<void>;
}

export async function startTestTenant(
  options: { tokenLifetimeSeconds?: number; now?: () => number } = {},
): Promise<TestTenant> {
  const ca = await createSandboxCa();
  const tls = await ca.issueServerCertificate();
  const tenant = await createDefaultTenant(options.now === undefined ? {} : { now: options.now });
  const emulator = await startEntraEmulator({ model: tenant.model, tls, ...options });
  const dispatcher = new Agent({ connect: { ca: ca.certPem } });
  return {
    caPem: ca.certPem,
    emulator,
    tenant,
    dispatcher,
    authority: `${emulator.origin}/${SANDBOX_TENANT_ID}`,
    async close() {
      await dispatcher.close();
      await emulator.close();
    },
  };
}

/**
 * MSAL's `system.networkClient`, written with undici so it can trust the sandbox CA
 * (`connect: { ca }`) without touching process-wide TLS settings. Records every URL MSAL asks for,
 * so tests can prove it never left the emulator (no instance discovery on a Microsoft host).
 */
export class RecordingMsalNetworkClient implements INetworkModule {
  readonly urls: string[] = [];
  constructor(private readonly dispatcher: Dispatcher) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>("GET", url, options);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>("POST", url, options);
  }

  private async send<T>(
    method: "GET" | "POST",
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> {
    this.urls.push(url);
    const res = await request(url, {
      method,
      dispatcher: this.dispatcher,
      ...(options?.headers === undefined ? {} : { headers: options.headers }),
      ...(options?.body === undefined ? {} : { body: options.body }),
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
    }
    // Like MSAL's own client: every body is parsed as JSON (docs/REFERENCE.md §6).
    return { status: res.statusCode, headers, body: (await res.body.json()) as T };
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

export async function postForm(
  t: TestTenant,
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const res = await request(url, {
    method: "POST",
    dispatcher: t.dispatcher,
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return readRaw(res);
}

export async function get(t: TestTenant, url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return readRaw(await request(url, { dispatcher: t.dispatcher, headers }));
}

async function readRaw(res: Dispatcher.ResponseData): Promise<RawResponse> {
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // plain-text bodies (429) stay in `text`
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Fetches discovery (v1 or v2) and verifies `token` with jose against that document's issuer and JWKS. */
export async function verifyWithDiscovery(
  t: TestTenant,
  token: string,
  version: "v1" | "v2",
  options: { audience?: string; currentDate?: Date } = {},
): Promise<JWTVerifyResult<JWTPayload>> {
  const path = version === "v2" ? "v2.0/.well-known/openid-configuration" : ".well-known/openid-configuration";
  const metadata = (await get(t, `${t.authority}/${path}`)).json as { issuer: string; jwks_uri: string };
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri), {
    [customFetch]: (url: string, init: RequestInit) =>
      undiciFetch(url, {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher: t.dispatcher,
      }) as unknown as Promise<Response>,
  });
  return jwtVerify(token, jwks, {
    issuer: metadata.issuer,
    algorithms: ["RS256"],
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    ...(options.currentDate === undefined ? {} : { currentDate: options.currentDate }),
  });
}

/** Asserts the Entra error shape of docs/REFERENCE.md §2 and returns the body. */
export function entraErrorOf(res: RawResponse): { error: string; code: number; description: string } {
  const body = res.json as { error?: string; error_description?: string; error_codes?: number[] };
  return { error: body.error ?? "", code: body.error_codes?.[0] ?? 0, description: body.error_description ?? "" };
}
