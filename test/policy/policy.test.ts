import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import { isModelgateError } from "../../src/core/errors.js";
import { PICKLE_CONTEXTS, type PicklePolicyOptions } from "../../src/formats/pickle/policy/index.js";
import { compileGlob } from "../../src/policy/glob.js";
import { discoverPolicy, findPolicyFile, loadPolicyFile } from "../../src/policy/load.js";
import {
  type PolicyOptions,
  type PolicyOptionsSchema,
  publicKeyFingerprint,
  resolvePolicy,
  validatePolicy,
} from "../../src/policy/policy.js";
import { scan } from "../../src/scan/engine.js";

const policyError = (input: unknown): string => {
  try {
    validatePolicy(input, "p.json");
  } catch (error) {
    expect(isModelgateError(error, "POLICY")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected a policy error");
};

const ok = { rule: "format/executable", path: "*.so", reason: "vendored kernel" };

describe("policy validation names the bad field", () => {
  it.each([
    [{ severity: { "nope/rule": "high" } }, 'severity["nope/rule"]: unknown rule "nope/rule"'],
    [{ severity: { "format/executable": "severe" } }, 'severity["format/executable"]:'],
    [{ suppressions: [{ rule: "format/executable", path: "*.so" }] }, "suppressions[0].reason: required"],
    [{ suppressions: [{ ...ok, reason: "   " }] }, "suppressions[0].reason: required"],
    [{ suppressions: [{ ...ok, expires: "2026-02-30" }] }, "suppressions[0].expires: must be a date, YYYY-MM-DD"],
    [{ suppressions: [ok, { ...ok, path: "{a,b" }] }, 'suppressions[1].path: glob "{a,b" has an unclosed "{"'],
    [{ suppressions: [{ ...ok, rule: "nothing/*" }] }, 'suppressions[0].rule: unknown rule area "nothing"'],
    [
      { suppressions: [{ ...ok, rule: "scan/timeout" }] },
      'suppressions[0].rule: "scan/timeout" means a file could not',
    ],
    [{ suppressions: [{ ...ok, note: "x" }] }, 'suppressions[0]: unknown field "note"'],
    [{ disable: ["format/malformed"] }, 'disable[0]: "format/malformed" means a file could not be analysed'],
    [{ pickle: { allow: ["os system"] } }, "pickle.allow[0]: must be module.qualname"],
    [{ signature: { method: "pgp" } }, "signature.method:"],
    [{ signature: { method: "sigstore", key: "x" } }, "signature.key: not a PEM public key"],
    [{ signature: { method: "key", identity: "a@b" } }, 'signature.method: method "key" has no identity'],
    [{ minimumVersions: { transformer: "4.48.0" } }, "minimumVersions.transformer: unknown tool"],
    [{ minimumVersions: { transformers: "latest" } }, 'minimumVersions.transformers: "latest" is not a version'],
    [{ limits: { maxDepth: -1 } }, "limits.maxDepth:"],
    [{ limits: { maxDepht: 3 } }, 'limits: unknown field "maxDepht"'],
    [{ limts: {} }, 'unknown field "limts"'],
  ])("%j", (input, expected) => {
    const message = policyError(input);
    expect(message.startsWith("p.json: ")).toBe(true);
    expect(message).toContain(expected);
  });

  it("reports every bad field at once", () => {
    const message = policyError({ severity: { "x/y": "high" }, suppressions: [{ rule: "format/executable" }] });
    expect(message).toContain('severity["x/y"]');
    expect(message).toContain("suppressions[0].path");
    expect(message).toContain("suppressions[0].reason");
  });

  it("accepts a complete policy and resolvePolicy rejects bad programmatic options too", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(() =>
      validatePolicy({
        $schema: "https://example.invalid/policy.json",
        severity: { "format/polyglot": "high" },
        disable: ["format/unknown"],
        suppressions: [{ ...ok, rule: "format/*", expires: "2030-01-31" }],
        pickle: { allow: ["mypkg.layers.Block"], deny: ["builtins.getattr"] },
        signature: { required: true, method: "key", key: pem },
        minimumVersions: { transformers: "4.48.0", keras: "3.11.3" },
        limits: { maxReadBytes: 1e9, maxDepth: 4 },
      }),
    ).not.toThrow();
    expect(() => resolvePolicy({ severity: { "no/such-rule": "low" } })).toThrow(/severity\["no\/such-rule"\]/);
  });
});

describe("the pickle section is the pickle policy's options", () => {
  /** A type with every optional property required and `undefined` removed, recursively. */
  type Shape<T> = T extends readonly (infer U)[]
    ? Shape<U>[]
    : T extends object
      ? { [K in keyof T]-?: Shape<Exclude<T[K], undefined>> }
      : T;

  it("has the fields and types of PicklePolicyOptions", () => {
    expectTypeOf<PolicyOptions["pickle"]>().toEqualTypeOf<PicklePolicyOptions | undefined>();
    expectTypeOf<Shape<NonNullable<z.output<typeof PolicyOptionsSchema>["pickle"]>>>().toEqualTypeOf<
      Shape<PicklePolicyOptions>
    >();
  });

  it("accepts every field, every context, and nothing else", () => {
    const full: PicklePolicyOptions = {
      allow: ["mypkg.layers.Block", "mypkg.ops.*"],
      deny: ["builtins.getattr"],
      profiles: Object.fromEntries(PICKLE_CONTEXTS.map((c) => [c, ["builtins", "mine"]])),
      extraProfiles: ["mine"],
      customProfiles: [{ name: "mine", call: ["mypkg.f"], new: ["mypkg.C"], prefixes: ["mypkg.safe."] }],
    };
    expect(validatePolicy({ pickle: full })).toEqual({ pickle: full });
    expect(policyError({ pickle: { profiles: { keras: ["builtins"] } } })).toContain("pickle.profiles");
    expect(policyError({ pickle: { profile: {} } })).toContain('pickle: unknown field "profile"');
    expect(policyError({ pickle: { customProfiles: [{ name: "x", calls: [] }] } })).toContain(
      'pickle.customProfiles[0]: unknown field "calls"',
    );
  });
});

describe("policy hash", () => {
  it("is stable under key order, excludes the source, and changes with the content", () => {
    const a = resolvePolicy({ severity: { "format/polyglot": "high" }, disable: ["format/unknown"] });
    const b = resolvePolicy({ disable: ["format/unknown"], severity: { "format/polyglot": "high" }, source: "x.json" });
    const c = resolvePolicy({ disable: ["format/unknown"], severity: { "format/polyglot": "low" } });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(c.hash).not.toBe(a.hash);
  });
});

describe("path globs", () => {
  it.each([
    ["*.so", "lib.so", true],
    ["*.so", "sub/lib.so", false],
    ["**/*.so", "sub/deep/lib.so", true],
    ["**/*.so", "lib.so", true],
    ["models/**", "models/a/b.bin", true],
    ["models/**", "models.bin", false],
    ["*.pt", "model.pt!archive/data.pkl", false],
    ["model.pt!**", "model.pt!archive/data.pkl", true],
    ["model.pt!*/data.pkl", "model.pt!archive/data.pkl", true],
    ["shard-0000?.bin", "shard-00001.bin", true],
    ["shard-[0-4].bin", "shard-5.bin", false],
    ["shard-[!0-4].bin", "shard-5.bin", true],
    ["*.{bin,pt}", "w.pt", true],
    ["*.{bin,pt}", "w.ckpt", false],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["(x)+.txt", "(x)+.txt", true],
  ])("%s ~ %s → %s", (glob, path, expected) => {
    expect(compileGlob(glob).test(path)).toBe(expected);
  });
});

describe("finding decisions", () => {
  const now = new Date("2026-06-15T12:00:00Z");
  const options: PolicyOptions = {
    severity: { "format/executable": "critical" },
    disable: ["format/unknown"],
    suppressions: [
      { rule: "format/polyglot", path: "legacy/*.pt", reason: "known", expires: "2026-06-15" },
      { rule: "format/*", path: "vendor/**", reason: "vendored" },
      { rule: "format/extension-mismatch", path: "**", reason: "old", expires: "2026-06-14" },
    ],
  };

  it("drops disabled rules, applies overrides and suppresses by rule, area and path", () => {
    const p = resolvePolicy(options, { now });
    expect(p.decide("format/unknown", "a.bin")).toEqual({ action: "drop" });
    expect(p.decide("format/executable", "a.so")).toEqual({ action: "keep", severity: "critical" });
    expect(p.decide("format/polyglot", "legacy/a.pt")).toMatchObject({ action: "suppress", severity: "medium" });
    expect(p.decide("format/polyglot", "legacy/a.pt!archive/data.pkl").action).toBe("suppress");
    expect(p.decide("format/polyglot", "current/a.pt").action).toBe("keep");
    expect(p.decide("format/executable", "vendor/x/lib.so")).toMatchObject({
      action: "suppress",
      suppression: { reason: "vendored" },
    });
    // Rules meaning "not analysed" are never suppressed, whatever a wildcard says.
    expect(p.decide("format/malformed", "vendor/x/lib.so").action).toBe("keep");
  });

  it("never suppresses the findings of a file whose own name holds the member separator", async () => {
    const p = resolvePolicy(options, { now });
    expect(p.decide("format/polyglot", "legacy/a.pt!x.pkl", undefined, "legacy/a.pt!x.pkl").action).toBe("keep");
    expect(p.decide("format/polyglot", "legacy/a.pt!x.pkl", undefined, "legacy/a.pt").action).toBe("suppress");
    // End to end: a vetted archive's suppression does not reach a file named after one of its members.
    const dir = await mkdtemp(join(tmpdir(), "mg-bang-"));
    try {
      const payload = Buffer.from("cposix\nsystem\n(S'true'\ntR.", "latin1");
      await writeFile(join(dir, "legacy.pkl"), payload);
      await writeFile(join(dir, "legacy.pkl!payload.pkl"), payload);
      const report = await scan(dir, {
        policy: { suppressions: [{ rule: "pickle/*", path: "legacy.pkl", reason: "vetted" }] },
      });
      const of = (path: string) => report.files.find((f) => f.path === path);
      expect(of("legacy.pkl")?.verdict).toBe("clean");
      expect(of("legacy.pkl!payload.pkl")?.verdict).toBe("malicious");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an expired suppression stops applying (the expiry day itself still counts) and is counted", () => {
    const p = resolvePolicy(options, { now });
    expect(p.decide("format/extension-mismatch", "a.txt").action).toBe("keep");
    expect(p.decide("format/extension-mismatch", "b.txt").action).toBe("keep");
    expect(p.decide("format/polyglot", "legacy/a.pt").action).toBe("suppress");
    const uses = p.suppressionUses();
    expect(uses.map((u) => [u.rule, u.status, u.matched])).toEqual([
      ["format/polyglot", "active", 1],
      ["format/*", "active", 0],
      ["format/extension-mismatch", "expired", 2],
    ]);
    const later = resolvePolicy(options, { now: new Date("2026-06-16T00:00:00Z") });
    expect(later.decide("format/polyglot", "legacy/a.pt").action).toBe("keep");
  });

  it("never matches globs against overlong (hostile) paths: such findings are kept", () => {
    const p = resolvePolicy({ suppressions: [{ rule: "format/polyglot", path: "**a**b**c**d", reason: "r" }] });
    const long = `x.pt!${"a/".repeat(30_000)}`;
    expect(p.decide("format/polyglot", long).action).toBe("keep");
    expect(p.decide("format/polyglot", "xa/b/c/d").action).toBe("suppress");
  });

  it("globs also match relative to the policy file's directory", () => {
    const p = resolvePolicy(
      { suppressions: [{ rule: "format/executable", path: "models/*.so", reason: "r" }] },
      {
        pathPrefix: "models",
      },
    );
    expect(p.decide("format/executable", "lib.so").action).toBe("suppress");
    expect(p.decide("format/executable", "sub/lib.so").action).toBe("keep");
  });
});

describe("policy files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mg-policy-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("finds the nearest .modelgate.json from the working directory upward, never from a target", async () => {
    await mkdir(join(dir, "org", "team", "model"), { recursive: true });
    await writeFile(join(dir, "org", ".modelgate.json"), '{"disable": ["format/unknown"]}');
    await writeFile(join(dir, "org", "team", "model", "w.bin"), "x");
    expect(await findPolicyFile({ cwd: join(dir, "org", "team", "model") })).toBe(join(dir, "org", ".modelgate.json"));
    await writeFile(join(dir, "org", "team", ".modelgate.json"), "{}");
    expect(await findPolicyFile({ cwd: join(dir, "org", "team", "model") })).toBe(
      join(dir, "org", "team", ".modelgate.json"),
    );
    const policy = await discoverPolicy({ cwd: join(dir, "org", "team", "model") });
    expect(policy).toEqual({ source: join(dir, "org", "team", ".modelgate.json") });
    // The temp folder itself (o+w) ends the search.
    expect(await findPolicyFile({ cwd: dir })).toBeUndefined();
  });

  it("reads signature.keyFile relative to the policy file into the hashed policy", async () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    await mkdir(join(dir, "keys"), { recursive: true });
    await writeFile(join(dir, "keys", "signer.pub"), pem);
    await writeFile(join(dir, "p.json"), JSON.stringify({ signature: { method: "key", keyFile: "keys/signer.pub" } }));
    const policy = await loadPolicyFile(join(dir, "p.json"));
    expect(policy.signature?.key).toBe(pem);
    expect(publicKeyFingerprint(policy.signature!.key!)).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(join(dir, "q.json"), JSON.stringify({ signature: { keyFile: "keys/missing.pub" } }));
    await expect(loadPolicyFile(join(dir, "q.json"))).rejects.toThrow(/signature\.keyFile: cannot read/);
  });

  it("bad JSON and bad fields are POLICY errors naming the file", async () => {
    await writeFile(join(dir, "bad.json"), "{ severity: }");
    await expect(loadPolicyFile(join(dir, "bad.json"))).rejects.toThrow(/bad\.json: not valid JSON/);
    await writeFile(join(dir, "bad2.json"), '{"suppressions": [{"rule": "format/executable", "path": "*"}]}');
    await expect(loadPolicyFile(join(dir, "bad2.json"))).rejects.toThrow(
      /bad2\.json: suppressions\[0\]\.reason: required/,
    );
    await expect(loadPolicyFile(join(dir, "none.json"))).rejects.toThrow(/cannot read policy/);
  });
});

describe("policy in the engine", () => {
  const bytes = new Uint8Array(100).fill(65);

  it("policy limits become budgets; explicit scan limits win", async () => {
    const limited = await scan({ bytes, name: "a.txt" }, { policy: { limits: { maxReadBytes: 10 } } });
    expect(limited.files[0]!.findings.map((f) => f.ruleId)).toEqual(["scan/budget-exceeded"]);
    const explicit = await scan(
      { bytes, name: "a.txt" },
      { policy: { limits: { maxReadBytes: 10 } }, limits: { maxReadBytes: 1000 } },
    );
    expect(explicit.files[0]!.verdict).toBe("clean");
  });

  it("records the policy hash and source in the report", async () => {
    const policy: PolicyOptions = { disable: ["format/unknown"], source: "/x/.modelgate.json" };
    const report = await scan({ bytes, name: "a.txt" }, { policy });
    expect(report.policy).toEqual({ hash: resolvePolicy(policy).hash, source: "/x/.modelgate.json" });
    const none = await scan({ bytes, name: "a.txt" });
    expect(none.policy).toEqual({ hash: resolvePolicy({}).hash });
  });

  it("a bad policy rejects the scan with a POLICY error", async () => {
    await expect(scan({ bytes, name: "a.txt" }, { policy: { disable: ["nope/x"] } })).rejects.toThrow(
      /disable\[0\]: unknown rule/,
    );
  });
});
