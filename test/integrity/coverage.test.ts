// Issue 13 (trust boundaries): a signature requirement is met only by verified signatures that cover
// the whole scanned directory; a signed sub-model never makes its parent "signed".
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/run.js";
import { signModel } from "../../src/integrity/oms/sign.js";
import { verifyModel } from "../../src/integrity/oms/verify.js";
import type { ScanReport } from "../../src/report/schema.js";
import { scan } from "../../src/scan/engine.js";
import { type RecordingIO, fakeIO as recordingIO } from "../helpers/cli.js";
import { reportValidator } from "../helpers/schema.js";

const S = fileURLToPath(new URL("../../samples/integrity/", import.meta.url));
const at = (p: string) => join(S, p);
const text = (p: string) => readFileSync(at(p), "utf8");
const publicKey = text("keys/p256.pub.pem");
const tmp = mkdtempSync(join(tmpdir(), "mg-cover-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const validate = reportValidator();
const rules = (r: ScanReport) => r.files.flatMap((f) => f.findings.map((x) => `${f.path} ${x.ruleId}`)).sort();
/** Integrity and policy findings other than the informational signature-verified. */
const trustRules = (r: ScanReport) =>
  rules(r).filter((x) => /(integrity|policy)\//.test(x) && !x.endsWith("integrity/signature-verified"));
/** Findings above `info` (what makes a verdict other than clean). */
const nonInfo = (r: ScanReport) =>
  r.files.flatMap((f) => f.findings.filter((x) => x.severity !== "info").map((x) => `${f.path} ${x.ruleId}`)).sort();
const findingsOf = (r: ScanReport, path: string) =>
  r.files.find((f) => f.path === path)?.findings.map((f) => f.ruleId) ?? [];

function io(): RecordingIO {
  return recordingIO();
}

/** An unsigned file at the root, and a sub-folder holding a model signed with the p256 key. */
function borrowed(rootFile = "notes.txt", content = "hello\n"): string {
  const dir = join(tmp, `b${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, rootFile), content);
  cpSync(at("signed-model"), join(dir, "vendor"), { recursive: true });
  return dir;
}

describe("a borrowed signature does not sign the parent directory", () => {
  it("scan --require-signature: the root's files are unsigned-file findings, the sub-model still verifies", async () => {
    const dir = borrowed();
    const r = await scan(dir, { signature: { publicKey, require: true } });
    expect(validate(r).valid).toBe(true);
    expect(findingsOf(r, "notes.txt")).toContain("integrity/unsigned-file");
    expect(r.files.find((f) => f.path === "notes.txt")?.verdict).toBe("malicious");
    // The sub-model's own files are covered by its signature.
    for (const f of ["vendor/config.json", "vendor/weights.bin"])
      expect(findingsOf(r, f)).not.toContain("integrity/unsigned-file");
    expect(findingsOf(r, "vendor/model.sig")).toContain("integrity/signature-verified");
    // The report says which root the signature covers, and that the directory is not covered.
    expect(r.signature?.model).toBe("vendor");
    expect(r.signature?.coverage).toMatchObject({ complete: false, uncovered: ["notes.txt"], uncoveredCount: 1 });
    expect(r.signature?.coverage?.signatures).toEqual([
      { signaturePath: "vendor/model.sig", model: "vendor", status: "verified", covered: 4 },
    ]);
    const evidence = r.files.find((f) => f.path === "vendor/model.sig")?.findings[0]?.evidence;
    expect(evidence).toMatchObject({ signature: "vendor/model.sig", model: "vendor" });
    expect(r.verdict).toBe("malicious");
  });

  it("the CLI fails, as verify does", async () => {
    const dir = borrowed("evil.txt", "not signed by anyone\n");
    const scanOut = io();
    expect(
      await runCli(
        ["scan", dir, "--require-signature", "--public-key", at("keys/p256.pub.pem"), "--fail-on", "high"],
        scanOut,
      ),
    ).toBe(1);
    expect(scanOut.out).toContain("integrity/unsigned-file");
    expect(scanOut.out).not.toMatch(/Signature: VERIFIED \(key, model\.sig\)/);
    expect(scanOut.out).toMatch(/for vendor\//);
    // The text report says the directory is not covered, below the sub-model's VERIFIED line.
    expect(scanOut.out).toMatch(/Signature: VERIFIED \(key, vendor\/model\.sig for vendor\/\)/);
    expect(scanOut.out).toMatch(
      /Signature coverage: INCOMPLETE: 1 of \d+ files covered by no verified signature, e\.g\. evil\.txt/,
    );
    const verifyOut = io();
    expect(await runCli(["verify", dir, "--public-key", at("keys/p256.pub.pem")], verifyOut)).toBe(1);
    expect(verifyOut.out).toMatch(/UNSIGNED/);
  });

  it("a policy signature requirement is not met by a sub-model's signature", async () => {
    const dir = borrowed();
    const r = await scan(dir, { policy: { signature: { method: "key", key: publicKey } } });
    expect(findingsOf(r, "notes.txt")).toEqual(
      expect.arrayContaining(["integrity/unsigned-file", "policy/signature-required"]),
    );
    const policyFinding = r.files
      .find((f) => f.path === "notes.txt")
      ?.findings.find((f) => f.ruleId === "policy/signature-required");
    expect(policyFinding?.message).toMatch(/not covered/);
    expect(r.verdict).toBe("malicious");
  });

  it("an unverified signature (no trust material) never satisfies the requirement", async () => {
    const r = await scan(at("signed-model"), { signature: { require: true } });
    expect(r.signature?.status).toBe("unverified");
    expect(r.signature?.coverage?.complete).toBe(false);
    expect(rules(r)).toContain("weights.bin integrity/unsigned-file");
  });
});

describe("what does satisfy the requirement", () => {
  it("a verified signature of the scanned directory that covers every file", async () => {
    const r = await scan(at("signed-model"), {
      signature: { publicKey, require: true },
      policy: { signature: { method: "key", key: publicKey } },
    });
    expect(r.signature).toMatchObject({
      status: "verified",
      model: ".",
      coverage: { complete: true, uncoveredCount: 0 },
    });
    expect(trustRules(r)).toEqual([]);
    // The signature is satisfied; what remains is the sample's headerless weights.bin, which no
    // format accounts for (a signature proves origin, not content).
    expect(r.verdict).toBe("suspicious");
    expect(nonInfo(r)).toEqual(["weights.bin format/unknown"]);
  });

  it("several verified sub-model signatures that together cover every file", async () => {
    const dir = join(tmp, `two${n++}`);
    mkdirSync(dir);
    cpSync(at("signed-model"), join(dir, "a"), { recursive: true });
    cpSync(at("signed-model"), join(dir, "b"), { recursive: true });
    const r = await scan(dir, {
      signature: { publicKey, require: true },
      policy: { signature: { method: "key", key: publicKey } },
    });
    expect(validate(r).valid).toBe(true);
    expect(r.signature?.coverage).toMatchObject({ complete: true, uncoveredCount: 0 });
    expect(r.signature?.coverage?.signatures.map((s) => [s.signaturePath, s.model, s.status])).toEqual([
      ["a/model.sig", "a", "verified"],
      ["b/model.sig", "b", "verified"],
    ]);
    expect(trustRules(r)).toEqual([]);
    expect(r.verdict).toBe("suspicious");
    expect(nonInfo(r)).toEqual(["a/weights.bin format/unknown", "b/weights.bin format/unknown"]);
    // One file added at the top breaks it.
    writeFileSync(join(dir, "README.md"), "# two models\n");
    const broken = await scan(dir, { signature: { publicKey, require: true } });
    expect(rules(broken)).toContain("README.md integrity/unsigned-file");
  });

  it("a root signature covering a nested signed model, whose own signature is signed too", async () => {
    const dir = join(tmp, `nest${n++}`);
    cpSync(at("model"), dir, { recursive: true });
    cpSync(at("signed-model"), join(dir, "vendor"), { recursive: true });
    await signModel(dir, { privateKey: text("keys/p256.key.pem") });
    expect((await verifyModel(dir, { publicKey })).status).toBe("verified");
    const r = await scan(dir, { signature: { publicKey, require: true } });
    expect(r.signature).toMatchObject({ status: "verified", model: ".", signaturePath: "model.sig" });
    expect(r.signature?.coverage?.complete).toBe(true);
    expect(trustRules(r)).toEqual([]);
  });

  it("a root signature that leaves files out (ignoreUnsignedFiles) does not cover them", async () => {
    const dir = join(tmp, `extra${n++}`);
    cpSync(at("signed-model"), dir, { recursive: true });
    writeFileSync(join(dir, "extra.py"), "print('hi')\n");
    const r = await scan(dir, { signature: { publicKey, require: true, ignoreUnsignedFiles: true } });
    expect(r.signature?.status).toBe("verified");
    expect(r.signature?.coverage).toMatchObject({ complete: false, uncovered: ["extra.py"] });
    expect(rules(r)).toContain("extra.py integrity/unsigned-file");
  });

  it("without a requirement, nothing uncovered is reported", async () => {
    const r = await scan(borrowed(), { signature: { publicKey } });
    expect(findingsOf(r, "notes.txt")).toEqual([]);
    expect(r.signature?.coverage?.complete).toBe(false);
  });
});
