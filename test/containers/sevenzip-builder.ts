/**
 * A small 7z writer for tests: Copy-coded (or caller-supplied) folders and a plain header, with
 * knobs for hostile headers. Real archives come from the `7z` binary (samples/sevenzip).
 */
import { crc32 } from "node:zlib";

const enc = new TextEncoder();

/** The variable-length number encoding of 7z headers. */
export function num(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0x80n) return [Number(v)];
  const out: number[] = [];
  for (let extra = 1; extra <= 8; extra++) {
    const highBits = 7 - extra;
    if (extra === 8 || v < 1n << BigInt(8 * extra + highBits)) {
      const marker = extra === 8 ? 0xff : (0xff << (8 - extra)) & 0xff;
      const high = extra >= 7 ? 0 : Number(v >> BigInt(8 * extra));
      out.push(marker | high);
      for (let i = 0; i < extra; i++) {
        out.push(Number(v & 0xffn));
        v >>= 8n;
      }
      return out;
    }
  }
  throw new Error("unreachable");
}

const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** UTF-16LE, NUL-terminated. */
function name16(name: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    out.push(c & 0xff, c >>> 8);
  }
  out.push(0, 0);
  return out;
}

/** One file of {@link buildSevenZip}. */
export interface SevenZipMember {
  name: string;
  /** Undefined: a directory. */
  data?: Uint8Array | string;
  /** Attributes to record (e.g. a Unix symlink mode). */
  attributes?: number;
}

/** Options of {@link buildSevenZip}. */
export interface SevenZipBuildOptions {
  /** One Copy folder for all files (default: one folder per file). */
  solid?: boolean;
  /** Declared CRC of file `i` replaced. */
  badCrc?: number;
  /** Bytes appended after the header. */
  trailing?: Uint8Array;
  /**
   * Each member's data is packed by this coder (its method id bytes; the data given is the packed
   * stream) and decodes to `unpackSize` bytes; no CRCs are recorded. Not with `solid`.
   */
  coder?: { id: number[]; unpackSize: number };
}

/** Builds a Copy-coded 7z with a plain header. */
export function buildSevenZip(members: SevenZipMember[], options: SevenZipBuildOptions = {}): Uint8Array {
  const datas = members.map((m) => (typeof m.data === "string" ? enc.encode(m.data) : m.data));
  const withData = datas.map((d, i) => ({ d, i })).filter((x) => x.d !== undefined && x.d.length > 0);
  const packed = Buffer.concat(withData.map((x) => x.d as Uint8Array));
  const h: number[] = [0x01];
  if (withData.length > 0) {
    h.push(0x04);
    const folders = options.solid ? [withData] : withData.map((x) => [x]);
    const packSizes = folders.map((f) => f.reduce((a, x) => a + (x.d as Uint8Array).length, 0));
    h.push(0x06, ...num(0), ...num(folders.length), 0x09);
    for (const s of packSizes) h.push(...num(s));
    h.push(0x00);
    h.push(0x07, 0x0b, ...num(folders.length), 0x00);
    const coder = options.coder;
    for (let i = 0; i < folders.length; i++) {
      if (coder === undefined)
        h.push(0x01, 0x01, 0x00); // one coder, id size 1, Copy
      else h.push(0x01, coder.id.length, ...coder.id);
    }
    h.push(0x0c);
    for (const s of packSizes) h.push(...num(coder === undefined ? s : coder.unpackSize));
    h.push(0x00);
    h.push(0x08);
    if (options.solid) {
      h.push(0x0d, ...num(withData.length), 0x09);
      for (const x of withData.slice(0, -1)) h.push(...num((x.d as Uint8Array).length));
    }
    if (options.coder === undefined) {
      h.push(0x0a, 0x01);
      for (const x of withData) {
        const crc = crc32(x.d as Uint8Array);
        h.push(...u32(options.badCrc === x.i ? crc ^ 1 : crc));
      }
    }
    h.push(0x00); // end of substreams
    h.push(0x00); // end of streams info
  }
  h.push(0x05, ...num(members.length));
  const empty = datas.map((d) => d === undefined || d.length === 0);
  if (empty.some(Boolean)) {
    const bits = bitVector(empty);
    h.push(0x0e, ...num(bits.length), ...bits);
    const emptyFiles = members.filter((_, i) => empty[i]).map((m) => m.data !== undefined);
    const fileBits = bitVector(emptyFiles);
    h.push(0x0f, ...num(fileBits.length), ...fileBits);
  }
  const names = [0, ...members.flatMap((m) => name16(m.name))];
  h.push(0x11, ...num(names.length), ...names);
  if (members.some((m) => m.attributes !== undefined)) {
    const defined = members.map((m) => m.attributes !== undefined);
    const bits = bitVector(defined);
    const body = [0, ...bits, 0, ...members.flatMap((m) => (m.attributes === undefined ? [] : u32(m.attributes)))];
    h.push(0x15, ...num(body.length), ...body);
  }
  h.push(0x00); // end of files info
  h.push(0x00); // end of header
  return wrapSevenZip(packed, Uint8Array.from(h), options.trailing);
}

function bitVector(bits: boolean[]): number[] {
  const out = new Array<number>(Math.ceil(bits.length / 8)).fill(0);
  bits.forEach((b, i) => {
    if (b) out[i >>> 3] = (out[i >>> 3] as number) | (0x80 >>> (i & 7));
  });
  return out;
}

/** Adds the signature header (with correct CRCs) in front of packed data and a header. */
export function wrapSevenZip(packed: Uint8Array, header: Uint8Array, trailing?: Uint8Array): Uint8Array {
  const start = Buffer.alloc(20);
  start.writeBigUInt64LE(BigInt(packed.length), 0);
  start.writeBigUInt64LE(BigInt(header.length), 8);
  start.writeUInt32LE(crc32(header), 16);
  const sig = Buffer.alloc(12);
  sig.set([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]);
  sig.writeUInt32LE(crc32(start), 8);
  return new Uint8Array(Buffer.concat([sig, start, packed, header, trailing ?? new Uint8Array(0)]));
}

/** Recomputes the start header CRC and the header CRC after a patch (for mutation tests). */
export function fixSevenZipCrcs(bytes: Uint8Array): Uint8Array {
  const out = Buffer.from(bytes);
  if (out.length < 32) return out;
  const offset = Number(out.readBigUInt64LE(12));
  const size = Number(out.readBigUInt64LE(20));
  if (32 + offset + size <= out.length && size > 0) {
    out.writeUInt32LE(crc32(out.subarray(32 + offset, 32 + offset + size)), 28);
  }
  out.writeUInt32LE(crc32(out.subarray(12, 32)), 8);
  return new Uint8Array(out);
}

/** Unix mode of a symbolic link, as 7-Zip stores it in the attributes. */
export const SYMLINK_ATTRIBUTES = ((0o120777 << 16) | 0x8000) >>> 0;
