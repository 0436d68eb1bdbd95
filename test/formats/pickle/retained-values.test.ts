/**
 * The machine's retained-value budget (`MachineOptions.maxRetained`, `RETAINED` in values.ts):
 * values kept inside other values are charged, so that a small pickle cannot make the analysis
 * hold gigabytes (3.9 million nested lists in 7.8 MB took 1.3 GB and six at once ran the heap
 * out), and the stop it makes hides nothing after it (the rest is swept: `after-stop.ts`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PickleAnalysis } from "../../../src/formats/pickle/analyze.js";
import { DEFAULT_MAX_RETAINED, defaultMachineOptions, type PickleMachine } from "../../../src/formats/pickle/vm.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";
import { analyze, bytes } from "./helpers.js";

const SYSTEM0 = "cposix\nsystem\n(S'touch /tmp/x'\ntR.";
const repeat = (c: string, n: number): Uint8Array => new Uint8Array(n).fill(c.charCodeAt(0));
/** `n` empty lists, each appended to the one below: one list nested `n` deep. */
const chain = (n: number): Uint8Array => bytes(repeat("]", n), repeat("a", n - 1));
/** A list of `width` lists of ... `depth` levels (CPython's batched APPENDS). */
function tree(width: number, depth: number): string {
  return depth === 0 ? "]" : `](${tree(width, depth - 1).repeat(width)}e`;
}

const budgetOf = (a: PickleAnalysis): unknown => a.runs[0]?.error?.budget;
const units = (a: PickleAnalysis): number => (a.runs[0]?.machine as PickleMachine | undefined)?.retainedUnits ?? -1;
const sweptSystem = (a: PickleAnalysis): boolean =>
  a.findings.some((f) => f.ruleId === "pickle/dangerous-global" && f.evidence?.callee === "posix.system");

describe("retained values", () => {
  it("stops nested lists at the budget, on the fast path and off it, and sweeps what follows", async () => {
    for (const fastPath of [true, false]) {
      const a = await analyze(bytes([0x80, 2], chain(1000), "0", SYSTEM0), {
        machine: { maxRetained: 400 },
        decoder: { fastPath },
      });
      expect(budgetOf(a)).toBe("maxRetained");
      expect(a.findings.some((f) => f.ruleId === "scan/budget-exceeded")).toBe(true);
      expect(sweptSystem(a)).toBe(true);
    }
  });

  it("stops a wide tree (each list keeps its 64 items) at the budget", async () => {
    const a = await analyze(bytes([0x80, 2], tree(64, 3), "0", SYSTEM0), { machine: { maxRetained: 10_000 } });
    expect(budgetOf(a)).toBe("maxRetained");
    expect(sweptSystem(a)).toBe(true);
  });

  it("charges calls that keep earlier calls in their arguments", async () => {
    // r = OrderedDict(); then r = OrderedDict((r,)) again and again, through the memo
    const step = "0h\x00h\x01\x85Rq\x01";
    const data = bytes([0x80, 2], "ccollections\nOrderedDict\nq\x00)Rq\x01", step.repeat(200), "0", SYSTEM0);
    const a = await analyze(data, { machine: { maxRetained: 500 } });
    expect(budgetOf(a)).toBe("maxRetained");
    expect(sweptSystem(a)).toBe(true);
  });

  it("charges each machine for its own values when analyses interleave", async () => {
    const data = bytes([0x80, 2], chain(200), ".");
    const alone = await analyze(data, { machine: { maxRetained: 1000 } });
    expect(alone.invalid).toBe(false);
    const both = await Promise.all([1, 2, 3].map(() => analyze(data, { machine: { maxRetained: 1000 } })));
    for (const a of both) {
      expect(a.invalid).toBe(false);
      expect(units(a)).toBe(units(alone));
    }
  });

  it("keeps real pickles far below the default", async () => {
    expect(defaultMachineOptions().maxRetained).toBe(DEFAULT_MAX_RETAINED);
    for (const name of ["hub/forest.pkl", "vocabulary/feature_union.pkl"]) {
      const a = await analyze(new Uint8Array(readFileSync(join(SAMPLES, name))));
      expect(a.invalid).toBe(false);
      expect(units(a)).toBeLessThan(DEFAULT_MAX_RETAINED / 100);
    }
  });
});

describe("the nested-list PoC through the scan", () => {
  it("3.9 million nested lists (F4_nested_lists_7MB.pkl) are a budget stop, not clean", async () => {
    const file = await scanOne(bytes([0x80, 2], chain(3_900_000), "."), "F4_nested_lists_7MB.pkl");
    expect(file.verdict).toBe("invalid");
    expect(file.findings.some((f) => f.ruleId === "scan/budget-exceeded")).toBe(true);
  }, 60_000);

  it("chains under the stack budget stop at the retained budget and the payload is found", async () => {
    const data = bytes([0x80, 2], chain(900_000), chain(900_000), SYSTEM0);
    const file = await scanOne(data, "chains.pkl");
    expect(file.findings.some((f) => f.evidence?.budget === "maxRetained")).toBe(true);
    expect(file.verdict).toBe("malicious");
  }, 60_000);
});
