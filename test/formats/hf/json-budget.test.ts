// Bounded memory on any JSON (issue 13, item 6): a 24 MB config.json of `{}` once peaked at 2.1 GB
// and 60 MB ran Node out of memory. Configs are now parsed with depth, value, string-length and
// tree-memory budgets into a compact tree; past a budget the file is `invalid` with a typed finding.
// The memory tests run first, so this worker's peak RSS is theirs (VmHWM is reset before each).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isModelgateError } from "../../../src/core/errors.js";
import { JsonNumber, JsonObject, parsePlainJson, parseStrictJson, toPlain } from "../../../src/core/json.js";
import { CONFIG_JSON_BUDGETS, parseConfigJson, parseConfigJsonPlain } from "../../../src/formats/hf/text.js";
import { scan } from "../../../src/scan/engine.js";

const MB = 1024 * 1024;
const PEAK_LIMIT_MIB = 512;
/** RSS of a bare Node 24 process that has imported the library (measured: 47–87 MiB). */
const BARE_NODE_MIB = 90;

/** `[unit,unit,...]` of about `bytes` bytes. */
function repeated(unit: string, bytes: number): string {
  const n = Math.max(1, Math.floor(bytes / (unit.length + 1)));
  return `[${`${unit},`.repeat(n - 1)}${unit}]`;
}

/** 500-deep `{"a":{"a":...{}}}` chains, side by side. */
const CHAIN = `${'{"a":'.repeat(500)}{}${"}".repeat(500)}`;

const budgetOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (error) {
    if (isModelgateError(error, "BUDGET_EXCEEDED")) return error.budget;
    throw error;
  }
};

/** Peak resident memory of this process since the last reset, in MiB (Linux). */
const peakMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) / 1024;
/** Resets VmHWM to the current RSS (Linux ≥ 4.0). */
function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}
const CAN_MEASURE = existsSync("/proc/self/status") && resetPeak();

/** A full garbage collection (the test's own 24 MB string is not the scan's). */
const collect: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "mg-json-budget-"));
});
afterAll(() => rm(base, { recursive: true, force: true }));

async function configDir(name: string, text: string, file = "config.json"): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir);
  await writeFile(join(dir, file), text);
  return dir;
}

describe("scanning a hostile 24 MB config.json", () => {
  // Measured in this worker (vitest's "forks" pool: a fresh process per test file), on the first
  // test of the file: the scan's growth of the peak RSS, plus what a bare Node process holding the
  // library starts from, must stay within 512 MiB (the worker's own start, vitest included, is
  // larger). `npm run bench json-memory` measures every shape at 24 and 60 MB in its own process.
  it.skipIf(!CAN_MEASURE)(
    "[{},{},...]: a typed invalid verdict, peak RSS at most 512 MiB",
    async () => {
      const dir = await configDir("hostile-objs", repeated("{}", 24 * MB));
      collect();
      expect(resetPeak()).toBe(true);
      const before = peakMiB();
      const report = await scan(dir, { hash: false, signature: false });
      const peak = peakMiB() - before + BARE_NODE_MIB;
      await rm(dir, { recursive: true, force: true });
      const file = report.files[0]!;
      expect(file.verdict).toBe("invalid");
      expect(file.findings.find((f) => f.ruleId === "repo/invalid-json")?.message).toMatch(/MiB of memory/);
      expect(file.findings.map((f) => f.ruleId)).not.toContain("scan/internal-error");
      expect(peak, `peak RSS ${peak.toFixed(0)} MiB`).toBeLessThanOrEqual(PEAK_LIMIT_MIB);
    },
    120_000,
  );

  it('500-deep {"a":{"a":...}} chains: a typed invalid verdict', async () => {
    const dir = await configDir("hostile-chains", repeated(CHAIN, 24 * MB));
    const report = await scan(dir, { hash: false, signature: false });
    await rm(dir, { recursive: true, force: true });
    const file = report.files[0]!;
    expect(file.verdict).toBe("invalid");
    expect(file.findings.find((f) => f.ruleId === "repo/invalid-json")?.message).toMatch(/MiB of memory/);
  }, 60_000);

  it("a single 4 M-deep chain stops at the depth budget", async () => {
    const depth = 4 * MB;
    const dir = await configDir("hostile-deep", `${'{"a":'.repeat(depth)}{}${"}".repeat(depth)}`);
    const report = await scan(dir, { hash: false, signature: false });
    await rm(dir, { recursive: true, force: true });
    expect(report.files[0]?.verdict).toBe("invalid");
    expect(report.files[0]?.findings.find((f) => f.ruleId === "repo/invalid-json")?.message).toMatch(/nesting deeper/);
  });
});

describe("config JSON budgets", () => {
  it("4 MB of `{}` entries is analysed (clean), not refused", async () => {
    const dir = await configDir("small-objs", repeated("{}", 4 * MB));
    const report = await scan(dir, { hash: false, signature: false });
    expect(report.files[0]?.verdict).toBe("clean");
    expect(report.files[0]?.findings).toEqual([]);
  });

  it("past the tree-memory budget: BUDGET_EXCEEDED `jsonTreeBytes`, whatever the shape", () => {
    const tiny = { maxTreeBytes: 1 * MB };
    for (const unit of ["{}", "[]", "10", '{"a":0}', '"ab"', "[0,0]", CHAIN]) {
      expect(
        budgetOf(() => parseConfigJson(repeated(unit, 1 * MB), undefined, tiny)),
        unit,
      ).toBe("jsonTreeBytes");
      expect(
        budgetOf(() => parseConfigJsonPlain(repeated(unit, 1 * MB), undefined, tiny)),
        unit,
      ).toBe("jsonTreeBytes");
    }
    const keys = `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":null`).join(",")}}`;
    expect(budgetOf(() => parseConfigJson(keys, undefined, tiny))).toBe("jsonTreeBytes");
    // The defaults refuse 12 MB of `{}` (4 M objects, about 190 MiB).
    expect(budgetOf(() => parseConfigJson(repeated("{}", 12 * MB)))).toBe("jsonTreeBytes");
    // The tree gets what the text leaves of the total: the text counts twice.
    const text = repeated("{}", 64 * 1024);
    expect(budgetOf(() => parseConfigJson(text, undefined, { maxTotalBytes: 2 * text.length + 4096 }))).toBe(
      "jsonTreeBytes",
    );
    expect(
      budgetOf(() => parseConfigJson(text, undefined, { maxTotalBytes: 2 * text.length + 4 * MB })),
    ).toBeUndefined();
  });

  it("the other budgets are typed too", () => {
    expect(budgetOf(() => parseConfigJson(`${"[".repeat(600)}${"]".repeat(600)}`))).toBe("jsonDepth");
    expect(budgetOf(() => parseConfigJson(repeated("null", 1 * MB), undefined, { maxValues: 1000 }))).toBe(
      "jsonValues",
    );
    expect(budgetOf(() => parseConfigJson(`"${"a".repeat(2000)}"`, undefined, { maxStringLength: 1000 }))).toBe(
      "jsonStringLength",
    );
    expect(budgetOf(() => parseConfigJson(`"${"\\n".repeat(2000)}"`, undefined, { maxStringLength: 1000 }))).toBe(
      "jsonStringLength",
    );
    expect(CONFIG_JSON_BUDGETS.maxDepth).toBe(512);
  });

  it("a Gemma-3-sized tokenizer.json (262,144 vocabulary entries, 514,906 merges) fits the budgets", () => {
    let x = 12345;
    const rnd = () => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x / 0x7fffffff;
    };
    const piece = () => {
      let s = "";
      for (let i = 1 + Math.floor(rnd() * 10); i > 0; i--) s += String.fromCharCode(97 + Math.floor(rnd() * 26));
      return s;
    };
    const vocab: Record<string, number> = {};
    for (let i = 0; i < 262_144; i++) vocab[`${piece()}_${i.toString(36)}`] = i;
    const merges: string[][] = [];
    for (let j = 0; j < 514_906; j++) merges.push([piece(), piece()]);
    const text = JSON.stringify({ version: "1.0", model: { type: "BPE", vocab, merges } }, null, 2);
    expect(text.length).toBeGreaterThan(30 * MB);
    const root = parseConfigJson(text).value as JsonObject;
    const model = root.get("model") as JsonObject;
    expect((model.get("vocab") as JsonObject).size).toBe(262_144);
    expect((model.get("merges") as unknown[]).length).toBe(514_906);
  }, 60_000);
});

describe("the compact JSON tree", () => {
  it("small and large objects keep first-appearance order, the last value, and report duplicates", () => {
    const small = '{"b":1,"a":2,"b":3}';
    const large = `{${Array.from({ length: 20 }, (_, i) => `"k${i}":${i}`).join(",")},"k3":"again","k19":"last"}`;
    for (const text of [small, large]) {
      const { value, duplicates } = parseStrictJson(text);
      const obj = value as JsonObject;
      const plain = JSON.parse(text) as Record<string, unknown>;
      expect([...obj.items()].map(([k]) => k)).toEqual(Object.keys(plain));
      expect([...obj.entries.keys()]).toEqual(Object.keys(plain));
      expect(obj.size).toBe(Object.keys(plain).length);
      for (const [k, v] of Object.entries(plain)) expect(toPlain(obj.get(k) as never)).toEqual(v);
      expect(obj.get("missing")).toBeUndefined();
      expect(duplicates.length).toBe(text === small ? 1 : 2);
    }
  });

  it("duplicate paths name the holding object as before (`/`-joined keys and indices)", () => {
    const { duplicates } = parseStrictJson('[{"a":{"x":1,"x":2}},{"b":[0,{"k":1,"k":2}]}]');
    expect(duplicates.map((d) => [d.key, d.path])).toEqual([
      ["x", "/0/a"],
      ["k", "/1/b/1"],
    ]);
    const nested = parseStrictJson('{"m":{"n":[{"y":1,"y":1}]},"z":1,"z":2}').duplicates;
    expect(nested.map((d) => [d.key, d.path])).toEqual([
      ["y", "m/n/0"],
      ["z", ""],
    ]);
  });

  it("a JsonObject built by hand still works through `entries`", () => {
    const obj = new JsonObject(0);
    expect(obj.size).toBe(0);
    obj.entries.set("a", new JsonNumber("1", 5));
    expect((obj.get("a") as JsonNumber).raw).toBe("1");
    expect(obj.size).toBe(1);
  });

  it("strings with many escapes decode exactly (no cons-string chains)", () => {
    const value = `${"\\n\\u00e9\\\\".repeat(10_000)}end`;
    const text = `"${value}"`;
    expect(parseStrictJson(text).value).toBe(JSON.parse(text));
  });

  it("parsePlainJson agrees with JSON.parse (property), __proto__ stays an own key", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const text = JSON.stringify(v);
        expect(parsePlainJson(text).value).toEqual(JSON.parse(text));
        expect(toPlain(parseStrictJson(text).value)).toEqual(JSON.parse(text));
      }),
      { seed: 1306, numRuns: 300 },
    );
    const proto = parsePlainJson('{"__proto__":{"polluted":true},"a":1}').value as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(["__proto__", "a"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parseConfigJsonPlain("[NaN,-Infinity,1e400]")).toEqual([Number.NaN, -Infinity, Infinity]);
  });
});
