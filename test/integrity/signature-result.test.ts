/**
 * The signature requirement reads signature results with a plain reader (`readSignatureResult`) so
 * that a scan loads no zod; it must accept exactly what `SignatureResultSchema` accepts, or a
 * required signature could pass on a result the schema rejects.
 */
import { describe, expect, it } from "vitest";
import { readSignatureResult, signatureViolation, signerViolation } from "../../src/integrity/oms/requirement.js";
import { SignatureResultSchema } from "../../src/integrity/oms/requirement-schema.js";

const VALID = {
  status: "verified",
  method: "key",
  identity: "a@example.com",
  issuer: "https://issuer.example",
  keyFingerprint: "ab".repeat(32),
  path: "model.sig",
  message: "ok",
  model: ".",
  coverage: { complete: false, uncoveredCount: 2, uncovered: ["a.bin", "b.bin"] },
  extra: { kept: true },
};

/** Values a field may take: right and wrong types, edge numbers. */
const VALUES: unknown[] = [
  undefined,
  null,
  "",
  "verified",
  "failed",
  "unsigned",
  "unverified",
  "VERIFIED",
  0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  [],
  ["a"],
  [1],
  {},
  { complete: true },
  new Date(0),
];

function agree(value: unknown): void {
  const parsed = SignatureResultSchema.safeParse(value);
  const read = readSignatureResult(value);
  expect({ value, accepted: read !== undefined }).toEqual({ value, accepted: parsed.success });
  if (parsed.success) expect(read).toEqual(parsed.data);
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("readSignatureResult", () => {
  it("accepts a full result and the minimal one", () => {
    expect(readSignatureResult(VALID)).toEqual(VALID);
    expect(readSignatureResult(VALID)).not.toBe(VALID);
    expect(readSignatureResult({ status: "unsigned" })).toEqual({ status: "unsigned" });
    expect(readSignatureResult({ status: "bogus" })).toBeUndefined();
    expect(readSignatureResult({ status: "verified", coverage: { uncovered: [] } })).toBeUndefined();
  });

  it("agrees with SignatureResultSchema on non-objects and on every field set to every kind of value", () => {
    for (const value of [...VALUES, Object.create(null), new Map(), Object.create({ status: "verified" })])
      agree(value);
    for (const key of Object.keys(VALID)) {
      for (const v of VALUES) agree({ ...VALID, [key]: v });
    }
    for (const key of Object.keys(VALID.coverage)) {
      for (const v of VALUES) agree({ ...VALID, coverage: { ...VALID.coverage, [key]: v } });
    }
    agree({ ...VALID, coverage: { ...VALID.coverage, uncovered: ["a", 1] } });
    agree({ ...VALID, coverage: { ...VALID.coverage, uncovered: Array(3) } });
  });

  it("agrees with SignatureResultSchema on random results", () => {
    const random = prng(18);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const fields = [...Object.keys(VALID), "other"];
    const coverageFields = ["complete", "uncoveredCount", "uncovered", "other"];
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const value: Record<string, unknown> = { status: pick(["verified", "failed", "unsigned", "unverified"]) };
      for (const field of fields) {
        if (random() < 0.5) continue;
        if (field === "coverage" && random() < 0.7) {
          const coverage: Record<string, unknown> = { complete: random() < 0.5 };
          for (const f of coverageFields) if (random() < 0.4) coverage[f] = pick(VALUES);
          if (random() < 0.3) coverage.uncovered = ["x", "y"];
          value.coverage = coverage;
        } else if (random() < 0.5 && field !== "coverage") {
          value[field] = "text";
        } else {
          value[field] = pick(VALUES);
        }
      }
      const parsed = SignatureResultSchema.safeParse(value);
      if (parsed.success) accepted++;
      agree(value);
    }
    // both outcomes were exercised
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(2900);
  });

  it("a required signature fails closed on a result the schema rejects", () => {
    const requirement = { required: true } as const;
    const bad = { ...VALID, status: "verified", coverage: { complete: "yes" } };
    expect(SignatureResultSchema.safeParse(bad).success).toBe(false);
    expect(signerViolation(bad, requirement)?.message).toMatch(/not recognised/);
    expect(signatureViolation(bad, requirement)?.message).toMatch(/not recognised/);
    expect(signatureViolation(undefined, requirement)?.message).toMatch(/no signature verification result/);
    expect(signatureViolation({ ...VALID, coverage: { complete: true } }, requirement)).toBeUndefined();
    expect(signatureViolation(bad, undefined)).toBeUndefined();
  });
});
