// Certificate-method verification against hostile chains and identity pins (fixtures made by
// fixtures/cert-paths/make.sh): path building stays linear (a 15-certificate "loop" of self-issued
// CAs sharing a key used to take hours, synchronously), the number of signature checks is capped
// with a typed failure, and a subject-alternative-name pin matches only SANs of its type.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sanPinTarget } from "../../src/integrity/oms/certificate.js";
import { signModel } from "../../src/integrity/oms/sign.js";
import { verifyModel } from "../../src/integrity/oms/verify.js";

const F = fileURLToPath(new URL("./fixtures/cert-paths/", import.meta.url));
const pem = (p: string) => readFileSync(join(F, p), "utf8");
const der = (p: string) =>
  Buffer.from(
    pem(p)
      .replace(/-----[A-Z ]+-----/g, "")
      .replace(/\s+/g, ""),
    "base64",
  ).toString("base64");
const tmp = mkdtempSync(join(tmpdir(), "mg-certpaths-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function modelDir(): string {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert" }));
  return dir;
}

/** A certificate-method bundle over `{}` with a bogus signature: only path building matters. */
function chainBundle(certs: readonly string[]): string {
  return JSON.stringify({
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: {
      x509CertificateChain: { certificates: certs.map((c) => ({ rawBytes: der(c) })) },
      tlogEntries: [],
    },
    dsseEnvelope: {
      payload: Buffer.from("{}").toString("base64"),
      payloadType: "application/vnd.in-toto+json",
      signatures: [{ sig: "MEUCIQ==", keyid: "" }],
    },
  });
}
const range = (k: number) => Array.from({ length: k }, (_, i) => i + 1);

describe("certificate path building", () => {
  it("rejects a loop of 15 self-issued CAs sharing a key and a name in well under a second", async () => {
    const dir = modelDir();
    const signature = chainBundle(["loop-leaf.pem", ...range(15).map((i) => `loop-${i}.pem`)]);
    const started = performance.now();
    const r = await verifyModel(dir, {
      signature,
      signaturePath: join(tmp, "none.sig"),
      certificateChain: [pem("san-root.pem")],
    });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.status).toBe("failed");
    expect(r.failedStage).toBe("signature");
    expect(r.errors[0]).toMatch(/no certificate path/);
  });

  it("finds the path through the loop when its CA is the anchor", async () => {
    const dir = modelDir();
    const signature = chainBundle(["loop-leaf.pem", ...range(15).map((i) => `loop-${i}.pem`)]);
    const r = await verifyModel(dir, {
      signature,
      signaturePath: join(tmp, "none.sig"),
      certificateChain: [pem("loop-7.pem")],
    });
    // the path is found (then the bogus DSSE signature fails), quickly
    expect(r.failedStage).toBe("signature");
    expect(r.errors[0]).toMatch(/does not verify/);
  });

  it("caps the signature checks of a long chain of same-named CAs with a typed failure", async () => {
    const dir = modelDir();
    const signature = chainBundle(["chain-leaf.pem", ...range(15).map((i) => `chain-${i}.pem`)]);
    const started = performance.now();
    const r = await verifyModel(dir, {
      signature,
      signaturePath: join(tmp, "none.sig"),
      certificateChain: [pem("san-root.pem")],
    });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r.status).toBe("failed");
    expect(r.failedStage).toBe("signature");
    expect(r.errors[0]).toMatch(/more than 64 signature checks/);
  });
});

describe("subject alternative name pins", () => {
  const signed = async (leaf: string) => {
    const dir = modelDir();
    await signModel(dir, { privateKey: pem(`${leaf}.key.pem`), signingCertificate: pem(`${leaf}.pem`) });
    return dir;
  };
  const check = (dir: string, san: string) =>
    verifyModel(dir, { certificateChain: [pem("san-root.pem")], certificatePolicy: { subjectAlternativeName: san } });

  it("reads pins by type", () => {
    expect(sanPinTarget("alice@corp.com")).toEqual({ type: "email", value: "alice@corp.com" });
    expect(sanPinTarget("https://corp.example/alice")).toEqual({ type: "URI", value: "https://corp.example/alice" });
    expect(sanPinTarget("mailto:alice@corp.com")).toEqual({ type: "URI", value: "mailto:alice@corp.com" });
    expect(sanPinTarget("EMAIL:alice@corp.com")).toEqual({ type: "email", value: "alice@corp.com" });
    expect(sanPinTarget("uri:https://x.example")).toEqual({ type: "URI", value: "https://x.example" });
    expect(sanPinTarget("dns:signer.corp.example")).toEqual({ type: "DNS", value: "signer.corp.example" });
    expect(sanPinTarget("ip:10.0.0.1")).toEqual({ type: "IP Address", value: "10.0.0.1" });
    expect(sanPinTarget("signer.corp.example")).toHaveProperty("error");
  });

  it("an email pin matches an email SAN, never a DNS SAN with the same text", async () => {
    expect((await check(await signed("san-email"), "alice@corp.com")).status).toBe("verified");
    const dns = await check(await signed("san-dns-email"), "alice@corp.com");
    expect(dns.status).toBe("failed");
    expect(dns.failedStage).toBe("policy");
    // explicitly typed, the DNS SAN matches (the pin says so)
    expect((await check(await signed("san-dns-email"), "dns:alice@corp.com")).status).toBe("verified");
    expect((await check(await signed("san-email"), "dns:alice@corp.com")).failedStage).toBe("policy");
  });

  it("a URI pin matches a URI SAN only; DNS names and IPs need their prefix", async () => {
    const uri = await signed("san-uri");
    expect((await check(uri, "https://corp.example/alice")).status).toBe("verified");
    expect((await check(uri, "email:https://corp.example/alice")).failedStage).toBe("policy");
    const dns = await signed("san-dns");
    const bare = await check(dns, "signer.corp.example");
    expect(bare.failedStage).toBe("policy");
    expect(bare.errors[0]).toMatch(/dns:NAME/);
    expect((await check(dns, "dns:signer.corp.example")).status).toBe("verified");
    const ip = await signed("san-ip");
    expect((await check(ip, "10.0.0.1")).failedStage).toBe("policy");
    expect((await check(ip, "ip:10.0.0.1")).status).toBe("verified");
  });
});
