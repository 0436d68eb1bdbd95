/**
 * The zod-free policy path (`src/policy/resolve.ts`): the default policy needs no schema, and every
 * other policy — a file, options passed to `scan`, anything with a key — is validated by the same
 * schema (`validatePolicy`) before use. Whether zod stays unloaded is checked in a child process by
 * test/startup/startup.test.ts.
 */
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../src/core/errors.js";
import { resolvePolicy, validatePolicy } from "../../src/policy/policy.js";
import {
  isDefaultPolicy,
  resolvePolicyAsync,
  resolveValidatedPolicy,
  validatePolicyAsync,
} from "../../src/policy/resolve.js";
import { scan } from "../../src/scan/engine.js";

const errorOf = async (run: () => unknown): Promise<Error> => {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
};

describe("isDefaultPolicy", () => {
  it("is absent or a plain object without own keys, nothing else", () => {
    expect(isDefaultPolicy(undefined)).toBe(true);
    expect(isDefaultPolicy({})).toBe(true);
    expect(isDefaultPolicy(Object.create(null))).toBe(true);
    for (const value of [
      null,
      0,
      "",
      "{}",
      [],
      new Map(),
      new Date(0),
      { source: "x.json" },
      { limits: undefined },
      { [Symbol("k")]: 1 },
      Object.defineProperty({}, "limits", { value: { maxDepth: -1 }, enumerable: false }),
    ]) {
      expect(isDefaultPolicy(value)).toBe(false);
    }
  });
});

describe("validatePolicyAsync", () => {
  it("gives the default policy as validatePolicy does", async () => {
    expect(await validatePolicyAsync(undefined)).toEqual(validatePolicy({}));
    expect(await validatePolicyAsync({})).toEqual({});
  });

  it.each([
    [{ disable: ["no/such-rule"] }],
    [{ limits: { maxDepth: -1 } }],
    [{ suppressions: [{ rule: "format/executable", path: "*.so" }] }],
    [{ limts: {} }],
    [[]],
    [null],
    ["{}"],
    [Object.defineProperty({}, "limits", { value: { maxDepth: -1 }, enumerable: false })],
  ])("rejects what validatePolicy rejects, with its message: %j", async (input) => {
    const sync = await errorOf(() => validatePolicy(input, "p.json"));
    const lazy = await errorOf(() => validatePolicyAsync(input, "p.json"));
    expect(isModelgateError(lazy, "POLICY")).toBe(true);
    expect(lazy.message).toBe(sync.message);
  });

  it("returns what validatePolicy returns for a valid policy", async () => {
    const input = {
      $comment: "note",
      severity: { "format/polyglot": "high" },
      disable: ["format/unknown"],
      suppressions: [{ rule: "format/executable", path: "*.so", reason: "vendored" }],
      limits: { maxDepth: 3 },
    };
    expect(await validatePolicyAsync(input)).toEqual(validatePolicy(input));
  });
});

describe("resolvePolicyAsync", () => {
  it("builds the same policy as resolvePolicy", async () => {
    for (const options of [undefined, {}, { severity: { "format/polyglot": "high" as const }, source: "p.json" }]) {
      const lazy = await resolvePolicyAsync(options);
      const sync = resolvePolicy(options);
      expect(lazy.hash).toBe(sync.hash);
      expect(lazy.options).toEqual(sync.options);
      expect(lazy.severityOf("format/polyglot")).toBe(sync.severityOf("format/polyglot"));
    }
    expect((await resolvePolicyAsync(undefined)).hash).toBe(resolveValidatedPolicy({}).hash);
  });

  it("rejects an invalid policy", async () => {
    const error = await errorOf(() => resolvePolicyAsync({ severity: { "no/such-rule": "low" } }));
    expect(isModelgateError(error, "POLICY")).toBe(true);
    expect(error.message).toContain('severity["no/such-rule"]');
  });
});

describe("the engine validates a caller's policy", () => {
  it("rejects invalid policy options passed to scan", async () => {
    const target = { bytes: new Uint8Array([0x80, 0x04, 0x4e, 0x2e]), name: "none.pkl" };
    const error = await errorOf(() => scan(target, { policy: { disable: ["no/such-rule"] } }));
    expect(isModelgateError(error, "POLICY")).toBe(true);
    expect(error.message).toContain('disable[0]: unknown rule "no/such-rule"');
    const report = await scan(target, { policy: { disable: ["format/unknown"] } });
    expect(report.policy?.hash).toBe(resolvePolicy({ disable: ["format/unknown"] }).hash);
  });
});
