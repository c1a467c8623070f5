import { describe, expect, it } from "vitest";
import { classifyStatus, formatStatuses } from "../../../src/core/probes/classify.js";
import type { ProbeName } from "../../../src/probe-matrix/names.js";
import { defaultExpectedStatuses } from "../../../src/core/settings/defaults.js";

const d = defaultExpectedStatuses();

describe("classifyStatus (outcomes)", () => {
  it.each<[ProbeName, readonly number[], number, string]>([
    ["valid", d.valid, 200, "pass"],
    ["valid", d.valid, 204, "pass"],
    ["valid", d.valid, 401, "fail"],
    ["valid", d.valid, 500, "fail"],
    ["valid", [200], 201, "fail"],
    ["no-subscription-key", d["no-subscription-key"], 401, "pass"],
    ["no-subscription-key", d["no-subscription-key"], 200, "security"],
    ["no-subscription-key", d["no-subscription-key"], 403, "fail"],
    ["no-subscription-key", [200], 200, "pass"],
    ["invalid-subscription-key", d["invalid-subscription-key"], 204, "security"],
    ["no-token", d["no-token"], 401, "pass"],
    ["no-token", d["no-token"], 200, "security"],
    ["no-token", [401, 403], 403, "pass"],
    ["wrong-audience", d["wrong-audience"], 200, "security"],
    ["wrong-audience", d["wrong-audience"], 500, "fail"],
    ["expired-token", d["expired-token"], 401, "pass"],
    ["forged-signature", d["forged-signature"], 202, "security"],
    ["alg-none", d["alg-none"], 401, "pass"],
    ["unassigned-client", d["unassigned-client"], 403, "pass"],
    ["unassigned-client", d["unassigned-client"], 401, "pass"],
    ["unassigned-client", d["unassigned-client"], 200, "security"],
    ["alg-none", d["alg-none"], 302, "fail"],
  ])("%s expecting %j got %i: %s", (probe, expected, status, outcome) => {
    expect(classifyStatus(probe, expected, status)).toBe(outcome);
  });
});

describe("formatStatuses", () => {
  it("shows the default success set as 2xx and others joined", () => {
    expect(formatStatuses(d.valid)).toBe("2xx");
    expect(formatStatuses([401, 403])).toBe("401/403");
  });
});
