/**
 * The opcode table is the single source of opcode facts: it agrees with CPython's own
 * `pickletools.opcodes` (recorded in data/pickletools-opcodes.json by
 * scripts/pickle/gen_pickletools_opcodes.py, so no Python is needed here), the lookup tables the
 * engine dispatches on are derived from it, and every `case 0xNN: // NAME` in the pickle code names
 * the opcode the table gives 0xNN.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodePickle, type OpSink, SinkAction } from "../../../src/formats/pickle/decoder.js";
import { SourceInput } from "../../../src/formats/pickle/input.js";
import {
  ARG_DESCRIPTORS,
  ARG_KINDS,
  ARG_SHAPES,
  FIXED_LITERAL,
  FIXED_WIDTH,
  HIGHEST_PROTOCOL,
  K_INVALID,
  KIND_OF,
  LENGTH_BYTES,
  OPCODES,
  opcodeInfo,
  opcodeName,
  POPS,
  PY_SIGNED_LENGTH,
  TEXT_PAYLOAD,
} from "../../../src/formats/pickle/opcodes.js";
import { BufferSource } from "../../../src/sources/byte-source.js";

interface PickletoolsOp {
  name: string;
  code: number;
  arg: { name: string; n: number } | null;
  stackBefore: string[];
  stackAfter: string[];
  proto: number;
}
const PT = JSON.parse(readFileSync(join(import.meta.dirname, "data", "pickletools-opcodes.json"), "utf8")) as {
  source: string;
  highestProtocol: number;
  argN: Record<string, number>;
  opcodes: PickletoolsOp[];
};

describe("the opcode table agrees with CPython's pickletools", () => {
  it("has the same opcodes, bytes and highest protocol", () => {
    expect(PT.opcodes.length).toBeGreaterThan(60);
    expect(OPCODES.map((o) => o.name).sort()).toEqual(PT.opcodes.map((o) => o.name).sort());
    expect(new Set(OPCODES.map((o) => o.code)).size).toBe(OPCODES.length);
    expect(HIGHEST_PROTOCOL).toBe(PT.highestProtocol);
  });

  for (const py of PT.opcodes) {
    it(`${py.name}: byte, argument, stack effect, protocol`, () => {
      const o = opcodeInfo(py.code);
      expect(o?.name).toBe(py.name);
      if (o === undefined) return;
      expect(o.argName).toBe(py.arg?.name ?? "none");
      expect(ARG_DESCRIPTORS[o.argName].n).toBe(py.arg?.n ?? 0);
      expect(o.arg).toBe(ARG_DESCRIPTORS[o.argName].kind);
      expect(o.before).toEqual(py.stackBefore);
      expect(o.after).toEqual(py.stackAfter);
      expect(o.proto).toBe(py.proto);
    });
  }

  it("describes each argument descriptor's n by its kind's shape", () => {
    for (const [name, d] of Object.entries(ARG_DESCRIPTORS)) {
      const s = ARG_SHAPES[d.kind];
      const n = d.n;
      if (name === "none") expect([s.width, s.lengthBytes, s.lines]).toEqual([0, 0, 0]);
      else if (n > 0) expect(s.width, name).toBe(n);
      else if (n === PT.argN.UP_TO_NEWLINE) expect(s.lines, name).toBeGreaterThan(0);
      else if (n === PT.argN.TAKEN_FROM_ARGUMENT1) expect(s.lengthBytes, name).toBe(1);
      else if (n === PT.argN.TAKEN_FROM_ARGUMENT4 || n === PT.argN.TAKEN_FROM_ARGUMENT4U)
        expect(s.lengthBytes, name).toBe(4);
      else expect([name, n, s.lengthBytes]).toEqual([name, PT.argN.TAKEN_FROM_ARGUMENT8U, 8]);
    }
  });
});

describe("lookup tables derived from the table", () => {
  it("give every byte's argument kind, widths and stack facts", () => {
    for (let code = 0; code < 256; code++) {
      const o = opcodeInfo(code);
      if (o === undefined) {
        expect(KIND_OF[code]).toBe(K_INVALID);
        expect(FIXED_WIDTH[code]).toBe(0);
        continue;
      }
      const s = ARG_SHAPES[o.arg];
      expect(ARG_KINDS[KIND_OF[code] as number]).toBe(o.arg);
      expect(FIXED_WIDTH[code]).toBe(s.lines === 0 && s.lengthBytes === 0 ? 1 + s.width : 0);
      expect(LENGTH_BYTES[code]).toBe(s.lengthBytes);
      expect(POPS[code]).toBe(o.before.includes("mark") ? 0 : o.before.length + 1);
    }
    const names = (t: Uint8Array) => OPCODES.filter((o) => t[o.code] === 1).map((o) => o.name);
    expect(names(FIXED_LITERAL).sort()).toEqual(
      ["BINFLOAT", "BININT", "BININT1", "BININT2", "NEWFALSE", "NEWTRUE", "NONE"].sort(),
    );
    expect(names(PY_SIGNED_LENGTH)).toEqual(["BINSTRING"]);
    expect(names(TEXT_PAYLOAD).sort()).toEqual(["BINUNICODE", "BINUNICODE8", "SHORT_BINUNICODE"]);
  });

  it("the decoder consumes exactly the table's width for every fixed-width opcode", async () => {
    for (const o of OPCODES) {
      const w = FIXED_WIDTH[o.code] as number;
      if (w === 0) continue;
      // the opcode with a zero argument, then a STOP: its width is where the STOP is read
      const bytes = new Uint8Array(w + 1);
      bytes[0] = o.code;
      bytes[w] = 0x2e;
      const seen: [number, number][] = [];
      const sink: OpSink = {
        op(code, offset) {
          seen.push([code, offset]);
          return code === 0x2e || seen.length > 1 ? SinkAction.Stop : SinkAction.Continue;
        },
        special: async () => SinkAction.Continue,
      };
      if (o.name === "STOP") continue;
      await decodePickle(new SourceInput(new BufferSource(bytes)), sink, { fastPath: false }).catch(() => undefined);
      expect(seen[1], o.name).toEqual([0x2e, w]);
    }
  });
});

/** Every `.ts` file of the pickle engine, with its text. */
function engineSources(): { file: string; text: string }[] {
  const root = join(import.meta.dirname, "..", "..", "..", "src", "formats");
  const out: { file: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) out.push({ file: p, text: readFileSync(p, "utf8") });
    }
  };
  walk(join(root, "pickle"));
  return out;
}

describe("opcode names in the code", () => {
  const sources = engineSources();

  it("every `case 0xNN: // NAME` names the table's opcode 0xNN", () => {
    // `case 0x47: // BINFLOAT`, or `case 0x46: {` with `// FLOAT` on the next line
    const re = /case (0x[0-9a-fA-F]{2}):[ \t]*(?:\{[ \t]*\n[ \t]*)?\/\/[ \t]*([A-Z][A-Z0-9_]*)\b/g;
    let checked = 0;
    const wrong: string[] = [];
    for (const { file, text } of sources) {
      for (const m of text.matchAll(re)) {
        checked++;
        const code = Number.parseInt(m[1] as string, 16);
        if (opcodeName(code) !== m[2]) wrong.push(`${file}: case ${m[1]} says ${m[2]}, the table ${opcodeName(code)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(80);
  });

  it("every opcode case of the engine's switches carries its name", () => {
    // a bare `case 0xNN:` in a switch over opcode bytes hides which opcode it is
    const bare: string[] = [];
    for (const { file, text } of sources) {
      for (const m of text.matchAll(/case (0x[0-9a-fA-F]{2}):[ \t]*(\{)?[ \t]*(\n[ \t]*\/\/[^\n]*|\/\/[^\n]*)?/g)) {
        const code = Number.parseInt(m[1] as string, 16);
        // byte switches that are not over opcodes (escapes of STRING lines)
        if (file.endsWith("literals.ts") || file.endsWith("values.ts")) continue;
        if (m[3] === undefined && opcodeInfo(code) !== undefined) bare.push(`${file}: case ${m[1]}`);
      }
    }
    expect(bare).toEqual([]);
  });

  it("every `case N: // kind` of the decoder's switch names ARG_KINDS[N]", () => {
    const decoder = sources.find((s) => s.file.endsWith("decoder.ts"))?.text ?? "";
    const re = /case (\d+):[ \t]*(?:\{[ \t]*\n[ \t]*)?\/\/[ \t]*([a-z0-9]+)\b/g;
    const seen = new Set<number>();
    for (const m of decoder.matchAll(re)) {
      const n = Number(m[1]);
      expect(ARG_KINDS[n], `case ${n}`).toBe(m[2]);
      seen.add(n);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(ARG_KINDS.map((_, i) => i));
  });
});
