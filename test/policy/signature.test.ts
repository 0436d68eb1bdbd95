import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { publicKeyFingerprint, resolvePolicy, type SignatureRequirement } from "../../src/policy/policy.js";
import { applySignaturePolicy, signatureViolation } from "../../src/policy/signature.js";
import type { ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";

const pemOf = () =>
  generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();

const sigstore: SignatureRequirement = {
  method: "sigstore",
  identity: "release@acme.example",
  issuer: "https://token.actions.githubusercontent.com",
};
const verified = {
  status: "verified",
  method: "sigstore",
  identity: "release@acme.example",
  issuer: "https://token.actions.githubusercontent.com",
  path: "model.sig",
};

describe("signatureViolation", () => {
  it("accepts a verified signature that matches the requirement", () => {
    expect(signatureViolation(verified, sigstore)).toBeUndefined();
    expect(signatureViolation({ ...verified, extra: { anything: 1 } }, { required: true })).toBeUndefined();
  });

  it("nothing is required without a requirement or with required: false", () => {
    expect(signatureViolation(undefined, undefined)).toBeUndefined();
    expect(signatureViolation(undefined, { ...sigstore, required: false })).toBeUndefined();
  });

  it("fails closed on a missing or unrecognised result", () => {
    expect(signatureViolation(undefined, sigstore)?.message).toMatch(/no signature verification result/);
    expect(signatureViolation({ status: "maybe" }, sigstore)?.message).toMatch(/not recognised/);
    expect(signatureViolation("verified", sigstore)?.message).toMatch(/not recognised/);
  });

  it("unsigned is a violation at the rule's severity; failed verification is high", () => {
    expect(signatureViolation({ status: "unsigned" }, {})).toMatchObject({
      message: "the policy requires a signature and the model is unsigned",
    });
    expect(signatureViolation({ status: "unsigned" }, {})?.severity).toBeUndefined();
    expect(signatureViolation({ status: "failed", message: "digest mismatch for w.bin" }, {})).toMatchObject({
      severity: "high",
      message: "signature verification failed: digest mismatch for w.bin",
    });
  });

  it("a verified signature by the wrong signer, issuer or method does not satisfy the policy", () => {
    expect(signatureViolation({ ...verified, identity: "mallory@evil.example" }, sigstore)?.message).toBe(
      "signature verified but not accepted by the policy: signer is mallory@evil.example, policy requires release@acme.example",
    );
    expect(signatureViolation({ ...verified, issuer: "https://accounts.google.com" }, sigstore)?.message).toMatch(
      /issuer is https:\/\/accounts\.google\.com/,
    );
    expect(signatureViolation({ ...verified, method: "certificate" }, sigstore)?.message).toMatch(
      /method is certificate, policy requires sigstore/,
    );
  });

  it("key requirements compare SPKI fingerprints", () => {
    const pem = pemOf();
    const requirement: SignatureRequirement = { method: "key", key: pem };
    const fingerprint = publicKeyFingerprint(pem);
    expect(
      signatureViolation({ status: "verified", method: "key", keyFingerprint: fingerprint }, requirement),
    ).toBeUndefined();
    expect(
      signatureViolation({ status: "verified", method: "key", keyFingerprint: fingerprint.toUpperCase() }, requirement),
    ).toBeUndefined();
    const other = publicKeyFingerprint(pemOf());
    const violation = signatureViolation({ status: "verified", method: "key", keyFingerprint: other }, requirement);
    expect(violation?.evidence).toMatchObject({ keyFingerprint: other, expectedKeyFingerprint: fingerprint });
  });
});

describe("applySignaturePolicy", () => {
  const withSignature = async (signature: unknown): Promise<ScanReport> => {
    const report = await scan({ bytes: new TextEncoder().encode('{"a":1}'), name: "config.json" });
    return { ...report, signature } as ScanReport;
  };

  it("leaves a report alone when the requirement is met", async () => {
    const report = await withSignature(verified);
    expect(applySignaturePolicy(report, resolvePolicy({ signature: sigstore }))).toBe(report);
  });

  it("adds a finding to every file and updates verdicts and the summary when it is not", async () => {
    const report = await withSignature({ status: "unsigned" });
    const out = applySignaturePolicy(report, resolvePolicy({ signature: sigstore }));
    expect(out.files[0]!.findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ["policy/signature-required", "medium"],
    ]);
    expect(out.files[0]!.verdict).toBe("suspicious");
    expect(out.verdict).toBe("suspicious");
    expect(out.summary.bySeverity.medium).toBe(1);
    expect(report.files[0]!.findings).toEqual([]); // not modified in place

    const failed = applySignaturePolicy(await withSignature({ status: "failed" }), resolvePolicy({ signature: {} }));
    expect(failed.verdict).toBe("malicious");
  });

  it("respects suppressions and severity overrides of policy/signature-required", async () => {
    const report = await withSignature({ status: "unsigned" });
    const suppressed = applySignaturePolicy(
      report,
      resolvePolicy({
        signature: {},
        suppressions: [{ rule: "policy/signature-required", path: "*.json", reason: "configs are not signed" }],
      }),
    );
    expect(suppressed.verdict).toBe("clean");
    expect(suppressed.files[0]!.suppressed?.[0]?.suppression.reason).toBe("configs are not signed");
    const raised = applySignaturePolicy(
      report,
      resolvePolicy({ signature: {}, severity: { "policy/signature-required": "critical" } }),
    );
    expect(raised.files[0]!.findings[0]!.severity).toBe("critical");
  });

  it("the engine applies a required signature: with no verifier result, a scan fails closed", async () => {
    const report = await scan(
      { bytes: new TextEncoder().encode('{"a":1}'), name: "config.json" },
      { policy: { signature: {} } },
    );
    expect(report.files[0]!.findings.map((f) => f.ruleId)).toEqual(["policy/signature-required"]);
    expect(report.files[0]!.findings[0]!.evidence).toEqual({ status: "unknown" });
  });
});
