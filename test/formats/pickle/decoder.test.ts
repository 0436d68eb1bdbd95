import { describe, expect, it } from "vitest";
import { decodePickle, type OpArg, type OpSink, PickleError, SinkAction } from "../../../src/formats/pickle/decoder.js";
import { SourceInput, StreamInput } from "../../../src/formats/pickle/input.js";
import { HIGHEST_PROTOCOL, OPCODES, opcodeInfo, opcodeName } from "../../../src/formats/pickle/opcodes.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { bytes, op } from "./helpers.js";

interface Seen {
  code: number;
  offset: number;
  num: number;
  text?: string;
  blob?: number;
}

/** A sink that records opcodes and stops at STOP. */
function recorder(): OpSink & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    op(code: number, offset: number, a: OpArg) {
      const rec: Seen = { code, offset, num: a.num };
      if (a.blob !== undefined) rec.blob = a.blob.length;
      else if (a.end > a.start) rec.text = Buffer.from(a.buf.subarray(a.start, a.end)).toString("latin1");
      seen.push(rec);
      return code === 0x2e ? SinkAction.Stop : SinkAction.Continue;
    },
    async special() {
      return SinkAction.Continue;
    },
  };
}

const decode = (data: Uint8Array, options = {}) => {
  const sink = recorder();
  return decodePickle(new SourceInput(new BufferSource(data), 0, data.length, 7), sink, options).then((r) => ({
    r,
    sink,
  }));
};

describe("opcode table", () => {
  it("has every opcode of CPython's _pickle.c, each byte once", () => {
    expect(OPCODES).toHaveLength(68);
    expect(new Set(OPCODES.map((o) => o.code)).size).toBe(68);
    for (const name of [
      "FRAME",
      "MEMOIZE",
      "BYTEARRAY8",
      "NEXT_BUFFER",
      "READONLY_BUFFER",
      "EXT1",
      "EXT2",
      "EXT4",
      "INST",
      "OBJ",
      "NEWOBJ_EX",
      "PERSID",
      "BINPERSID",
      "STACK_GLOBAL",
    ]) {
      expect(
        OPCODES.some((o) => o.name === name),
        name,
      ).toBe(true);
    }
    expect(opcodeInfo(0x95)?.arg).toBe("u8");
    expect(opcodeInfo(0xff)).toBeUndefined();
    expect(opcodeName(0xff)).toBe("0xff");
    expect(HIGHEST_PROTOCOL).toBe(5);
  });
});

describe("decodePickle", () => {
  it("decodes every argument kind across tiny chunks", async () => {
    const data = bytes(
      op.proto(4),
      op.frame(60),
      [0x4b, 7, 0x4d, 0x34, 0x12, 0x4a, 0xff, 0xff, 0xff, 0xff],
      [0x47, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
      "I42\n",
      op.sbu("héllo"),
      op.global("os", "path"),
      [0x8a, 2, 0xff, 0x7f],
      [0x8e, 3, 0, 0, 0, 0, 0, 0, 0],
      "abc",
      op.stop,
    );
    const { r, sink } = await decode(data);
    expect(r.stopped).toBe(true);
    expect(r.end).toBe(data.length);
    expect(sink.seen.map((s) => opcodeName(s.code))).toEqual([
      "PROTO",
      "FRAME",
      "BININT1",
      "BININT2",
      "BININT",
      "BINFLOAT",
      "INT",
      "SHORT_BINUNICODE",
      "GLOBAL",
      "LONG1",
      "BINBYTES8",
      "STOP",
    ]);
    expect(sink.seen[3]?.num).toBe(0x1234);
    expect(sink.seen[4]?.num).toBe(-1);
    expect(sink.seen[6]?.text).toBe("42");
    expect(sink.seen[10]?.text).toBe("abc");
  });

  it("reports truncation and unknown opcodes with the offset CPython stops at", async () => {
    await expect(decode(bytes(op.proto(2), [0x58, 10, 0, 0, 0], "abc"))).rejects.toMatchObject({
      kind: "truncated",
      offset: 2,
    });
    await expect(decode(bytes("N", [0xff]))).rejects.toMatchObject({ kind: "malformed", offset: 1 });
    await expect(decode(bytes("N"))).rejects.toThrow(/no STOP/);
    await expect(decode(bytes("cos\nsys"))).rejects.toBeInstanceOf(PickleError);
    await expect(decode(bytes([0x80, 6], "N."))).rejects.toThrow(/unsupported pickle protocol: 6/);
  });

  it("does not copy payloads above inlineMax, and keeps their head", async () => {
    const big = new Uint8Array(5000).fill(0x41);
    const { sink } = await decode(bytes(op.bb(big), op.stop), { inlineMax: 1000, headBytes: 16 });
    expect(sink.seen[0]?.blob).toBe(5000);
    await expect(decode(bytes(op.bb(big).subarray(0, 3000)), { inlineMax: 1000 })).rejects.toMatchObject({
      kind: "truncated",
    });
  });

  it("reads from a stream of chunks", async () => {
    const data = bytes(op.proto(4), op.bu("x".repeat(300)), "I1\n", op.stop);
    async function* chunks() {
      for (let i = 0; i < data.length; i += 5) yield data.subarray(i, i + 5);
    }
    const sink = recorder();
    const r = await decodePickle(new StreamInput(chunks()), sink);
    expect(r.stopped).toBe(true);
    expect(sink.seen.map((s) => s.code)).toEqual([0x80, 0x58, 0x49, 0x2e]);
  });

  it("enforces the line and opcode budgets", async () => {
    await expect(decode(bytes("S'", "a".repeat(5000), "'\n."), { maxLineBytes: 100 })).rejects.toMatchObject({
      kind: "budget",
    });
    await expect(decode(bytes("N0".repeat(80_000), "N."), { maxOpcodes: 100_000 })).rejects.toMatchObject({
      kind: "budget",
      budget: "maxOpcodes",
    });
  });

  it("notices where the C and Python unpicklers read FRAMEs differently", async () => {
    const body = bytes(op.sglobal("os", "system"), op.stop);
    // frame ends inside the SHORT_BINUNICODE payload of 'system'
    const straddle = await decode(bytes(op.proto(4), op.frame(7), body));
    expect(straddle.r.divergence?.message).toMatch(/reads across the end of its FRAME/);
    // frame ends exactly between the length byte and the payload: both agree
    const exact = await decode(bytes(op.proto(4), op.frame(6), body));
    expect(exact.r.divergence).toBeUndefined();
    // a new frame before the old one ends
    const early = await decode(bytes(op.proto(4), op.frame(20), [0x4e], op.frame(1), [0x30], body));
    expect(early.r.divergence?.message).toMatch(/before the current frame ends/);
    // a frame longer than the input
    const long = await decode(bytes(op.proto(4), op.frame(500), [0x4e, 0x2e]));
    expect(long.r.divergence?.message).toMatch(/the C unpickler fails/);
    // well-framed stream: no divergence
    const fine = await decode(bytes(op.proto(4), op.frame(body.length), body));
    expect(fine.r.divergence).toBeUndefined();
  });
});

describe("disassemble", () => {
  it("lists opcodes with offsets and arguments, and where the stream breaks", async () => {
    const { disassemble } = await import("../../../src/formats/pickle/disassemble.js");
    const d = await disassemble(
      new SourceInput(
        new BufferSource(bytes(op.proto(2), op.global("os", "system"), op.bu("echo"), op.call1, op.stop)),
      ),
    );
    expect(d.ops.map((o) => `${o.offset} ${o.name} ${o.arg}`.trim())).toEqual([
      "0 PROTO 2",
      "2 GLOBAL os system",
      '13 BINUNICODE "echo"',
      "22 TUPLE1",
      "23 REDUCE",
      "24 STOP",
    ]);
    const broken = await disassemble(new SourceInput(new BufferSource(bytes("N", [0xff]))));
    expect(broken.error).toEqual({ offset: 1, message: "invalid load key, '\\xff'" });
  });
});
