/**
 * A PASSED attestation holds only as long as the suppressions its result depended on: the
 * statement records their earliest expiry, and the verifier fails the attestation (requirements
 * stage, `suppression-expired`) after that day. Attestations without the field stay verifiable.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { attest } from "../../../src/integrity/attest/sign.js";
import {
  AttestationError,
  buildScanStatement,
  parseScanStatement,
  SCAN_EXTENSION_KEY,
} from "../../../src/integrity/attest/statement.js";
import { verifyAttestation } from "../../../src/integrity/attest/verify.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../../../src/integrity/oms/bundle.js";
import { createBundleSigner } from "../../../src/integrity/oms/dsse.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";

const tmp = mkdtempSync(join(tmpdir(), "mg-attest-expiry-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const privateKey = String(keys.privateKey.export({ type: "pkcs8", format: "pem" }));
const publicKey = String(keys.publicKey.export({ type: "spki", format: "pem" }));

const DAY = 86_400_000;
/** A date `days` from now, `YYYY-MM-DD`. */
const inDays = (days: number): string => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
/** Protocol 0 `posix.system('true')`. */
const PAYLOAD = Buffer.from("cposix\nsystem\n(S'true'\ntR.", "latin1");

/** A folder with two reviewed pickles, suppressed until `first` and `second`. */
async function suppressedScan(first: string, second: string): Promise<{ dir: string; report: ScanReport }> {
  const dir = join(tmp, `m${first}${second}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "a.pkl"), PAYLOAD);
  writeFileSync(join(dir, "b.pkl"), PAYLOAD);
  writeFileSync(join(dir, "README.md"), "# reviewed\n");
  const report = await scan(dir, {
    policy: {
      suppressions: [
        { rule: "pickle/*", path: "a.pkl", reason: "reviewed", expires: first },
        { rule: "pickle/*", path: "b.pkl", reason: "reviewed", expires: second },
        { rule: "pickle/*", path: "never-matched.pkl", reason: "unused", expires: inDays(1) },
      ],
    },
  });
  expect(report.verdict).toBe("clean");
  return { dir, report };
}

describe("attestations and suppression expiry", () => {
  it("records the earliest expiry of the suppressions that suppressed a finding", async () => {
    const { report } = await suppressedScan(inDays(40), inDays(20));
    const statement = buildScanStatement(report);
    expect(statement.predicate.verificationResult).toBe("PASSED");
    // The unused suppression (expiring sooner) does not count: it suppressed nothing.
    expect(statement.predicate[SCAN_EXTENSION_KEY].suppressionsExpire).toBe(inDays(20));
    const parsed = parseScanStatement(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)));
    expect(parsed.predicate[SCAN_EXTENSION_KEY].suppressionsExpire).toBe(inDays(20));
  });

  it("a PASSED attestation fails at the requirements stage after that day, not before", async () => {
    const until = inDays(10);
    const { dir, report } = await suppressedScan(until, inDays(30));
    const { bundle } = attest(report, { privateKey });
    const lastDay = new Date(`${until}T23:59:59.000Z`);
    const before = await verifyAttestation(bundle, dir, { publicKey, now: lastDay });
    expect(before.errors).toEqual([]);
    expect(before.status).toBe("verified");
    const after = await verifyAttestation(bundle, dir, { publicKey, now: new Date(lastDay.getTime() + 2000) });
    expect(after.status).toBe("failed");
    expect(after.failedStage).toBe("requirements");
    expect(after.failedRequirement).toBe("suppression-expired");
    expect(after.errors[0]).toContain(`expired on ${until}`);
  });

  it("the expiry counts the report's record of suppression matches too", () => {
    const report = {
      tool: { name: "modelgate", version: "0" },
      target: { kind: "directory", name: "/x" },
      startedAt: new Date().toISOString(),
      durationMs: 1,
      verdict: "clean" as const,
      complete: true,
      files: [{ path: "a.pkl", sha256: "a".repeat(64), verdict: "clean" as const }],
      errors: [],
      summary: { findings: 0, byVerdict: { clean: 1, suspicious: 0, malicious: 0, invalid: 0 } },
      policy: {
        hash: "b".repeat(64),
        suppressions: [
          { status: "active", matched: 3, expires: "2031-05-01" },
          { status: "active", matched: 0, expires: "2030-01-01" },
          { status: "expired", matched: 2, expires: "2020-01-01" },
        ],
      },
    };
    expect(buildScanStatement(report).predicate[SCAN_EXTENSION_KEY].suppressionsExpire).toBe("2031-05-01");
    const bad = { ...report, files: [{ ...report.files[0]!, suppressed: [{ suppression: { expires: "soon" } }] }] };
    expect(() => buildScanStatement(bad)).toThrow(AttestationError);
  });

  it("attestations without the field (older ones, or no expiring suppression) stay verifiable", async () => {
    const { dir, report } = await suppressedScan(inDays(10), inDays(30));
    const statement = buildScanStatement(report);
    const { suppressionsExpire: _dropped, ...old } = statement.predicate[SCAN_EXTENSION_KEY];
    const legacy = { ...statement, predicate: { ...statement.predicate, [SCAN_EXTENSION_KEY]: old } };
    const bundle = createBundleSigner({ privateKey }).sign(
      IN_TOTO_PAYLOAD_TYPE,
      Buffer.from(JSON.stringify(legacy), "utf8"),
    );
    const later = new Date(Date.now() + 365 * DAY);
    const result = await verifyAttestation(bundle, dir, { publicKey, now: later });
    expect(result.errors).toEqual([]);
    expect(result.status).toBe("verified");
  });

  it("a malformed expiry in a statement is refused", async () => {
    const { report } = await suppressedScan(inDays(11), inDays(31));
    const statement = buildScanStatement(report);
    const ext = { ...statement.predicate[SCAN_EXTENSION_KEY], suppressionsExpire: "2026-02-30" };
    const bad = { ...statement, predicate: { ...statement.predicate, [SCAN_EXTENSION_KEY]: ext } };
    expect(() => parseScanStatement(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(bad)))).toThrow(/not a date/);
  });
});
