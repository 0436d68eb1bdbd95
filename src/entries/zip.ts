/**
 * `modelgate/zip`: the directory of a zip archive (PyTorch checkpoints, `.npz`, `.keras` are zips)
 * as modelgate's hardened reader sees it: every central directory entry, the local header checks,
 * and the anomalies loaders disagree about (prepended data, name mismatches, overlaps).
 *
 * ```ts
 * import { readZip } from "modelgate/zip";
 * const zip = await readZip("model.pt");
 * for (const e of zip.entries) console.log(e.name, e.uncompressedSize);
 * ```
 * @module
 */
import { checkLocalHeaders, readZipDirectory } from "../containers/zip/reader.js";
import { issueView, type ReaderInput, type ReaderIssue, type ReaderOptions, withInput } from "./input.js";

export type { ByteSource } from "../core/byte-source.js";
export type { RuleId } from "../core/findings.js";
export type { ReaderInput, ReaderIssue, ReaderOptions } from "./input.js";

/** Options of {@link readZip}. */
export interface ZipOptions extends ReaderOptions {
  /** Most entries read (default 200,000); the rest are reported, not read. */
  readonly maxEntries?: number | undefined;
}

/** One central directory entry. */
export interface ZipEntryView {
  /** Position in the central directory. */
  readonly index: number;
  /** Name, decoded (UTF-8 when valid, else Latin-1). */
  readonly name: string;
  /** Compression method (0 stored, 8 deflate, others unsupported by loaders). */
  readonly method: number;
  /** Declared CRC-32 of the uncompressed data. */
  readonly crc32: number;
  /** Declared compressed size. */
  readonly compressedSize: number;
  /** Declared uncompressed size. */
  readonly uncompressedSize: number;
  /** Offset of the local file header (including any prepended-data shift). */
  readonly localHeaderOffset: number;
  /** First data byte, or -1 when the local header is unusable. */
  readonly dataOffset: number;
  /** A directory entry. */
  readonly isDirectory: boolean;
  /** A Unix symbolic link (its data is the link target). */
  readonly isSymlink: boolean;
  /** Flagged encrypted. */
  readonly encrypted: boolean;
  /** Unix mode bits, for entries made on Unix. */
  readonly unixMode?: number | undefined;
}

/** What {@link readZip} found. */
export interface ZipView {
  /** Entries in central directory order. */
  readonly entries: readonly ZipEntryView[];
  /** Entry count the end record declares. */
  readonly declaredEntries: number;
  /** Whether zip64 end records were used. */
  readonly zip64: boolean;
  /** Bytes before the archive proper that every offset was shifted by (Python-style recovery). */
  readonly prefixShift: number;
  /** The archive comment's location, when there is one. */
  readonly comment?: { readonly offset: number; readonly length: number } | undefined;
  /** True when not every entry could be read (budget or corruption). */
  readonly incomplete: boolean;
  /** Anomalies of the directory and the local headers. */
  readonly issues: readonly ReaderIssue[];
}

/**
 * Reads a zip archive's end records, central directory and local headers (not the members' data).
 * Anomalies are returned as issues; it rejects (with a `ModelgateError`) when no usable end record
 * or directory is found, the input cannot be read, or a budget is exceeded.
 * @param input - the archive
 * @param options - signal, read budget and entry budget
 */
export async function readZip(input: ReaderInput, options: ZipOptions = {}): Promise<ZipView> {
  const { signal, maxEntries } = options;
  return withInput(input, options, async (source) => {
    const dir = await readZipDirectory(source, {
      ...(signal === undefined ? {} : { signal }),
      ...(maxEntries === undefined ? {} : { maxEntries }),
    });
    const local = await checkLocalHeaders(source, dir, signal === undefined ? {} : { signal });
    return {
      entries: dir.entries.map((e) => ({
        index: e.index,
        name: e.name,
        method: e.method,
        crc32: e.crc32,
        compressedSize: e.compressedSize,
        uncompressedSize: e.uncompressedSize,
        localHeaderOffset: e.localHeaderOffset,
        dataOffset: local.dataOffsets[e.index] ?? -1,
        isDirectory: e.isDirectory,
        isSymlink: e.isSymlink,
        encrypted: e.encrypted,
        ...(e.versionMadeBy >>> 8 === 3 ? { unixMode: e.externalAttributes >>> 16 } : {}),
      })),
      declaredEntries: dir.declaredEntries,
      zip64: dir.zip64,
      prefixShift: dir.prefixShift,
      ...(dir.comment === undefined ? {} : { comment: { offset: dir.comment.offset, length: dir.comment.length } }),
      incomplete: dir.incomplete,
      issues: [...dir.findings, ...local.findings].map(issueView),
    };
  });
}

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
