import { execFile } from "node:child_process";
import { createServer, type Server } from "node:https";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { x509 } from "../../../src/sandbox/tls/x509.js";
import { createSandboxCa, writeCaFile, type SandboxCa } from "../../../src/sandbox/tls/ca.js";

const run = promisify(execFile);

describe("sandbox CA", () => {
  let ca: SandboxCa;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    ca = await createSandboxCa();
    const tls = await ca.issueServerCertificate();
    server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function get(host: string, trust: string | undefined): Promise<number> {
    const dispatcher = new Agent({ connect: trust === undefined ? {} : { ca: trust } });
    try {
      const res = await request(`https://${host}:${port}/`, { dispatcher });
      await res.body.dump();
      return res.statusCode;
    } finally {
      await dispatcher.close();
    }
  }

  it("issues a certificate that a client trusting the CA accepts for 127.0.0.1 and localhost", async () => {
    expect(await get("127.0.0.1", ca.certPem)).toBe(200);
    expect(await get("localhost", ca.certPem)).toBe(200);
  });

  it("is not trusted by a client that was not told about it", async () => {
    await expect(get("127.0.0.1", undefined)).rejects.toMatchObject({
      code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)/) as unknown,
    });
  });

  it("is not trusted by a client trusting another sandbox CA", async () => {
    const other = await createSandboxCa();
    expect(other.certPem).not.toBe(ca.certPem);
    await expect(get("127.0.0.1", other.certPem)).rejects.toThrow();
  });

  it("puts an IP SAN for IP literals and a DNS SAN for names", async () => {
    const issued = await ca.issueServerCertificate(["127.0.0.1", "localhost", "sandbox.test"]);
    const cert = new x509.X509Certificate(issued.certPem);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([
      { type: "ip", value: "127.0.0.1" },
      { type: "dns", value: "localhost" },
      { type: "dns", value: "sandbox.test" },
    ]);
    const caCert = new x509.X509Certificate(ca.certPem);
    expect(await cert.verify({ publicKey: caCert.publicKey })).toBe(true);
    expect(cert.issuer).toBe(caCert.subject);
  });

  it("writes a CA file that a child process trusts through NODE_EXTRA_CA_CERTS", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sandbox-ca-"));
    try {
      const path = await writeCaFile(ca, dir);
      expect(await readFile(path, "utf8")).toBe(ca.certPem);
      const script = `require("node:https").get("https://127.0.0.1:${port}/", (r) => { console.log(r.statusCode); r.resume(); }).on("error", (e) => { console.log(e.code); });`;
      const withCa = await run(process.execPath, ["-e", script], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: path },
      });
      expect(withCa.stdout.trim()).toBe("200");
      const withoutCa = await run(process.execPath, ["-e", script], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: "" },
      });
      expect(withoutCa.stdout.trim()).not.toBe("200");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
