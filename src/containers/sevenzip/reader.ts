/**
 * A strict 7z archive reader over a {@link ByteSource}, written for modelgate from the public
 * format description (`7zFormat.txt` and `Methods.txt` of the LZMA SDK).
 *
 * Why hand-written: the npm packages that "read 7z" are wrappers that spawn the `7z` binary
 * (`node-7z`, `7zip-min`, `7zip-bin`) or WebAssembly builds of 7-Zip that extract whole archives
 * into memory or a virtual file system. None of them lets a scanner cap the header it parses, the
 * bytes it decodes or the compression ratio, and none reports the anomalies a scanner cares
 * about (header CRC mismatches, unreferenced bytes, traversal names, encrypted folders) instead of
 * failing or silently extracting. This reader parses the header itself with every count and size
 * bounded, and decodes members with in-house coders (LZMA, LZMA2, BCJ, Delta; zlib and the
 * in-house bzip2 for Deflate and BZip2) under the scan's budgets.
 *
 * Layout: a 32-byte signature header (magic, version, start header CRC, then the offset, size
 * and CRC of the "next header"), packed streams, and the header database at the end. The header
 * is either plain (`kHeader`) or itself packed (`kEncodedHeader`: streams info of a folder whose
 * output is the plain header; `7z -mhe=on` encrypts that folder). The header lists folders (coder
 * chains over packed streams), how each folder's output splits into files (substreams, with
 * sizes and CRCs) and the files (names, empty/directory flags, attributes).
 *
 * {@link readSevenZip} lists an archive; {@link openFolderStream} (coders.ts) decodes a folder.
 * @module
 */
import { crc32 } from "node:zlib";
import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { isTraversalName } from "../zip/reader.js";
import { folderSupport, openFolderStream } from "./coders.js";
import {
  type FilesInfo,
  type Folder,
  folderUnpackSize,
  HeaderReader,
  headerError,
  NID,
  readFilesInfo,
  readStreamsInfo,
  type StreamsInfo,
} from "./header.js";

/** The 7z magic. */
export const SEVEN_ZIP_MAGIC = Uint8Array.of(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c);
/** Size of the signature header. */
export const SIGNATURE_HEADER_SIZE = 32;
/** Default cap on the header database (plain or decoded), in bytes. */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** Budgets of {@link readSevenZip}. */
export interface SevenZipReadOptions {
  /** Maximum files listed (default 200,000); the rest are counted and reported. */
  maxEntries?: number;
  /** Maximum size of the header database, plain or decoded (default {@link MAX_HEADER_BYTES}). */
  maxHeaderBytes?: number;
  /** Findings kept per rule (default 20). */
  maxFindingsPerRule?: number;
  /** Counts the bytes decoded for a packed header (throws past the scan's budget). */
  charge?: (bytes: number) => void;
  /** Called in long loops; throws to stop (abort, time budget). */
  checkpoint?: () => void;
  /** Largest LZMA dictionary window to allocate for a packed header. */
  maxDictionary?: number;
}

/** One file of the archive. */
export interface SevenZipEntry {
  /** Position among the files. */
  readonly index: number;
  /** Name as stored (UTF-16 decoded; `/` or `\` separated). */
  readonly name: string;
  readonly isDir: boolean;
  /** Deletion marker of an update archive: no data. */
  readonly isAnti: boolean;
  /** A symbolic link (Unix mode or reparse-point attribute): its data is the link target. */
  readonly isSymlink: boolean;
  /** Uncompressed size (0 for empty files and directories). */
  readonly size: number;
  /** Index into {@link SevenZipArchive.parts} of its data, or -1 when it has none. */
  readonly part: number;
  /** Declared CRC-32 of its data. */
  readonly crc: number | undefined;
  /** Windows attributes (Unix mode in the high 16 bits when bit 15 is set). */
  readonly attributes: number | undefined;
}

/** A run of a folder's output: one file's data, or data no file claims. */
export interface SevenZipPart {
  readonly folder: number;
  /** Offset within the folder's output. */
  readonly offset: number;
  readonly size: number;
  readonly crc: number | undefined;
  /** The file it belongs to, or -1. */
  readonly entry: number;
}

/** A folder as the analyzer sees it. */
export interface SevenZipFolder {
  readonly index: number;
  /** Method names, coder order (`LZMA2`, `BCJ` ...). */
  readonly methods: string[];
  readonly encrypted: boolean;
  /** Why it cannot be decoded, when it cannot. */
  readonly unsupported: string | undefined;
  /** Absolute offset of its first packed byte. */
  readonly packOffset: number;
  /** Packed bytes (all its packed streams). */
  readonly packSize: number;
  /** Size of its main output. */
  readonly unpackSize: number;
  /** CRC-32 of its whole output, when declared. */
  readonly crc: number | undefined;
  /** Indices into {@link SevenZipArchive.parts}, in output order. */
  readonly parts: number[];
}

/** A byte range of the archive. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** The result of {@link readSevenZip}. */
export interface SevenZipArchive {
  /** `major.minor` of the signature header. */
  readonly version: string;
  /** The header is packed (`kEncodedHeader`). */
  readonly headerEncoded: boolean;
  /** The packed header is encrypted (`-mhe=on`): nothing else can be read. */
  readonly headerEncrypted: boolean;
  /** Methods of the packed header's folder. */
  readonly headerMethods: string[];
  /** Main streams (undefined when the archive holds no data). */
  readonly streams: StreamsInfo | undefined;
  /** Absolute offset of the main packed streams. */
  readonly packBase: number;
  readonly folders: SevenZipFolder[];
  readonly parts: SevenZipPart[];
  /** Files listed (at most `maxEntries`). */
  readonly entries: SevenZipEntry[];
  /** Files declared. */
  readonly declaredEntries: number;
  /** Bytes of the archive that neither the headers nor any packed stream account for. */
  readonly unreferenced: ByteRange[];
  /**
   * How many of {@link SevenZipArchive.parts} (in order) are within the entry budget; the rest
   * belong to files past `maxEntries` and are not analysed.
   */
  readonly partsInBudget: number;
  /** Anomalies found while listing. */
  readonly findings: FindingInput[];
}

/** Reads a little-endian 64-bit number; over 2^53 is malformed. */
function u64(b: Uint8Array, at: number): number {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const low = view.getUint32(at, true);
  const high = view.getUint32(at + 4, true);
  if (high >= 0x200000) throw new ModelgateError("MALFORMED", "7z: offset or size over 2^53", { offset: at });
  return high * 0x100000000 + low;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const FILE_ATTRIBUTE_REPARSE_POINT = 0x400;
const FILE_ATTRIBUTE_UNIX_EXTENSION = 0x8000;

function isSymlinkAttribute(attributes: number | undefined): boolean {
  if (attributes === undefined) return false;
  if ((attributes & FILE_ATTRIBUTE_UNIX_EXTENSION) !== 0 && ((attributes >>> 16) & S_IFMT) === S_IFLNK) return true;
  return (attributes & FILE_ATTRIBUTE_REPARSE_POINT) !== 0;
}

/**
 * Whether bytes start with the 7z signature.
 * @param head - the first bytes
 */
export function isSevenZip(head: Uint8Array): boolean {
  return head.length >= 6 && SEVEN_ZIP_MAGIC.every((b, i) => head[i] === b);
}

/**
 * Lists a 7z archive: checks the signature and start header, reads (and if need be decodes) the
 * header database, and maps files to the folder data that holds them. Throws `TRUNCATED` /
 * `MALFORMED` when the header cannot be read, `UNSUPPORTED` for a format version or header coder
 * it does not know, `BUDGET_EXCEEDED` for a header over the cap; anomalies it can read past are
 * returned as findings.
 * @param source - the archive
 * @param options - budgets
 */
export async function readSevenZip(source: ByteSource, options: SevenZipReadOptions = {}): Promise<SevenZipArchive> {
  const maxEntries = Math.max(0, options.maxEntries ?? 200_000);
  const maxHeaderBytes = options.maxHeaderBytes ?? MAX_HEADER_BYTES;
  const checkpoint = options.checkpoint ?? (() => undefined);
  const findings = new FindingList(options.maxFindingsPerRule);

  if (source.size < SIGNATURE_HEADER_SIZE) {
    throw new ModelgateError("TRUNCATED", `7z: ${source.size} bytes, shorter than the 32-byte signature header`);
  }
  const sig = await readExact(source, 0, SIGNATURE_HEADER_SIZE);
  if (!isSevenZip(sig)) throw new ModelgateError("MALFORMED", "7z: bad signature");
  const major = sig[6] as number;
  const minor = sig[7] as number;
  const version = `${major}.${minor}`;
  if (major !== 0) throw new ModelgateError("UNSUPPORTED", `7z: format version ${version}`);
  if (minor > 4) {
    findings.add({
      ruleId: "7z/header-anomaly",
      message: `format version ${version} is newer than the 0.4 this reader knows`,
      offset: 6,
      evidence: { version },
    });
  }
  const startCrc = new DataView(sig.buffer, sig.byteOffset, 32).getUint32(8, true);
  const actualStartCrc = crc32(sig.subarray(12, 32));
  if (startCrc !== actualStartCrc) {
    findings.add({
      ruleId: "7z/crc-mismatch",
      message: `start header has CRC ${hex(actualStartCrc)}, ${hex(startCrc)} declared`,
      offset: 8,
      evidence: { structure: "start header", declared: startCrc, actual: actualStartCrc },
    });
  }
  const nextOffset = u64(sig, 12);
  const nextSize = u64(sig, 20);
  const nextCrc = new DataView(sig.buffer, sig.byteOffset, 32).getUint32(28, true);
  const headerStart = SIGNATURE_HEADER_SIZE + nextOffset;
  const covered: ByteRange[] = [{ offset: 0, length: SIGNATURE_HEADER_SIZE }];

  const empty = (): SevenZipArchive => ({
    version,
    headerEncoded: false,
    headerEncrypted: false,
    headerMethods: [],
    streams: undefined,
    packBase: SIGNATURE_HEADER_SIZE,
    folders: [],
    parts: [],
    entries: [],
    declaredEntries: 0,
    partsInBudget: 0,
    unreferenced: gaps(covered, source.size),
    findings: findings.list(),
  });
  if (nextSize === 0) {
    // An archive without files has no header at all.
    if (nextOffset !== 0 || nextCrc !== 0) {
      findings.add({
        ruleId: "7z/header-anomaly",
        message: `empty header with offset ${nextOffset} and CRC ${hex(nextCrc)}`,
        offset: 12,
        evidence: { nextHeaderOffset: nextOffset },
      });
    }
    return empty();
  }
  if (headerStart + nextSize > source.size) {
    throw new ModelgateError(
      "TRUNCATED",
      `7z: the header (${nextSize} bytes at ${headerStart}) lies past the end of the ${source.size}-byte archive`,
      { offset: headerStart },
    );
  }
  if (nextSize > maxHeaderBytes) {
    throw new ModelgateError("BUDGET_EXCEEDED", `7z: header of ${nextSize} bytes is over the ${maxHeaderBytes} cap`, {
      budget: "maxSevenZipHeaderBytes",
      offset: headerStart,
    });
  }
  covered.push({ offset: headerStart, length: nextSize });
  let header = await readExact(source, headerStart, nextSize);
  const actualNextCrc = crc32(header);
  if (actualNextCrc !== nextCrc) {
    findings.add({
      ruleId: "7z/crc-mismatch",
      message: `header has CRC ${hex(actualNextCrc)}, ${hex(nextCrc)} declared`,
      offset: headerStart,
      evidence: { structure: "header", declared: nextCrc, actual: actualNextCrc },
    });
  }

  let headerEncoded = false;
  let headerMethods: string[] = [];
  if (header[0] === NID.encodedHeader) {
    headerEncoded = true;
    const r = new HeaderReader(header, 1, header.length, checkpoint);
    const info = readStreamsInfo(r);
    if (info.folders.length !== 1) throw headerError(`packed header with ${info.folders.length} folders`);
    const folder = info.folders[0] as Folder;
    const support = folderSupport(folder);
    headerMethods = support.methods;
    const packBase = SIGNATURE_HEADER_SIZE + info.packPos;
    const packTotal = info.packSizes.reduce((a, b) => a + b, 0);
    covered.push({ offset: packBase, length: packTotal });
    if (support.encrypted) {
      // The main packed streams are described in the encrypted header: what is "unreferenced" is
      // unknowable, so nothing is reported as such.
      return {
        ...empty(),
        headerEncoded,
        headerEncrypted: true,
        headerMethods,
        unreferenced: [],
        findings: findings.list(),
      };
    }
    if (support.unsupported !== undefined) {
      throw new ModelgateError("UNSUPPORTED", `7z: the header is packed with ${support.unsupported}`);
    }
    const size = folderUnpackSize(folder);
    if (size > maxHeaderBytes) {
      throw new ModelgateError(
        "BUDGET_EXCEEDED",
        `7z: packed header of ${size} bytes is over the ${maxHeaderBytes} cap`,
        { budget: "maxSevenZipHeaderBytes", offset: headerStart },
      );
    }
    header = await decodeAll(source, info, 0, packBase, size, options, checkpoint);
    if (folder.crc !== undefined) {
      const actual = crc32(header);
      if (actual !== folder.crc) {
        findings.add({
          ruleId: "7z/crc-mismatch",
          message: `packed header decodes with CRC ${hex(actual)}, ${hex(folder.crc)} declared`,
          offset: packBase,
          evidence: { structure: "packed header", declared: folder.crc, actual },
        });
      }
    }
    if (header[0] !== NID.header) throw headerError("a packed header does not hold a header");
  } else if (header[0] !== NID.header) {
    throw headerError(`starts with 0x${(header[0] ?? 0).toString(16)}, not a header`);
  }

  // The header proper.
  const r = new HeaderReader(header, 1, header.length, checkpoint);
  let streams: StreamsInfo | undefined;
  let files: FilesInfo | undefined;
  let id = r.byte();
  if (id === NID.archiveProperties) {
    for (;;) {
      const type = r.byte();
      if (type === 0) break;
      r.skip(r.number());
    }
    findings.add({ ruleId: "7z/header-anomaly", message: "the header carries archive properties" });
    id = r.byte();
  }
  if (id === NID.additionalStreamsInfo) {
    readStreamsInfo(r);
    findings.add({ ruleId: "7z/header-anomaly", message: "the header declares additional streams" });
    id = r.byte();
  }
  if (id === NID.mainStreamsInfo) {
    streams = readStreamsInfo(r);
    id = r.byte();
  }
  if (id === NID.filesInfo) {
    files = readFilesInfo(r, maxEntries);
    id = r.byte();
  }
  if (id !== NID.end) throw headerError(`unexpected property 0x${id.toString(16)} in the header`, r.pos - 1);
  if (r.left > 0) {
    findings.add({
      ruleId: "7z/header-anomaly",
      message: `${r.left} bytes follow the end of the header`,
      evidence: { bytes: r.left },
    });
  }
  if (files !== undefined) {
    for (const type of files.unknownProperties) {
      findings.add({
        ruleId: "7z/header-anomaly",
        message: `unknown file property 0x${type.toString(16)}`,
        evidence: { property: type },
      });
    }
    for (const type of files.repeatedProperties) {
      findings.add({
        ruleId: "7z/header-anomaly",
        message: `file property 0x${type.toString(16)} is given more than once; readers may keep either`,
        evidence: { property: type },
      });
    }
    if (files.declared > maxEntries) {
      findings.add({
        ruleId: "container/too-many-entries",
        message: `the archive declares ${files.declared} files; only the first ${maxEntries} are read`,
        evidence: { declared: files.declared, budget: maxEntries },
      });
    }
  }

  // Folders and their runs of data.
  const packBase = SIGNATURE_HEADER_SIZE + (streams?.packPos ?? 0);
  const folders: SevenZipFolder[] = [];
  const parts: SevenZipPart[] = [];
  if (streams !== undefined) {
    let packAt = packBase;
    let packIndex = 0;
    for (const [index, folder] of streams.folders.entries()) {
      const support = folderSupport(folder);
      let packSize = 0;
      for (let i = 0; i < folder.packedStreams.length; i++) packSize += streams.packSizes[packIndex + i] ?? 0;
      folders.push({
        index,
        methods: support.methods,
        encrypted: support.encrypted,
        unsupported: support.unsupported,
        packOffset: packAt,
        packSize,
        unpackSize: folderUnpackSize(folder),
        crc: folder.crc,
        parts: [],
      });
      packAt += packSize;
      packIndex += folder.packedStreams.length;
    }
    covered.push({ offset: packBase, length: packAt - packBase });
    if (packAt > source.size) {
      findings.add({
        ruleId: "7z/header-anomaly",
        message: `packed streams end at ${packAt}, past the end of the ${source.size}-byte archive`,
        offset: packBase,
        evidence: { packEnd: packAt },
      });
    }
    for (const sub of streams.subStreams) {
      const folder = folders[sub.folder] as SevenZipFolder;
      folder.parts.push(parts.length);
      parts.push({ folder: sub.folder, offset: sub.offset, size: sub.size, crc: sub.crc, entry: -1 });
    }
    for (const folder of folders) {
      if (folder.parts.length === 0 && folder.unpackSize > 0) {
        // A folder no file claims: its data is still data.
        folder.parts.push(parts.length);
        parts.push({ folder: folder.index, offset: 0, size: folder.unpackSize, crc: folder.crc, entry: -1 });
      }
    }
  }

  // Files, mapped in order onto the runs of data.
  const entries: SevenZipEntry[] = [];
  const fileParts = streams?.subStreams.length ?? 0;
  const withStreams = files?.withStreams ?? 0;
  if (withStreams > fileParts) {
    throw headerError(`${withStreams} files have data but the archive holds ${fileParts} streams`);
  }
  if (withStreams < fileParts && (files?.declared ?? 0) <= maxEntries) {
    findings.add({
      ruleId: "7z/header-anomaly",
      message: `${fileParts - withStreams} streams of data belong to no file; they are analysed as unnamed members`,
      evidence: { streams: fileParts, files: withStreams },
    });
  }
  let next = 0;
  const names = new Map<string, number>();
  for (const [index, file] of (files?.files ?? []).entries()) {
    if ((index & 0xfff) === 0xfff) checkpoint();
    let part = -1;
    if (file.hasStream) {
      part = next++;
      const p = parts[part];
      if (p !== undefined) parts[part] = { ...p, entry: index };
    }
    const p = part >= 0 ? parts[part] : undefined;
    const entry: SevenZipEntry = {
      index,
      name: file.name,
      isDir: file.isDir && !file.hasStream,
      isAnti: file.isAnti,
      isSymlink: isSymlinkAttribute(file.attributes),
      size: p?.size ?? 0,
      part,
      crc: p?.crc,
      attributes: file.attributes,
    };
    entries.push(entry);
    if (isTraversalName(entry.name)) {
      findings.add({
        ruleId: "container/path-traversal",
        message: `member name ${JSON.stringify(entry.name)} escapes the extraction directory`,
        evidence: { member: entry.name },
      });
    }
    if (entry.isSymlink) {
      findings.add({
        ruleId: "container/link-member",
        message: `member ${JSON.stringify(entry.name)} is a symbolic link`,
        evidence: { member: entry.name },
      });
    }
    if (entry.isAnti) {
      findings.add({
        ruleId: "7z/header-anomaly",
        message: `member ${JSON.stringify(entry.name)} is an anti-item (a deletion marker of an update archive)`,
        evidence: { member: entry.name },
      });
    }
    if (!entry.isDir && !entry.isAnti) {
      const key = entry.name.replace(/\\/g, "/");
      const seen = names.get(key);
      if (seen !== undefined) {
        findings.add({
          ruleId: "7z/duplicate-name",
          message: `member name ${JSON.stringify(entry.name)} is used by files ${seen} and ${index}`,
          evidence: { member: entry.name },
        });
      } else names.set(key, index);
    }
  }

  // Files past the entry budget are not analysed, nor are their data (or any other data past it).
  let partsInBudget = parts.length;
  if ((files?.declared ?? 0) > maxEntries) partsInBudget = next;
  else if (parts.length > maxEntries) {
    partsInBudget = maxEntries;
    findings.add({
      ruleId: "container/too-many-entries",
      message: `the archive holds ${parts.length} streams of data; only the first ${maxEntries} are read`,
      evidence: { declared: parts.length, budget: maxEntries },
    });
  }
  return {
    version,
    headerEncoded,
    headerEncrypted: false,
    headerMethods,
    streams,
    packBase,
    folders,
    parts,
    entries,
    declaredEntries: files?.declared ?? 0,
    partsInBudget,
    unreferenced: gaps(covered, source.size),
    findings: findings.list(),
  };
}

/** Decodes a whole (small) folder into memory: the packed header. */
async function decodeAll(
  source: ByteSource,
  info: StreamsInfo,
  folderIndex: number,
  packBase: number,
  size: number,
  options: SevenZipReadOptions,
  checkpoint: () => void,
): Promise<Uint8Array> {
  const stream = openFolderStream(
    source,
    info,
    folderIndex,
    packBase,
    options.maxDictionary === undefined ? {} : { maxDictionary: options.maxDictionary },
  );
  const out = new Uint8Array(size);
  let at = 0;
  try {
    for (;;) {
      checkpoint();
      const chunk = await stream.next();
      if (chunk === null) break;
      options.charge?.(chunk.length);
      out.set(chunk, at); // the stream is held to `size`, so this fits
      at += chunk.length;
    }
  } finally {
    stream.close();
  }
  return out;
}

/** The parts of `[0, size)` no range covers. */
function gaps(covered: readonly ByteRange[], size: number): ByteRange[] {
  const sorted = covered
    .filter((r) => r.length > 0)
    .map((r) => ({ start: Math.max(0, r.offset), end: Math.min(size, r.offset + r.length) }))
    .sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  let at = 0;
  for (const r of sorted) {
    if (r.start > at) out.push({ offset: at, length: r.start - at });
    at = Math.max(at, r.end);
  }
  if (at < size) out.push({ offset: at, length: size - at });
  return out;
}
