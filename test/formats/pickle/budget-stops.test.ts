/**
 * A stop of the pickle machine (a budget exceeded, a malformed opcode) must not hide what the
 * stream imports after it: the rest of the stream is swept for imports and every denied or
 * unknown name is reported at its own severity (`after-stop.ts`). CPython has none of the
 * machine's budgets: 4 million `None`s, 100,001 MARKs or a memo of 100 million entries followed
 * by `posix.system` run the call.
 */
import { deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { analyzePickleStream, type PickleAnalysis } from "../../../src/formats/pickle/analyze.js";
import { StreamInput } from "../../../src/formats/pickle/input.js";
import { scanOne } from "../../helpers/scan.js";
import { analyze, bytes, op } from "./helpers.js";

/** `posix.system('touch /tmp/x')` as protocol 0 writes it (GLOBAL, MARK, STRING, TUPLE, REDUCE). */
const SYSTEM0 = "cposix\nsystem\n(S'touch /tmp/x'\ntR.";
/** The same through STACK_GLOBAL. */
const SYSTEM4 = bytes(op.sglobal("posix", "system"), op.sbu("touch /tmp/x"), op.call1, op.stop);

const repeat = (c: string, n: number): Uint8Array => new Uint8Array(n).fill(c.charCodeAt(0));

function sweptCritical(a: PickleAnalysis, name = "posix.system"): boolean {
  return a.findings.some(
    (f) => f.ruleId === "pickle/dangerous-global" && f.severity === "critical" && f.evidence?.callee === name,
  );
}

describe("imports after a budget stop", () => {
  it("reports a dangerous GLOBAL after the stack budget (F2)", async () => {
    const a = await analyze(bytes(op.proto(2), repeat("N", 1001), SYSTEM0), { machine: { maxStack: 1000 } });
    expect(a.invalid).toBe(true);
    expect(a.findings.some((f) => f.ruleId === "scan/budget-exceeded")).toBe(true);
    expect(sweptCritical(a)).toBe(true);
  });

  it("reports a STACK_GLOBAL import after the stack budget", async () => {
    const a = await analyze(bytes(op.proto(4), repeat("N", 1001), SYSTEM4), { machine: { maxStack: 1000 } });
    expect(sweptCritical(a)).toBe(true);
  });

  it("finds an import whose first string was read before the stop", async () => {
    // the module str is the last item the stack takes; the name str is the one past the budget
    const a = await analyze(bytes(op.proto(4), repeat("N", 999), SYSTEM4), { machine: { maxStack: 1000 } });
    expect(a.findings.some((f) => f.ruleId === "scan/budget-exceeded")).toBe(true);
    expect(sweptCritical(a)).toBe(true);
  });

  it("reports it after the mark budget, the memo budget, the globals budget and the opcode budget", async () => {
    const marks = await analyze(bytes(op.proto(2), repeat("(", 101), SYSTEM0), { machine: { maxMarks: 100 } });
    expect(sweptCritical(marks)).toBe(true);
    const memo = [];
    for (let i = 0; i < 20; i++) memo.push(0x4e, 0x94, 0x30); // None MEMOIZE POP
    const m = await analyze(bytes(op.proto(4), memo, SYSTEM4), { machine: { maxMemo: 10 } });
    expect(m.findings.some((f) => f.evidence?.budget === "maxMemo")).toBe(true);
    expect(sweptCritical(m)).toBe(true);
    const globals = [];
    for (let i = 0; i < 12; i++) globals.push(...bytes(`ccollections\nOrderedDict${i}\n0`));
    const g = await analyze(bytes(op.proto(2), globals, SYSTEM0), { machine: { maxRefs: 10 } });
    expect(g.findings.some((f) => f.evidence?.budget === "maxRefs")).toBe(true);
    expect(sweptCritical(g)).toBe(true);
    const o = await analyze(bytes(op.proto(2), repeat("N", 200), SYSTEM0), { decoder: { maxOpcodes: 100 } });
    expect(sweptCritical(o)).toBe(true);
  });

  it("reports names outside the allowlist after the stop at their own severity", async () => {
    const a = await analyze(bytes(op.proto(2), repeat("N", 1001), "cevilpkg\nrun\n(tR."), {
      machine: { maxStack: 1000 },
    });
    const f = a.findings.find((x) => x.evidence?.callee === "evilpkg.run");
    expect(f?.ruleId).toBe("pickle/unknown-global");
  });

  it("does not report again what the machine saw before the stop", async () => {
    const a = await analyze(bytes(op.proto(2), SYSTEM0.slice(0, -1), "0", repeat("N", 1001), "N."), {
      machine: { maxStack: 1000 },
    });
    expect(a.findings.filter((f) => f.evidence?.callee === "posix.system")).toHaveLength(1);
  });
});

describe("imports after a stop in a stream (not random-access)", () => {
  async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < data.length; i += size) yield data.slice(i, i + size);
  }

  it("reads the rest of the stream on from where the analysis stopped", async () => {
    for (const size of [7, 64, 1 << 16]) {
      const data = bytes(op.proto(2), repeat("N", 1001), "0".repeat(3000), SYSTEM0);
      const a = await analyzePickleStream(new StreamInput(chunked(data, size)), {
        context: "pickle",
        machine: { maxStack: 1000 },
      });
      expect(a.findings.some((f) => f.evidence?.budget === "maxStack")).toBe(true);
      const hit = a.findings.find((f) => f.evidence?.callee === "posix.system");
      expect(hit?.severity).toBe("critical");
      expect(hit?.offset).toBe(2 + 1001 + 3000);
    }
  });

  it("finds an import cut by the stop in the stream's buffer", async () => {
    const data = bytes(op.proto(4), repeat("N", 999), SYSTEM4);
    const a = await analyzePickleStream(new StreamInput(chunked(data, 1 << 16)), {
      context: "pickle",
      machine: { maxStack: 1000 },
    });
    expect(sweptCritical(a)).toBe(true);
  });
});

describe("imports after a malformed stop", () => {
  it("reports an import after a stack underflow", async () => {
    const a = await analyze(bytes(op.proto(2), "0", SYSTEM0));
    expect(a.findings.some((f) => f.ruleId === "pickle/malformed")).toBe(true);
    expect(sweptCritical(a)).toBe(true);
  });

  it("reports denied names after a stop in data that follows the pickle", async () => {
    // the first pickle ends; what follows starts with an opcode, so loaders that read several
    // pickles (legacy torch.load) read it as one: it breaks at the stack budget, then imports
    const a = await analyze(bytes(op.proto(2), "N.", repeat("N", 1001), SYSTEM0), { machine: { maxStack: 1000 } });
    expect(a.findings.some((f) => f.ruleId === "pickle/trailing-data")).toBe(true);
    expect(sweptCritical(a)).toBe(true);
  });
});

describe("the PoC files through the scan", () => {
  it("reports posix.system after 4,000,001 None (F2_stack_budget.pkl)", async () => {
    const file = await scanOne(bytes(op.proto(2), repeat("N", 4_000_001), SYSTEM0), "F2_stack_budget.pkl");
    expect(file.findings.some((f) => f.ruleId === "scan/budget-exceeded")).toBe(true);
    expect(
      file.findings.some(
        (f) =>
          f.ruleId === "pickle/dangerous-global" && f.severity === "critical" && f.message.includes("posix.system"),
      ),
    ).toBe(true);
    expect(file.verdict).toBe("malicious");
    // `posix` holds an `i`: INST `x.system` is not another reading of the same line
    expect(file.findings.some((f) => f.ruleId === "pickle/unknown-global")).toBe(false);
  }, 60_000);

  it("reports posix.system after the stack budget in a zlib-compressed joblib file (read as a stream)", async () => {
    const inner = bytes(op.proto(2), repeat("N", 1_000_001), SYSTEM0);
    const file = await scanOne(deflateSync(inner), "model.joblib");
    expect(file.findings.some((f) => f.evidence?.budget === "maxStack")).toBe(true);
    expect(
      file.findings.some((f) => f.ruleId === "pickle/dangerous-global" && f.message.includes("posix.system")),
    ).toBe(true);
  }, 60_000);

  it("reports posix.system after 100,001 MARKs in a gzip stream", async () => {
    const inner = bytes(op.proto(2), repeat("(", 100_001), SYSTEM0);
    const file = await scanOne(gzipSync(inner), "marks.pkl.gz");
    expect(
      file.findings.some((f) => f.ruleId === "pickle/dangerous-global" && f.message.includes("posix.system")),
    ).toBe(true);
  });
});

describe("the sweep after a stop reads each import once", () => {
  it("does not read the letters of a GLOBAL's name as another import", async () => {
    // protocol 0 after the stop: `cbuiltins\nslice\np1\n` is not also INST `ce.p1`; the GLOBAL
    // after the junk line is still found
    const rest = "cbuiltins\nslice\np1\n0Ncevilpkg\nrun\n(tR.";
    const a = await analyze(bytes(repeat("N", 1001), rest), { machine: { maxStack: 1000 } });
    const unknown = a.findings.filter((f) => f.ruleId === "pickle/unknown-global").map((f) => f.evidence?.callee);
    expect(unknown).toEqual(["evilpkg.run"]);
  });
});

describe("names the analysis saw under their Python 3 name", () => {
  it("are not reported again by the sweep", async () => {
    // `__builtin__.eval` is imported as `builtins.eval` before the stop; the sweep reads the bytes
    const a = await analyze(bytes(op.proto(2), repeat("N", 997), "c__builtin__\neval\n", repeat("N", 10), "."), {
      machine: { maxStack: 1000 },
    });
    expect(a.findings.some((f) => f.ruleId === "scan/budget-exceeded")).toBe(true);
    expect(a.findings.filter((f) => f.ruleId === "pickle/dangerous-global")).toHaveLength(1);
  });
});

describe("imports after the machine's time budget", () => {
  it("stops as a budget (not the file's deadline) and sweeps the rest", async () => {
    // 300,000 slow opcodes (EMPTY_DICT, POP) take well over a millisecond
    const slow = "}0".repeat(300_000);
    const a = await analyze(bytes(op.proto(2), slow, SYSTEM0), { machine: { maxMillis: 1 } });
    expect(a.findings.some((f) => f.evidence?.budget === "maxMillis")).toBe(true);
    expect(sweptCritical(a)).toBe(true);
  });
});

describe("the machine's clock follows the file's time budget", () => {
  it("analyzers give each machine half the file's time (at most the default), so a clock stop leaves time for the sweep", async () => {
    const { pickleBudgets } = await import("../../../src/formats/pickle/analyzer.js");
    const { DEFAULT_MAX_MILLIS } = await import("../../../src/formats/pickle/vm.js");
    const { fakeContext } = await import("./helpers.js");
    const ctx = fakeContext(new Uint8Array([0x4e, 0x2e]), "pickle").ctx;
    expect(pickleBudgets({ ...ctx, limits: { ...ctx.limits, fileTimeoutMs: 10_000 } }).maxMillis).toBe(5_000);
    expect(pickleBudgets({ ...ctx, limits: { ...ctx.limits, fileTimeoutMs: 3_600_000 } }).maxMillis).toBe(
      DEFAULT_MAX_MILLIS,
    );
  });
});

describe("a speculative pickle reading that stops", () => {
  it("sweeps only the bytes it holds: a guess beside another format never reads the file whole", async () => {
    const { analyzePickleStream } = await import("../../../src/formats/pickle/analyze.js");
    const { SourceInput } = await import("../../../src/formats/pickle/input.js");
    const { BufferSource } = await import("../../../src/core/byte-source.js");
    // a malformed opcode at once, then 4 MiB of bytes with a denied import at their end
    const bytes = Buffer.concat([Buffer.from([0x80, 0x02, 0xff]), Buffer.alloc(4 << 20), Buffer.from("cos\nsystem\n")]);
    const reads: number[] = [];
    const source = new BufferSource(bytes);
    const counting = {
      size: source.size,
      read: (o: number, n: number) => {
        reads.push(o + n);
        return source.read(o, n);
      },
    };
    const bounded = await analyzePickleStream(new SourceInput(counting, 0), {
      context: "pickle",
      afterStopEnd: 65_536,
    });
    expect(bounded.findings.some((f) => f.ruleId === "pickle/dangerous-global")).toBe(false);
    expect(Math.max(...reads)).toBeLessThan(bytes.length); // the input read ahead, the sweep not to the end
    const whole = await analyzePickleStream(new SourceInput(new BufferSource(bytes), 0), { context: "pickle" });
    expect(whole.findings.some((f) => f.ruleId === "pickle/dangerous-global")).toBe(true);
  });
});
