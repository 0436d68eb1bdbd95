// scan() with a caller-named signature outside the scanned directory: every failed verification
// (wrong key, forged DSSE signature, a signed file deleted or changed, a named signature that does
// not exist) must give a finding on the model's files, never a clean verdict; a good one stays clean.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { signModel } from "../../src/integrity/oms/sign.js";
import type { ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const text = (p: string) => readFileSync(join(S, p), "utf8");
const tmp = mkdtempSync(join(tmpdir(), "mg-outsig-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const rules = (r: ScanReport) => r.files.flatMap((f) => f.findings.map((x) => `${f.path} ${x.ruleId}`)).sort();
const KEY = { publicKey: text("keys/p256.pub.pem") };

let n = 0;
/** A clean two-file model, signed with the P-256 key into a signature beside (outside) the directory. */
async function model(): Promise<{ dir: string; sig: string }> {
  const base = join(tmp, `m${n++}`);
  const dir = join(base, "model");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert", hidden_size: 8 }));
  writeFileSync(join(dir, "README.md"), "# a model\n");
  const sig = join(base, "model.sig");
  await signModel(dir, { privateKey: text("keys/p256.key.pem"), output: sig });
  return { dir, sig };
}

describe("a signature outside the scanned directory", () => {
  it("verifies with the right key and stays clean", async () => {
    const { dir, sig } = await model();
    const r = await scan(dir, { signature: { ...KEY, signaturePath: sig } });
    expect(r.signature?.status).toBe("verified");
    expect(r.verdict).toBe("clean");
  });

  it("reports a wrong key on the model's first file", async () => {
    const { dir, sig } = await model();
    const r = await scan(dir, { signature: { publicKey: text("keys/other-p256.pub.pem"), signaturePath: sig } });
    expect(r.signature).toMatchObject({ status: "failed", failedStage: "signature" });
    expect(rules(r)).toEqual(["README.md integrity/signature-invalid"]);
    expect(r.verdict).toBe("malicious");
  });

  it("reports a forged DSSE signature", async () => {
    const { dir, sig } = await model();
    const bundle = JSON.parse(readFileSync(sig, "utf8"));
    bundle.dsseEnvelope.signatures[0].sig = Buffer.from("not a signature").toString("base64");
    writeFileSync(sig, JSON.stringify(bundle));
    const r = await scan(dir, { signature: { ...KEY, signaturePath: sig } });
    expect(r.signature?.status).toBe("failed");
    expect(rules(r)).toContain("README.md integrity/signature-invalid");
    expect(r.verdict).not.toBe("clean");
  });

  it("reports a signed file that was deleted, and one that changed", async () => {
    const { dir, sig } = await model();
    rmSync(join(dir, "config.json"));
    const gone = await scan(dir, { signature: { ...KEY, signaturePath: sig } });
    expect(gone.signature).toMatchObject({ status: "failed", failedStage: "manifest" });
    expect(rules(gone)).toEqual(["README.md integrity/signed-file-missing"]);
    expect(gone.verdict).toBe("malicious");
    writeFileSync(join(dir, "config.json"), "{}");
    writeFileSync(join(dir, "README.md"), "# changed\n");
    const changed = await scan(dir, { signature: { ...KEY, signaturePath: sig } });
    expect(rules(changed)).toEqual([
      "README.md integrity/signed-file-mismatch",
      "config.json integrity/signed-file-mismatch",
    ]);
  });

  it("reports a named signature that does not exist", async () => {
    const { dir } = await model();
    const r = await scan(dir, { signature: { ...KEY, signaturePath: join(tmp, "none.sig") } });
    expect(r.signature?.status).toBe("unsigned");
    expect(rules(r)).toEqual(["README.md integrity/signature-missing"]);
    expect(r.verdict).not.toBe("clean");
  });

  it("fails the scan (never clean) when the tree has no file to report a failure on", async () => {
    const { sig } = await model();
    const empty = join(tmp, "empty");
    mkdirSync(empty);
    const r = await scan(empty, { signature: { publicKey: text("keys/other-p256.pub.pem"), signaturePath: sig } });
    expect(r.verdict).not.toBe("clean");
    expect(r.complete).toBe(false);
  });
});

describe("a scan that cannot verify signatures", () => {
  it("fails closed for a single file with a required or a named signature", async () => {
    const { dir, sig } = await model();
    const file = join(dir, "config.json");
    const required = await scan(file, { signature: { ...KEY, require: true } });
    expect(rules(required)).toEqual(["config.json integrity/signature-missing"]);
    expect(required.verdict).not.toBe("clean");
    const named = await scan(file, { signature: { publicKey: text("keys/other-p256.pub.pem"), signaturePath: sig } });
    expect(rules(named)).toEqual(["config.json integrity/signature-missing"]);
    // without a requirement or a named signature, a single file is scanned as before
    expect((await scan(file, { signature: KEY })).verdict).toBe("clean");
  });
});
