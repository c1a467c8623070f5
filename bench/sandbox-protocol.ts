/** Messages between the bench (parent) and the sandbox it runs in a child process (sandbox-child.ts). */

export interface SandboxStartOptions {
  extraApis: number;
  backendLatencyMs: number;
  /** An APIOps folder to publish instead of the default APIs (figure 7). */
  apiops?: string;
}

export type SandboxCommand =
  | { id: number; type: "set-latency"; latencyMs: number }
  | { id: number; type: "token-requests" }
  | { id: number; type: "take-backend-delays" }
  | { id: number; type: "close" };

/** One token request the emulated tenant saw: who asked for what (never a secret or a token). */
export interface SeenTokenRequest {
  clientId?: string;
  scope?: string;
  resource?: string;
}

export type SandboxReply =
  | { type: "ready"; settings: Record<string, string>; apiUrls: string[]; caFile: string }
  | { id: number; type: "ok" }
  | { id: number; type: "token-requests"; requests: SeenTokenRequest[] }
  | { id: number; type: "backend-delays"; delaysMs: number[] }
  | { id: number; type: "error"; message: string };
