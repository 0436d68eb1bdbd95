// Scan attestations: attest() and verifyAttestation() round trips, tampering, requirements,
// subjects and hostile bundles.
import { createHash, generateKeyPairSync } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { RootEntry, ScanRoot } from "../../../src/core/root.js";
import { attest } from "../../../src/integrity/attest/sign.js";
import {
  AttestationError,
  buildScanStatement,
  DEFAULT_VERIFIER_ID,
  LEVEL_CLEAN,
  reportDigest,
  SCAN_EXTENSION_KEY,
  VSA_PREDICATE_TYPE,
} from "../../../src/integrity/attest/statement.js";
import { parseDuration, verifyAttestation } from "../../../src/integrity/attest/verify.js";
import { createBundleSigner } from "../../../src/integrity/oms/dsse.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";

const S = fileURLToPath(new URL("../../../samples/", import.meta.url));
const pki = (p: string) => readFileSync(join(S, "integrity/pki", p), "utf8");
const FIELDS = JSON.parse(readFileSync(new URL("./fixtures/statement-fields.json", import.meta.url), "utf8"));
const tmp = mkdtempSync(join(tmpdir(), "mg-attest-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (k: typeof keys.publicKey) => String(k.export({ type: "spki", format: "pem" }));
const privatePem = String(keys.privateKey.export({ type: "pkcs8", format: "pem" }));

let n = 0;
/** A clean model directory. */
function cleanModel(): string {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert", hidden_size: 8 }));
  writeFileSync(join(dir, "README.md"), "# a model\n");
  writeFileSync(join(dir, "sub", "notes.txt"), "plain text\n");
  return dir;
}

async function scanned(dir: string): Promise<ScanReport> {
  const report = await scan(dir);
  expect(report.verdict).toBe("clean");
  return report;
}

type Bundle = { dsseEnvelope: { payload: string; signatures: { sig: string }[] } } & Record<string, unknown>;
const statementOf = (bundle: Record<string, unknown>) =>
  JSON.parse(Buffer.from((bundle as Bundle).dsseEnvelope.payload, "base64").toString("utf8"));

describe("attest", () => {
  it("round-trips with a generated key and names the files, verdict and policy", async () => {
    const dir = cleanModel();
    const report = await scanned(dir);
    const { bundle, statement, method } = attest(report, { privateKey: privatePem });
    expect(method).toBe("key");
    expect(bundle.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect((bundle.dsseEnvelope as { payloadType: string }).payloadType).toBe("application/vnd.in-toto+json");
    expect(statementOf(bundle)).toEqual(JSON.parse(JSON.stringify(statement)));
    expect(statement.subject.map((s) => s.name)).toEqual(["README.md", "config.json", "sub/notes.txt"]);
    expect(statement.subject[1]?.digest.sha256).toBe(report.files.find((f) => f.path === "config.json")?.sha256);
    const p = statement.predicate;
    expect(p.verificationResult).toBe("PASSED");
    expect(p.verifiedLevels).toEqual([LEVEL_CLEAN]);
    expect(p.policy.digest.sha256).toBe(report.policy?.hash);
    expect(p.resourceUri).toMatch(/^file:\/\//);
    expect(p[SCAN_EXTENSION_KEY].reportSha256).toBe(reportDigest(JSON.parse(JSON.stringify(report))));
    expect(p[SCAN_EXTENSION_KEY].byVerdict.clean).toBe(3);

    const r = await verifyAttestation(JSON.stringify(bundle), dir, { publicKey: pem(keys.publicKey) });
    expect(r.errors).toEqual([]);
    expect(r.status).toBe("verified");
    expect(r.files.map((f) => f.status)).toEqual(["ok", "ok", "ok"]);
    expect(r.signer?.keyFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("matches the in-toto Statement v1 and VSA v1 field names", async () => {
    const { statement } = attest(await scanned(cleanModel()), { privateKey: privatePem });
    const json = JSON.parse(JSON.stringify(statement));
    expect(json._type).toBe(FIELDS.statement.type);
    for (const k of FIELDS.statement.required) expect(json).toHaveProperty([k]);
    for (const s of json.subject) for (const k of FIELDS.statement.subject.required) expect(s).toHaveProperty([k]);
    expect(json.predicateType).toBe(FIELDS.vsa.predicateType);
    const p = json.predicate;
    for (const k of FIELDS.vsa.required) expect(p).toHaveProperty([k]);
    const known = new Set([...FIELDS.vsa.required, ...FIELDS.vsa.optional]);
    // Anything else is an extension, whose name must be a URI.
    for (const k of Object.keys(p).filter((x) => !known.has(x))) expect(k).toMatch(/^https:\/\//);
    for (const k of FIELDS.vsa.verifier.required) expect(p.verifier).toHaveProperty([k]);
    for (const k of FIELDS.vsa.policy.required) expect(p.policy).toHaveProperty([k]);
    expect(FIELDS.vsa.verificationResult).toContain(p.verificationResult);
    for (const level of p.verifiedLevels) expect(level.startsWith(FIELDS.vsa.reservedLevelPrefix)).toBe(false);
    expect(p.verifier.id).toBe(DEFAULT_VERIFIER_ID);
    expect(p.timeVerified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it("signs with a certificate and verifies against the test CA", async () => {
    const dir = cleanModel();
    const { bundle, method } = attest(await scanned(dir), {
      privateKey: pki("leaf.key.pem"),
      signingCertificate: pki("leaf.pem"),
      certificateChain: [pki("intermediate-ca.pem")],
    });
    expect(method).toBe("certificate");
    const ok = await verifyAttestation(bundle, dir, { certificateChain: [pki("root-ca.pem")] });
    expect(ok.errors).toEqual([]);
    expect(ok.status).toBe("verified");
    expect(ok.signer?.certificateSubject).toBe("CN=model signer, O=modelgate tests");
    const wrong = await verifyAttestation(bundle, dir, { certificateChain: [pki("other-root-ca.pem")] });
    expect(wrong.status).toBe("failed");
    expect(["signature", "policy"]).toContain(wrong.failedStage);
  });

  it("refuses a report with files that have no SHA-256, listing them", async () => {
    const dir = cleanModel();
    const report = await scan(dir, { hash: false });
    let caught: unknown;
    try {
      attest(report, { privateKey: privatePem });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AttestationError);
    expect((caught as AttestationError).reason).toBe("unhashed-files");
    expect((caught as AttestationError).paths).toEqual(["README.md", "config.json", "sub/notes.txt"]);
    expect(() => attest({ ...report, files: [] }, { privateKey: privatePem })).toThrow(/no file/);
  });

  it("records FAILED for a malicious scan; requirePassed rejects it", async () => {
    const dir = cleanModel();
    cpSync(join(S, "pickle/malicious/attrgetter.pkl"), join(dir, "model.pkl"));
    const report = await scan(dir);
    expect(report.verdict).toBe("malicious");
    const { bundle, statement } = attest(report, { privateKey: privatePem });
    expect(statement.predicate.verificationResult).toBe("FAILED");
    expect(statement.predicate.verifiedLevels).toEqual(["FAILED"]);
    const allowed = await verifyAttestation(bundle, dir, { publicKey: pem(keys.publicKey), requirePassed: false });
    expect(allowed.status).toBe("verified");
    // By default only a PASSED result verifies: a gate that only checks the status cannot admit it.
    const plain = await verifyAttestation(bundle, dir, { publicKey: pem(keys.publicKey) });
    expect(plain.failedStage).toBe("requirements");
    expect(plain.errors[0]).toMatch(/did not pass: verdict malicious/);
    const required = await verifyAttestation(bundle, dir, { publicKey: pem(keys.publicKey), requirePassed: true });
    expect(required.failedStage).toBe("requirements");
  });

  it("passes a suspicious scan only under the suspicious threshold", () => {
    const base = {
      tool: { name: "modelgate", version: "0.1.0" },
      target: { kind: "directory", name: tmp },
      startedAt: "2024-01-01T00:00:00.000Z",
      durationMs: 5,
      verdict: "suspicious" as const,
      complete: true,
      files: [{ path: "a.bin", sha256: "a".repeat(64), verdict: "suspicious" as const }],
      errors: [],
      summary: { findings: 1, byVerdict: { clean: 0, suspicious: 1, invalid: 0, malicious: 0 } },
      policy: { hash: "b".repeat(64) },
    };
    expect(buildScanStatement(base).predicate.verificationResult).toBe("FAILED");
    const passed = buildScanStatement(base, { passThreshold: "suspicious" }).predicate;
    expect(passed.verificationResult).toBe("PASSED");
    expect(passed.verifiedLevels).toEqual(["MODELGATE_SCAN_SUSPICIOUS"]);
    expect(passed.timeVerified).toBe("2024-01-01T00:00:00.005Z");
    const incomplete = buildScanStatement({ ...base, verdict: "clean", complete: false }).predicate;
    expect(incomplete.verificationResult).toBe("FAILED");
    const hub = buildScanStatement({
      ...base,
      target: { kind: "hub", name: "hf://o/n", hub: { repo: "o/n", commit: "c".repeat(40) } },
    }).predicate;
    expect(hub.resourceUri).toBe(`hf://o/n@${"c".repeat(40)}`);
    expect(() => buildScanStatement({ ...base, target: { kind: "bytes", name: "x" } })).toThrow(AttestationError);
  });
});

describe("verifyAttestation", () => {
  it("fails on a tampered statement and on the wrong key", async () => {
    const dir = cleanModel();
    const { bundle } = attest(await scanned(dir), { privateKey: privatePem });
    const statement = statementOf(bundle);
    statement.predicate[SCAN_EXTENSION_KEY].verdict = "clean";
    statement.subject[0].digest.sha256 = "0".repeat(64);
    const tampered = structuredClone(bundle) as Bundle;
    tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString("base64");
    const t = await verifyAttestation(tampered, dir, { publicKey: pem(keys.publicKey) });
    expect(t.failedStage).toBe("signature");
    const w = await verifyAttestation(bundle, dir, { publicKey: pem(other.publicKey) });
    expect(w.failedStage).toBe("signature");
    expect(w.statement).toBeUndefined();
    // A certificate-method trust anchor does not verify a key-method bundle.
    const c = await verifyAttestation(bundle, dir, { certificateChain: [pki("root-ca.pem")] });
    expect(c.failedStage).toBe("policy");
  });

  it("fails when a file changed, was added or was removed after the scan", async () => {
    const dir = cleanModel();
    const { bundle } = attest(await scanned(dir), { privateKey: privatePem });
    const key = { publicKey: pem(keys.publicKey) };

    writeFileSync(join(dir, "sub", "notes.txt"), "plain text, changed\n");
    const changed = await verifyAttestation(bundle, dir, key);
    expect(changed.failedStage).toBe("subjects");
    expect(changed.files.find((f) => f.path === "sub/notes.txt")?.status).toBe("mismatch");
    writeFileSync(join(dir, "sub", "notes.txt"), "plain text\n");
    expect((await verifyAttestation(bundle, dir, key)).status).toBe("verified");

    writeFileSync(join(dir, "extra.pkl"), "x");
    const added = await verifyAttestation(bundle, dir, key);
    expect(added.failedStage).toBe("subjects");
    expect(added.files.find((f) => f.path === "extra.pkl")?.status).toBe("extra");
    expect((await verifyAttestation(bundle, dir, { ...key, allowExtraFiles: true })).status).toBe("verified");
    expect((await verifyAttestation(bundle, dir, { ...key, excludePaths: ["extra.pkl"] })).status).toBe("verified");
    unlinkSync(join(dir, "extra.pkl"));

    unlinkSync(join(dir, "README.md"));
    const removed = await verifyAttestation(bundle, dir, { ...key, allowExtraFiles: true });
    expect(removed.failedStage).toBe("subjects");
    expect(removed.files.find((f) => f.path === "README.md")?.status).toBe("missing");
  });

  it("checks age, policy digest and verifier", async () => {
    const dir = cleanModel();
    const report = await scanned(dir);
    const { bundle } = attest(report, { privateKey: privatePem });
    const key = { publicKey: pem(keys.publicKey) };
    const later = new Date(Date.now() + 8 * 86_400_000);
    const old = await verifyAttestation(bundle, dir, { ...key, maxAge: parseDuration("7d") as number, now: later });
    expect(old.failedStage).toBe("requirements");
    expect(old.errors[0]).toMatch(/too old/);
    expect((await verifyAttestation(bundle, dir, { ...key, maxAge: 7 * 86_400_000 })).status).toBe("verified");
    const earlier = new Date(Date.now() - 86_400_000);
    expect((await verifyAttestation(bundle, dir, { ...key, now: earlier })).errors[0]).toMatch(/in the future/);

    const policy = await verifyAttestation(bundle, dir, { ...key, policyDigest: "f".repeat(64) });
    expect(policy.failedStage).toBe("requirements");
    expect(policy.errors[0]).toMatch(/policy/);
    const right = await verifyAttestation(bundle, dir, {
      ...key,
      policyDigest: (report.policy?.hash ?? "").toUpperCase(),
    });
    expect(right.status).toBe("verified");

    const verifier = await verifyAttestation(bundle, dir, { ...key, verifierId: "https://mirror.example/gate" });
    expect(verifier.failedStage).toBe("requirements");
    const mirror = attest(report, { privateKey: privatePem }, { verifierId: "https://mirror.example/gate" });
    expect(
      (await verifyAttestation(mirror.bundle, dir, { ...key, verifierId: ["https://mirror.example/gate"] })).status,
    ).toBe("verified");
  });

  it("never throws on oversized, malformed or hostile bundles", async () => {
    const dir = cleanModel();
    const report = await scanned(dir);
    const key = { publicKey: pem(keys.publicKey) };
    const { bundle } = attest(report, { privateKey: privatePem });
    const text = JSON.stringify(bundle);
    const cases: [string | Uint8Array | Record<string, unknown>, string, object?][] = [
      ["not json", "parse"],
      [Buffer.from([0xff, 0xfe, 0x00]), "parse"],
      ["[".repeat(100_000), "parse"],
      [text, "parse", { maxBytes: 100 }],
      [{ mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json" }, "parse"],
      [text, "statement", { maxSubjects: 2 }],
    ];
    for (const [input, stage, extra] of cases) {
      const r = await verifyAttestation(input, dir, { ...key, ...extra });
      expect(r.status).toBe("failed");
      expect(r.failedStage).toBe(stage);
    }
    // Validly signed but hostile statements: each fails at the statement stage.
    const signer = createBundleSigner({ privateKey: privatePem });
    const good = statementOf(bundle);
    const hostile: string[] = [
      "not json",
      JSON.stringify({ ...good, predicateType: "https://model_signing/signature/v1.0" }),
      JSON.stringify({ ...good, subject: [{ name: "../etc/passwd", digest: { sha256: "0".repeat(64) } }] }),
      JSON.stringify({ ...good, subject: [good.subject[0], good.subject[0]] }),
      JSON.stringify({ ...good, subject: [{ name: "a", digest: { sha1: "0".repeat(40) } }] }),
      JSON.stringify({
        ...good,
        predicate: { ...good.predicate, verificationResult: "PASSED", verifiedLevels: ["FAILED"] },
      }),
      JSON.stringify({
        ...good,
        predicate: {
          ...good.predicate,
          [SCAN_EXTENSION_KEY]: { ...good.predicate[SCAN_EXTENSION_KEY], verdict: "malicious" },
        },
      }),
      `{"_type":"https://in-toto.io/Statement/v1","_type":"x"}`,
      `${"[".repeat(40)}${"]".repeat(40)}`,
      JSON.stringify({ ...good, predicate: { ...good.predicate, timeVerified: "yesterday" } }),
    ];
    for (const payload of hostile) {
      const signed = signer.sign("application/vnd.in-toto+json", Buffer.from(payload));
      const r = await verifyAttestation(signed, dir, key);
      expect(r.failedStage, payload.slice(0, 80)).toBe("statement");
    }
    const otherType = signer.sign("text/plain", Buffer.from(JSON.stringify(good)));
    expect((await verifyAttestation(otherType, dir, key)).failedStage).toBe("statement");
    expect(good.predicateType).toBe(VSA_PREDICATE_TYPE);
  });

  it("hashes the files of any scan root and checks a Hub resource", async () => {
    const files: Record<string, string> = { "config.json": "{}", "model.safetensors": "weights" };
    const commit = "c".repeat(40);
    const root = (name: string, content = files): ScanRoot => ({
      target: { kind: "hub", name: `hf://${name}`, hub: { repo: name, revision: "main", commit } },
      async *list(): AsyncIterable<RootEntry> {
        for (const [path, text] of Object.entries(content)) yield { path, size: Buffer.byteLength(text), kind: "file" };
      },
      async open(path: string) {
        const bytes = Buffer.from(content[path] ?? "");
        return {
          size: bytes.length,
          read: async (offset: number, length: number) => bytes.subarray(offset, offset + length),
        };
      },
    });
    const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
    const report = {
      tool: { name: "modelgate", version: "0.1.0" },
      target: { kind: "hub", name: "hf://o/n", hub: { repo: "o/n", commit } },
      startedAt: new Date().toISOString(),
      durationMs: 1,
      verdict: "clean" as const,
      complete: true,
      files: Object.entries(files).map(([path, text]) => ({ path, sha256: sha256(text), verdict: "clean" as const })),
      errors: [],
      summary: { findings: 0, byVerdict: { clean: 2, suspicious: 0, invalid: 0, malicious: 0 } },
      policy: { hash: "b".repeat(64) },
    };
    const { bundle } = attest(report, { privateKey: privatePem });
    const key = { publicKey: pem(keys.publicKey) };
    expect((await verifyAttestation(bundle, root("o/n"), key)).status).toBe("verified");
    const elsewhere = await verifyAttestation(bundle, root("o/other"), key);
    expect(elsewhere.failedStage).toBe("requirements");
    const changed = await verifyAttestation(bundle, root("o/n", { ...files, "config.json": "{ }" }), key);
    expect(changed.failedStage).toBe("subjects");
  });
});
