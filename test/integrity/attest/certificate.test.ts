// Scan attestations signed with the certificate method (an X.509 leaf under a CA chain), verified
// against trust anchors the verifier supplies, with identity checks (leaf subject, subject
// alternative name, fingerprint). The test PKI is committed under samples/integrity/pki/, made by
// samples/generate/integrity.mjs with openssl: a root CA, an intermediate, leaves with
// code-signing usage and SANs email:signer@example.com and URI:https://example.com/signer, an
// expired leaf (2020-2021), a leaf without signing usage, and an unrelated root.
// Sigstore keyless (Fulcio certificate + Rekor entry) needs the public-good services and is not
// exercised here: signing it needs the network, and a mock of Fulcio/Rekor would test the mock.
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/run.js";
import { attest } from "../../../src/integrity/attest/sign.js";
import { type VerifyAttestationOptions, verifyAttestation } from "../../../src/integrity/attest/verify.js";
import { scan } from "../../../src/scan/engine.js";
import { fakeIO } from "../../helpers/cli.js";

const PKI = fileURLToPath(new URL("../../../samples/integrity/pki/", import.meta.url));
const pki = (p: string) => readFileSync(join(PKI, p), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "mg-attest-cert-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LEAF_SUBJECT = "CN=model signer, O=modelgate tests";
const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase();

let n = 0;
async function signedModel(leaf = "leaf", chain = ["intermediate-ca"]) {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert", hidden_size: 8 }));
  writeFileSync(join(dir, "README.md"), "# a model\n");
  const report = await scan(dir);
  expect(report.verdict).toBe("clean");
  const { bundle, method } = attest(report, {
    privateKey: pki(`${leaf}.key.pem`),
    signingCertificate: pki(`${leaf}.pem`),
    certificateChain: chain.map((c) => pki(`${c}.pem`)),
  });
  expect(method).toBe("certificate");
  return { dir, bundle };
}
const verify = (bundle: Record<string, unknown>, dir: string, options: VerifyAttestationOptions) =>
  verifyAttestation(bundle, dir, options);
const ROOT = { certificateChain: [pki("root-ca.pem")] };

describe("certificate-signed attestations", () => {
  it("verify under the root CA, with the leaf's subject, SANs and fingerprint required", async () => {
    const { dir, bundle } = await signedModel();
    const ok = await verify(bundle, dir, {
      ...ROOT,
      requirePassed: true,
      certificatePolicy: {
        subject: LEAF_SUBJECT,
        subjectAlternativeName: "https://example.com/signer",
        fingerprint: fingerprintOf(pki("leaf.pem")),
      },
    });
    expect(ok.errors).toEqual([]);
    expect(ok.status).toBe("verified");
    expect(ok.method).toBe("certificate");
    expect(ok.signer?.certificateSubject).toBe(LEAF_SUBJECT);
    expect(ok.signer?.certificateIssuer).toBe("CN=modelgate test intermediate CA, O=modelgate tests");
    expect(ok.signer?.subjectAlternativeNames).toEqual(
      expect.arrayContaining(["signer@example.com", "https://example.com/signer"]),
    );
    expect(ok.signer?.certificateFingerprint).toBe(fingerprintOf(pki("leaf.pem")));
    expect(ok.files.map((f) => f.status)).toEqual(["ok", "ok"]);
    // The email SAN identifies the signer as well; trusting the intermediate directly works too.
    const email = await verify(bundle, dir, {
      ...ROOT,
      certificatePolicy: { subjectAlternativeName: "signer@example.com" },
    });
    expect(email.status).toBe("verified");
    const viaIntermediate = await verify(bundle, dir, { certificateChain: [pki("intermediate-ca.pem")] });
    expect(viaIntermediate.status).toBe("verified");
  });

  it("fail at the signature stage under another CA, or when the bundle lacks the intermediate", async () => {
    const { dir, bundle } = await signedModel();
    const wrong = await verify(bundle, dir, { certificateChain: [pki("other-root-ca.pem")] });
    expect(wrong.status).toBe("failed");
    expect(wrong.failedStage).toBe("signature");
    expect(wrong.errors.join("\n")).toMatch(/no certificate path from CN=model signer/);
    expect(wrong.files).toEqual([]);

    const bare = await signedModel("leaf", []);
    const noPath = await verify(bare.bundle, bare.dir, ROOT);
    expect(noPath.failedStage).toBe("signature");
    expect(noPath.errors.join("\n")).toMatch(/no certificate path/);
    // Supplying the intermediate as a trust anchor is the verifier's choice, and then it verifies.
    expect((await verify(bare.bundle, bare.dir, { certificateChain: [pki("intermediate-ca.pem")] })).status).toBe(
      "verified",
    );
  });

  it("fail at the signature stage with an expired leaf", async () => {
    const { dir, bundle } = await signedModel("leaf-expired");
    const expired = await verify(bundle, dir, ROOT);
    expect(expired.status).toBe("failed");
    expect(expired.failedStage).toBe("signature");
    expect(expired.errors.join("\n")).toMatch(/certificate CN=expired signer, O=modelgate tests is not valid at/);
    // The check is the verification time against each certificate's validity: the good leaf,
    // verified as of a date after it expires (2046), fails the same way.
    const good = await signedModel();
    expect((await verify(good.bundle, good.dir, ROOT)).status).toBe("verified");
    const later = await verify(good.bundle, good.dir, { ...ROOT, time: new Date("2047-01-01T00:00:00Z") });
    expect(later.failedStage).toBe("signature");
    expect(later.errors.join("\n")).toMatch(/certificate CN=model signer, O=modelgate tests is not valid at 2047/);
  });

  it("fail at the policy stage when the leaf is not the required identity", async () => {
    const { dir, bundle } = await signedModel();
    const cases: [VerifyAttestationOptions["certificatePolicy"], RegExp][] = [
      [{ subject: "CN=another signer, O=modelgate tests" }, /leaf subject is "CN=model signer, O=modelgate tests"/],
      [
        { subjectAlternativeName: "https://example.com/mirror" },
        /no subject alternative name "https:\/\/example.com\/mirror"/,
      ],
      [{ subjectAlternativeName: "example.com/signer" }, /no subject alternative name/],
      [{ fingerprint: fingerprintOf(pki("leaf-p384.pem")) }, /leaf certificate fingerprint is/],
    ];
    for (const [certificatePolicy, message] of cases) {
      const r = await verify(bundle, dir, {
        ...ROOT,
        ...(certificatePolicy === undefined ? {} : { certificatePolicy }),
      });
      expect(r.status, JSON.stringify(certificatePolicy)).toBe("failed");
      expect(r.failedStage).toBe("policy");
      expect(r.errors.join("\n")).toMatch(message);
    }
    // Another leaf of the same CA, with the same SANs, is not the pinned fingerprint either.
    const other = await signedModel("leaf-p384");
    const pinned = await verify(other.bundle, other.dir, {
      ...ROOT,
      certificatePolicy: { subjectAlternativeName: "signer@example.com", fingerprint: fingerprintOf(pki("leaf.pem")) },
    });
    expect(pinned.failedStage).toBe("policy");
  });

  it("fail when the leaf may not sign, or the bundle's certificate is swapped for another leaf of the CA", async () => {
    const noUsage = await signedModel("leaf-no-usage");
    const r = await verify(noUsage.bundle, noUsage.dir, ROOT);
    expect(r.failedStage).toBe("signature");
    expect(r.errors.join("\n")).toMatch(/neither digitalSignature key usage nor codeSigning/);

    // Signed by leaf's key, presented with leaf-p384's certificate: the chain is valid, the
    // signature is not by that certificate's key.
    const { dir, bundle } = await signedModel();
    const swapped = structuredClone(bundle) as {
      verificationMaterial: { x509CertificateChain: { certificates: { rawBytes: string }[] } };
    };
    swapped.verificationMaterial.x509CertificateChain.certificates[0]!.rawBytes = Buffer.from(
      new X509Certificate(pki("leaf-p384.pem")).raw,
    ).toString("base64");
    const s = await verify(swapped as unknown as Record<string, unknown>, dir, ROOT);
    expect(s.status).toBe("failed");
    expect(s.failedStage).toBe("signature");
  });

  it("fail without a trust anchor, and never trust a public key for a certificate bundle", async () => {
    const { dir, bundle } = await signedModel();
    const none = await verify(bundle, dir, {});
    expect(none.failedStage).toBe("policy");
    expect(none.errors.join("\n")).toMatch(/no trust anchor/);
    const leafKey = new X509Certificate(pki("leaf.pem")).publicKey.export({ type: "spki", format: "pem" });
    const byKey = await verify(bundle, dir, { publicKey: String(leafKey) });
    expect(byKey.status).toBe("failed");
  });
});

describe("modelgate verify-attestation with a certificate chain", () => {
  const run = async (args: string[]) => {
    const io = fakeIO({ cwd: tmp });
    const code = await runCli(args, io);
    return { code, out: io.out, err: io.err };
  };

  it("checks the identity flags: exit 0 for the right signer, 1 for another, 2 without a chain", async () => {
    const { dir, bundle } = await signedModel();
    const att = join(tmp, "cert.att.json");
    writeFileSync(att, JSON.stringify(bundle));
    const root = join(PKI, "root-ca.pem");
    const ok = await run([
      "verify-attestation",
      att,
      dir,
      "--certificate-chain",
      root,
      "--certificate-subject",
      LEAF_SUBJECT,
      "--certificate-san",
      "https://example.com/signer",
      "--certificate-fingerprint",
      fingerprintOf(pki("leaf.pem")),
    ]);
    expect(ok.err).toBe("");
    expect(ok.out).toMatch(/^Attestation: VERIFIED \(certificate\)$/m);
    expect(ok.code).toBe(0);
    const other = await run([
      "verify-attestation",
      att,
      dir,
      "--certificate-chain",
      root,
      "--certificate-san",
      "ops@example.com",
    ]);
    expect(other.code).toBe(1);
    expect(other.out).toMatch(/no subject alternative name "ops@example.com"/);
    const wrongCa = await run(["verify-attestation", att, dir, "--certificate-chain", join(PKI, "other-root-ca.pem")]);
    expect(wrongCa.code).toBe(1);
    const usage = await run([
      "verify-attestation",
      att,
      dir,
      "--public-key",
      root,
      "--certificate-san",
      "x@example.com",
    ]);
    expect(usage.code).toBe(2);
  });
});
