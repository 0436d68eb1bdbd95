/**
 * A tolerant zip reader over a {@link ByteSource}.
 *
 * It reads what PyTorch's reader (miniz, via `caffe2/serialize/inline_container.cc`) reads: the
 * central directory decides the members, their names, sizes and methods; the local header is only
 * used to find where a member's data starts. Where Python's `zipfile` or miniz would disagree or
 * refuse (shifted directories, mismatched names, flipped flag bits, bad CRCs, duplicate names,
 * extra entries beyond the declared count ...), the reader carries on and records a finding, so
 * scanners cannot be blinded by the very tricks that let a payload reach `torch.load`.
 *
 * Listing ({@link readZipDirectory}) is one read of the tail plus one read of the central
 * directory, walked in a tight loop; local headers are checked separately
 * ({@link checkLocalHeaders}) with batched reads.
 * @module
 */

import { type ByteSource, readClamped, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const EOCD_SIZE = 22;
const EOCD64_SIZE = 56;
const LOCATOR64_SIZE = 20;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** miniz's read size when it searches for the end record. */
const MINIZ_READ = 4096;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/** Largest read serving several local headers at once. */
const LOCAL_WINDOW = 256 * 1024;

/** Flag bit 0: traditional PKWARE encryption. */
export const FLAG_ENCRYPTED = 0x0001;
/** Flag bit 3: sizes and CRC follow the data in a data descriptor. */
export const FLAG_DATA_DESCRIPTOR = 0x0008;
/** Flag bit 6: strong encryption. */
export const FLAG_STRONG_ENCRYPTION = 0x0040;
/** Flag bit 11: name and comment are UTF-8. */
export const FLAG_UTF8 = 0x0800;
/** Flag bits ordinary writers set: encryption (reported separately), deflate options, descriptor, UTF-8. */
const USUAL_FLAGS = FLAG_ENCRYPTED | 0x0002 | 0x0004 | FLAG_DATA_DESCRIPTOR | FLAG_UTF8;

/** 2^64 - 1 as a double (2^64): the file size sentinel Python's zipfile also checks. */
const U64_MAX = 2 ** 64;

/** Compression method 0. */
export const METHOD_STORED = 0;
/** Compression method 8. */
export const METHOD_DEFLATE = 8;
/** bzip2 and LZMA: Python's zipfile reads them (numpy.load, Keras), PyTorch's miniz does not. */
export const METHOD_BZIP2 = 12;
export const METHOD_LZMA = 14;

/** One central directory record. */
export interface ZipEntry {
  /** Position in the central directory. */
  readonly index: number;
  /** Name, decoded (UTF-8 when valid, else Latin-1 so distinct bytes stay distinct). */
  readonly name: string;
  /** Offset of the raw name bytes within {@link ZipDirectory.centralDirectoryBytes}. */
  readonly nameOffset: number;
  /** Length of the raw name in bytes. */
  readonly nameLength: number;
  /** General-purpose flag bits. */
  readonly flags: number;
  /** Compression method (0 stored, 8 deflate). */
  readonly method: number;
  /** Declared CRC-32 of the uncompressed data. */
  readonly crc32: number;
  /** Declared compressed size. */
  readonly compressedSize: number;
  /** Declared uncompressed size. */
  readonly uncompressedSize: number;
  /** Offset of the local file header in the source (including any detected prefix shift). */
  readonly localHeaderOffset: number;
  /** "Version made by" (high byte: host system, 3 = Unix). */
  readonly versionMadeBy: number;
  /** External attributes (Unix mode in the high 16 bits for Unix hosts). */
  readonly externalAttributes: number;
  /** Offset of this record in the source. */
  readonly centralOffset: number;
  /** The name ends with `/` (or the DOS directory bit is set). */
  readonly isDirectory: boolean;
  /** A Unix symbolic link (its data is the link target). */
  readonly isSymlink: boolean;
  /**
   * Flagged encrypted (bit 0 or 6). The flag alone does not make the data unreadable: PyTorch
   * builds that ignore it load plain bytes so flagged; the zip analyzer tries the data as plain.
   */
  readonly encrypted: boolean;
}

/** A byte range of the archive. */
export interface ZipRange {
  /** First byte. */
  readonly offset: number;
  /** Length in bytes. */
  readonly length: number;
}

/** Unreferenced ranges kept for analysis (the rest are only counted in findings). */
const MAX_RANGES = 64;

/** Budgets of {@link readZipDirectory}. */
export interface ZipReadOptions {
  /** Maximum entries read (default 200,000); the rest are reported, not read. */
  maxEntries?: number;
  /** Maximum central directory bytes read into memory (default 512 MiB). */
  maxCentralDirectoryBytes?: number;
  /** Findings kept per rule (default 20); further occurrences are counted. */
  maxFindingsPerRule?: number;
  /** Aborts the walk. */
  signal?: AbortSignal;
}

/** The result of reading a zip's end records and central directory. */
export interface ZipDirectory {
  /** Entries in central directory order. */
  readonly entries: ZipEntry[];
  /** Offset of the end-of-central-directory record used. */
  readonly eocdOffset: number;
  /** Offsets of every end record found (the one used is the last). */
  readonly eocdCandidates: readonly number[];
  /** Whether zip64 end records were used. */
  readonly zip64: boolean;
  /** Where the central directory starts and how long it is (as read). */
  readonly centralDirectory: { readonly offset: number; readonly size: number };
  /** Entry count the end record declares. */
  readonly declaredEntries: number;
  /** Bytes before the archive proper that all offsets were shifted by (Python-style recovery). */
  readonly prefixShift: number;
  /** The archive comment's location, when there is one. */
  readonly comment?: { readonly offset: number; readonly length: number };
  /** True when not every entry could be read (budget or corruption). */
  readonly incomplete: boolean;
  /** Bytes after the central directory that belong to nothing (before the end record, after its comment). */
  readonly unreferenced: readonly ZipRange[];
  /** The central directory as read (entries' raw names point into it). */
  readonly centralDirectoryBytes: Uint8Array;
  /** Anomalies found while reading. */
  readonly findings: FindingInput[];
}

// Out-of-range indexes read `undefined`, which bitwise operators treat as 0: no bounds branches.
function u16(b: Uint8Array, p: number): number {
  return (b[p] as number) | ((b[p + 1] as number) << 8);
}

function u32(b: Uint8Array, p: number): number {
  return (
    ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16) | ((b[p + 3] as number) << 24)) >>> 0
  );
}

/** Little-endian u64 as a number; values past 2^53 lose precision but stay larger than any file. */
function u64(b: Uint8Array, p: number): number {
  return u32(b, p + 4) * 0x100000000 + u32(b, p);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Set by {@link decodeNameAt}: the last name had control characters or backslashes. */
let lastNameOdd = false;
/** Set by {@link decodeNameAt}: the last name may escape the extraction directory (cheap pre-check). */
let lastNameMaybeEscapes = false;
/** Set by {@link decodeNameAt}: FNV-1a hash of the last name's bytes (duplicate detection). */
let lastNameHash = 0;

/**
 * Name bytes `[start, end)` of `buf` → string (UTF-8 when valid, else Latin-1 so distinct bytes stay
 * distinct). Sets {@link lastNameOdd}. Allocation-free for ASCII names besides the string itself.
 */
function decodeNameAt(buf: Buffer, start: number, end: number, asLatin1?: string): string {
  let ascii = true;
  let odd = false;
  let dots = false;
  let prev = 0;
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    hash = Math.imul(hash ^ c, 0x01000193);
    if (c >= 0x80) ascii = false;
    else if (c < 0x20 || c === 0x7f || c === 0x5c) odd = true;
    else if (c === 0x2e && prev === 0x2e) dots = true;
    prev = c;
  }
  lastNameOdd = odd;
  lastNameHash = hash >>> 0;
  const c0 = buf[start];
  lastNameMaybeEscapes = dots || odd || c0 === 0x2f || buf[start + 1] === 0x3a;
  if (ascii) return asLatin1 !== undefined ? asLatin1.substring(start, end) : buf.toString("latin1", start, end);
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return buf.toString("latin1", start, end);
  }
}

function decodeName(bytes: Uint8Array): string {
  return decodeNameAt(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length);
}

/**
 * Whether a member name escapes the extraction directory: absolute, a drive letter, a UNC path or
 * a `..` component (with either separator).
 * @param name - the member name
 */
export function isTraversalName(name: string): boolean {
  const c0 = name.charCodeAt(0);
  if (c0 === 0x2f || c0 === 0x5c) return true;
  if (name.charCodeAt(1) === 0x3a && (c0 | 0x20) >= 0x61 && (c0 | 0x20) <= 0x7a) return true;
  if (!name.includes("..")) return false;
  return name.split(/[/\\]/).some((part) => part === "..");
}

interface EocdRecord {
  offset: number;
  disk: number;
  cdDisk: number;
  entriesOnDisk: number;
  entries: number;
  cdSize: number;
  cdOffset: number;
  commentLength: number;
}

function parseEocd(b: Uint8Array, p: number, offset: number): EocdRecord {
  return {
    offset,
    disk: u16(b, p + 4),
    cdDisk: u16(b, p + 6),
    entriesOnDisk: u16(b, p + 8),
    entries: u16(b, p + 10),
    cdSize: u32(b, p + 12),
    cdOffset: u32(b, p + 16),
    commentLength: u16(b, p + 20),
  };
}

/** Other end records checked against the member holding them; beyond this many, all are reported. */
const MAX_EOCD_CHECKS = 64;

/**
 * The end records other than the one used that lie outside every member's data: a record inside a
 * member (from its local header to the end of its compressed data, as the local header gives it)
 * belongs to that member's content. Each check reads one local header; past
 * {@link MAX_EOCD_CHECKS} records every one is returned unchecked.
 * @param source - the archive
 * @param candidates - offsets of every end record found, ascending
 * @param used - offset of the end record used
 * @param entries - the members listed
 */
async function endRecordsOutsideMembers(
  source: ByteSource,
  candidates: readonly number[],
  used: number,
  entries: readonly ZipEntry[],
): Promise<number[]> {
  const others = candidates.filter((o) => o !== used);
  if (others.length === 0 || others.length > MAX_EOCD_CHECKS || entries.length === 0) return others;
  const starts = [...new Set(entries.map((e) => e.localHeaderOffset))].sort((a, b) => a - b);
  const sizes = new Map<number, number>();
  for (const e of entries)
    sizes.set(e.localHeaderOffset, Math.max(sizes.get(e.localHeaderOffset) ?? 0, e.compressedSize));
  const outside: number[] = [];
  for (const offset of others) {
    // the last member starting at or before the record
    let lo = 0;
    let hi = starts.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] as number) <= offset) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const start = at < 0 ? undefined : starts[at];
    let inside = false;
    if (start !== undefined && start + LOCAL_SIZE <= source.size) {
      const h = await readExact(source, start, LOCAL_SIZE);
      if (u32(h, 0) === SIG_LOCAL) {
        const dataEnd = start + LOCAL_SIZE + u16(h, 26) + u16(h, 28) + (sizes.get(start) ?? 0);
        inside = offset >= start + LOCAL_SIZE && offset + EOCD_SIZE <= dataEnd;
      }
    }
    if (!inside) outside.push(offset);
  }
  return outside;
}

/**
 * Reads the end records and walks the central directory. Throws `MALFORMED` when no central
 * directory can be found at all, `BUDGET_EXCEEDED` when it is larger than the byte budget;
 * everything else is a finding.
 * @param source - the archive
 * @param options - budgets
 */
export async function readZipDirectory(source: ByteSource, options: ZipReadOptions = {}): Promise<ZipDirectory> {
  const maxEntries = options.maxEntries ?? 200_000;
  const maxCdBytes = options.maxCentralDirectoryBytes ?? 512 * 1024 * 1024;
  const findings = new FindingList(options.maxFindingsPerRule);
  const size = source.size;
  if (size < EOCD_SIZE) {
    throw new ModelgateError("MALFORMED", `${size} bytes is too small for a zip archive`, { offset: 0 });
  }

  // 1. End record: the last signature with a whole record after it, as miniz and Python take it
  // (neither checks that its comment fits or that its directory lies before it: a record that
  // looks implausible is still the one they read, so it is the one read here).
  // miniz reads backwards 4 KiB at a time until it is 64 KiB + 22 bytes from the end: a record up to
  // one read further back is still found (Python's window is the 64 KiB + 22 bytes)
  const tailLength = Math.min(size, MAX_COMMENT + EOCD_SIZE + LOCATOR64_SIZE + MINIZ_READ);
  const tailStart = size - tailLength;
  const tail = await readExact(source, tailStart, tailLength);
  const records: EocdRecord[] = [];
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tail[i] !== 0x50 || u32(tail, i) !== SIG_EOCD) continue;
    records.push(parseEocd(tail, i, tailStart + i));
  }
  const eocd = records[0];
  if (eocd === undefined) {
    throw new ModelgateError("MALFORMED", "no end-of-central-directory record in the last 64 KiB", {
      offset: tailStart,
    });
  }
  const eocdCandidates = records.map((r) => r.offset).reverse();
  const commentFits = eocd.offset + EOCD_SIZE + eocd.commentLength <= size;
  const dirFits =
    eocd.cdOffset === U32_MAX ||
    eocd.cdSize === U32_MAX ||
    (eocd.cdSize <= eocd.offset && eocd.cdOffset <= eocd.offset);
  if (!commentFits || !dirFits) {
    findings.add({
      ruleId: "zip/malformed",
      message: "the end-of-central-directory record is inconsistent (comment or directory out of bounds)",
      offset: eocd.offset,
    });
  }

  // 2. Comment and bytes after the end record.
  const commentOffset = eocd.offset + EOCD_SIZE;
  const commentLength = Math.min(eocd.commentLength, size - commentOffset);
  if (eocd.commentLength > 0) {
    findings.add({
      ruleId: "zip/comment",
      message: `archive comment of ${commentLength} bytes`,
      offset: commentOffset,
      evidence: { length: commentLength },
    });
  }
  const recordEnd = commentOffset + eocd.commentLength;
  const unreferenced: ZipRange[] = [];
  if (recordEnd < size) {
    unreferenced.push({ offset: recordEnd, length: size - recordEnd });
    findings.add({
      ruleId: "zip/trailing-data",
      message: `${size - recordEnd} bytes follow the end-of-central-directory record`,
      offset: recordEnd,
      evidence: { bytes: size - recordEnd },
    });
  } else if (recordEnd > size) {
    findings.add({
      ruleId: "zip/inconsistent-directory",
      message: `the archive comment is declared as ${eocd.commentLength} bytes but only ${commentLength} remain`,
      offset: commentOffset,
    });
  }

  // 3. zip64 end records.
  let entriesOnDisk = eocd.entriesOnDisk;
  let declaredEntries = eocd.entries;
  let cdSize = eocd.cdSize;
  let cdOffset = eocd.cdOffset;
  let disk = eocd.disk;
  let cdDisk = eocd.cdDisk;
  let zip64 = false;
  let endOfDirectoryArea = eocd.offset; // where the central directory should end
  const locatorOffset = eocd.offset - LOCATOR64_SIZE;
  const locator = locatorOffset >= 0 ? await readExact(source, locatorOffset, LOCATOR64_SIZE) : undefined;
  // miniz looks for a locator only where a zip64 record and a locator fit before the end record
  const minizLocator = eocd.offset >= LOCATOR64_SIZE + EOCD64_SIZE ? locator : undefined;
  const sentinels =
    eocd.entries === U16_MAX || eocd.entriesOnDisk === U16_MAX || eocd.cdSize === U32_MAX || eocd.cdOffset === U32_MAX;
  if (minizLocator !== undefined && u32(minizLocator, 0) === SIG_LOCATOR64) {
    // miniz follows the locator's pointer; without a record there it keeps the 32-bit fields
    // (Python reads the record right before the locator: step 7)
    const recordOffset = u64(minizLocator, 8);
    let record: Uint8Array | undefined;
    const at = recordOffset;
    if (recordOffset + EOCD64_SIZE <= size) {
      const b = await readExact(source, recordOffset, EOCD64_SIZE);
      if (u32(b, 0) === SIG_EOCD64) record = b;
    }
    if (record === undefined) {
      findings.add({
        ruleId: "zip/zip64-inconsistent",
        message: `zip64 locator present but no zip64 end record at ${recordOffset} (miniz keeps the 32-bit fields)`,
        offset: locatorOffset,
      });
    } else {
      zip64 = true;
      const recordSize = u64(record, 4);
      if (at + 12 + recordSize !== locatorOffset) {
        findings.add({
          ruleId: "zip/zip64-inconsistent",
          message: `the zip64 end record at ${at} (${recordSize + 12} bytes) does not end at its locator (${locatorOffset})`,
          offset: at,
        });
      }
      const z = {
        disk: u32(record, 16),
        cdDisk: u32(record, 20),
        entriesOnDisk: u64(record, 24),
        entries: u64(record, 32),
        cdSize: u64(record, 40),
        cdOffset: u64(record, 48),
      };
      const clash: string[] = [];
      if (eocd.entries !== U16_MAX && eocd.entries !== z.entries) clash.push(`entries ${eocd.entries}≠${z.entries}`);
      if (eocd.cdSize !== U32_MAX && eocd.cdSize !== z.cdSize) clash.push(`size ${eocd.cdSize}≠${z.cdSize}`);
      if (eocd.cdOffset !== U32_MAX && eocd.cdOffset !== z.cdOffset) {
        clash.push(`offset ${eocd.cdOffset}≠${z.cdOffset}`);
      }
      if (clash.length > 0) {
        findings.add({
          ruleId: "zip/zip64-inconsistent",
          message: `end record and zip64 end record disagree: ${clash.join(", ")}`,
          offset: at,
          evidence: { fields: clash.join("; ") },
        });
      }
      ({ disk, cdDisk, entriesOnDisk, cdSize, cdOffset } = z);
      declaredEntries = z.entries;
      endOfDirectoryArea = at;
    }
  } else if (eocd.cdOffset === U32_MAX || eocd.cdSize === U32_MAX) {
    findings.add({
      ruleId: "zip/zip64-inconsistent",
      message: "the end record defers to zip64 values, but there is no zip64 locator",
      offset: eocd.offset,
    });
  } else if (sentinels && eocd.entries === U16_MAX) {
    // 65,535 entries without zip64 is legitimate; the walk below checks the count.
  }
  if (disk !== 0 || cdDisk !== 0 || (minizLocator !== undefined && zip64 && u32(minizLocator, 16) > 1)) {
    findings.add({
      ruleId: "zip/inconsistent-directory",
      message: `the end record names disk ${disk} (directory on disk ${cdDisk}): multi-disk archives are not supported by PyTorch`,
      offset: eocd.offset,
      evidence: { disk, cdDisk },
    });
  }
  if (entriesOnDisk !== declaredEntries) {
    findings.add({
      ruleId: "zip/inconsistent-directory",
      message: `the end record declares ${entriesOnDisk} entries on this disk but ${declaredEntries} in total`,
      offset: eocd.offset,
    });
  }

  // 4. Locate the central directory: miniz's offset first, else where Python's zipfile finds one
  // (its prefix-shifted offset, or its own reading of the end records: see step 7).
  let prefixShift = 0;
  let cdStart = cdOffset;
  const shift = endOfDirectoryArea - cdSize - cdOffset;
  const sigAt = async (offset: number): Promise<boolean> => {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + 4 > size) return false;
    return u32(await readExact(source, offset, 4), 0) === SIG_CENTRAL;
  };
  const python = await pythonDirectory(source, eocd, locator, locatorOffset);
  const emptyDirectory = declaredEntries === 0 && cdSize === 0;
  if (!emptyDirectory && !(await sigAt(cdOffset))) {
    if (python !== undefined && (await sigAt(python.start))) {
      prefixShift = python.shift;
      cdStart = python.start;
      cdSize = python.size;
      declaredEntries = python.entries;
      findings.add(
        python.shift > 0 && python.start === cdOffset + python.shift
          ? {
              ruleId: "zip/prepended-data",
              message: `${python.shift} bytes precede the archive: every offset is shifted (Python's zipfile compensates, PyTorch's reader does not)`,
              offset: 0,
              evidence: { bytes: python.shift },
            }
          : {
              ruleId: "zip/inconsistent-directory",
              message: `no central directory at ${cdOffset}, where miniz looks; Python's zipfile reads the one at ${python.start} (offsets shifted by ${python.shift})`,
              offset: cdOffset,
              evidence: { minizDirectory: cdOffset, pythonDirectory: python.start },
            },
      );
    } else {
      throw new ModelgateError("MALFORMED", `no central directory at offset ${cdOffset} (declared by the end record)`, {
        offset: cdOffset,
      });
    }
  } else if (shift !== 0 && !emptyDirectory) {
    if (shift > 0) unreferenced.push({ offset: cdOffset + cdSize, length: shift });
    findings.add({
      ruleId: shift > 0 ? "zip/trailing-data" : "zip/inconsistent-directory",
      message:
        shift > 0
          ? `${shift} bytes sit between the central directory and its end record (Python would look for the directory elsewhere)`
          : `the central directory (${cdSize} bytes at ${cdOffset}) overlaps its end record at ${endOfDirectoryArea}`,
      offset: cdOffset + cdSize,
      evidence: { bytes: Math.abs(shift) },
    });
  }

  // 5. Read the central directory in one piece.
  const available = Math.max(0, Math.min(cdSize, size - cdStart));
  if (available > maxCdBytes) {
    throw new ModelgateError(
      "BUDGET_EXCEEDED",
      `central directory of ${cdSize} bytes exceeds the budget of ${maxCdBytes} bytes`,
      { offset: cdStart, budget: "maxCentralDirectoryBytes" },
    );
  }
  let incomplete = false;
  if (available < cdSize) {
    incomplete = true;
    findings.add({
      ruleId: "zip/malformed",
      message: `central directory truncated: ${cdSize} bytes declared at ${cdStart}, ${available} present`,
      offset: cdStart,
    });
  }
  const cd = available > 0 ? await readClamped(source, cdStart, available) : new Uint8Array(0);
  if (declaredEntries > maxEntries) {
    findings.add({
      ruleId: "container/too-many-entries",
      message: `the archive declares ${declaredEntries} entries; only the first ${maxEntries} are read`,
      offset: eocd.offset,
      evidence: { declared: declaredEntries, budget: maxEntries },
    });
  }

  // 6. The walk.
  const walk = walkCentralDirectory(
    cd,
    cdStart,
    declaredEntries,
    maxEntries,
    prefixShift,
    size,
    findings,
    options.signal,
  );
  const { entries } = walk;
  const p = walk.consumed;
  incomplete ||= walk.incomplete;

  if (!incomplete && entries.length !== declaredEntries) {
    findings.add({
      ruleId: "zip/inconsistent-directory",
      message: `the end record declares ${declaredEntries} entries but the central directory holds ${entries.length} (miniz reads the declared count, Python the declared size)`,
      offset: eocd.offset,
      evidence: { declared: declaredEntries, found: entries.length },
    });
  }
  if (!incomplete && p !== cd.length && p + 4 > cd.length) {
    findings.add({
      ruleId: "zip/inconsistent-directory",
      message: `the central directory is declared as ${cdSize} bytes but its records take ${p}`,
      offset: cdStart,
    });
  }

  // 7. Python's zipfile finds the directory its own way: the zip64 end record right before the
  // locator (the locator's pointer is ignored; without one there, the 32-bit fields), and the
  // directory right before those records, every offset shifted by how far that is from where the
  // records say. When that is another directory than the one read above (PyTorch's miniz follows
  // the pointer and the offset), its entries are read too: a member only one loader sees is
  // analysed all the same.
  let allEntries: ZipEntry[] = entries;
  let allBytes = cd;
  if (python !== undefined && (python.start !== cdStart || python.shift !== prefixShift || python.size !== cd.length)) {
    const pyAvailable = Math.max(0, Math.min(python.size, size - python.start));
    const readable = pyAvailable > 0 && (await sigAt(python.start));
    if (readable && pyAvailable + cd.length > maxCdBytes) {
      // not read is not clean: a member only Python lists could hide there
      throw new ModelgateError(
        "BUDGET_EXCEEDED",
        `the central directories miniz and Python's zipfile read (${cd.length} + ${pyAvailable} bytes) exceed the budget of ${maxCdBytes} bytes`,
        { offset: python.start, budget: "maxCentralDirectoryBytes" },
      );
    }
    if (readable) {
      const pyCd = await readClamped(source, python.start, pyAvailable);
      const pyFindings = new FindingList(options.maxFindingsPerRule);
      const pyWalk = walkCentralDirectory(
        pyCd,
        python.start,
        python.entries,
        maxEntries,
        python.shift,
        size,
        pyFindings,
        options.signal,
      );
      // the same member only when everything the analysis reads of it is the same
      const key = (e: ZipEntry) =>
        `${e.localHeaderOffset}/${e.method}/${e.flags}/${e.compressedSize}/${e.uncompressedSize}/${e.crc32}/${e.name}`;
      const known = new Set(entries.map(key));
      const extra = pyWalk.entries.filter((e) => !known.has(key(e)));
      findings.add({
        ruleId: "zip/inconsistent-directory",
        message: `Python's zipfile reads another central directory (${python.size} bytes at ${python.start}, offsets shifted by ${python.shift}) than PyTorch's miniz (at ${cdStart}): ${extra.length} member(s) only it lists are analysed too`,
        offset: python.start,
        evidence: { pythonDirectory: python.start, minizDirectory: cdStart, extra: extra.length },
      });
      for (const f of pyFindings.list()) findings.add(f);
      if (extra.length > 0) {
        allBytes = new Uint8Array(cd.length + pyCd.length);
        allBytes.set(cd);
        allBytes.set(pyCd, cd.length);
        const base = cd.length;
        allEntries = [...entries, ...extra.map((e, k) => new ReindexedEntry(e, entries.length + k, base))];
      }
    }
  }

  // Other end records, reported once the members are known: one inside a member's data (a stored
  // inner zip or .npz) is that member's content, not a second reading of this archive.
  const outside = await endRecordsOutsideMembers(source, eocdCandidates, eocd.offset, allEntries);
  if (outside.length > 0) {
    const all = [...outside, eocd.offset];
    findings.add({
      ruleId: "zip/multiple-eocd",
      message: `${all.length} end-of-central-directory records outside the members' data (at ${all.join(", ")}); the last is used, as miniz and Python do`,
      offset: eocd.offset,
      evidence: { count: all.length, offsets: all.join(",") },
    });
  }

  const result: ZipDirectory = {
    entries: allEntries,
    eocdOffset: eocd.offset,
    eocdCandidates,
    zip64,
    centralDirectory: { offset: cdStart, size: cd.length },
    centralDirectoryBytes: allBytes,
    declaredEntries,
    prefixShift,
    incomplete,
    unreferenced,
    findings: findings.list(),
  };
  return eocd.commentLength > 0 ? { ...result, comment: { offset: commentOffset, length: commentLength } } : result;
}

/** Where Python's zipfile reads the central directory from (see `_EndRecData64`, `_RealGetContents`). */
interface PythonDirectory {
  /** First byte of the directory. */
  readonly start: number;
  /** Bytes it reads. */
  readonly size: number;
  /** What it adds to every local header offset (`concat`). */
  readonly shift: number;
  /** Entries the record it used declares (Python itself walks by size). */
  readonly entries: number;
}

/**
 * Where Python's zipfile reads the directory of an archive whose end record is `eocd` (undefined
 * where it raises): the zip64 end record is the 56 bytes right before a locator (its pointer is
 * not followed; a record without its signature there leaves the 32-bit fields), and the directory
 * ends where the end records begin.
 */
async function pythonDirectory(
  source: ByteSource,
  eocd: EocdRecord,
  locator: Uint8Array | undefined,
  locatorOffset: number,
): Promise<PythonDirectory | undefined> {
  let size = eocd.cdSize;
  let offset = eocd.cdOffset;
  let entries = eocd.entries;
  let end = eocd.offset;
  if (locator !== undefined && u32(locator, 0) === SIG_LOCATOR64) {
    if (u32(locator, 4) !== 0 || u32(locator, 16) > 1) return undefined; // multi-disk: BadZipFile
    const at = locatorOffset - EOCD64_SIZE;
    if (at >= 0) {
      const record = await readExact(source, at, EOCD64_SIZE);
      if (u32(record, 0) === SIG_EOCD64) {
        size = u64(record, 40);
        offset = u64(record, 48);
        entries = u64(record, 32);
        end = at;
      }
    }
  }
  const start = end - size;
  if (!Number.isSafeInteger(start) || start < 0) return undefined;
  return { start, size, shift: start - offset, entries };
}

/**
 * An entry under another number: one of another directory, numbered after those of the first (its
 * name offset moved with its bytes), or another reading of the same record (other sizes, offset).
 */
class ReindexedEntry implements ZipEntry {
  readonly #e: ZipEntry;
  readonly index: number;
  readonly #base: number;
  readonly #values: { uncompressedSize: number; compressedSize: number; localHeaderOffset: number } | undefined;

  constructor(
    entry: ZipEntry,
    index: number,
    nameBase: number,
    values?: { uncompressedSize: number; compressedSize: number; localHeaderOffset: number },
  ) {
    this.#e = entry;
    this.index = index;
    this.#base = nameBase;
    this.#values = values;
  }
  get name(): string {
    return this.#e.name;
  }
  get nameOffset(): number {
    return this.#e.nameOffset + this.#base;
  }
  get nameLength(): number {
    return this.#e.nameLength;
  }
  get flags(): number {
    return this.#e.flags;
  }
  get method(): number {
    return this.#e.method;
  }
  get crc32(): number {
    return this.#e.crc32;
  }
  get compressedSize(): number {
    return this.#values?.compressedSize ?? this.#e.compressedSize;
  }
  get uncompressedSize(): number {
    return this.#values?.uncompressedSize ?? this.#e.uncompressedSize;
  }
  get localHeaderOffset(): number {
    return this.#values?.localHeaderOffset ?? this.#e.localHeaderOffset;
  }
  get versionMadeBy(): number {
    return this.#e.versionMadeBy;
  }
  get externalAttributes(): number {
    return this.#e.externalAttributes;
  }
  get centralOffset(): number {
    return this.#e.centralOffset;
  }
  get isDirectory(): boolean {
    return this.#e.isDirectory;
  }
  get isSymlink(): boolean {
    return this.#e.isSymlink;
  }
  get encrypted(): boolean {
    return this.#e.encrypted;
  }
}

/** Central directory fields in columns: entries are thin views, so 100k entries stay cheap. */
class EntryColumns {
  readonly nameOffset: Uint32Array;
  readonly nameLength: Uint16Array;
  readonly flags: Uint16Array;
  readonly method: Uint16Array;
  readonly crc32: Uint32Array;
  readonly compressedSize: Float64Array;
  readonly uncompressedSize: Float64Array;
  readonly localHeaderOffset: Float64Array;
  readonly versionMadeBy: Uint16Array;
  readonly externalAttributes: Uint32Array;
  readonly centralOffset: Float64Array;

  constructor(capacity: number) {
    this.nameOffset = new Uint32Array(capacity);
    this.nameLength = new Uint16Array(capacity);
    this.flags = new Uint16Array(capacity);
    this.method = new Uint16Array(capacity);
    this.crc32 = new Uint32Array(capacity);
    this.compressedSize = new Float64Array(capacity);
    this.uncompressedSize = new Float64Array(capacity);
    this.localHeaderOffset = new Float64Array(capacity);
    this.versionMadeBy = new Uint16Array(capacity);
    this.externalAttributes = new Uint32Array(capacity);
    this.centralOffset = new Float64Array(capacity);
  }
}

/** A {@link ZipEntry} backed by {@link EntryColumns}. */
class CentralEntry implements ZipEntry {
  readonly name: string;
  readonly index: number;
  readonly #c: EntryColumns;

  constructor(name: string, index: number, columns: EntryColumns) {
    this.name = name;
    this.index = index;
    this.#c = columns;
  }

  get nameOffset(): number {
    return this.#c.nameOffset[this.index] as number;
  }
  get nameLength(): number {
    return this.#c.nameLength[this.index] as number;
  }
  get flags(): number {
    return this.#c.flags[this.index] as number;
  }
  get method(): number {
    return this.#c.method[this.index] as number;
  }
  get crc32(): number {
    return this.#c.crc32[this.index] as number;
  }
  get compressedSize(): number {
    return this.#c.compressedSize[this.index] as number;
  }
  get uncompressedSize(): number {
    return this.#c.uncompressedSize[this.index] as number;
  }
  get localHeaderOffset(): number {
    return this.#c.localHeaderOffset[this.index] as number;
  }
  get versionMadeBy(): number {
    return this.#c.versionMadeBy[this.index] as number;
  }
  get externalAttributes(): number {
    return this.#c.externalAttributes[this.index] as number;
  }
  get centralOffset(): number {
    return this.#c.centralOffset[this.index] as number;
  }
  get isDirectory(): boolean {
    return this.name.endsWith("/") || (this.externalAttributes & 0x10) !== 0;
  }
  get isSymlink(): boolean {
    return this.versionMadeBy >>> 8 === 3 && ((this.externalAttributes >>> 16) & 0xf000) === 0xa000;
  }
  get encrypted(): boolean {
    return (this.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) !== 0;
  }
}

/** State the central directory walk hands back. */
interface WalkResult {
  entries: ZipEntry[];
  /** Bytes of the directory consumed by whole records. */
  consumed: number;
  incomplete: boolean;
}

/**
 * The central directory walk: one pass over the directory bytes, allocating one object and one
 * string per entry; anything unusual is handed to {@link reportEntry}.
 */
function walkCentralDirectory(
  cd: Uint8Array,
  cdStart: number,
  declaredEntries: number,
  maxEntries: number,
  prefixShift: number,
  size: number,
  findings: FindingList,
  signal: AbortSignal | undefined,
): WalkResult {
  const cdBuf = Buffer.from(cd.buffer, cd.byteOffset, cd.byteLength);
  // One Latin-1 string of the whole directory: ASCII names become cheap substrings of it.
  const cdLatin1 = cdBuf.toString("latin1");
  let incomplete = false;
  const entries: ZipEntry[] = [];
  const columns = new EntryColumns(Math.min(maxEntries, Math.floor(cd.length / CENTRAL_SIZE)));
  const hashes = new Uint32Array(columns.flags.length);
  /** Entries Python's zipfile reads with other sizes or offset (a second zip64 extra field). */
  const twins: { row: number; uncompressedSize: number; compressedSize: number; localHeaderOffset: number }[] = [];
  let p = 0;
  while (p + 4 <= cd.length) {
    if (u32(cd, p) !== SIG_CENTRAL) {
      if (entries.length < declaredEntries) {
        incomplete = true;
        findings.add({
          ruleId: "zip/malformed",
          message: `bad central directory record signature at ${cdStart + p} after ${entries.length} of ${declaredEntries} entries`,
          offset: cdStart + p,
        });
      } else {
        findings.add({
          ruleId: "zip/inconsistent-directory",
          message: `${cd.length - p} unparseable bytes follow the ${entries.length} declared entries inside the central directory`,
          offset: cdStart + p,
        });
      }
      break;
    }
    if (p + CENTRAL_SIZE > cd.length) {
      incomplete = true;
      findings.add({ ruleId: "zip/malformed", message: "truncated central directory record", offset: cdStart + p });
      break;
    }
    const nameLength = u16(cd, p + 28);
    const extraLength = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    const recordLength = CENTRAL_SIZE + nameLength + extraLength + commentLen;
    if (p + recordLength > cd.length) {
      incomplete = true;
      findings.add({
        ruleId: "zip/malformed",
        message: `central directory record at ${cdStart + p} runs past the directory's end`,
        offset: cdStart + p,
      });
      break;
    }
    if (entries.length >= maxEntries) {
      incomplete = true;
      if (declaredEntries <= maxEntries) {
        findings.add({
          ruleId: "container/too-many-entries",
          message: `the central directory holds more than ${maxEntries} entries; the rest were not read`,
          offset: cdStart + p,
          evidence: { budget: maxEntries },
        });
      }
      break;
    }
    if ((entries.length & 0xfff) === 0xfff) signal?.throwIfAborted();

    const versionMadeBy = u16(cd, p + 4);
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc32 = u32(cd, p + 16);
    let compressedSize = u32(cd, p + 20);
    let uncompressedSize = u32(cd, p + 24);
    const diskStart = u16(cd, p + 34);
    const externalAttributes = u32(cd, p + 38);
    let localHeaderOffset = u32(cd, p + 42);
    const nameOffset = p + CENTRAL_SIZE;
    const index = entries.length;
    const centralOffset = cdStart + p;

    /** Python's reading of the sizes and offset, when a second zip64 extra field sets them. */
    let py: [number, number, number] | undefined;
    if (uncompressedSize === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX) {
      // zip64 extra field (id 1): the 0xFFFFFFFF fields, in this order. miniz reads the first such
      // field; Python's zipfile reads every one, each filling the fields still at 0xFFFFFFFF (the
      // file size also at 2^64 - 1): a later one sets what the first left at the sentinel. The
      // entry keeps miniz's values; Python's, where they differ, make a second entry (a twin).
      let q = p + CENTRAL_SIZE + nameLength;
      const extraEnd = q + extraLength;
      let found = false;
      while (q + 4 <= extraEnd) {
        const id = u16(cd, q);
        const len = u16(cd, q + 2);
        const body = q + 4;
        if (body + len > extraEnd) break;
        if (id === 1 && found) {
          const [us, cs, lo] = py ?? [uncompressedSize, compressedSize, localHeaderOffset];
          if (us === U32_MAX || us === U64_MAX || cs === U32_MAX || lo === U32_MAX) {
            let r = body;
            const next = (): number | undefined => {
              if (r + 8 > body + len) return undefined;
              r += 8;
              return u64(cd, r - 8);
            };
            // Python raises where the field is too short: its values stay as they are
            const us2 = us === U32_MAX || us === U64_MAX ? (next() ?? us) : us;
            const cs2 = cs === U32_MAX ? (next() ?? cs) : cs;
            py = [us2, cs2, lo === U32_MAX ? (next() ?? lo) : lo];
          }
        } else if (id === 1) {
          found = true;
          let r = body;
          const take = (): number | undefined => {
            if (r + 8 > body + len) return undefined;
            const v = u64(cd, r);
            r += 8;
            return v;
          };
          let missing = false;
          if (uncompressedSize === U32_MAX) {
            const v = take();
            if (v === undefined) missing = true;
            else uncompressedSize = v;
          }
          if (compressedSize === U32_MAX) {
            const v = take();
            if (v === undefined) missing = true;
            else compressedSize = v;
          }
          if (localHeaderOffset === U32_MAX) {
            const v = take();
            if (v === undefined) missing = true;
            else localHeaderOffset = v;
          }
          if (missing) {
            findings.add({
              ruleId: "zip/zip64-inconsistent",
              message: `entry ${index}: zip64 extra field too short for the fields it must replace`,
              offset: centralOffset,
            });
          }
        }
        q = body + len;
      }
      if (!found) {
        findings.add({
          ruleId: "zip/zip64-inconsistent",
          message: `entry ${index}: 0xFFFFFFFF size or offset without a zip64 extra field`,
          offset: centralOffset,
        });
      }
    }
    localHeaderOffset += prefixShift;
    if (py !== undefined) {
      py[2] += prefixShift;
      if (py[0] !== uncompressedSize || py[1] !== compressedSize || py[2] !== localHeaderOffset) {
        findings.add({
          ruleId: "zip/zip64-inconsistent",
          message: `entry ${index}: a second zip64 extra field sets what the first left at 0xFFFFFFFF (Python's zipfile reads it, miniz does not): both readings are analysed`,
          offset: centralOffset,
        });
        twins.push({ row: index, uncompressedSize: py[0], compressedSize: py[1], localHeaderOffset: py[2] });
      }
    }

    const name = decodeNameAt(cdBuf, nameOffset, nameOffset + nameLength, cdLatin1);
    const odd = lastNameOdd;
    const maybeEscapes = lastNameMaybeEscapes;
    const isSymlink = versionMadeBy >>> 8 === 3 && ((externalAttributes >>> 16) & 0xf000) === 0xa000;
    columns.nameOffset[index] = nameOffset;
    columns.nameLength[index] = nameLength;
    columns.flags[index] = flags;
    columns.method[index] = method;
    columns.crc32[index] = crc32;
    columns.compressedSize[index] = compressedSize;
    columns.uncompressedSize[index] = uncompressedSize;
    columns.localHeaderOffset[index] = localHeaderOffset;
    columns.versionMadeBy[index] = versionMadeBy;
    columns.externalAttributes[index] = externalAttributes;
    columns.centralOffset[index] = centralOffset;
    entries.push(new CentralEntry(name, index, columns));

    if (
      odd ||
      isSymlink ||
      (flags & ~USUAL_FLAGS) !== 0 ||
      (method !== METHOD_DEFLATE && (method !== METHOD_STORED || compressedSize !== uncompressedSize)) ||
      (diskStart !== 0 && diskStart !== U16_MAX) ||
      localHeaderOffset + LOCAL_SIZE + compressedSize > size ||
      (maybeEscapes && isTraversalName(name))
    ) {
      reportEntry(entries[index] as ZipEntry, diskStart, odd, size, findings);
    }
    hashes[index] = lastNameHash;
    p += recordLength;
  }

  reportDuplicates(entries, hashes, findings);
  for (const t of twins) {
    const { row, ...values } = t;
    entries.push(new ReindexedEntry(entries[row] as ZipEntry, entries.length, 0, values));
  }
  return { entries, consumed: p, incomplete };
}

/**
 * Finds duplicate names without a hash map of strings: sorts (name hash, index) keys packed into
 * doubles and compares the names of equal hashes only.
 */
function reportDuplicates(entries: readonly ZipEntry[], hashes: Uint32Array, findings: FindingList): void {
  const n = entries.length;
  if (n < 2) return;
  if (n >= 1 << 21) {
    const seen = new Map<string, number>();
    for (const e of entries) {
      const first = seen.get(e.name);
      if (first === undefined) seen.set(e.name, e.index);
      else reportDuplicate(findings, e, first);
    }
    return;
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = (hashes[i] as number) * 0x200000 + i;
  keys.sort();
  let groupStart = 0;
  for (let i = 1; i <= n; i++) {
    const sameHash =
      i < n && Math.floor((keys[i] as number) / 0x200000) === Math.floor((keys[groupStart] as number) / 0x200000);
    if (sameHash) continue;
    if (i - groupStart > 1) {
      // Equal hashes: compare names (indexes ascend within the group, so the first is the earliest).
      const group: ZipEntry[] = [];
      for (let j = groupStart; j < i; j++) group.push(entries[(keys[j] as number) % 0x200000] as ZipEntry);
      const firstByName = new Map<string, number>();
      for (const e of group) {
        const first = firstByName.get(e.name);
        if (first === undefined) firstByName.set(e.name, e.index);
        else reportDuplicate(findings, e, first);
      }
    }
    groupStart = i;
  }
}

function reportDuplicate(findings: FindingList, entry: ZipEntry, first: number): void {
  findings.add({
    ruleId: "zip/duplicate-name",
    message: `member name ${JSON.stringify(entry.name)} appears more than once (entries ${first} and ${entry.index})`,
    offset: entry.centralOffset,
    evidence: { member: entry.name, first, second: entry.index },
  });
}

/** Reports the anomalies of one central directory record (called only when one is likely). */
function reportEntry(entry: ZipEntry, diskStart: number, odd: boolean, size: number, findings: FindingList): void {
  const {
    name,
    flags,
    method,
    compressedSize,
    uncompressedSize,
    centralOffset,
    encrypted,
    localHeaderOffset,
    isSymlink,
  } = entry;
  // An encryption flag is not reported here: whether the member is really encrypted or only
  // flagged (plain bytes PyTorch loads) takes its data; the analyzer decides (zip/encrypted-entry or
  // zip/encryption-flag-plain).
  if ((flags & ~USUAL_FLAGS & ~FLAG_STRONG_ENCRYPTION) !== 0 || (flags & FLAG_STRONG_ENCRYPTION) !== 0) {
    findings.add({
      ruleId: "zip/unusual-flags",
      message: `member ${JSON.stringify(name)} sets unusual general-purpose flag bits 0x${(flags & ~USUAL_FLAGS).toString(16)}`,
      offset: centralOffset,
      evidence: { member: name, flags },
    });
  }
  if (method !== METHOD_STORED && method !== METHOD_DEFLATE && method !== METHOD_BZIP2 && method !== METHOD_LZMA) {
    findings.add({
      ruleId: "format/unsupported",
      message: `member ${JSON.stringify(name)} uses compression method ${method}, which modelgate (and PyTorch) cannot read`,
      offset: centralOffset,
      evidence: { member: name, method },
    });
  } else if (method === METHOD_STORED && compressedSize !== uncompressedSize && !encrypted) {
    findings.add({
      ruleId: "zip/size-mismatch",
      message: `stored member ${JSON.stringify(name)} declares ${compressedSize} compressed but ${uncompressedSize} uncompressed bytes`,
      offset: centralOffset,
      evidence: { member: name, compressedSize, uncompressedSize },
    });
  }
  if (diskStart !== 0 && diskStart !== U16_MAX) {
    findings.add({
      ruleId: "zip/inconsistent-directory",
      message: `member ${JSON.stringify(name)} claims to start on disk ${diskStart}`,
      offset: centralOffset,
      evidence: { member: name },
    });
  }
  if (isSymlink) {
    findings.add({
      ruleId: "container/link-member",
      message: `member ${JSON.stringify(name)} is a symbolic link`,
      offset: centralOffset,
      evidence: { member: name },
    });
  }
  if (isTraversalName(name)) {
    findings.add({
      ruleId: "container/path-traversal",
      message: `member name ${JSON.stringify(name)} escapes the extraction directory`,
      offset: centralOffset,
      evidence: { member: name },
    });
  }
  if (odd) {
    findings.add({
      ruleId: "zip/suspicious-name",
      message: `member name ${JSON.stringify(name)} contains control characters or backslashes`,
      offset: centralOffset,
      evidence: { member: name },
    });
  }
  if (localHeaderOffset + LOCAL_SIZE + compressedSize > size) {
    findings.add({
      ruleId: "zip/bad-local-header",
      message: `member ${JSON.stringify(name)}: local header at ${localHeaderOffset} plus ${compressedSize} data bytes runs past the end of the file`,
      offset: centralOffset,
      evidence: { member: name },
    });
  }
}

/** Where a member's data is, as PyTorch computes it. */
export interface LocatedEntry {
  /** The entry. */
  readonly entry: ZipEntry;
  /** First data byte (after the local header's name and extra field), or -1 when unreadable. */
  readonly dataOffset: number;
}

/** Result of {@link checkLocalHeaders}. */
export interface LocalHeaderCheck {
  /** Data offsets, by entry index (-1 when the local header is unusable). */
  readonly dataOffsets: Float64Array;
  /**
   * The local headers' compressed sizes, by entry index: -1 when unusable, deferred to a data
   * descriptor (0 with flag bit 3) or 0xFFFFFFFF (zip64). What a streaming reader takes as the
   * length of a stored member's data.
   */
  readonly localCompressedSizes: Float64Array;
  /** Bytes before the first member, gaps between members and before the central directory (at most 64 kept). */
  readonly unreferenced: readonly ZipRange[];
  /** Anomalies found. */
  readonly findings: FindingInput[];
}

/** Serves small reads from larger sequential windows (local headers of dense archives share reads). */
class WindowReader {
  readonly #source: ByteSource;
  readonly #windowSize: number;
  #start = 0;
  #bytes: Uint8Array = new Uint8Array(0);

  constructor(source: ByteSource, windowSize: number) {
    this.#source = source;
    this.#windowSize = windowSize;
  }

  /** The current window's bytes. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Source offset of the current window. */
  get start(): number {
    return this.#start;
  }

  /** Replaces the window with `max(length, min(prefetch, window size))` bytes at `offset`. */
  async load(offset: number, length: number, prefetch = length): Promise<void> {
    this.#start = offset;
    this.#bytes = await readClamped(this.#source, offset, Math.max(length, Math.min(prefetch, this.#windowSize)));
  }

  /** Whether `[offset, offset + length)` is in the current window. */
  has(offset: number, length: number): boolean {
    return offset >= this.#start && offset + length <= this.#start + this.#bytes.length;
  }

  /**
   * Up to `length` bytes at `offset` (fewer at the end of the source). On a miss, reads
   * `prefetch` bytes (at most the window size) so that nearby headers come in the same read.
   */
  async get(offset: number, length: number, prefetch = length): Promise<Uint8Array> {
    if (offset >= this.#start && offset + length <= this.#start + this.#bytes.length) {
      return this.#bytes.subarray(offset - this.#start, offset - this.#start + length);
    }
    this.#start = offset;
    this.#bytes = await readClamped(this.#source, offset, Math.max(length, Math.min(prefetch, this.#windowSize)));
    return this.#bytes.subarray(0, Math.min(length, this.#bytes.length));
  }
}

/**
 * Reads every entry's local header (batched), finds its data, and reports name and header
 * mismatches, overlapping entries, and bytes no entry accounts for.
 * @param source - the archive
 * @param directory - from {@link readZipDirectory}
 * @param options - findings cap and abort signal
 */
export async function checkLocalHeaders(
  source: ByteSource,
  directory: ZipDirectory,
  options: Pick<ZipReadOptions, "maxFindingsPerRule" | "signal"> = {},
): Promise<LocalHeaderCheck> {
  const findings = new FindingList(options.maxFindingsPerRule);
  const unreferenced: ZipRange[] = [];
  const gap = (offset: number, length: number): void => {
    if (unreferenced.length < MAX_RANGES) unreferenced.push({ offset, length });
  };
  const { entries } = directory;
  const dataOffsets = new Float64Array(entries.length).fill(-1);
  const localCompressedSizes = new Float64Array(entries.length).fill(-1);
  const order = entries
    .map((e) => e.index)
    .sort((a, b) => {
      const ea = entries[a] as ZipEntry;
      const eb = entries[b] as ZipEntry;
      return ea.localHeaderOffset - eb.localHeaderOffset || a - b;
    });
  const reader = new WindowReader(source, LOCAL_WINDOW);
  const size = source.size;
  // End of the data seen so far, and which entry owns it.
  let coveredEnd = 0;
  let coveredBy: ZipEntry | undefined;
  let first = true;
  let n = 0;
  for (let k = 0; k < order.length; k++) {
    const entry = entries[order[k] as number] as ZipEntry;
    if ((++n & 0xfff) === 0) options.signal?.throwIfAborted();
    const at = entry.localHeaderOffset;
    const member = { member: entry.name };
    if (!Number.isSafeInteger(at) || at + LOCAL_SIZE > size) continue; // reported by the directory walk
    // Prefetch only as far as the following headers that fit in one window: archives of small
    // members need few reads, archives of large tensors read headers only.
    let prefetch = LOCAL_SIZE + entry.nameLength + 1024;
    for (let j = k + 1; !reader.has(at, LOCAL_SIZE) && j < order.length; j++) {
      const next = entries[order[j] as number] as ZipEntry;
      const end = next.localHeaderOffset - at + LOCAL_SIZE + next.nameLength + 1024;
      if (end > LOCAL_WINDOW) break;
      prefetch = Math.max(prefetch, end);
    }
    // Hot path for dense archives: fields are read in place from the window, no views created.
    if (!reader.has(at, LOCAL_SIZE)) await reader.load(at, LOCAL_SIZE, prefetch);
    let w = reader.bytes;
    let h = at - reader.start;
    if (h + LOCAL_SIZE > w.length || u32(w, h) !== SIG_LOCAL) {
      findings.add({
        ruleId: "zip/bad-local-header",
        message: `member ${JSON.stringify(entry.name)}: no local file header at ${at}`,
        offset: at,
        evidence: member,
      });
      continue;
    }
    const flags = u16(w, h + 6);
    const method = u16(w, h + 8);
    const crc = u32(w, h + 14);
    const csize = u32(w, h + 18);
    const usize = u32(w, h + 22);
    const nameLength = u16(w, h + 26);
    const extraLength = u16(w, h + 28);
    if (!reader.has(at + LOCAL_SIZE, nameLength)) {
      await reader.load(at + LOCAL_SIZE, nameLength, nameLength + 1024);
      w = reader.bytes;
      h = at - reader.start;
    }
    const cdBytes = directory.centralDirectoryBytes;
    let same = nameLength === entry.nameLength && h + LOCAL_SIZE + nameLength <= w.length;
    for (let i = 0; same && i < nameLength; i++) {
      if (w[h + LOCAL_SIZE + i] !== cdBytes[entry.nameOffset + i]) same = false;
    }
    const localName = same ? undefined : await reader.get(at + LOCAL_SIZE, nameLength);
    if (localName !== undefined) {
      findings.add({
        ruleId: "zip/name-mismatch",
        message: `member ${JSON.stringify(entry.name)}: local header names it ${JSON.stringify(decodeName(localName))}`,
        offset: at,
        evidence: { member: entry.name, localName: decodeName(localName) },
      });
    }
    const clash: string[] = [];
    if (method !== entry.method) clash.push(`method ${method}≠${entry.method}`);
    if (flags !== entry.flags) clash.push(`flags 0x${flags.toString(16)}≠0x${entry.flags.toString(16)}`);
    const deferred = (flags & FLAG_DATA_DESCRIPTOR) !== 0;
    if (!(deferred && crc === 0) && crc !== entry.crc32) clash.push("crc");
    if (!(deferred && csize === 0) && csize !== U32_MAX && csize !== entry.compressedSize) {
      clash.push(`compressed size ${csize}≠${entry.compressedSize}`);
    }
    if (!(deferred && usize === 0) && usize !== U32_MAX && usize !== entry.uncompressedSize) {
      clash.push(`uncompressed size ${usize}≠${entry.uncompressedSize}`);
    }
    if (clash.length > 0) {
      findings.add({
        ruleId: "zip/header-mismatch",
        message: `member ${JSON.stringify(entry.name)}: local header disagrees with the central directory (${clash.join(", ")})`,
        offset: at,
        evidence: { ...member, fields: clash.join("; ") },
      });
    }
    const dataOffset = at + LOCAL_SIZE + nameLength + extraLength;
    const dataEnd = dataOffset + entry.compressedSize;
    if (dataEnd > size) {
      findings.add({
        ruleId: "zip/bad-local-header",
        message: `member ${JSON.stringify(entry.name)}: data (${entry.compressedSize} bytes at ${dataOffset}) runs past the end of the file`,
        offset: dataOffset,
        evidence: member,
      });
      continue;
    }
    dataOffsets[entry.index] = dataOffset;
    if (csize !== U32_MAX && !(deferred && csize === 0)) localCompressedSizes[entry.index] = csize;

    if (first) {
      first = false;
      if (at > directory.prefixShift) {
        const gap = at - directory.prefixShift;
        // Kept for the analyzer: a local entry hidden there is what a streaming reader sees first.
        if (directory.prefixShift === 0) unreferenced.push({ offset: 0, length: gap });
        findings.add({
          ruleId: directory.prefixShift === 0 ? "zip/prepended-data" : "zip/unreferenced-data",
          message: `${gap} bytes precede the first member`,
          offset: directory.prefixShift,
          evidence: { bytes: gap },
        });
      }
    } else if (at < coveredEnd && coveredBy !== undefined) {
      findings.add({
        ruleId: "zip/overlapping-entries",
        message: `member ${JSON.stringify(entry.name)} (at ${at}) overlaps ${JSON.stringify(coveredBy.name)} (ending at ${coveredEnd})`,
        offset: at,
        evidence: { member: entry.name, other: coveredBy.name },
      });
    } else if (at > coveredEnd + descriptorAllowance(coveredBy)) {
      gap(coveredEnd, at - coveredEnd);
      findings.add({
        ruleId: "zip/unreferenced-data",
        message: `${at - coveredEnd} bytes between members are not part of any entry`,
        offset: coveredEnd,
        evidence: { bytes: at - coveredEnd },
      });
    }
    if (dataEnd > coveredEnd) {
      coveredEnd = dataEnd;
      coveredBy = entry;
    }
  }
  const cdStart = directory.centralDirectory.offset;
  if (coveredBy !== undefined && cdStart > coveredEnd + descriptorAllowance(coveredBy)) {
    gap(coveredEnd, cdStart - coveredEnd);
    findings.add({
      ruleId: "zip/unreferenced-data",
      message: `${cdStart - coveredEnd} bytes between the last member and the central directory are not part of any entry`,
      offset: coveredEnd,
      evidence: { bytes: cdStart - coveredEnd },
    });
  } else if (coveredBy !== undefined && cdStart < coveredEnd) {
    findings.add({
      ruleId: "zip/overlapping-entries",
      message: `member ${JSON.stringify(coveredBy.name)} overlaps the central directory`,
      offset: cdStart,
      evidence: { member: coveredBy.name },
    });
  } else if (coveredBy === undefined && entries.length === 0 && cdStart > directory.prefixShift) {
    findings.add({
      ruleId: "zip/prepended-data",
      message: `${cdStart} bytes precede an empty central directory`,
      offset: 0,
      evidence: { bytes: cdStart },
    });
  }
  return { dataOffsets, localCompressedSizes, unreferenced, findings: findings.list() };
}

/** Bytes a data descriptor may take after an entry's data (signature + CRC + two 8-byte sizes). */
function descriptorAllowance(entry: ZipEntry | undefined): number {
  return entry !== undefined && (entry.flags & FLAG_DATA_DESCRIPTOR) !== 0 ? 24 : 0;
}

/**
 * Finds a member's data offset by reading its local header, as PyTorch does (local name and
 * extra lengths only). Throws `MALFORMED`/`TRUNCATED` when there is no usable header.
 * @param source - the archive
 * @param entry - the member
 */
export async function locateEntryData(source: ByteSource, entry: ZipEntry): Promise<number> {
  const header = await readExact(source, entry.localHeaderOffset, LOCAL_SIZE);
  if (u32(header, 0) !== SIG_LOCAL) {
    throw new ModelgateError("MALFORMED", `no local file header for ${JSON.stringify(entry.name)}`, {
      offset: entry.localHeaderOffset,
    });
  }
  const dataOffset = entry.localHeaderOffset + LOCAL_SIZE + u16(header, 26) + u16(header, 28);
  if (dataOffset + entry.compressedSize > source.size) {
    throw new ModelgateError("TRUNCATED", `data of ${JSON.stringify(entry.name)} runs past the end of the file`, {
      offset: dataOffset,
    });
  }
  return dataOffset;
}

/** A local file header found where the central directory lists nothing. */
export interface LocalOnlyEntry {
  /** Offset of the local header. */
  readonly offset: number;
  /** Name from the local header. */
  readonly name: string;
  /** Flags from the local header. */
  readonly flags: number;
  /** Compression method. */
  readonly method: number;
  /** First data byte. */
  readonly dataOffset: number;
  /** Compressed size: the declared one, or up to the end of the range when it is deferred. */
  readonly compressedSize: number;
  /** Declared uncompressed size (0 when deferred to a data descriptor). */
  readonly uncompressedSize: number;
  /**
   * The local header's compressed size (zip64 extra field resolved), -1 when 0xFFFFFFFF has no
   * zip64 value: what a streaming reader takes as the data's length when no descriptor defers it.
   */
  readonly declaredCompressedSize: number;
}

/**
 * Sizes of a local header's zip64 extra field (id 1): the uncompressed then the compressed size,
 * each present only where the fixed field is 0xFFFFFFFF (as Java's `ZipInputStream` reads them).
 */
function localZip64Sizes(extra: Uint8Array, usize: number, csize: number): { usize: number; csize: number } {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = u16(extra, p);
    const len = u16(extra, p + 2);
    if (id === 1) {
      let q = p + 4;
      const end = Math.min(extra.length, q + len);
      let u = usize;
      let c = csize;
      if (usize === U32_MAX && q + 8 <= end) {
        u = u64(extra, q);
        q += 8;
      }
      if (csize === U32_MAX && q + 8 <= end) c = u64(extra, q);
      return { usize: u, csize: c };
    }
    p += 4 + len;
  }
  return { usize, csize };
}

/**
 * Parses a local file header at the start of an unreferenced range: an entry that streaming
 * extractors (which walk local headers, like Java's `ZipInputStream`) see and the central
 * directory hides. Returns `undefined` when the range does not start with one.
 * @param source - the archive
 * @param range - an unreferenced range
 */
export async function readLocalOnlyEntry(source: ByteSource, range: ZipRange): Promise<LocalOnlyEntry | undefined> {
  if (range.length < LOCAL_SIZE) return undefined;
  const h = await readClamped(source, range.offset, LOCAL_SIZE);
  if (h.length < LOCAL_SIZE || u32(h, 0) !== SIG_LOCAL) return undefined;
  const nameLength = u16(h, 26);
  const dataOffset = range.offset + LOCAL_SIZE + nameLength + u16(h, 28);
  const end = range.offset + range.length;
  if (dataOffset > end) return undefined;
  const flags = u16(h, 6);
  const extraLength = u16(h, 28);
  let declared = u32(h, 18);
  let usize = u32(h, 22);
  if (declared === U32_MAX || usize === U32_MAX) {
    const extra = await readClamped(source, range.offset + LOCAL_SIZE + nameLength, extraLength);
    ({ usize, csize: declared } = localZip64Sizes(extra, usize, declared));
  }
  const deferred = (flags & FLAG_DATA_DESCRIPTOR) !== 0 && declared === 0;
  const compressedSize = deferred || declared === U32_MAX ? end - dataOffset : Math.min(declared, end - dataOffset);
  return {
    offset: range.offset,
    name: decodeName(await readClamped(source, range.offset + LOCAL_SIZE, nameLength)),
    flags,
    method: u16(h, 8),
    dataOffset,
    compressedSize,
    uncompressedSize: usize,
    declaredCompressedSize: declared === U32_MAX ? -1 : declared,
  };
}
