/**
 * A small, bounded HDF5 reader for one job: the string attributes of the root group, where legacy
 * Keras `.h5` files keep `model_config`, `training_config`, `keras_version` and `backend`.
 *
 * Why not a library: the JavaScript HDF5 readers (jsfive, h5wasm) need the whole file in memory
 * (an ArrayBuffer or an Emscripten file system), so a 5 GB `.h5` would cost 5 GB. This reader
 * follows the file format specification from the superblock to the root object header (and its
 * continuation blocks) and reads only those blocks plus the global heap object of a
 * variable-length string: a few kilobytes for any file size. It supports superblocks 0-3,
 * object headers 1 and 2, attribute messages 1-3, fixed and variable-length strings. Attributes in
 * dense storage (a fractal heap, used for large attribute counts) are reported, not read: HDF5
 * then reads the attributes from there only, so the compact ones beside them are not what it sees.
 *
 * Addresses are read as the HDF5 library reads them: relative to where the superblock signature
 * was found, whatever base address the superblock stores (H5Fsuper.c replaces a differing stored
 * base with the signature's location and moves the stored end-of-file address by the difference,
 * for every superblock version). The stored base is returned so that a mismatch can be reported.
 * @module
 */

import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";

/** Budgets of the HDF5 reader. */
export interface Hdf5Budgets {
  /** Maximum header messages visited. */
  maxMessages: number;
  /** Maximum continuation blocks followed. */
  maxBlocks: number;
  /** Maximum size of one header block or attribute value. */
  maxBlockBytes: number;
}

/** Default budgets. */
export const DEFAULT_HDF5_BUDGETS: Readonly<Hdf5Budgets> = Object.freeze({
  maxMessages: 100_000,
  maxBlocks: 1_000,
  maxBlockBytes: 256 * 1024 * 1024,
});

/** A root-group attribute. */
export interface Hdf5Attribute {
  /** Attribute name. */
  readonly name: string;
  /** The string values (one per element), when the attribute holds strings. */
  readonly strings?: readonly string[];
  /** Why the value was not decoded (not a string type, shared datatype ...). */
  readonly skipped?: string;
}

/** What the reader found. */
export interface Hdf5RootInfo {
  /** Superblock version. */
  readonly superblockVersion: number;
  /** Root attributes in compact storage, by name. */
  readonly attributes: ReadonlyMap<string, Hdf5Attribute>;
  /** True when some attributes live in dense storage and were not read. */
  readonly denseAttributes: boolean;
  /**
   * The base address the superblock stores. HDF5 ignores it when it differs from the signature's
   * location (`start`): addresses are read relative to the signature.
   */
  readonly storedBaseAddress: number;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const utf8 = new TextDecoder("utf-8", { fatal: false });

const malformed = (message: string, offset?: number) =>
  new ModelgateError("MALFORMED", `HDF5: ${message}`, offset === undefined ? {} : { offset });

class Reader {
  readonly #source: ByteSource;
  readonly budgets: Hdf5Budgets;
  sizeOffsets = 8;
  sizeLengths = 8;
  base = 0;
  messages = 0;
  blocks = 0;

  constructor(source: ByteSource, budgets: Hdf5Budgets) {
    this.#source = source;
    this.budgets = budgets;
  }

  get size(): number {
    return this.#source.size;
  }

  async bytes(offset: number, length: number): Promise<Uint8Array> {
    if (length > this.budgets.maxBlockBytes) {
      throw new ModelgateError("BUDGET_EXCEEDED", `HDF5 block of ${length} bytes`, {
        offset,
        budget: "hdf5.maxBlockBytes",
      });
    }
    if (offset < 0 || offset + length > this.#source.size) {
      throw new ModelgateError("TRUNCATED", `HDF5 block ${offset}+${length} is outside the file`, { offset });
    }
    const out = await this.#source.read(offset, length);
    if (out.length !== length) throw new ModelgateError("TRUNCATED", `short read at ${offset}`, { offset });
    return out;
  }

  /** An unsigned little-endian integer of `size` bytes; undefined for the all-ones "undefined address". */
  uint(b: Uint8Array, at: number, size: number): number | undefined {
    if (at + size > b.length) throw malformed(`field at ${at} past the end of its block`);
    const v = rawUint(b, at, size);
    if (v === UNDEFINED_ADDRESS) return undefined;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`integer ${v} out of range`);
    return Number(v);
  }

  addr(b: Uint8Array, at: number): number | undefined {
    const v = this.uint(b, at, this.sizeOffsets);
    return v === undefined ? undefined : v + this.base;
  }

  len(b: Uint8Array, at: number): number {
    const v = this.uint(b, at, this.sizeLengths);
    if (v === undefined) throw malformed(`undefined length at ${at}`);
    return v;
  }
}

const u16 = (b: Uint8Array, at: number) => (b[at] as number) | ((b[at + 1] as number) << 8);
const u32 = (b: Uint8Array, at: number) => (u16(b, at) + u16(b, at + 2) * 0x10000) >>> 0;

/**
 * Where the HDF5 library finds the superblock (H5FD_locate_signature): the first of 0, 512, 1024,
 * 2048 ... (powers of two) that holds the signature, up to the end of the file.
 * @param source - the file
 * @returns the signature's offset, or undefined when there is none
 */
export async function locateHdf5Superblock(source: ByteSource): Promise<number | undefined> {
  for (let at = 0; at + SIGNATURE.length <= source.size; at = at === 0 ? 512 : at * 2) {
    const b = await source.read(at, SIGNATURE.length);
    if (b.length === SIGNATURE.length && SIGNATURE.every((v, i) => b[i] === v)) return at;
  }
  return undefined;
}

/**
 * Reads the root group's attributes of an HDF5 file.
 * @param source - the file
 * @param start - offset of the superblock signature (0, or after a user block)
 * @param budgets - limits
 * @throws ModelgateError for malformed files and exhausted budgets
 */
export async function readHdf5RootAttributes(
  source: ByteSource,
  start = 0,
  budgets: Partial<Hdf5Budgets> = {},
): Promise<Hdf5RootInfo> {
  const r = new Reader(source, { ...DEFAULT_HDF5_BUDGETS, ...budgets });
  const sb = await r.bytes(start, Math.min(128, source.size - start));
  if (sb.length < 12 || !SIGNATURE.every((v, i) => sb[i] === v)) throw malformed("no superblock signature", start);
  const version = sb[8] as number;
  let fields: number; // offset of the stored base address; the EOF address is two addresses on
  if (version === 0 || version === 1) {
    r.sizeOffsets = sb[13] as number;
    r.sizeLengths = sb[14] as number;
    fields = version === 0 ? 24 : 28;
  } else if (version === 2 || version === 3) {
    r.sizeOffsets = sb[9] as number;
    r.sizeLengths = sb[10] as number;
    fields = 12;
  } else {
    throw new ModelgateError("UNSUPPORTED", `HDF5 superblock version ${version}`, { offset: start });
  }
  checkSizes(r);
  // The library's base is where it found the signature, whatever the superblock stores.
  r.base = start;
  const storedBase = rawUint(sb, fields, r.sizeOffsets);
  const storedEof = rawUint(sb, fields + 2 * r.sizeOffsets, r.sizeOffsets);
  // The stored EOF moves with the base (modulo 2^64, as haddr_t arithmetic does); HDF5 refuses a
  // file shorter than it ("truncated file").
  const eof = BigInt.asUintN(64, storedEof - storedBase + BigInt(start));
  if (eof > BigInt(source.size)) {
    throw new ModelgateError(
      "TRUNCATED",
      `HDF5 end-of-file address ${eof} is past the end of the ${source.size}-byte file (HDF5 refuses it as truncated)`,
      { offset: start + fields + 2 * r.sizeOffsets },
    );
  }
  // base, free space (v0/v1) or superblock extension (v2/v3), end of file, then the driver info
  // and the root symbol table entry (its link name, then the header address) or the root address
  const rootAddr =
    version < 2 ? r.addr(sb, fields + 4 * r.sizeOffsets + r.sizeOffsets) : r.addr(sb, fields + 3 * r.sizeOffsets);
  if (rootAddr === undefined) throw malformed("root object header address undefined", start);
  const attributes = new Map<string, Hdf5Attribute>();
  const state = { dense: false };
  await readObjectHeader(r, rootAddr, attributes, state);
  return {
    superblockVersion: version,
    attributes,
    denseAttributes: state.dense,
    storedBaseAddress: Number(storedBase),
  };
}

/**
 * An address field of `size` bytes as HDF5 decodes it into a 64-bit `haddr_t`: whole, the all-ones
 * "undefined address" becoming 2^64 - 1 whatever the width.
 */
function rawUint(b: Uint8Array, at: number, size: number): bigint {
  if (at + size > b.length) throw malformed(`field at ${at} past the end of the superblock`);
  let v = 0n;
  let ones = true;
  for (let i = size - 1; i >= 0; i--) {
    const byte = b[at + i] as number;
    if (byte !== 0xff) ones = false;
    v = (v << 8n) | BigInt(byte);
  }
  return ones ? UNDEFINED_ADDRESS : v;
}

/** HDF5's undefined address (all ones, whatever the field's width). */
const UNDEFINED_ADDRESS = (1n << 64n) - 1n;

function checkSizes(r: Reader): void {
  for (const s of [r.sizeOffsets, r.sizeLengths]) {
    if (![2, 4, 8].includes(s)) throw malformed(`unsupported offset/length size ${s}`);
  }
}

interface Message {
  readonly type: number;
  readonly flags: number;
  readonly data: Uint8Array;
  readonly offset: number;
}

async function readObjectHeader(
  r: Reader,
  addr: number,
  attributes: Map<string, Hdf5Attribute>,
  state: { dense: boolean },
): Promise<void> {
  if (addr >= r.size) throw malformed("object header address past the end of the file", addr);
  const prefix = await r.bytes(addr, Math.min(64, r.size - addr));
  const queue: Array<{ at: number; size: number; v2: boolean; first: boolean }> = [];
  const visited = new Set<number>();
  let v2 = false;
  let creationOrder = false;
  if (prefix[0] === 0x4f && prefix[1] === 0x48 && prefix[2] === 0x44 && prefix[3] === 0x52) {
    // "OHDR": version 2 object header
    v2 = true;
    const flags = prefix[5] as number;
    let at = 6;
    if (flags & 0x20) at += 16;
    if (flags & 0x10) at += 4;
    const width = 1 << (flags & 0x03);
    const size = r.uint(prefix, at, width) ?? 0;
    at += width;
    creationOrder = (flags & 0x04) !== 0;
    queue.push({ at: addr + at, size, v2, first: true });
  } else if (prefix[0] === 1) {
    const size = u32(prefix, 8);
    queue.push({ at: addr + 16, size, v2, first: true });
  } else {
    throw malformed(`unknown object header version ${prefix[0]}`, addr);
  }
  while (queue.length > 0) {
    const block = queue.shift() as { at: number; size: number; v2: boolean; first: boolean };
    if (visited.has(block.at)) throw malformed("object header continuation loop", block.at);
    visited.add(block.at);
    if (++r.blocks > r.budgets.maxBlocks) {
      throw new ModelgateError("BUDGET_EXCEEDED", "too many object header blocks", {
        offset: block.at,
        budget: "hdf5.maxBlocks",
      });
    }
    for (const m of await messagesOf(r, block, creationOrder)) {
      if (++r.messages > r.budgets.maxMessages) {
        throw new ModelgateError("BUDGET_EXCEEDED", "too many object header messages", {
          offset: m.offset,
          budget: "hdf5.maxMessages",
        });
      }
      if (m.type === 0x10) {
        const at = r.addr(m.data, 0);
        const size = r.len(m.data, r.sizeOffsets);
        if (at === undefined) throw malformed("continuation to an undefined address", m.offset);
        queue.push({ at, size, v2, first: false });
      } else if (m.type === 0x15) {
        // attribute info: a defined fractal heap address means dense attribute storage
        const flags = m.data[1] as number;
        const heapAt = 2 + (flags & 0x01 ? 2 : 0);
        if (r.uint(m.data, heapAt, r.sizeOffsets) !== undefined) state.dense = true;
      } else if (m.type === 0x0c) {
        const attribute = await readAttribute(r, m);
        if (!attributes.has(attribute.name)) attributes.set(attribute.name, attribute);
      }
    }
  }
}

async function messagesOf(
  r: Reader,
  block: { at: number; size: number; v2: boolean; first: boolean },
  creationOrder: boolean,
): Promise<Message[]> {
  const raw = await r.bytes(block.at, block.size);
  const out: Message[] = [];
  if (!block.v2) {
    let at = 0;
    while (at + 8 <= raw.length) {
      const type = u16(raw, at);
      const size = u16(raw, at + 2);
      const flags = raw[at + 4] as number;
      if (at + 8 + size > raw.length) throw malformed("header message past its block", block.at + at);
      out.push({ type, flags, data: raw.subarray(at + 8, at + 8 + size), offset: block.at + at });
      at += 8 + size;
    }
    return out;
  }
  let at = 0;
  let end = raw.length - 4; // checksum
  if (!block.first) {
    if (raw[0] !== 0x4f || raw[1] !== 0x43 || raw[2] !== 0x48 || raw[3] !== 0x4b) {
      throw malformed("continuation block without OCHK signature", block.at);
    }
    at = 4;
  } else end = raw.length;
  const headerSize = 4 + (creationOrder ? 2 : 0);
  while (at + headerSize <= end) {
    const type = raw[at] as number;
    const size = u16(raw, at + 1);
    const flags = raw[at + 3] as number;
    const dataAt = at + headerSize;
    if (dataAt + size > end) throw malformed("header message past its block", block.at + at);
    out.push({ type, flags, data: raw.subarray(dataAt, dataAt + size), offset: block.at + at });
    at = dataAt + size;
  }
  return out;
}

async function readAttribute(r: Reader, m: Message): Promise<Hdf5Attribute> {
  const d = m.data;
  const version = d[0] as number;
  const nameSize = u16(d, 2);
  const typeSize = u16(d, 4);
  const spaceSize = u16(d, 6);
  const pad = (n: number) => (version === 1 ? Math.ceil(n / 8) * 8 : n);
  let at = version === 3 ? 9 : 8;
  if (version < 1 || version > 3) throw malformed(`attribute message version ${version}`, m.offset);
  if (at + pad(nameSize) + pad(typeSize) + pad(spaceSize) > d.length) throw malformed("attribute header", m.offset);
  const name = utf8.decode(d.subarray(at, at + Math.max(0, nameSize - 1))).replace(/\0+$/, "");
  at += pad(nameSize);
  const type = d.subarray(at, at + typeSize);
  at += pad(typeSize);
  const space = d.subarray(at, at + spaceSize);
  at += pad(spaceSize);
  const data = d.subarray(at);
  if (version >= 2 && ((d[1] as number) & 0x03) !== 0) return { name, skipped: "shared datatype or dataspace" };
  const count = elementCount(r, space);
  if (count === 0) return { name, strings: [] };
  const cls = (type[0] as number) & 0x0f;
  const elementSize = u32(type, 4);
  if (cls === 3) {
    if (elementSize * count > data.length) throw malformed(`attribute ${name} data`, m.offset);
    const strings: string[] = [];
    for (let i = 0; i < Math.min(count, 10_000); i++) {
      const raw = data.subarray(i * elementSize, (i + 1) * elementSize);
      const nul = raw.indexOf(0);
      strings.push(utf8.decode(nul < 0 ? raw : raw.subarray(0, nul)).replace(/ +$/, ""));
    }
    return { name, strings };
  }
  if (cls === 9 && ((type[1] as number) & 0x0f) === 1) {
    const item = 4 + r.sizeOffsets + 4;
    const strings: string[] = [];
    for (let i = 0; i < Math.min(count, 1_000); i++) {
      const at0 = i * item;
      if (at0 + item > data.length) throw malformed(`attribute ${name} data`, m.offset);
      const length = u32(data, at0);
      const heap = r.addr(data, at0 + 4);
      const index = u32(data, at0 + 4 + r.sizeOffsets);
      strings.push(
        heap === undefined || length === 0 ? "" : utf8.decode(await globalHeapObject(r, heap, index, length)),
      );
    }
    return { name, strings };
  }
  return { name, skipped: `datatype class ${cls}` };
}

function elementCount(r: Reader, space: Uint8Array): number {
  const version = space[0] as number;
  const rank = space[1] as number;
  let at: number;
  if (version === 1) at = 8;
  else if (version === 2) {
    if (space[3] === 2) return 0; // null dataspace
    at = 4;
  } else throw malformed(`dataspace version ${version}`);
  let n = 1;
  for (let i = 0; i < rank; i++) {
    n *= r.len(space, at + i * r.sizeLengths);
    if (n > 1e9) throw malformed("attribute with too many elements");
  }
  return n;
}

async function globalHeapObject(r: Reader, addr: number, index: number, length: number): Promise<Uint8Array> {
  const head = await r.bytes(addr, 8 + r.sizeLengths);
  if (head[0] !== 0x47 || head[1] !== 0x43 || head[2] !== 0x4f || head[3] !== 0x4c) {
    throw malformed("global heap collection without GCOL signature", addr);
  }
  const size = r.len(head, 8);
  const heap = await r.bytes(addr, size);
  let at = 8 + r.sizeLengths;
  while (at + 8 + r.sizeLengths <= heap.length) {
    const id = u16(heap, at);
    const objectSize = r.len(heap, at + 8);
    const dataAt = at + 8 + r.sizeLengths;
    if (id === 0) break; // free space
    if (dataAt + objectSize > heap.length) throw malformed("global heap object past its collection", addr + at);
    if (id === index) return heap.subarray(dataAt, dataAt + Math.min(objectSize, length));
    at = dataAt + Math.ceil(objectSize / 8) * 8;
  }
  throw malformed(`global heap object ${index} not found`, addr);
}
