import { randomBytes } from "node:crypto";
import { defaultExpectedStatuses } from "../src/core/settings/defaults.js";
import type { ProbeName } from "../src/probe-matrix/names.js";

/**
 * A Postman collection (v2.1) that does what a team's hand-made Postman workflow does, scaled to our matrix:
 * client-credentials token requests to the v2 token endpoint (for the API, for the wrong audience, and
 * for the unassigned client), then per target the same API requests as the engine's matrix with the
 * same expected statuses. Secrets are `{{variables}}` filled from the environment at run time; the
 * collection file holds none.
 */

export interface CollectionInput {
  authorityHost: string;
  tenantId: string;
  clientId: string;
  apiScope: string;
  wrongAudienceScope: string;
  unassignedClientId: string;
  /** Target URLs (the same as the engine's targets file). */
  targetUrls: readonly string[];
}

/** Environment variables the collection reads; their values are secrets, passed at run time only. */
export const SECRET_VARIABLES = ["clientSecret", "unassignedClientSecret", "subscriptionKey"] as const;

/**
 * The API requests per target: the engine's matrix less `token` (requests of their own, once),
 * `expired-token` (a fresh engine skips it too: no token has expired yet) and `unassigned-client`
 * (the sandbox tenant requires assignment, so Entra refuses that client's token with AADSTS501051 and
 * the engine passes it without calling the API; the collection asserts that refusal once).
 */
export const NEWMAN_PROBES = [
  "valid",
  "no-subscription-key",
  "invalid-subscription-key",
  "no-token",
  "wrong-audience",
  "forged-signature",
  "alg-none",
] as const satisfies readonly ProbeName[];

/** AADSTS501051: the client is not assigned a role on the API (docs/REFERENCE.md §2). */
const NOT_ASSIGNED = 501051;

const ALG_NONE_HEADER = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");

interface Header {
  key: string;
  value: string;
}

function tokenRequest(
  name: string,
  tokenUrl: string,
  clientId: string,
  secretVariable: string,
  scope: string,
  testScript: string[],
): unknown {
  return tokenCall(name, tokenUrl, clientId, secretVariable, scope, [
    'pm.test("token 200", () => pm.response.to.have.status(200));',
    ...testScript,
  ]);
}

function tokenCall(
  name: string,
  tokenUrl: string,
  clientId: string,
  secretVariable: string,
  scope: string,
  testScript: string[],
): unknown {
  return {
    name,
    request: {
      method: "POST",
      url: tokenUrl,
      header: [{ key: "Content-Type", value: "application/x-www-form-urlencoded" }],
      body: {
        mode: "urlencoded",
        urlencoded: [
          { key: "grant_type", value: "client_credentials" },
          { key: "client_id", value: clientId },
          { key: "client_secret", value: `{{${secretVariable}}}` },
          { key: "scope", value: scope },
        ],
      },
    },
    event: [{ listen: "test", script: { type: "text/javascript", exec: testScript } }],
  };
}

const saveToken = (variable: string): string =>
  `pm.collectionVariables.set(${JSON.stringify(variable)}, pm.response.json().access_token);`;

function apiRequest(name: string, url: string, headers: Header[], expected: readonly number[]): unknown {
  return {
    name,
    request: { method: "GET", url, header: headers },
    event: [
      {
        listen: "test",
        script: {
          type: "text/javascript",
          exec: [`pm.test("status", () => pm.expect(pm.response.code).to.be.oneOf(${JSON.stringify(expected)}));`],
        },
      },
    ],
  };
}

export function buildNewmanCollection(input: CollectionInput): Record<string, unknown> {
  const tokenUrl = `${input.authorityHost}/${input.tenantId}/oauth2/v2.0/token`;
  const expected = defaultExpectedStatuses();
  const bearer = (variable: string): Header => ({ key: "Authorization", value: `Bearer {{${variable}}}` });
  const key: Header = { key: "Ocp-Apim-Subscription-Key", value: "{{subscriptionKey}}" };
  // A key no subscription has, in the shape of a real one (the engine draws a new one per request).
  const wrongKey: Header = { key: "Ocp-Apim-Subscription-Key", value: randomBytes(16).toString("hex") };
  const headersOf: Record<(typeof NEWMAN_PROBES)[number], Header[]> = {
    valid: [bearer("apiToken"), key],
    "no-subscription-key": [bearer("apiToken")],
    "invalid-subscription-key": [bearer("apiToken"), wrongKey],
    "no-token": [key],
    "wrong-audience": [bearer("wrongAudienceToken"), key],
    "forged-signature": [bearer("forgedToken"), key],
    "alg-none": [bearer("algNoneToken"), key],
  };
  return {
    info: {
      name: "apim-smoke-probe bench peer",
      schema: "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
    },
    item: [
      {
        name: "tokens",
        item: [
          tokenRequest("token", tokenUrl, input.clientId, "clientSecret", input.apiScope, [
            saveToken("apiToken"),
            "const parts = pm.response.json().access_token.split('.');",
            // Forged: same header and claims, a signature the published key does not verify.
            "pm.collectionVariables.set('forgedToken', parts[0] + '.' + parts[1] + '.' + (parts[2][0] === 'A' ? 'B' : 'A') + parts[2].slice(1));",
            `pm.collectionVariables.set('algNoneToken', ${JSON.stringify(ALG_NONE_HEADER)} + '.' + parts[1] + '.');`,
          ]),
          tokenRequest("token wrong audience", tokenUrl, input.clientId, "clientSecret", input.wrongAudienceScope, [
            saveToken("wrongAudienceToken"),
          ]),
          tokenCall(
            "token unassigned client",
            tokenUrl,
            input.unassignedClientId,
            "unassignedClientSecret",
            input.apiScope,
            [
              `pm.test("refused: not assigned", () => { pm.response.to.have.status(400); pm.expect(pm.response.json().error_codes).to.include(${NOT_ASSIGNED}); });`,
            ],
          ),
        ],
      },
      ...input.targetUrls.map((url, i) => ({
        name: `target ${i + 1}`,
        item: NEWMAN_PROBES.map((probe) => apiRequest(probe, url, headersOf[probe], expected[probe])),
      })),
    ],
  };
}

/** A Postman environment (passed in memory, never written) carrying the secret variables. */
export function newmanEnvironment(values: Record<(typeof SECRET_VARIABLES)[number], string>): Record<string, unknown> {
  return {
    name: "bench",
    values: Object.entries(values).map(([k, v]) => ({ key: k, value: v, type: "secret", enabled: true })),
  };
}
