/**
 * A small zip writer for tests: builds valid archives and, on request, precisely broken ones.
 */
import { crc32, deflateRawSync } from "node:zlib";

export interface BuildEntry {
  name: string;
  data?: Uint8Array | string;
  /** 0 stored (default) or 8 deflate; any other number is written as-is with stored bytes. */
  method?: number;
  flags?: number;
  /** Flags written in the local header (default: same as `flags`). */
  localFlags?: number;
  /** Name written in the local header (default: same as `name`). */
  localName?: string;
  /** CRC written in both headers (default: the real one). */
  crc?: number;
  /** Uncompressed size written in the central directory (default: the real one). */
  declaredSize?: number;
  versionMadeBy?: number;
  externalAttributes?: number;
  /** Write a zip64 extra field with sizes and offset (and 0xFFFFFFFF in the fixed fields). */
  zip64?: boolean;
  /** Point this central record at the local header of an earlier entry (by index). */
  shareLocalWith?: number;
  /**
   * Bytes written as the member's data instead of `data` (deflated for method 8): an encrypted
   * member's ciphertext, say. Sizes are this payload's length (compressed) and `data`'s (uncompressed);
   * the CRC is `data`'s.
   */
  payload?: Uint8Array;
  /** Bytes written after this entry's data (belonging to no entry). */
  paddingAfter?: Uint8Array;
}

export interface BuildOptions {
  /** Bytes before the first local header. */
  prefix?: Uint8Array;
  /** Bytes between the central directory and the end record. */
  gapBeforeEocd?: Uint8Array;
  /** Bytes after the end record (and comment). */
  trailing?: Uint8Array;
  comment?: string;
  /** Entry count written in the end record. */
  declaredEntries?: number;
  /** Write zip64 end records. */
  zip64End?: boolean;
  /** Append a second, older end record before the real one (inside the comment area). */
  extraEocd?: boolean;
  /** Add this to the central directory offset written in the end record. */
  cdOffsetDelta?: number;
}

const enc = new TextEncoder();
const bytes = (d: Uint8Array | string | undefined) => (typeof d === "string" ? enc.encode(d) : (d ?? new Uint8Array()));

class Writer {
  parts: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array) {
    this.parts.push(b);
    this.length += b.length;
  }
  u16(v: number) {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v & 0xffff);
    this.push(b);
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  concat(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

export function buildZip(entries: BuildEntry[], options: BuildOptions = {}): Uint8Array {
  const w = new Writer();
  if (options.prefix) w.push(options.prefix);
  const base = options.prefix?.length ?? 0;
  const records: {
    e: BuildEntry;
    offset: number;
    crc: number;
    csize: number;
    usize: number;
    nameBytes: Uint8Array;
  }[] = [];
  for (const e of entries) {
    const data = bytes(e.data);
    const method = e.method ?? 0;
    const payload = e.payload ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = e.crc ?? crc32(data);
    const nameBytes = enc.encode(e.name);
    if (e.shareLocalWith !== undefined) {
      const other = records[e.shareLocalWith];
      if (!other) throw new Error("bad shareLocalWith");
      records.push({ e, offset: other.offset, crc: other.crc, csize: other.csize, usize: other.usize, nameBytes });
      continue;
    }
    const offset = w.length - base;
    const localName = enc.encode(e.localName ?? e.name);
    w.u32(0x04034b50);
    w.u16(e.zip64 ? 45 : 20);
    w.u16(e.localFlags ?? e.flags ?? 0);
    w.u16(method);
    w.u16(0);
    w.u16(0x21);
    w.u32(crc);
    w.u32(e.zip64 ? 0xffffffff : payload.length);
    w.u32(e.zip64 ? 0xffffffff : data.length);
    w.u16(localName.length);
    w.u16(e.zip64 ? 20 : 0);
    w.push(localName);
    if (e.zip64) {
      w.u16(1);
      w.u16(16);
      w.u64(data.length);
      w.u64(payload.length);
    }
    w.push(payload);
    if (e.paddingAfter) w.push(e.paddingAfter);
    records.push({ e, offset, crc, csize: payload.length, usize: e.declaredSize ?? data.length, nameBytes });
  }
  const cdStart = w.length - base;
  for (const r of records) {
    const { e } = r;
    w.u32(0x02014b50);
    w.u16(e.versionMadeBy ?? 20);
    w.u16(e.zip64 ? 45 : 20);
    w.u16(e.flags ?? 0);
    w.u16(e.method ?? 0);
    w.u16(0);
    w.u16(0x21);
    w.u32(r.crc);
    w.u32(e.zip64 ? 0xffffffff : r.csize);
    w.u32(e.zip64 ? 0xffffffff : r.usize);
    w.u16(r.nameBytes.length);
    w.u16(e.zip64 ? 28 : 0);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    w.u32(e.externalAttributes ?? 0);
    w.u32(e.zip64 ? 0xffffffff : r.offset);
    w.push(r.nameBytes);
    if (e.zip64) {
      w.u16(1);
      w.u16(24);
      w.u64(r.usize);
      w.u64(r.csize);
      w.u64(r.offset);
    }
  }
  const cdSize = w.length - base - cdStart;
  if (options.gapBeforeEocd) w.push(options.gapBeforeEocd);
  const count = options.declaredEntries ?? records.length;
  const cdOffset = cdStart + (options.cdOffsetDelta ?? 0);
  if (options.zip64End) {
    const at = w.length - base;
    w.u32(0x06064b50);
    w.u64(44);
    w.u16(45);
    w.u16(45);
    w.u32(0);
    w.u32(0);
    w.u64(count);
    w.u64(count);
    w.u64(cdSize);
    w.u64(cdOffset);
    w.u32(0x07064b50);
    w.u32(0);
    w.u64(at);
    w.u32(1);
  }
  const comment = enc.encode(options.comment ?? "");
  const eocd = (commentBytes: Uint8Array) => {
    w.u32(0x06054b50);
    w.u16(0);
    w.u16(0);
    w.u16(options.zip64End ? 0xffff : count);
    w.u16(options.zip64End ? 0xffff : count);
    w.u32(options.zip64End ? 0xffffffff : cdSize);
    w.u32(options.zip64End ? 0xffffffff : cdOffset);
    w.u16(commentBytes.length);
    w.push(commentBytes);
  };
  if (options.extraEocd) eocd(new Uint8Array(0));
  eocd(comment);
  if (options.trailing) w.push(options.trailing);
  return w.concat();
}
