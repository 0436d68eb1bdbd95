/**
 * The two branch converters xz has and 7z's filters (`../sevenzip/filters.ts`) do not: IA-64 and
 * ARM64 (liblzma 5.4+), decoding direction, written from the xz format's filter descriptions.
 * Python's lzma module decodes blocks that use them, so a pickle behind them is loaded; without
 * them the stream could not be analysed.
 * @module
 */
import type { ByteFilter } from "../sevenzip/filters.js";

/** Converts what it can of `data` in place; returns how many leading bytes are final. */
type Converter = (data: Uint8Array, pos: number) => number;

/** Runs a converter over a stream, carrying the bytes of an unfinished instruction into the next call. */
function carrying(convert: Converter): ByteFilter {
  let pos = 0;
  let held = new Uint8Array(0);
  return {
    process(chunk: Uint8Array, final: boolean): Uint8Array {
      const data = new Uint8Array(held.length + chunk.length);
      data.set(held);
      data.set(chunk, held.length);
      let done = convert(data, pos);
      if (final) done = data.length;
      pos = (pos + done) >>> 0;
      held = data.slice(done);
      return data.subarray(0, done);
    },
  };
}

/** Which of a bundle's three slots hold branches, by the bundle's template (low 5 bits). */
const IA64_SLOTS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 6, 6, 0, 0, 7, 7, 4, 4, 0, 0, 4, 4, 0, 0];

/** IA-64: 128-bit bundles whose IP-relative branch slots hold 21-bit bundle offsets. */
export function ia64Filter(): ByteFilter {
  return carrying((data, pos) => {
    let i = 0;
    for (; i + 16 <= data.length; i += 16) {
      const mask = IA64_SLOTS[(data[i] as number) & 0x1f] as number;
      for (let slot = 0, bitPos = 5; slot < 3; slot++, bitPos += 41) {
        if (((mask >>> slot) & 1) === 0) continue;
        const bytePos = bitPos >>> 3;
        const bitRes = BigInt(bitPos & 7);
        let instruction = 0n;
        for (let j = 0; j < 6; j++) instruction |= BigInt(data[i + j + bytePos] as number) << BigInt(8 * j);
        let norm = instruction >> bitRes;
        if (((norm >> 37n) & 0xfn) !== 5n || ((norm >> 9n) & 7n) !== 0n) continue;
        let src = Number((norm >> 13n) & 0xfffffn);
        src |= Number((norm >> 36n) & 1n) << 20;
        src = (src << 4) >>> 0;
        const dest = ((src - ((pos + i) >>> 0)) >>> 0) >>> 4;
        norm &= ~(0x8fffffn << 13n);
        norm |= BigInt(dest & 0xfffff) << 13n;
        norm |= BigInt(dest & 0x100000) << 16n;
        instruction &= (1n << bitRes) - 1n;
        instruction |= norm << bitRes;
        for (let j = 0; j < 6; j++) data[i + j + bytePos] = Number((instruction >> BigInt(8 * j)) & 0xffn);
      }
    }
    return i;
  });
}

/** ARM64: `BL` (26-bit word offsets) and `ADRP` (21-bit page offsets within ±512 MiB). */
export function arm64Filter(): ByteFilter {
  return carrying((data, pos) => {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let i = 0;
    for (; i + 4 <= data.length; i += 4) {
      const pc = (pos + i) >>> 0;
      let instr = view.getUint32(i, true);
      if (instr >>> 26 === 0x25) {
        instr = (0x94000000 | ((instr - (pc >>> 2)) & 0x03ffffff)) >>> 0;
        view.setUint32(i, instr, true);
      } else if ((instr & 0x9f000000) >>> 0 === 0x90000000) {
        const src = ((instr >>> 29) & 3) | ((instr >>> 3) & 0x001ffffc);
        if (((src + 0x00020000) & 0x001c0000) !== 0) continue;
        const dest = (src - (pc >>> 12)) >>> 0;
        instr &= 0x9000001f;
        instr |= (dest & 3) << 29;
        instr |= (dest & 0x0003fffc) << 3;
        instr |= (0 - (dest & 0x00020000)) & 0x00e00000;
        view.setUint32(i, instr >>> 0, true);
      }
    }
    return i;
  });
}
