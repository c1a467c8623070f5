import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenIdConfigResolver } from "../../../src/policy/index.js";
import { startApimGateway, type ApimGateway } from "../../../src/sandbox/apim/index.js";
import { ORDERS_API } from "../../../src/sandbox/identities.js";
import {
  createSigningKey,
  mintToken,
  startOpenIdTestServer,
  V2_OPENID_URL,
  v2Claims,
  type OpenIdTestServer,
} from "../../policy/helpers/issuer.js";

// APIM runs inbound policies in document order, each to completion, and a <choose> runs exactly one
// branch ([A] api-management-howto-policies.md, choose-policy.md). A request validate-jwt refuses
// never reaches a rate-limit or ip-filter after it.

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
let openId: OpenIdTestServer;
let gateway: ApimGateway;
let good: string;

const jwt = (audience: string = ORDERS_API.clientId) =>
  `<validate-jwt header-name="Authorization" require-scheme="Bearer"><openid-config url="${V2_OPENID_URL}" /><audiences><audience>${audience}</audience></audiences></validate-jwt>`;
const policy = (inbound: string) =>
  `<policies><inbound>${inbound}</inbound><backend><forward-request /></backend></policies>`;

beforeAll(async () => {
  const key = await createSigningKey("published-kid");
  openId = await startOpenIdTestServer([key.publicJwk]);
  good = await mintToken(key, v2Claims(NOW));
  const api = (name: string, inbound: string) => ({
    name,
    path: `/${name}`,
    subscriptionRequired: false,
    subscriptionKeys: [],
    policyXml: policy(inbound),
  });
  gateway = await startApimGateway({
    tls: { ...openId.tls, caPem: openId.caPem },
    now: () => NOW,
    openIdConfig: createOpenIdConfigResolver({
      dispatcher: openId.dispatcher,
      now: () => NOW,
      rewriteUrl: openId.rewriteUrl,
    }),
    apis: [
      api("jwt-then-rate-limit", `${jwt()}<rate-limit calls="2" renewal-period="60" />`),
      api("jwt-then-ip-filter", `${jwt()}<ip-filter action="allow"><address>10.1.2.3</address></ip-filter>`),
      api("ip-filter-then-jwt", `<ip-filter action="allow"><address>10.1.2.3</address></ip-filter>${jwt()}`),
      api(
        "choose-return",
        `<choose><when condition="@(context.Request.Headers.ContainsKey(&quot;X-Legacy&quot;))"><return-response><set-status code="410" reason="Gone" /></return-response></when></choose>${jwt()}`,
      ),
      api(
        "choose-one-branch",
        `<choose><when condition="@(context.Request.Method == &quot;GET&quot;)">${jwt()}</when><when condition="@(context.Request.Headers.ContainsKey(&quot;X-Debug&quot;))">${jwt("api://nobody")}</when><otherwise>${jwt("api://nobody")}</otherwise></choose>`,
      ),
      api(
        "choose-undecidable",
        `${jwt()}<choose><when condition="@(((Jwt)context.Variables[&quot;jwt&quot;]).Claims.GetValueOrDefault(&quot;azp&quot;, &quot;&quot;) == &quot;x&quot;)">${jwt("api://nobody")}</when><otherwise>${jwt()}</otherwise></choose>`,
      ),
      api(
        "choose-harmless",
        `<choose><when condition="@(context.Variables.ContainsKey(&quot;x&quot;))"><set-header name="X-A" exists-action="override"><value>a</value></set-header></when></choose>${jwt()}`,
      ),
    ],
  });
});
afterAll(async () => {
  await gateway?.close();
  await openId?.close();
});

async function call(path: string, headers: Record<string, string> = {}, method = "GET") {
  const response = await request(`${gateway.origin}${path}`, {
    method: method as "GET",
    headers,
    dispatcher: openId.dispatcher,
  });
  await response.body.dump();
  const records = gateway.requests();
  return { status: response.statusCode, record: records[records.length - 1]! };
}
const bearer = () => ({ authorization: `Bearer ${good}` });

describe("sandbox gateway: inbound policies in document order", () => {
  it("a rate-limit after validate-jwt is not reached (nor counted) by requests validate-jwt refuses", async () => {
    for (let i = 0; i < 4; i++) expect((await call("/jwt-then-rate-limit/x")).status).toBe(401);
    expect((await call("/jwt-then-rate-limit/x", bearer())).status).toBe(200);
    expect((await call("/jwt-then-rate-limit/x", bearer())).status).toBe(200);
    const third = await call("/jwt-then-rate-limit/x", bearer());
    expect(third).toMatchObject({ status: 429, record: { reason: "RateLimitExceeded" } });
    // Still 401, not 429, for the token-less caller.
    expect((await call("/jwt-then-rate-limit/x")).record).toMatchObject({ status: 401, reason: "TokenNotPresent" });
  });

  it("an ip-filter after validate-jwt: 401 for a request without a token, 403 for a valid one", async () => {
    expect((await call("/jwt-then-ip-filter/x")).record).toMatchObject({ status: 401, reason: "TokenNotPresent" });
    expect((await call("/jwt-then-ip-filter/x", bearer())).record).toMatchObject({
      status: 403,
      reason: "CallerIpNotAllowed",
    });
  });

  it("an ip-filter before validate-jwt answers first", async () => {
    expect((await call("/ip-filter-then-jwt/x")).record).toMatchObject({ status: 403, reason: "CallerIpNotAllowed" });
  });
});

describe("sandbox gateway: <choose> runs exactly one branch", () => {
  it("a branch's <return-response> answers there and then", async () => {
    expect((await call("/choose-return/x", { "x-legacy": "1", ...bearer() })).record).toMatchObject({
      status: 410,
      reason: "ReturnResponse",
    });
    expect((await call("/choose-return/x", bearer())).status).toBe(200);
  });

  it("the first condition that holds decides; later branches do not run", async () => {
    expect((await call("/choose-one-branch/x", { "x-debug": "1", ...bearer() })).status).toBe(200);
    expect((await call("/choose-one-branch/x", { "x-debug": "1", ...bearer() }, "POST")).record).toMatchObject({
      status: 401,
      reason: "TokenAudienceNotAllowed",
    });
  });

  it("a condition the request does not decide is never taken as 'every branch': the sandbox says it cannot evaluate it", async () => {
    const { record } = await call("/choose-undecidable/x", bearer());
    expect(record).toMatchObject({ status: 500, reason: "ConditionNotEvaluable" });
    expect(record.detail).toMatch(/cannot evaluate <when condition> at line \d+/);
  });

  it("an undecidable <choose> that neither admits nor refuses anyone is passed over", async () => {
    expect((await call("/choose-harmless/x", bearer())).status).toBe(200);
  });
});
