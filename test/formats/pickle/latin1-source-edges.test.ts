/**
 * `latin1Source` (src/formats/pickle/latin1-source.ts): the latin-1 bytes of UTF-8 text, read on
 * demand. Its first pass reads the input in chunks of `CHUNK` (1 MiB) and records where every
 * `STEP`-th (64 KiB) output byte starts; a code point may be split between two chunks, and reads
 * start from the nearest mark. A regression guard of those edges: empty input, an input of exactly
 * one chunk, a two-byte code point cut by the chunk boundary, reads across marks, and what Python's
 * `encode('latin-1')` refuses. These pass on the current code.
 */
import { describe, expect, it } from "vitest";
import { BufferSource, type ByteSource } from "../../../src/core/byte-source.js";
import { latin1Source } from "../../../src/formats/pickle/latin1-source.js";

/** The first pass's chunk size and the marks' step (constants of latin1-source.ts). */
const CHUNK = 1 << 20;
const STEP = 64 * 1024;

/** The UTF-8 bytes of a latin-1 string (every code point below 256). */
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
/** What Python's `s.encode('latin-1')` returns. */
const latin1 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

/** The first index where two byte arrays differ, -1 when equal (a failing `toEqual` of MiBs diffs for minutes). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Reads the whole source in pieces of `piece` bytes. */
async function readAll(src: ByteSource, piece: number): Promise<Uint8Array> {
  const out = new Uint8Array(src.size);
  for (let at = 0; at < src.size; at += piece) out.set(await src.read(at, piece), at);
  return out;
}

/** `n` code points: ASCII and U+0080..U+00FF mixed, so input offsets drift from output offsets. */
function mixed(n: number, seed = 7): string {
  let x = seed;
  let s = "";
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(x % 3 === 0 ? 0x80 + (x % 128) : 0x20 + (x % 95));
  }
  return s;
}

describe("latin1Source edges", () => {
  it("empty input is an empty source", async () => {
    const src = await latin1Source(new BufferSource(new Uint8Array(0)));
    expect(src?.size).toBe(0);
    expect((await src!.read(0, 10)).length).toBe(0);
  });

  it.each([CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK])("ASCII of %i bytes (around one chunk) is itself", async (n) => {
    const text = `${"a".repeat(n - 1)}z`;
    const src = await latin1Source(new BufferSource(utf8(text)));
    expect(src?.size).toBe(n);
    expect(Buffer.from(await src!.read(n - 3, 10)).toString("latin1")).toBe("aaz".slice(-Math.min(3, n)));
    expect((await src!.read(n, 5)).length).toBe(0);
  });

  it("a two-byte code point cut by the chunk boundary is decoded", async () => {
    for (const lead of [CHUNK - 1, CHUNK - 2, CHUNK]) {
      // `lead` ASCII bytes, then é (C3 A9): its lead byte is the last of the first chunk when lead = CHUNK - 1
      const text = `${"b".repeat(lead)}é${"c".repeat(100)}`;
      const src = await latin1Source(new BufferSource(utf8(text)));
      expect(src?.size, `${lead}`).toBe(text.length);
      expect(await src!.read(lead - 1, 3), `${lead}`).toEqual(latin1(`bé${"c"}`));
    }
  });

  it("an input of exactly one chunk ending in a two-byte code point", async () => {
    const text = `${"d".repeat(CHUNK - 2)}ÿ`;
    expect(utf8(text).length).toBe(CHUNK);
    const src = await latin1Source(new BufferSource(utf8(text)));
    expect(src?.size).toBe(CHUNK - 1);
    expect(await src!.read(CHUNK - 3, 10)).toEqual(latin1("dÿ"));
  });

  it("reads across marks and chunks agree with the whole encoding", async () => {
    const text = mixed(CHUNK + 3 * STEP + 17);
    const src = await latin1Source(new BufferSource(utf8(text)));
    const want = latin1(text);
    expect(src?.size).toBe(want.length);
    for (const piece of [STEP, STEP - 1, STEP + 1, 4093])
      expect(firstDifference(await readAll(src!, piece), want), `${piece}`).toBe(-1);
    for (const k of [1, 2, 15, 16, 17]) {
      const at = k * STEP;
      for (const [from, length] of [
        [at - 1, 2],
        [at, 1],
        [at - 5, STEP + 10],
        [at + 1, 3],
      ] as const) {
        const got = await src!.read(from, length);
        expect(firstDifference(got, want.subarray(from, from + length)), `${from}+${length}`).toBe(-1);
      }
    }
  });

  it("what encode('latin-1') refuses or UTF-8 does not allow is undefined", async () => {
    // a code point of 256 or more, at the chunk boundary too
    expect(await latin1Source(new BufferSource(utf8("abcĀ")))).toBeUndefined();
    const wide = new Uint8Array(CHUNK + 4).fill(0x61);
    wide.set([0xc4, 0x80], CHUNK - 1);
    expect(await latin1Source(new BufferSource(wide))).toBeUndefined();
    // a lead byte with nothing after it (at the end, and at the end of exactly one chunk)
    expect(await latin1Source(new BufferSource(new Uint8Array([0x61, 0xc3])))).toBeUndefined();
    const cut = new Uint8Array(CHUNK).fill(0x61);
    cut[CHUNK - 1] = 0xc3;
    expect(await latin1Source(new BufferSource(cut))).toBeUndefined();
    // a lead byte followed across the boundary by no continuation byte
    const broken = new Uint8Array(CHUNK + 2).fill(0x61);
    broken[CHUNK - 1] = 0xc3;
    expect(await latin1Source(new BufferSource(broken))).toBeUndefined();
    // a continuation byte with no lead
    expect(await latin1Source(new BufferSource(new Uint8Array([0x61, 0xa9])))).toBeUndefined();
  });
});
