import { describe, expect, it } from "vitest";
import { isProbeName, PROBE_NAMES, EXPIRY_PROBES, REJECTING_PROBES } from "../../src/probe-matrix/names.js";

describe("probe names", () => {
  it("recognises every published name and nothing else", () => {
    for (const name of PROBE_NAMES) expect(isProbeName(name)).toBe(true);
    expect(isProbeName("Valid")).toBe(false);
    expect(isProbeName("")).toBe(false);
  });

  it("treats every probe except token, valid and the two forecasts as one that must be refused", () => {
    expect(new Set(REJECTING_PROBES)).toEqual(
      new Set(
        PROBE_NAMES.filter(
          (n) => n !== "token" && n !== "valid" && n !== "tls-certificate" && n !== "credential-expiry",
        ),
      ),
    );
    expect(EXPIRY_PROBES).toEqual(["tls-certificate", "credential-expiry"]);
  });
});
