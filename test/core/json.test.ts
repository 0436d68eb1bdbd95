import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../src/core/errors.js";
import { decodeUtf8Strict, type JsonNumber, JsonObject, parseStrictJson, toPlain } from "../../src/core/json.js";

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (error) {
    return isModelgateError(error) ? error.code : `not a ModelgateError: ${String(error)}`;
  }
};

describe("parseStrictJson", () => {
  it("reports duplicate keys with their object path and keeps the last value (first position)", () => {
    const { value, duplicates } = parseStrictJson('{"a":1,"b":{"x":1,"x":2},"a":3}');
    expect(duplicates.map((d) => [d.key, d.path])).toEqual([
      ["x", "b"],
      ["a", ""],
    ]);
    expect(value).toBeInstanceOf(JsonObject);
    const obj = value as JsonObject;
    expect([...obj.entries.keys()]).toEqual(["a", "b"]);
    expect((obj.get("a") as JsonNumber).raw).toBe("3");
  });

  it("keeps integers exact beyond 2^53", () => {
    const { value } = parseStrictJson("[9007199254740993, 18446744073709551615, -1, 1.5, 1e3]");
    const nums = value as JsonNumber[];
    expect(nums[0]?.bigint).toBe(9007199254740993n);
    expect(nums[1]?.bigint).toBe(18446744073709551615n);
    expect(nums[2]?.bigint).toBe(-1n);
    expect(nums[3]?.isInteger).toBe(false);
    expect(nums[4]?.isInteger).toBe(false);
    expect(nums[4]?.bigint).toBeUndefined();
  });

  it.each([
    ["leading zero", "[01]"],
    ["trailing comma", "[1,]"],
    ["single quotes", "{'a':1}"],
    ["control character", '"a\u0001b"'],
    ["bad escape", '"\\x41"'],
    ["lone surrogate", '"\\ud800"'],
    ["NaN by default", "NaN"],
    ["trailing garbage", "{} x"],
    ["form feed whitespace", "\f{}"],
    ["unterminated", '{"a":'],
    ["empty", ""],
    ["bare minus", "-"],
    ["fraction without digits", "1."],
  ])("rejects %s", (_label, text) => {
    expect(code(() => parseStrictJson(text))).toBe("MALFORMED");
  });

  it("accepts JSON whitespace around the value and Python's relaxations when asked", () => {
    expect(parseStrictJson(" \t\r\n{} \n").value).toBeInstanceOf(JsonObject);
    const r = parseStrictJson('[NaN, -Infinity, "\\ud800"]', { allowNonFinite: true, allowLoneSurrogates: true });
    expect((r.value as unknown[]).length).toBe(3);
  });

  it("enforces depth, value and string budgets with BUDGET_EXCEEDED", () => {
    expect(code(() => parseStrictJson(`${"[".repeat(100)}${"]".repeat(100)}`, { maxDepth: 64 }))).toBe(
      "BUDGET_EXCEEDED",
    );
    expect(code(() => parseStrictJson(`[${"1,".repeat(99)}1]`, { maxValues: 50 }))).toBe("BUDGET_EXCEEDED");
    expect(code(() => parseStrictJson(`"${"a".repeat(100)}"`, { maxStringLength: 10 }))).toBe("BUDGET_EXCEEDED");
    // Deep nesting within budget does not overflow the stack.
    expect(parseStrictJson(`${"[".repeat(500)}${"]".repeat(500)}`, { maxDepth: 600 }).value).toBeInstanceOf(Array);
  });

  it("decodes UTF-8 strictly", () => {
    expect(decodeUtf8Strict(new TextEncoder().encode("héllo"))).toBe("héllo");
    expect(code(() => decodeUtf8Strict(Uint8Array.of(0x7b, 0xff, 0x7d)))).toBe("MALFORMED");
  });

  it("agrees with JSON.parse on every JSON document JSON.stringify produces (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const text = JSON.stringify(v);
        const ours = toPlain(parseStrictJson(text).value);
        expect(ours).toEqual(JSON.parse(text));
      }),
      { seed: 4242, numRuns: 300 },
    );
  });

  it("never throws anything but ModelgateError on arbitrary text (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const c = code(() => parseStrictJson(s, { maxDepth: 8 }));
        expect(c === undefined || c === "MALFORMED" || c === "BUDGET_EXCEEDED").toBe(true);
      }),
      { seed: 77, numRuns: 1000 },
    );
  });
});
