/**
 * The 7z header database: property ids, the variable-length number encoding, and parsers of
 * `StreamsInfo` (pack info, folders with their coders and bindings, substreams) and `FilesInfo`,
 * written from the public format description (`7zFormat.txt` of the LZMA SDK).
 *
 * Every count is checked against the bytes left before anything is allocated for it, every
 * number against `Number.MAX_SAFE_INTEGER`, and every structure against its declared size, so a
 * hostile header ends in a `MALFORMED`/`TRUNCATED` {@link ModelgateError}, never in a
 * `RangeError` or an allocation of gigabytes.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";

/** Property ids of the header database. */
export const NID = {
  end: 0x00,
  header: 0x01,
  archiveProperties: 0x02,
  additionalStreamsInfo: 0x03,
  mainStreamsInfo: 0x04,
  filesInfo: 0x05,
  packInfo: 0x06,
  unpackInfo: 0x07,
  subStreamsInfo: 0x08,
  size: 0x09,
  crc: 0x0a,
  folder: 0x0b,
  codersUnpackSize: 0x0c,
  numUnpackStream: 0x0d,
  emptyStream: 0x0e,
  emptyFile: 0x0f,
  anti: 0x10,
  name: 0x11,
  cTime: 0x12,
  aTime: 0x13,
  mTime: 0x14,
  winAttributes: 0x15,
  comment: 0x16,
  encodedHeader: 0x17,
  startPos: 0x18,
  dummy: 0x19,
} as const;

/** Most coders in one folder (7-Zip's own limit). */
export const MAX_CODERS = 64;
/** Most streams (in or out) of one coder. */
const MAX_CODER_STREAMS = 64;

/** A `MALFORMED` error about the header at `offset` (relative to the header bytes). */
export function headerError(message: string, offset?: number): ModelgateError {
  return new ModelgateError("MALFORMED", `7z header: ${message}`, offset === undefined ? {} : { offset });
}

/** A bounds-checked cursor over header bytes. */
export class HeaderReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;
  /** Called every few thousand items (abort and time budget). */
  readonly checkpoint: () => void;

  /**
   * @param bytes - the header bytes
   * @param start - first byte to read
   * @param end - one past the last byte (default the array's end)
   * @param checkpoint - called in long loops
   */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length, checkpoint: () => void = () => undefined) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
    this.checkpoint = checkpoint;
  }

  /** Bytes left. */
  get left(): number {
    return this.end - this.pos;
  }

  /** One byte. */
  byte(): number {
    if (this.pos >= this.end) throw headerError("ends inside a structure", this.pos);
    return this.bytes[this.pos++] as number;
  }

  /** `n` bytes (a view). */
  take(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.left) {
      throw headerError(`a field of ${n} bytes runs past the end (${this.left} left)`, this.pos);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    this.take(n);
  }

  /** A little-endian 32-bit number. */
  u32(): number {
    const b = this.take(4);
    return ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0;
  }

  /** The variable-length `UINT64` of the format; over 2^53 is malformed. */
  number(): number {
    const at = this.pos;
    const first = this.byte();
    let mask = 0x80;
    let extra = 0;
    while (extra < 8 && (first & mask) !== 0) {
      extra++;
      mask >>>= 1;
    }
    // The bits of the first byte below the length marker are the value's high part.
    let value = extra < 8 ? first & (mask - 1) : 0;
    let low = 0;
    let scale = 1;
    for (let i = 0; i < extra; i++) {
      low += this.byte() * scale;
      scale *= 256;
    }
    value = value * scale + low;
    if (!Number.isSafeInteger(value)) throw headerError("number over 2^53", at);
    return value;
  }

  /** A number used as a count of items that each take at least `minBytes` of what is left. */
  count(what: string, minBytes = 1, max = Number.MAX_SAFE_INTEGER): number {
    const at = this.pos;
    const n = this.number();
    if (n > max) throw headerError(`${n} ${what}, more than the ${max} allowed`, at);
    if (minBytes > 0 && n > Math.ceil(this.left / minBytes)) {
      throw headerError(`${n} ${what} cannot fit in the ${this.left} bytes left`, at);
    }
    return n;
  }

  /** A number used as an index below `limit`. */
  index(what: string, limit: number): number {
    const at = this.pos;
    const n = this.number();
    if (n >= limit) throw headerError(`${what} ${n} out of range (${limit})`, at);
    return n;
  }

  /** A bit vector of `n` items (most significant bit first). */
  bits(n: number): BitVector {
    return new BitVector(this.take(Math.ceil(n / 8)), n);
  }

  /** `AllAreDefined` then, if 0, a bit vector. */
  definedBits(n: number): BitVector {
    const all = this.byte();
    if (all !== 0) return BitVector.all(n);
    return this.bits(n);
  }

  /** Expects a property id. */
  expect(id: number, what: string): void {
    const at = this.pos;
    const got = this.byte();
    if (got !== id) throw headerError(`expected ${what} (0x${id.toString(16)}), found 0x${got.toString(16)}`, at);
  }
}

/** A read-only bit vector; bits are read where they lie, not expanded. */
export class BitVector {
  readonly #bytes: Uint8Array | undefined;
  readonly length: number;

  /**
   * @param bytes - the packed bits, most significant first (undefined: all set)
   * @param length - number of items
   */
  constructor(bytes: Uint8Array | undefined, length: number) {
    this.#bytes = bytes;
    this.length = length;
  }

  /** A vector with every bit set. */
  static all(length: number): BitVector {
    return new BitVector(undefined, length);
  }

  /** Bit `i` (false past the end). */
  get(i: number): boolean {
    if (i < 0 || i >= this.length) return false;
    if (this.#bytes === undefined) return true;
    return (((this.#bytes[i >>> 3] as number) >>> (7 - (i & 7))) & 1) === 1;
  }

  /** Number of set bits. */
  count(): number {
    if (this.#bytes === undefined) return this.length;
    let n = 0;
    for (let i = 0; i < this.length; i++) if (this.get(i)) n++;
    return n;
  }
}

/** One coder of a folder. */
export interface Coder {
  /** Method id as hex (`030101` LZMA, `21` LZMA2, `06f10701` AES ...). */
  readonly id: string;
  readonly numInStreams: number;
  readonly numOutStreams: number;
  /** Coder properties (LZMA: 5 bytes, LZMA2: 1, Delta: 1, AES: salt/IV). */
  readonly props: Uint8Array;
}

/** A coder input fed by another coder's output. */
export interface BindPair {
  /** Folder-wide index of the input stream. */
  readonly inIndex: number;
  /** Folder-wide index of the output stream feeding it. */
  readonly outIndex: number;
}

/** A folder: coders bound into one decoding graph with one unbound output. */
export interface Folder {
  readonly coders: readonly Coder[];
  readonly bindPairs: readonly BindPair[];
  /** Folder-wide input stream indices fed by packed streams, in packed-stream order. */
  readonly packedStreams: readonly number[];
  readonly numInStreams: number;
  readonly numOutStreams: number;
  /** Output sizes, one per output stream (filled from `kCodersUnpackSize`). */
  unpackSizes: number[];
  /** CRC of the folder's main output, when declared. */
  crc: number | undefined;
  /** Index of this folder's first packed stream in {@link StreamsInfo.packSizes}. */
  firstPackStream: number;
  /** The output stream no bind pair consumes (the folder's content). */
  mainOutStream: number;
}

/** Size of a folder's main output. */
export function folderUnpackSize(folder: Folder): number {
  return folder.unpackSizes[folder.mainOutStream] ?? 0;
}

/** One file's data inside a folder. */
export interface SubStream {
  readonly folder: number;
  /** Offset within the folder's output. */
  readonly offset: number;
  readonly size: number;
  readonly crc: number | undefined;
}

/** `StreamsInfo`: where packed data lies and how it decodes. */
export interface StreamsInfo {
  /** Offset of the first packed stream after the 32-byte signature header. */
  packPos: number;
  packSizes: number[];
  folders: Folder[];
  /** Per folder: how many files its output holds. */
  numUnpackStreams: number[];
  /** Every file's data, folder by folder. */
  subStreams: SubStream[];
}

/** Reads `PackInfo` (after its id). */
function readPackInfo(r: HeaderReader, info: StreamsInfo): void {
  info.packPos = r.number();
  const n = r.count("packed streams");
  for (;;) {
    const id = r.byte();
    if (id === NID.end) break;
    if (id === NID.size) {
      info.packSizes = [];
      for (let i = 0; i < n; i++) {
        if ((i & 0xfff) === 0xfff) r.checkpoint();
        info.packSizes.push(r.number());
      }
    } else if (id === NID.crc) {
      const defined = r.definedBits(n);
      r.skip(4 * defined.count());
    } else {
      throw headerError(`unexpected property 0x${id.toString(16)} in pack info`, r.pos - 1);
    }
  }
  if (info.packSizes.length !== n) throw headerError("pack info without sizes");
}

/** Reads one folder's coders and bindings. */
function readFolder(r: HeaderReader): Folder {
  const numCoders = r.count("coders", 1, MAX_CODERS);
  if (numCoders === 0) throw headerError("folder without coders", r.pos);
  const coders: Coder[] = [];
  let numIn = 0;
  let numOut = 0;
  for (let i = 0; i < numCoders; i++) {
    const at = r.pos;
    const flags = r.byte();
    if ((flags & 0xc0) !== 0) throw headerError("coder uses reserved or alternative-method bits", at);
    const idSize = flags & 0x0f;
    if (idSize > 8) throw headerError(`coder id of ${idSize} bytes`, at);
    const idBytes = r.take(idSize);
    let id = "";
    for (const b of idBytes) id += b.toString(16).padStart(2, "0");
    let coderIn = 1;
    let coderOut = 1;
    if ((flags & 0x10) !== 0) {
      coderIn = r.count("coder input streams", 0, MAX_CODER_STREAMS);
      coderOut = r.count("coder output streams", 0, MAX_CODER_STREAMS);
      if (coderOut !== 1) throw headerError(`coder with ${coderOut} output streams`, at);
    }
    const props = (flags & 0x20) !== 0 ? r.take(r.count("property bytes")) : new Uint8Array(0);
    coders.push({ id, numInStreams: coderIn, numOutStreams: coderOut, props });
    numIn += coderIn;
    numOut += coderOut;
  }
  if (numIn > MAX_CODER_STREAMS || numOut > MAX_CODER_STREAMS) throw headerError("folder with too many streams");
  const bindPairs: BindPair[] = [];
  const boundIn = new Set<number>();
  const boundOut = new Set<number>();
  for (let i = 0; i < numOut - 1; i++) {
    const inIndex = r.index("bound input stream", numIn);
    const outIndex = r.index("bound output stream", numOut);
    if (boundIn.has(inIndex) || boundOut.has(outIndex)) throw headerError("a stream is bound twice");
    boundIn.add(inIndex);
    boundOut.add(outIndex);
    bindPairs.push({ inIndex, outIndex });
  }
  if (numIn < bindPairs.length + 1) throw headerError("folder has no packed input");
  const numPacked = numIn - bindPairs.length;
  const packedStreams: number[] = [];
  if (numPacked === 1) {
    for (let i = 0; i < numIn; i++) {
      if (!boundIn.has(i)) {
        packedStreams.push(i);
        break;
      }
    }
  } else {
    for (let i = 0; i < numPacked; i++) {
      const index = r.index("packed stream", numIn);
      if (boundIn.has(index) || packedStreams.includes(index)) throw headerError("a packed stream is bound twice");
      packedStreams.push(index);
    }
  }
  let mainOutStream = -1;
  for (let i = 0; i < numOut; i++) {
    if (!boundOut.has(i)) {
      mainOutStream = i;
      break;
    }
  }
  return {
    coders,
    bindPairs,
    packedStreams,
    numInStreams: numIn,
    numOutStreams: numOut,
    unpackSizes: [],
    crc: undefined,
    firstPackStream: 0,
    mainOutStream,
  };
}

/** Reads `CodersInfo` (after its id). */
function readUnpackInfo(r: HeaderReader, info: StreamsInfo): void {
  r.expect(NID.folder, "kFolder");
  const numFolders = r.count("folders", 2);
  if (r.byte() !== 0) throw new ModelgateError("UNSUPPORTED", "7z header: folders stored in an external stream");
  let packIndex = 0;
  for (let i = 0; i < numFolders; i++) {
    if ((i & 0xff) === 0xff) r.checkpoint();
    const folder = readFolder(r);
    folder.firstPackStream = packIndex;
    packIndex += folder.packedStreams.length;
    info.folders.push(folder);
  }
  if (packIndex !== info.packSizes.length) {
    throw headerError(`folders use ${packIndex} packed streams, pack info declares ${info.packSizes.length}`);
  }
  r.expect(NID.codersUnpackSize, "kCodersUnpackSize");
  for (const folder of info.folders) {
    for (let i = 0; i < folder.numOutStreams; i++) folder.unpackSizes.push(r.number());
  }
  for (;;) {
    const id = r.byte();
    if (id === NID.end) break;
    if (id === NID.crc) {
      const defined = r.definedBits(numFolders);
      for (let i = 0; i < numFolders; i++) {
        if (defined.get(i)) (info.folders[i] as Folder).crc = r.u32();
      }
    } else {
      throw headerError(`unexpected property 0x${id.toString(16)} in coders info`, r.pos - 1);
    }
  }
}

/** Reads `SubStreamsInfo` (after its id). */
function readSubStreamsInfo(r: HeaderReader, info: StreamsInfo): void {
  const folders = info.folders;
  info.numUnpackStreams = folders.map(() => 1);
  let id = r.byte();
  if (id === NID.numUnpackStream) {
    for (let i = 0; i < folders.length; i++) info.numUnpackStreams[i] = r.count("files in a folder", 0);
    id = r.byte();
  }
  const hasSizes = id === NID.size;
  const subs: SubStream[] = [];
  for (let f = 0; f < folders.length; f++) {
    const folder = folders[f] as Folder;
    const n = info.numUnpackStreams[f] as number;
    if (n === 0) continue;
    if (n > 1 && !hasSizes) throw headerError("a folder holds several files but their sizes are missing");
    // n - 1 sizes follow, each at least one byte: a hostile count fails here, not in the loop.
    if (n - 1 > r.left) throw headerError(`${n} files in a folder cannot fit in the header`);
    const total = folderUnpackSize(folder);
    let offset = 0;
    for (let i = 1; i < n; i++) {
      if ((subs.length & 0xfff) === 0xfff) r.checkpoint();
      const size = r.number();
      subs.push({ folder: f, offset, size, crc: undefined });
      offset += size;
      if (offset > total) throw headerError(`files of folder ${f} add up to more than its ${total} bytes`);
    }
    subs.push({ folder: f, offset, size: total - offset, crc: undefined });
  }
  if (hasSizes) id = r.byte();

  // CRCs: those of folders with one file and a folder CRC are known; the rest are listed.
  let unknown = 0;
  for (let f = 0; f < folders.length; f++) {
    const n = info.numUnpackStreams[f] as number;
    if (!(n === 1 && (folders[f] as Folder).crc !== undefined)) unknown += n;
  }
  let known: (number | undefined)[] | undefined;
  for (;;) {
    if (id === NID.end) break;
    if (id === NID.crc) {
      const defined = r.definedBits(unknown);
      known = [];
      for (let i = 0; i < unknown; i++) known.push(defined.get(i) ? r.u32() : undefined);
    } else {
      throw headerError(`unexpected property 0x${id.toString(16)} in substreams info`, r.pos - 1);
    }
    id = r.byte();
  }
  let s = 0;
  let k = 0;
  for (let f = 0; f < folders.length; f++) {
    const folder = folders[f] as Folder;
    const n = info.numUnpackStreams[f] as number;
    for (let i = 0; i < n; i++) {
      const sub = subs[s] as SubStream;
      let crc: number | undefined;
      if (n === 1 && folder.crc !== undefined) crc = folder.crc;
      else crc = known?.[k++];
      subs[s++] = { ...sub, crc };
    }
  }
  info.subStreams = subs;
}

/** Fills substreams for a `StreamsInfo` without `SubStreamsInfo`: one file per folder. */
function defaultSubStreams(info: StreamsInfo): void {
  info.numUnpackStreams = info.folders.map(() => 1);
  info.subStreams = info.folders.map((folder, f) => ({
    folder: f,
    offset: 0,
    size: folderUnpackSize(folder),
    crc: folder.crc,
  }));
}

/**
 * Reads a `StreamsInfo` (after the id that introduces it: kMainStreamsInfo, kEncodedHeader ...).
 * @param r - the cursor
 */
export function readStreamsInfo(r: HeaderReader): StreamsInfo {
  const info: StreamsInfo = { packPos: 0, packSizes: [], folders: [], numUnpackStreams: [], subStreams: [] };
  let id = r.byte();
  let sawSubStreams = false;
  if (id === NID.packInfo) {
    readPackInfo(r, info);
    id = r.byte();
  }
  if (id === NID.unpackInfo) {
    readUnpackInfo(r, info);
    id = r.byte();
  }
  if (info.folders.length === 0 && info.packSizes.length > 0) {
    throw headerError("packed streams without folders");
  }
  if (id === NID.subStreamsInfo) {
    readSubStreamsInfo(r, info);
    sawSubStreams = true;
    id = r.byte();
  }
  if (!sawSubStreams) defaultSubStreams(info);
  if (id !== NID.end) throw headerError(`unexpected property 0x${id.toString(16)} in streams info`, r.pos - 1);
  for (const folder of info.folders) {
    if (folder.mainOutStream < 0) throw headerError("folder without an unbound output");
  }
  return info;
}

/** One file record. */
export interface FileRecord {
  readonly name: string;
  /** False for directories and empty files (kEmptyStream). */
  readonly hasStream: boolean;
  /** Directory (empty stream and not kEmptyFile, or the directory attribute). */
  readonly isDir: boolean;
  /** A deletion marker of an update archive (kAnti). */
  readonly isAnti: boolean;
  /** Windows attributes (Unix mode in the high 16 bits when bit 15 is set). */
  readonly attributes: number | undefined;
}

/** The parsed `FilesInfo`. */
export interface FilesInfo {
  /** Files declared. */
  readonly declared: number;
  /** The first `min(declared, maxEntries)` files. */
  readonly files: FileRecord[];
  /** Whether names were present. */
  readonly named: boolean;
  /** Property ids that are not part of the format description. */
  readonly unknownProperties: number[];
  /** Property ids given more than once. */
  readonly repeatedProperties: number[];
  /** Files with streams among all declared (`declared - emptyStreams`). */
  readonly withStreams: number;
}

const FILE_ATTRIBUTE_DIRECTORY = 0x10;

/**
 * Reads `FilesInfo` (after kFilesInfo). Only the first `maxEntries` records are materialised;
 * the rest are checked for size only.
 * @param r - the cursor
 * @param maxEntries - most records to keep
 */
export function readFilesInfo(r: HeaderReader, maxEntries: number): FilesInfo {
  const at = r.pos;
  const declared = r.number();
  // Every file either has a stream (then it needs a substream, at least a byte of the header) or
  // a kEmptyStream bit: more than 8 per header byte cannot be.
  if (declared > r.left * 8 + 8) throw headerError(`${declared} files cannot fit in the header`, at);
  const kept = Math.min(declared, maxEntries);
  let emptyStream: BitVector | undefined;
  let emptyFile: BitVector | undefined;
  let anti: BitVector | undefined;
  let names: string[] | undefined;
  let attributes: (number | undefined)[] | undefined;
  const seen = new Set<number>();
  const unknownProperties: number[] = [];
  const repeatedProperties: number[] = [];
  for (;;) {
    const type = r.byte();
    if (type === NID.end) break;
    const size = r.number();
    if (size > r.left)
      throw headerError(`file property 0x${type.toString(16)} of ${size} bytes runs past the end`, r.pos);
    const end = r.pos + size;
    const sub = new HeaderReader(r.bytes, r.pos, end, r.checkpoint);
    if (seen.has(type) && type !== NID.dummy) repeatedProperties.push(type);
    seen.add(type);
    switch (type) {
      case NID.emptyStream:
        emptyStream = sub.bits(declared);
        break;
      case NID.emptyFile:
        emptyFile = sub.bits(emptyStream?.count() ?? 0);
        break;
      case NID.anti:
        anti = sub.bits(emptyStream?.count() ?? 0);
        break;
      case NID.name:
        if (sub.byte() !== 0) throw new ModelgateError("UNSUPPORTED", "7z header: names stored in an external stream");
        names = readNames(sub, declared, kept);
        break;
      case NID.winAttributes: {
        const defined = sub.definedBits(declared);
        if (sub.byte() !== 0) {
          throw new ModelgateError("UNSUPPORTED", "7z header: attributes stored in an external stream");
        }
        attributes = [];
        for (let i = 0; i < kept; i++) attributes.push(defined.get(i) ? sub.u32() : undefined);
        break;
      }
      case NID.cTime:
      case NID.aTime:
      case NID.mTime:
      case NID.comment:
      case NID.startPos:
      case NID.dummy:
        break; // times, comments and start positions do not matter here
      default:
        unknownProperties.push(type);
    }
    r.pos = end;
  }
  const files: FileRecord[] = [];
  let empties = 0;
  for (let i = 0; i < kept; i++) {
    if ((i & 0xfff) === 0xfff) r.checkpoint();
    const isEmpty = emptyStream?.get(i) ?? false;
    let isDir = false;
    let isAnti = false;
    if (isEmpty) {
      isDir = !(emptyFile?.get(empties) ?? false);
      isAnti = anti?.get(empties) ?? false;
      empties++;
    }
    const attr = attributes?.[i];
    if (attr !== undefined && (attr & FILE_ATTRIBUTE_DIRECTORY) !== 0) isDir = true;
    files.push({ name: names?.[i] ?? "", hasStream: !isEmpty, isDir, isAnti, attributes: attr });
  }
  return {
    declared,
    files,
    named: names !== undefined,
    unknownProperties,
    repeatedProperties,
    withStreams: declared - (emptyStream?.count() ?? 0),
  };
}

const utf16 = new TextDecoder("utf-16le");

/** Reads `declared` NUL-terminated UTF-16LE names, keeping the first `kept`. */
function readNames(r: HeaderReader, declared: number, kept: number): string[] {
  if ((r.left & 1) !== 0) throw headerError("names of an odd number of bytes", r.pos);
  const names: string[] = [];
  const b = r.bytes;
  for (let i = 0; i < declared; i++) {
    if ((i & 0xfff) === 0xfff) r.checkpoint();
    const start = r.pos;
    let p = start;
    while (p + 1 < r.end && (b[p] !== 0 || b[p + 1] !== 0)) p += 2;
    if (p + 1 >= r.end) throw headerError(`name ${i} is not terminated`, start);
    if (i < kept) names.push(utf16.decode(b.subarray(start, p)));
    r.pos = p + 2;
  }
  if (r.left !== 0) throw headerError(`${r.left} bytes after the last name`, r.pos);
  return names;
}
