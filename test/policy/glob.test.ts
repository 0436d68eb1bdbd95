// Suppression globs are matched in linear time (issue 13, item 8): a hostile member path cannot
// make a policy glob backtrack for minutes (synchronously, past the file timeout and Ctrl-C).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isModelgateError } from "../../src/core/errors.js";
import { compileGlob } from "../../src/policy/glob.js";
import { resolvePolicy } from "../../src/policy/policy.js";

/**
 * The reference: the dialect's definition as a regular expression (the compiler modelgate used to
 * run, with `s` so that `**` also spans line breaks). Exponential on hostile input; only ever used
 * here on short strings.
 */
function referenceGlob(pattern: string): RegExp {
  const esc = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  let out = "";
  let inBraces = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      out += esc(pattern[i + 1]!);
      i++;
    } else if (c === "*") {
      if (pattern[i + 1] === "*") {
        while (pattern[i + 1] === "*") i++;
        if (pattern[i + 1] === "/") {
          out += "(?:.*/)?";
          i++;
        } else out += ".*";
      } else out += "[^/!]*";
    } else if (c === "?") out += "[^/!]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else if (c === "{") {
      inBraces = true;
      out += "(?:";
    } else if (c === "}") {
      inBraces = false;
      out += ")";
    } else if (c === ",") out += inBraces ? "|" : ",";
    else out += esc(c);
  }
  return new RegExp(`^${out}$`, "us");
}

const HOSTILE_GLOB = "**/a/**/a/**/a/**/*.bin";

describe("glob matching is linear", () => {
  it(`${HOSTILE_GLOB} against a/ x 1000 returns at once, with the right answer`, () => {
    const glob = compileGlob(HOSTILE_GLOB);
    const deep = `${"a/".repeat(1000)}x.bin`;
    const miss = `${"a/".repeat(1000)}x.bi`;
    const t0 = performance.now();
    expect(glob.test(deep)).toBe(true);
    expect(glob.test(miss)).toBe(false);
    expect(glob.test(`${"a/".repeat(2)}x.bin`)).toBe(false); // needs three a/ folders
    expect(glob.test(`${"a/".repeat(3)}x.bin`)).toBe(true);
    // Typically well under 50 ms; the bound is loose so a loaded machine does not flake.
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("a policy decision on a hostile member path within the suppressible length is fast", () => {
    const policy = resolvePolicy({ suppressions: [{ rule: "format/polyglot", path: HOSTILE_GLOB, reason: "r" }] });
    const t0 = performance.now();
    expect(policy.decide("format/polyglot", `m.pt!${"a/".repeat(2000)}`).action).toBe("keep");
    expect(policy.decide("format/polyglot", `${"a/".repeat(2000)}w.bin`).action).toBe("suppress");
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("other classic worst cases stay fast", () => {
    const t0 = performance.now();
    expect(compileGlob("*a*a*a*a*a*a*a*a*a*a*b").test("a".repeat(4000))).toBe(false);
    expect(compileGlob(`${"**a".repeat(100)}b`).test("a".repeat(4000))).toBe(false);
    expect(compileGlob(`{${"a,".repeat(50)}a}**{x,**}**c`).test(`a${"x".repeat(4000)}`)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe("the dialect is unchanged", () => {
  it.each([
    ["**", "", true],
    ["**/x", "x", true],
    ["**/x", "a!b/x", true],
    ["**/x", "a!x", false],
    ["a**b", "a/x!y/b", true],
    ["a*b", "a/b", false],
    ["a?b", "a!b", false],
    ["[!a]", "/", true], // a negated set matches any other character, as before
    ["[]]", "]", true],
    ["[!]]", "x]", true], // `[!]` is the empty negated set (any character), then `]`
    ["[a-]", "-", true],
    ["[\\-a]", "]", true],
    ["x,y", "x,y", true],
    ["{x,y}", "y", true],
    ["{a\\,b,c}", "a,b", true],
    ["😀?", "😀😀", true],
    ["?", "😀", true],
    ["[😀-😂]", "😁", true],
  ])("%s ~ %j → %s", (glob, path, expected) => {
    expect(compileGlob(glob).test(path)).toBe(expected);
    expect(referenceGlob(glob).test(path)).toBe(expected);
  });

  it("rejects the same malformed patterns with POLICY errors", () => {
    for (const bad of ["", "a\\", "[a", "{a,{b}}", "a}", "{a", "[z-a]", "x".repeat(1025)]) {
      let error: unknown;
      try {
        compileGlob(bad);
      } catch (e) {
        error = e;
      }
      expect(isModelgateError(error, "POLICY"), bad).toBe(true);
    }
  });

  it("agrees with the reference on random patterns and paths (fast-check, fixed seed)", () => {
    const piece = fc.constantFrom(
      "a",
      "b",
      ".",
      "/",
      "!",
      ",",
      "-",
      "*",
      "**",
      "**/",
      "?",
      "[ab]",
      "[!a]",
      "[a-c]",
      "[]a]",
      "\\*",
      "\\{",
      "\\\\",
      "😀",
    );
    const plain = fc.array(piece, { maxLength: 6 }).map((p) => p.join(""));
    const braces = fc
      .tuple(plain, fc.array(plain, { minLength: 1, maxLength: 3 }), plain)
      .map(([before, alts, after]) => `${before}{${alts.join(",")}}${after}`);
    const pattern = fc.oneof(plain, braces).filter((p) => p.length > 0);
    const path = fc
      .array(fc.constantFrom("a", "b", "c", ".", "/", "!", ",", "-", "*", "]", "\\", "\n", "😀"), { maxLength: 10 })
      .map((p) => p.join(""));
    fc.assert(
      fc.property(pattern, fc.array(path, { minLength: 1, maxLength: 8 }), (p, paths) => {
        const glob = compileGlob(p);
        const reference = referenceGlob(p);
        for (const s of paths) {
          if (glob.test(s) !== reference.test(s)) throw new Error(`${JSON.stringify(p)} on ${JSON.stringify(s)}`);
        }
        // Paths the pattern itself spells out: matches are not only the rare random ones.
        const literal = p.replace(/\\(.)/gu, "$1").replace(/[*?{},[\]]/g, "");
        expect(glob.test(literal)).toBe(reference.test(literal));
      }),
      { seed: 1313, numRuns: 2000 },
    );
  });
});
