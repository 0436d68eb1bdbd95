// The scan's OMS signature result in every output format, from real signed fixtures
// (samples/integrity, made by samples/generate/integrity.mjs with openssl): the text report's
// `Signature:` line, SARIF's run properties and artifact hashes, and CycloneDX's model properties
// and file hashes say the same thing.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCycloneDx } from "../../src/report/render/cyclonedx.js";
import { renderSarif } from "../../src/report/render/sarif.js";
import { renderText } from "../../src/report/render/text.js";
import type { ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import { cycloneDxValidator } from "../helpers/cyclonedx.js";
import { SAMPLES } from "../helpers/scan.js";

const I = join(SAMPLES, "integrity");
const key = (name: string) => readFileSync(join(I, "keys", `${name}.pub.pem`), "utf8");
/** SHA-256 of the DER SubjectPublicKeyInfo: the fingerprint the verifier reports. */
const fingerprint = (name: string) => {
  const der = Buffer.from(
    key(name)
      .replace(/-----[^-]+-----/g, "")
      .replace(/\s/g, ""),
    "base64",
  );
  return createHash("sha256").update(der).digest("hex");
};
const validate = cycloneDxValidator();

const signatureLine = (r: ScanReport) =>
  renderText(r)
    .split("\n")
    .find((l) => l.startsWith("Signature: "));
const sarifSignature = (r: ScanReport) => renderSarif(r).runs[0]?.properties?.signature as Record<string, unknown>;
function cdxProps(r: ScanReport): Record<string, string> {
  const bom = renderCycloneDx(r);
  const result = validate(bom);
  expect(result.errors).toBe("");
  return Object.fromEntries((bom.components[0]?.properties ?? []).map((p) => [p.name, p.value]));
}

describe("signature result in the text, SARIF and CycloneDX outputs", () => {
  it("verified with a key: status, method, signature file and the key's fingerprint everywhere", async () => {
    const r = await scan(join(I, "signed-model"), { signature: { publicKey: key("p256") } });
    const fp = fingerprint("p256");
    expect(r.signature?.signer?.keyFingerprint).toBe(fp);
    expect(signatureLine(r)).toBe(`Signature: VERIFIED (key, model.sig) key sha256:${fp}; 4 files match`);
    expect(sarifSignature(r)).toMatchObject({
      status: "verified",
      method: "key",
      signaturePath: "model.sig",
      signer: { keyFingerprint: fp },
      filesCompared: 4,
    });
    expect(sarifSignature(r)).not.toHaveProperty("failedStage");
    const props = cdxProps(r);
    expect(props).toMatchObject({
      "modelgate:signature:status": "verified",
      "modelgate:signature:method": "key",
      "modelgate:signature:key-fingerprint": fp,
      "modelgate:signature:path": "model.sig",
    });
    expect(props).not.toHaveProperty("modelgate:signature:failed-stage");
  });

  it("a tampered file: FAILED at the manifest stage, the same stage in SARIF and CycloneDX", async () => {
    const r = await scan(join(I, "tampered-model"), { signature: { publicKey: key("p256") } });
    const line = signatureLine(r);
    expect(line).toMatch(/^Signature: FAILED \(key, model\.sig\) manifest stage: .*mismatched: weights\.bin/);
    expect(line).toContain(`key sha256:${fingerprint("p256")}`);
    expect(sarifSignature(r)).toMatchObject({ status: "failed", failedStage: "manifest", method: "key" });
    expect(cdxProps(r)).toMatchObject({
      "modelgate:signature:status": "failed",
      "modelgate:signature:failed-stage": "manifest",
    });
  });

  it("the wrong key: FAILED at the signature stage", async () => {
    const r = await scan(join(I, "signed-model"), { signature: { publicKey: key("other-p256") } });
    expect(signatureLine(r)).toMatch(/^Signature: FAILED \(key, model\.sig\) signature stage: /);
    expect(sarifSignature(r)).toMatchObject({ status: "failed", failedStage: "signature" });
    expect(cdxProps(r)["modelgate:signature:failed-stage"]).toBe("signature");
  });

  it("no trust material, and no signature at all", async () => {
    const unverified = await scan(join(I, "signed-model"));
    expect(signatureLine(unverified)).toBe(
      "Signature: UNVERIFIED (key, model.sig) files match; signer not checked (no trust material given)",
    );
    expect(sarifSignature(unverified)).toMatchObject({ status: "unverified", method: "key" });
    const unsigned = await scan(join(I, "model"));
    expect(signatureLine(unsigned)).toBe("Signature: UNSIGNED (no OpenSSF Model Signing signature found)");
    expect(sarifSignature(unsigned)).toEqual({ status: "unsigned", filesCompared: 0 });
    expect(cdxProps(unsigned)["modelgate:signature:status"]).toBe("unsigned");
    // A single file is not looked at for signatures: no line, no property.
    const single = await scan(join(I, "model", "config.json"));
    expect(single.signature).toBeUndefined();
    expect(signatureLine(single)).toBeUndefined();
    expect(renderSarif(single).runs[0]?.properties).toBeUndefined();
  });

  it("BLAKE2b digests verified by the signature reach SARIF artifacts and CycloneDX components", async () => {
    const dir = join(I, "blake2b-model");
    const r = await scan(dir, { signature: { publicKey: key("p384") } });
    expect(signatureLine(r)).toBe(
      `Signature: VERIFIED (key, model.sig) key sha256:${fingerprint("p384")}; 4 files match`,
    );
    const weights = readFileSync(join(dir, "weights.bin"));
    const blake2b = createHash("blake2b512").update(weights).digest("hex");
    const sha256 = createHash("sha256").update(weights).digest("hex");
    const artifact = renderSarif(r).runs[0]?.artifacts?.find((a) => a.location?.uri?.endsWith("/weights.bin"));
    expect(artifact?.hashes).toEqual({ "sha-256": sha256, "blake2b-512": blake2b });
    const bom = renderCycloneDx(r);
    expect(validate(bom).valid).toBe(true);
    const component = bom.components[0]?.components?.find((c) => c.name === "weights.bin");
    expect(component?.hashes).toEqual([
      { alg: "SHA-256", content: sha256 },
      { alg: "BLAKE2b-512", content: blake2b },
    ]);
  });
});
