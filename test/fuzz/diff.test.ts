/**
 * The fixed-seed slice of `npm run fuzz:diff`: 240 generated streams (every protocol and opcode)
 * and 60 mutants, with what CPython's C unpickler imported and called (test/fuzz/diff/slice.json,
 * recorded by `npm run fuzz:diff -- --write-slice`; no Python needed here). modelgate must report
 * every import and call CPython made.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { disassemble } from "../../src/formats/pickle/disassemble.js";
import { SourceInput } from "../../src/formats/pickle/input.js";
import { OPCODES } from "../../src/formats/pickle/opcodes.js";
import { BufferSource } from "../../src/sources/byte-source.js";
import { type CpythonRecord, compare, modelgateView } from "./diff.js";
import { generatePickles } from "./pickle-gen.js";
import { REPO_ROOT } from "./targets.js";

interface Slice {
  readonly python: string;
  readonly seed: number;
  readonly streams: ReadonlyArray<{ readonly name: string; readonly b64: string; readonly cpython: CpythonRecord }>;
}
const slice = JSON.parse(readFileSync(join(REPO_ROOT, "test", "fuzz", "diff", "slice.json"), "utf8")) as Slice;
const streams = slice.streams.map((s) => ({ ...s, bytes: new Uint8Array(Buffer.from(s.b64, "base64")) }));

describe(`differential slice (CPython ${slice.python})`, () => {
  it("the generator still makes the recorded streams (else re-record the slice)", () => {
    const generated = generatePickles(slice.seed, 240);
    const recorded = streams.filter((s) => s.name.startsWith("gen-"));
    expect(recorded.length).toBe(240);
    recorded.forEach((s, i) => {
      expect(Buffer.from(generated[i]?.bytes ?? []).toString("base64"), s.name).toBe(s.b64);
    });
  });

  it("covers every protocol and every opcode CPython accepts", async () => {
    const seen = new Set<string>();
    const protocols = new Set<string>();
    for (const s of streams.filter((x) => x.name.startsWith("gen-"))) {
      protocols.add(s.name.slice(s.name.lastIndexOf("-") + 1));
      const d = await disassemble(new SourceInput(new BufferSource(s.bytes), 0), 100_000);
      for (const op of d.ops) seen.add(op.name);
    }
    expect([...protocols].sort()).toEqual(["p0", "p1", "p2", "p3", "p4", "p5"]);
    expect(OPCODES.map((o) => o.name).filter((n) => !seen.has(n))).toEqual([]);
  });

  it("CPython's records hold imports, calls, instantiations and BUILDs to compare against", () => {
    const ops = new Map<string, number>();
    for (const s of streams) for (const e of s.cpython.events) ops.set(e.op, (ops.get(e.op) ?? 0) + 1);
    expect(ops.get("import") ?? 0).toBeGreaterThan(500);
    expect(ops.get("call") ?? 0).toBeGreaterThan(300);
    expect(ops.get("new") ?? 0).toBeGreaterThan(30);
    expect(ops.get("build") ?? 0).toBeGreaterThan(10);
  });

  it("modelgate reports every global CPython imported and every callable it invoked", async () => {
    const failures: string[] = [];
    let compared = 0;
    for (const s of streams) {
      const c = compare(s.cpython, await modelgateView(s.bytes));
      compared += s.cpython.events.length - c.afterStop;
      if (c.missing.length > 0) failures.push(`${s.name}: ${c.missing.join("; ")}`);
    }
    expect(failures).toEqual([]);
    // most events are compared, not excused by an early stop
    expect(compared).toBeGreaterThan(1000);
  });
});
