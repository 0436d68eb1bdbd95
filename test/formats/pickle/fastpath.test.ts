/**
 * The pickle engine's fast path (deferred literal runs, fast memo puts) and SourceInput's buffer
 * reuse change nothing the analysis reports: every sample and random streams built to exercise
 * them are analysed identically with and without them.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  analyzePickleStream,
  type PickleAnalysis,
  type PickleAnalysisOptions,
} from "../../../src/formats/pickle/analyze.js";
import { SourceInput, StreamInput } from "../../../src/formats/pickle/input.js";
import { PyDict, PySeq, preview, type Value } from "../../../src/formats/pickle/values.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES } from "../../helpers/scan.js";
import { bytes, callees, op, ReusingSource } from "./helpers.js";

/** A source that reads into the caller's buffers and records which buffers it was given. */
class TrackingSource extends ReusingSource {
  readonly targets = new Set<ArrayBufferLike>();
  reads = 0;

  override readInto(offset: number, target: Uint8Array): Promise<number> {
    this.targets.add(target.buffer);
    this.reads++;
    return super.readInto(offset, target);
  }
}

/** A value with what its preview leaves out: exact counts and dunder keys past the cap. */
function deep(v: Value | undefined, depth = 0): unknown {
  if (depth > 6) return "…";
  if (v instanceof PySeq) return [v.kind, v.count, v.items.map((x) => deep(x, depth + 1))];
  if (v instanceof PyDict) {
    return [
      "dict",
      v.count,
      v.keys.map((k, i) => [deep(k, depth + 1), deep(v.values[i], depth + 1)]),
      (v.overflowDunders ?? []).map(([k, x]) => [k, deep(x, depth + 1)]),
    ];
  }
  return preview(v, 1000);
}

/** Everything an analysis reports, in a comparable form. */
function summary(a: PickleAnalysis): unknown {
  return {
    findings: a.findings,
    facts: a.facts,
    end: a.end,
    invalid: a.invalid,
    trailing: a.trailingOffset,
    runs: a.runs.map((r) => ({
      error: r.error === undefined ? undefined : [r.error.message, r.error.offset, r.error.kind, r.error.budget],
      decoded: r.result,
      value: deep(r.machine.result),
      refs: [...r.machine.refs.values()].map((s) => [s.name, s.refCount, s.callCount, s.calls, s.escaped, s.mutated]),
      events: r.machine.events,
      nested: r.machine.nested.map((n) => [n.kind, n.via, n.offset]),
      persistent: r.machine.persistentIds.map((p) => preview(p.pid)),
    })),
  };
}

type Options = Omit<PickleAnalysisOptions, "context">;

// Where a broken pickle's analysis is said to end depends on where the input's reads fell (as
// before the fast path), so each reference reads in the same pieces.

/** Reference: no fast path, fresh buffers (reads of `chunk` bytes). */
function slow(data: Uint8Array, o: Options = {}, chunk = 1 << 20): Promise<PickleAnalysis> {
  return analyzePickleStream(new SourceInput(new BufferSource(data), 0, data.length, chunk), {
    context: "pickle",
    ...o,
    decoder: { ...o.decoder, fastPath: false },
  });
}

/** Fast path over reused buffers. */
function fast(data: Uint8Array, chunk: number, o: Options = {}): Promise<PickleAnalysis> {
  return analyzePickleStream(new SourceInput(new TrackingSource(data), 0, data.length, chunk), {
    context: "pickle",
    ...o,
  });
}

/** A stream cut in pieces of the given sizes (fast path unless `o.decoder` turns it off). */
function streamed(data: Uint8Array, cuts: number[], o: Options = {}): Promise<PickleAnalysis> {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    let at = 0;
    for (let i = 0; at < data.length; i++) {
      const n = Math.max(1, cuts[i % cuts.length] ?? 1);
      yield data.slice(at, at + n);
      at += n;
    }
  }
  return analyzePickleStream(new StreamInput(chunks()), { context: "pickle", ...o });
}

const f64 = (x: number) => {
  const b = Buffer.alloc(9);
  b[0] = 0x47;
  b.writeDoubleBE(x, 1);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(5);
  b[0] = 0x4a;
  b.writeInt32LE(n, 1);
  return b;
};
const u32 = (code: number, n: number) => {
  const b = Buffer.alloc(5);
  b[0] = code;
  b.writeUInt32LE(n >>> 0, 1);
  return b;
};

describe("fast path: same analysis with and without it", () => {
  const dirs = ["plain", "malicious", "sklearn"].map((d) => join(SAMPLES, "pickle", d));
  const files = dirs.flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith(".pkl"))
      .map((f) => join(d, f)),
  );

  it("on every pickle sample, with default and with tiny container and memo budgets", async () => {
    expect(files.length).toBeGreaterThan(40);
    for (const file of files) {
      const data = new Uint8Array(readFileSync(file));
      for (const machine of [{}, { containerCap: 2, memoDetailCap: 2 }]) {
        const want = summary(await slow(data, { machine }));
        expect(summary(await fast(data, 1 << 20, { machine })), file).toEqual(want);
        const small = summary(await slow(data, { machine }, 40));
        expect(summary(await fast(data, 40, { machine })), `${file} (40-byte buffers)`).toEqual(small);
        const cuts = [7, 1, 300];
        const pieces = summary(await streamed(data, cuts, { machine, decoder: { fastPath: false } }));
        expect(summary(await streamed(data, cuts, { machine })), `${file} (stream)`).toEqual(pieces);
      }
    }
  });

  it("counts batches into full containers exactly", async () => {
    // {"f": [1000 floats in batches of 100], "d": {"k0": 0, ... 500 entries in batches of 50}}
    const parts: (number[] | Uint8Array)[] = [op.proto(4), [0x7d, 0x94, 0x28], op.sbu("f"), [0x5d, 0x94]];
    for (let b = 0; b < 10; b++) {
      parts.push([0x28]);
      for (let k = 0; k < 100; k++) parts.push(f64(b * 100 + k + 0.5));
      parts.push([0x65]);
    }
    parts.push(op.sbu("d"), [0x7d, 0x94]);
    for (let b = 0; b < 10; b++) {
      parts.push([0x28]);
      for (let k = b * 50; k < b * 50 + 50; k++) parts.push(op.sbu(`k${k}`), [0x94], i32(k));
      parts.push([0x75]);
    }
    parts.push([0x75, 0x2e]);
    const data = bytes(...parts);
    for (const chunk of [1 << 20, 64, 9]) {
      const a = await fast(data, chunk, { machine: { memoDetailCap: 16 } });
      expect(a.invalid).toBe(false);
      expect(summary(a)).toEqual(summary(await slow(data, { machine: { memoDetailCap: 16 } }, chunk)));
      const shown = preview(a.runs[0]?.machine.result, 100_000);
      expect(shown).toContain("'f': [0.5, 1.5, 2.5");
      expect(shown).toContain("…+936]"); // 1000 floats, 64 kept
      expect(shown).toContain("'d': {'k0': 0, 'k1': 1");
      expect(shown).toContain("…+436}"); // 500 entries, 64 kept
    }
  });

  it("still sees a dunder key, a memoised name and a call past the container budget", async () => {
    // a full dict gets '__reduce__' in a later batch; a memoised 'os'/'system' from a batch is
    // used by STACK_GLOBAL; REDUCE inside a batch ends the deferred run
    const parts: (number[] | Uint8Array)[] = [op.proto(4), [0x7d, 0x94]];
    for (let b = 0; b < 3; b++) {
      parts.push([0x28]);
      for (let k = 0; k < 4; k++) parts.push(op.sbu(`k${b}${k}`), [0x94], [0x4b, k]);
      if (b === 1) parts.push(op.sbu("os"), [0x94], op.sbu("system"), [0x94], [0x30, 0x30]);
      if (b === 2) parts.push(op.sbu("__reduce__"), [0x88]);
      parts.push([0x75]);
    }
    parts.push([0x28], op.sbu("x"), [0x68, 9, 0x68, 10, 0x93], op.sbu("id"), op.call1, [0x75, 0x2e]);
    const data = bytes(...parts);
    // 'os' and 'system' are memo entries 9 and 10: in the dense part, then in the far part
    for (const machine of [
      { containerCap: 2, memoDetailCap: 16 },
      { containerCap: 2, memoDetailCap: 6 },
    ]) {
      for (const chunk of [1 << 20, ...Array.from({ length: 48 }, (_, i) => i + 1)]) {
        expect(summary(await fast(data, chunk, { machine }))).toEqual(summary(await slow(data, { machine }, chunk)));
      }
      expect(callees(await fast(data, 16, { machine }))).toContain("os.system");
    }
    const machine = { containerCap: 2, memoDetailCap: 16 };
    const a = await fast(data, 16, { machine });
    const dict = a.runs[0]?.machine.result;
    expect(dict instanceof PyDict && [dict.count, dict.overflowDunders?.map(([k]) => k)]).toEqual([14, ["__reduce__"]]);
  });

  it("reports the same budget errors at the same offsets", async () => {
    for (const item of [op.sbu("s"), f64(0.5), bytes([0x4e])]) {
      const data = bytes(
        op.proto(4),
        [0x5d, 0x28],
        f64(1),
        f64(2),
        [0x65, 0x28],
        ...Array(20).fill(item),
        [0x65, 0x2e],
      );
      for (let maxStack = 2; maxStack < 24; maxStack++) {
        for (const chunk of [1 << 20, 7]) {
          const o = { machine: { containerCap: 2, maxStack } };
          const want = await slow(data, o, chunk);
          expect(summary(await fast(data, chunk, o))).toEqual(summary(want));
          if (maxStack < 21) expect(want.runs[0]?.error?.budget).toBe("maxStack");
        }
      }
    }
    // the opcode budget is checked every 65,536 opcodes, also inside fast runs
    const parts: (number[] | Uint8Array)[] = [op.proto(4), [0x5d]];
    for (let b = 0; b < 70; b++) parts.push([0x28], ...Array(1000).fill(f64(b)), [0x65]);
    const data = bytes(...parts, [0x2e]);
    for (const chunk of [1 << 20, 5000]) {
      const o = { decoder: { maxOpcodes: 100 } };
      const want = await slow(data, o, chunk);
      expect(want.runs[0]?.error?.budget).toBe("maxOpcodes");
      expect(summary(await fast(data, chunk, o))).toEqual(summary(want));
    }
  });

  it("pushes a run padded with memo puts and FRAMEs at a buffer change instead of copying it", async () => {
    const pad = bytes(...Array(600).fill([0x71, 3]), ...Array(100).fill(op.frame(0)));
    const data = bytes(
      op.proto(4),
      [0x5d, 0x28],
      f64(1),
      f64(2),
      [0x65],
      [0x28],
      f64(3),
      pad,
      f64(4),
      pad,
      [0x65, 0x2e],
    );
    for (const chunk of [1 << 20, 4096, 1000]) {
      const o = { machine: { containerCap: 2 } };
      expect(summary(await fast(data, chunk, o))).toEqual(summary(await slow(data, o, chunk)));
    }
  });

  it("reuses two buffers when the source reads into them, unless lazy strs refer to one", async () => {
    const parts: (number[] | Uint8Array)[] = [op.proto(4), [0x5d, 0x94]];
    for (let b = 0; b < 50; b++) {
      parts.push([0x28]);
      for (let k = 0; k < 100; k++) parts.push(f64(k), op.sbu(`s${k}`));
      parts.push([0x65]);
    }
    parts.push([0x2e]);
    const data = bytes(...parts);
    const source = new TrackingSource(data);
    const a = await analyzePickleStream(new SourceInput(source, 0, data.length, 4096), { context: "pickle" });
    expect(a.invalid).toBe(false);
    expect(source.reads).toBeGreaterThan(data.length / 4096);
    // the first batch goes into an empty list: its strs are made lazily and keep their buffer
    expect(source.targets.size).toBe(3);
    const list = a.runs[0]?.machine.result;
    expect(list instanceof PySeq && list.count).toBe(10_000);
  });
});

// ---------------------------------------------------------------- random streams

const STRS = ["a", "__x", "__", "__", "_", "os", "system", "builtins", "eval", "", "é", "abé", "long string of 20 b"];
const str = fc.oneof(
  fc.constantFrom(...STRS).map((s) => op.sbu(s)),
  fc.constantFrom(...STRS).map((s) => op.bu(s)),
  // invalid UTF-8, the bad byte anywhere in a word
  fc.nat(6).map((at) =>
    bytes(
      [0x8c, 7],
      Uint8Array.from({ length: 7 }, (_, i) => (i === at ? 0xff : 0x41)),
    ),
  ),
);
const literal = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.double(), fc.integer({ min: -5, max: 5 })).map(f64) },
  { weight: 3, arbitrary: fc.integer().map(i32) },
  fc.nat(255).map((n) => bytes([0x4b, n])),
  fc.nat(65535).map((n) => bytes([0x4d, n & 0xff, n >> 8])),
  fc.constantFrom(bytes([0x4e]), bytes([0x88]), bytes([0x89])),
  { weight: 4, arbitrary: str },
);
const memoIndex = fc.oneof(fc.nat(12), fc.constant(70_000), fc.nat(0xffffffff));
const memoOp = fc.oneof(
  { weight: 4, arbitrary: fc.constant(bytes([0x94])) },
  memoIndex.map((n) => (n < 256 ? bytes([0x71, n]) : u32(0x72, n))),
  memoIndex.map((n) => (n < 256 ? bytes([0x68, n]) : u32(0x6a, n))),
);
const ender = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(bytes([0x65]), bytes([0x75])) }, // APPENDS, SETITEMS
  fc.constantFrom(
    ...[0x90, 0x61, 0x73, 0x74, 0x6c, 0x64, 0x31, 0x30, 0x32, 0x85, 0x86, 0x93, 0x52, 0x62, 0x91].map((c) =>
      bytes([c]),
    ),
  ),
);
const container = fc.constantFrom(
  bytes([0x5d]),
  bytes([0x7d]),
  bytes([0x8f]),
  bytes([0x29]),
  op.global("os", "system"),
);
const frame = fc.nat(120).map((n) => bytes(op.frame(n)));
/** A batch as picklers write it: MARK, literals (some memoised, some before a FRAME), an end. */
const batch = fc
  .tuple(
    fc.array(fc.tuple(literal, fc.option(memoOp, { freq: 3 }), fc.option(frame, { freq: 8 })), { maxLength: 12 }),
    ender,
  )
  .map(([items, end]) => bytes([0x28], ...items.flatMap((parts) => parts.filter((x) => x !== null)), end));
const token = fc.oneof(
  { weight: 6, arbitrary: batch },
  { weight: 3, arbitrary: container },
  { weight: 3, arbitrary: literal },
  { weight: 2, arbitrary: memoOp },
  { weight: 2, arbitrary: ender },
  { weight: 1, arbitrary: frame },
  { weight: 1, arbitrary: fc.constant(bytes([0x28])) },
);
const budgets = fc.record({
  containerCap: fc.integer({ min: 0, max: 4 }),
  memoDetailCap: fc.integer({ min: 0, max: 4 }),
  // strs past the detail budget: no room, room for one chunk of indexes and 4 KiB, the default
  memoStrBytes: fc.constantFrom(0, 16384 + 4096, 32 << 20),
  maxStack: fc.integer({ min: 3, max: 30 }),
  maxMemo: fc.integer({ min: 2, max: 100 }),
  maxMarks: fc.integer({ min: 1, max: 20 }),
});

describe("fast path on random streams", () => {
  it("gives the same analysis as the reference on streams of batches", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(token, { maxLength: 40 }),
        budgets,
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 4 }),
        fc.nat(3),
        async (tokens, machine, chunk, cuts, variant) => {
          const data = bytes(op.proto(4), ...tokens, [0x2e]);
          const o: Options = { machine, decoder: { maxOpcodes: variant === 0 ? 30 : 100_000 } };
          expect(summary(await fast(data, chunk, o))).toEqual(summary(await slow(data, o, chunk)));
          if (variant === 1) {
            const want = summary(await streamed(data, cuts, { ...o, decoder: { ...o.decoder, fastPath: false } }));
            expect(summary(await streamed(data, cuts, o))).toEqual(want);
          }
        },
      ),
      { seed: 20250801, numRuns: 1500 },
    );
  });
});
