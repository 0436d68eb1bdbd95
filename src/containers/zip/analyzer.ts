/**
 * The zip analyzer: reads the archive tolerantly, reports every structural anomaly, refines the
 * format (PyTorch, TorchScript, .npz, .keras) and hands every member to the engine. Entries only
 * streaming readers (Java's `ZipInputStream`) extract, in unreferenced bytes or after a member's
 * compressed stream inside its declared data, are extracted and handed on as `<local-only>/name`.
 * In PyTorch/TorchScript archives a deflated member zlib refuses is decoded as PyTorch's reader
 * (miniz) decodes it ({@link minizFallback}), and one neither decodes is reported high (fail closed).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { BufferSource, type ByteSource, SliceSource } from "../../core/byte-source.js";
import { isModelgateError } from "../../core/errors.js";
import { OPAQUE_SNIFF_BYTES } from "../../core/sniffing.js";
import { recordUnder } from "../../formats/pytorch/record-names.js";
import { budgetOf } from "../budget.js";
import { ClusterReader, SMALL_MEMBER, smallMemberClusters } from "../cluster.js";
import {
  decodeInto,
  decodeStream,
  isBombError,
  RATIO_CHECK_THRESHOLD,
  SpillSink,
} from "../compressed/decoded-source.js";
import { isOpaqueInEveryFlavor } from "./flavor.js";
import { checkEncryptionFlag, isReadableMethod, memberDecoder, openZipEntry, readZipEntryStream } from "./member.js";
import { type MinizInflateOptions, minizInflate } from "./miniz-inflate.js";
import { zeroPadded } from "./padded-source.js";
import {
  checkLocalHeaders,
  isTraversalName,
  METHOD_DEFLATE,
  METHOD_STORED,
  readLocalOnlyEntry,
  readZipDirectory,
  type ZipEntry,
  type ZipRange,
} from "./reader.js";
import { descriptorLength } from "./stream-walk.js";

/**
 * Members up to this size that are not tensor storages have their CRC-32 and size verified (the
 * whole member is read once more).
 */
export const CRC_CHECK_LIMIT = 64 * 1024 * 1024;

const CAP = 20;
/** Ranges after members' compressed streams searched for hidden entries (each is reported). */
const MAX_AFTER_STREAM_RANGES = 64;
/** Flavours PyTorch reads with miniz (`torch.load`, `torch.jit.load`, `torch.package`). */
const MINIZ_FLAVORS: ReadonlySet<string> = new Set(["pytorch-zip", "torchscript", "torch-package"]);

async function analyzeZip(ctx: AnalysisContext): Promise<void> {
  const source = ctx.source;
  const directory = await readZipDirectory(source, { maxEntries: ctx.limits.maxEntries, signal: ctx.signal });
  for (const finding of directory.findings) ctx.report(finding);
  const local = await checkLocalHeaders(source, directory, { signal: ctx.signal });
  for (const finding of local.findings) ctx.report(finding);

  const { entries } = directory;
  const flavors = ctx.formats.zipFlavors(
    entries.map((e) => e.name),
    source,
  );
  const flavor = flavors[0] ?? { format: "zip" };
  // The other flavours the archive also has, for the members each one covers.
  const others = flavors.slice(1);
  // (a root compared as PyTorch's reader compares it: ignoring ASCII case)
  const alsoWithin = (name: string) =>
    others
      .filter((f) => f.archiveRoot === undefined || recordUnder(name, f.archiveRoot) !== undefined)
      .map((f) => f.format);
  if (flavor.format !== "zip") ctx.refineFormat(flavor.format);
  ctx.fact("zip.entries", entries.length);
  ctx.fact("zip.flavor", flavor.format);
  if (directory.zip64) ctx.fact("zip.zip64", true);

  const budget = budgetOf(ctx);
  const readByMiniz = flavors.some((f) => MINIZ_FLAVORS.has(f.format));
  const counts = new Map<string, number>();
  const report = (key: string, finding: Parameters<AnalysisContext["report"]>[0]): void => {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n <= CAP) ctx.report(finding);
  };
  const names = new Map<string, number>();
  let unverified = 0;
  // Tensor storages are only sniffed (their first bytes): one larger than that stays out of the
  // shared reads, which would otherwise bring in whole runs of weights. A member is a storage only
  // when every flavour's loader reads it so (torch.package imports and unpickles `<root>/data/*`
  // that torch.load takes as storages): otherwise it is verified and read in full.
  const isOpaque = (e: ZipEntry) => isOpaqueInEveryFlavor(e.name, flavors);
  const clusterEnds = smallMemberClusters(
    entries.map((e) => ({
      start: isOpaque(e) && e.compressedSize > OPAQUE_SNIFF_BYTES ? -1 : (local.dataOffsets[e.index] ?? -1),
      size: e.compressedSize,
    })),
  );
  const cluster = new ClusterReader(source);
  // Bytes inside members after their compressed stream: what a streaming reader reads next.
  const afterStreams: ZipRange[] = [];
  for (const entry of entries) {
    ctx.checkpoint();
    const dataOffset = local.dataOffsets[entry.index] ?? -1;
    const readable = dataOffset >= 0 && isReadableMethod(entry.method);
    if (entry.encrypted && !readable) {
      report("encrypted", encryptedFinding(entry, "its data cannot be read as stored or deflated bytes"));
    }
    if (!readable) continue; // reported already
    const emptyDirectory = entry.isDirectory && entry.compressedSize === 0;
    if (emptyDirectory && !entry.encrypted) continue;
    const member = { member: entry.name };

    // A declared expansion past the ratio budget: a bomb by declaration.
    if (
      entry.method === METHOD_DEFLATE &&
      entry.uncompressedSize > RATIO_CHECK_THRESHOLD &&
      entry.uncompressedSize / Math.max(1, entry.compressedSize) > ctx.limits.maxCompressionRatio
    ) {
      report("bomb", {
        ruleId: "container/decompression-bomb",
        message: `member ${JSON.stringify(entry.name)} declares ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed`,
        offset: dataOffset,
        evidence: { ...member, compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize },
      });
      continue;
    }

    // Small members come from a shared read of their neighbourhood: one read serves thousands.
    const opaqueData = isOpaque(entry);
    const small = entry.compressedSize <= (opaqueData ? OPAQUE_SNIFF_BYTES : SMALL_MEMBER);
    const data: ByteSource = small
      ? new BufferSource(await cluster.bytes(dataOffset, entry.compressedSize, clusterEnds[entry.index] ?? 0))
      : source;
    const dataStart = small ? 0 : dataOffset;

    // compressed bytes a streaming reader takes as the member's data (-1: not known)
    let streamBytes = -1;
    // what the member decoded to when verified (-1: not known), and a miniz decoding zlib refused
    let decodedSize = -1;
    let minizContent: ByteSource | undefined;
    // Flagged encrypted: PyTorch builds that ignore the flag load the bytes as plain, so they are
    // read as plain (whatever their size: the flag is only believed when that fails).
    if (entry.encrypted) {
      const plain = await checkFlaggedEntry(ctx, entry, data, dataStart, dataOffset, report);
      if (!plain || emptyDirectory) continue;
    } else if (
      // CRC and size are verified for what loaders parse or execute (pickles, code, configs); tensor
      // storages are not read for it (their payload is never read, only sniffed).
      !opaqueData &&
      entry.uncompressedSize <= CRC_CHECK_LIMIT &&
      entry.compressedSize <= CRC_CHECK_LIMIT
    ) {
      const checked = await verify(ctx, entry, data, dataStart, dataOffset, report, readByMiniz);
      if (checked === undefined) continue;
      streamBytes = checked.consumed;
      decodedSize = checked.size;
      minizContent = checked.content;
    } else {
      unverified++;
    }
    // A local header may give fewer bytes than the central directory: a streaming reader takes
    // those for a stored member (and for any member it does not find the stream end of here).
    const localSize = local.localCompressedSizes[entry.index] ?? -1;
    const byLocal =
      localSize >= 0 && (entry.method === METHOD_STORED || streamBytes < 0) && localSize < entry.compressedSize;
    if (byLocal) streamBytes = localSize;
    if (streamBytes >= 0) {
      let after: Awaited<ReturnType<typeof dataAfterStream>>;
      try {
        after = await dataAfterStream(ctx, entry, dataOffset, streamBytes, byLocal, report);
      } catch (error) {
        // a decoded member (perhaps spilled to a temporary file) is closed on the way out
        await minizContent?.close?.();
        throw error;
      }
      if (after !== undefined && afterStreams.length < MAX_AFTER_STREAM_RANGES) afterStreams.push(after);
      else if (after !== undefined) {
        // past the cap the bytes are not searched: what a streaming reader finds there is unknown
        report("after-stream-unsearched", {
          ruleId: "zip/data-after-stream",
          severity: "high",
          message: `bytes after the stream of member ${JSON.stringify(entry.name)} were not searched for hidden entries (more than ${MAX_AFTER_STREAM_RANGES} such ranges)`,
          offset: after.offset,
          evidence: { member: entry.name, length: after.length, searchedRanges: MAX_AFTER_STREAM_RANGES },
        });
      }
    }

    const seen = names.get(entry.name) ?? 0;
    names.set(entry.name, seen + 1);
    const memberName = seen === 0 ? entry.name || `#${entry.index}` : `${entry.name}#${entry.index}`;
    // a stream that ends before its declared size is analysed as far as it goes (zipfile reads it so)
    const shorter = entry.method !== METHOD_STORED && decodedSize >= 0 && decodedSize < entry.uncompressedSize;
    const content =
      minizContent ??
      (await openZipEntry(data, entry, budget, dataStart, {
        ignoreEncryptionFlag: entry.encrypted,
        ...(shorter ? { decodedSize } : {}),
      }));
    try {
      const also = alsoWithin(entry.name);
      await ctx.scanMember(memberName, content, {
        offset: dataOffset,
        opaqueData,
        ...(also.length === 0 ? {} : { alsoWithin: also }),
      });
    } finally {
      await content.close?.();
    }
  }
  if (unverified > 0) ctx.fact("zip.crcUnverifiedMembers", unverified);

  // Bytes no entry accounts for: hidden local entries are extracted like streaming readers would,
  // anything else is sniffed as opaque data (a pickle hidden there is still found).
  for (const range of [...afterStreams, ...local.unreferenced, ...directory.unreferenced]) {
    // Other end records (reported as zip/multiple-eocd) are structure, not content.
    const head = await ctx.source.read(range.offset, 4);
    const endRecord = head[0] === 0x50 && head[1] === 0x4b && (head[2] === 5 || head[2] === 6) && head[3] === 6;
    if (!endRecord) await scanUnreferenced(ctx, range, report);
  }
}

const MAX_HIDDEN_PER_RANGE = 64;

async function scanUnreferenced(
  ctx: AnalysisContext,
  range: ZipRange,
  report: (key: string, finding: Parameters<AnalysisContext["report"]>[0]) => void,
): Promise<void> {
  const end = range.offset + range.length;
  let at = range.offset;
  for (let n = 0; n < MAX_HIDDEN_PER_RANGE && at < end; n++) {
    ctx.checkpoint();
    const hidden = await readLocalOnlyEntry(ctx.source, { offset: at, length: end - at });
    if (hidden === undefined) break;
    report("local-only", {
      ruleId: "zip/local-only-entry",
      message: `local file header for ${JSON.stringify(hidden.name)} at ${hidden.offset} is not in the central directory`,
      offset: hidden.offset,
      evidence: { member: hidden.name, method: hidden.method },
    });
    if (isTraversalName(hidden.name)) {
      ctx.report({
        ruleId: "container/path-traversal",
        message: `hidden member name ${JSON.stringify(hidden.name)} escapes the extraction directory`,
        offset: hidden.offset,
        evidence: { member: hidden.name },
      });
    }
    const raw = new SliceSource(ctx.source, hidden.dataOffset, hidden.compressedSize);
    let content: ByteSource | undefined;
    const decoder = memberDecoder(hidden.method, hidden.uncompressedSize);
    // where the next entry starts: after the compressed stream when it ends early (as streaming
    // readers go on), else after the declared data
    let dataEnd = hidden.dataOffset + hidden.compressedSize;
    if (hidden.method === METHOD_STORED) content = raw;
    else if (decoder !== undefined) {
      try {
        const decoded = await decodeStream(raw, decoder, budgetOf(ctx), { label: hidden.name });
        content = decoded.source;
        dataEnd = hidden.dataOffset + Math.min(decoded.consumed, hidden.compressedSize);
      } catch (error) {
        if (!isBombError(error) && !isModelgateError(error, "MALFORMED") && !isModelgateError(error, "TRUNCATED")) {
          throw error;
        }
        report("stream", {
          ruleId: isBombError(error) ? "container/decompression-bomb" : "container/malformed-stream",
          message: `hidden member ${JSON.stringify(hidden.name)}: ${error.message}`,
          offset: hidden.dataOffset,
          evidence: { member: hidden.name },
        });
      }
    } else {
      ctx.report({
        ruleId: "format/unsupported",
        message: `hidden member ${JSON.stringify(hidden.name)} uses compression method ${hidden.method}`,
        offset: hidden.offset,
        evidence: { member: hidden.name, method: hidden.method },
      });
    }
    if (content !== undefined) {
      try {
        await ctx.scanMember(`<local-only>/${hidden.name}`, content, { offset: hidden.dataOffset });
      } finally {
        await content.close?.();
      }
    }
    at = dataEnd;
    at += (hidden.flags & 8) !== 0 ? descriptorLength(await ctx.source.read(at, 4)) : 0;
  }
  // Bytes before the archive proper belong to the sniffer (polyglot detection analyses them).
  if (at < end && !(range.offset === 0 && at === 0)) {
    await ctx.scanMember(`<unreferenced@${at}>`, new SliceSource(ctx.source, at, end - at), {
      offset: at,
      opaqueData: true,
    });
  }
}

type Report = (key: string, finding: Parameters<AnalysisContext["report"]>[0]) => void;

function encryptedFinding(entry: ZipEntry, reason: string): Parameters<AnalysisContext["report"]>[0] {
  return {
    ruleId: "zip/encrypted-entry",
    message: `member ${JSON.stringify(entry.name)} is encrypted (flags 0x${entry.flags.toString(16)}): ${reason}; its content cannot be inspected`,
    offset: entry.centralOffset,
    evidence: { member: entry.name, flags: entry.flags },
  };
}

/**
 * A member flagged encrypted: reads it as plain. Plain bytes (decoded, declared size and CRC-32)
 * are reported as `zip/encryption-flag-plain` and analysed (true); anything else is really
 * encrypted, `zip/encrypted-entry`, and not inspected (false).
 */
async function checkFlaggedEntry(
  ctx: AnalysisContext,
  entry: ZipEntry,
  data: ByteSource,
  dataStart: number,
  dataOffset: number,
  report: Report,
): Promise<boolean> {
  let check: Awaited<ReturnType<typeof checkEncryptionFlag>>;
  try {
    check = await checkEncryptionFlag(data, entry, dataStart, budgetOf(ctx));
  } catch (error) {
    if (!isBombError(error)) throw error;
    report("bomb", {
      ruleId: "container/decompression-bomb",
      message: `member ${JSON.stringify(entry.name)} (flagged encrypted): ${error.message}`,
      offset: dataOffset,
      evidence: { member: entry.name },
    });
    return false;
  }
  if (!check.plain) {
    report("encrypted", encryptedFinding(entry, check.reason));
    return false;
  }
  report("encryption-flag", {
    ruleId: "zip/encryption-flag-plain",
    message: `member ${JSON.stringify(entry.name)} is flagged encrypted (flags 0x${entry.flags.toString(16)}) but its bytes are plain (they decode to the declared size and CRC-32): loaders that ignore the flag read it, scanners that honour it skip it; its content was analysed as plain`,
    offset: entry.centralOffset,
    evidence: { member: entry.name, flags: entry.flags, method: entry.method },
  });
  return true;
}

/** What {@link verify} learnt of a member. */
interface Verified {
  /** Compressed bytes its stream took (its whole compressed size when the stream is malformed). */
  readonly consumed: number;
  /** Bytes it decodes to (at most the declared size), -1 when the stream is malformed. */
  readonly size: number;
  /** Its content as miniz decodes it, when zlib refused it (PyTorch archives). */
  readonly content?: ByteSource;
}

/**
 * Checks a member's CRC and size. Returns what it learnt (a malformed stream is still analysed as
 * far as it decodes), undefined when it cannot be decoded at all (already reported).
 * @param readByMiniz - the archive is read by PyTorch (miniz): a deflated member zlib refuses is
 *   decoded as miniz does ({@link minizFallback})
 */
async function verify(
  ctx: AnalysisContext,
  entry: ZipEntry,
  data: ByteSource,
  dataStart: number,
  dataOffset: number,
  report: (key: string, finding: Parameters<AnalysisContext["report"]>[0]) => void,
  readByMiniz: boolean,
): Promise<Verified | undefined> {
  const member = { member: entry.name };
  try {
    const actual = await readZipEntryStream(data, entry, dataStart, budgetOf(ctx));
    if (actual.overrun) {
      report("size", {
        ruleId: "zip/size-mismatch",
        message: `member ${JSON.stringify(entry.name)} decodes past its declared ${entry.uncompressedSize} bytes; Python's zipfile keeps the declared bytes (analysed) and drops the rest`,
        offset: dataOffset,
        evidence: { ...member, declared: entry.uncompressedSize, overrun: true },
      });
    }
    if (entry.method !== METHOD_STORED && actual.size !== entry.uncompressedSize) {
      report("size", {
        ruleId: "zip/size-mismatch",
        message: `member ${JSON.stringify(entry.name)} decompresses to ${actual.size} bytes, ${entry.uncompressedSize} declared`,
        offset: dataOffset,
        evidence: { ...member, declared: entry.uncompressedSize, actual: actual.size },
      });
    }
    if (actual.crc32 !== entry.crc32) {
      report("crc", {
        ruleId: "zip/crc-mismatch",
        message: `member ${JSON.stringify(entry.name)} has CRC-32 0x${actual.crc32.toString(16)}, 0x${entry.crc32.toString(16)} declared`,
        offset: dataOffset,
        evidence: { ...member, declared: entry.crc32, actual: actual.crc32 },
      });
    }
    return { consumed: actual.consumed, size: actual.size };
  } catch (error) {
    if (isBombError(error)) {
      report("bomb", {
        ruleId: "container/decompression-bomb",
        message: `member ${JSON.stringify(entry.name)}: ${error.message}`,
        offset: dataOffset,
        evidence: member,
      });
      return undefined;
    }
    if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
      if (readByMiniz && entry.method === METHOD_DEFLATE) {
        const content = await minizFallback(ctx, entry, data, dataStart, dataOffset, error.message, report);
        return { consumed: entry.compressedSize, size: -1, content };
      }
      // a streaming reader (Python's zipfile: np.load) hands on what inflates before the error,
      // and a pickle there is unpickled before the error is reached: that part is analysed
      const prefix =
        entry.method === METHOD_DEFLATE
          ? await zlibPrefix(ctx, entry, data, dataStart)
          : await streamPrefix(ctx, entry, data, dataStart);
      const analysed = prefix === undefined ? "" : `; the ${prefix.size} bytes before the error were analysed`;
      report("stream", {
        ruleId: "container/malformed-stream",
        message: `member ${JSON.stringify(entry.name)}: ${error.message}${analysed}`,
        offset: dataOffset,
        evidence: member,
      });
      return { consumed: entry.compressedSize, size: -1, ...(prefix === undefined ? {} : { content: prefix }) };
    }
    throw error;
  }
}

/**
 * What a deflated member zlib refuses inflates to before zlib's error (as zlib-based streaming
 * readers hand it on), from the miniz-compatible decoder in zlib mode.
 */
async function zlibPrefix(
  ctx: AnalysisContext,
  entry: ZipEntry,
  data: ByteSource,
  dataStart: number,
): Promise<ByteSource> {
  const bytes = await data.read(dataStart, entry.compressedSize);
  const result = minizInflate(bytes, entry.uncompressedSize, inflateBudgets(ctx, true));
  return new BufferSource(result.produced);
}

/**
 * What a bzip2 or LZMA member decodes to before its decoder's error (Python's zipfile streams
 * them, and `np.load` unpickles what it was handed before the error is reached); undefined for
 * other methods or when nothing decoded.
 */
async function streamPrefix(
  ctx: AnalysisContext,
  entry: ZipEntry,
  data: ByteSource,
  dataStart: number,
): Promise<ByteSource | undefined> {
  const decoder = memberDecoder(entry.method, entry.uncompressedSize);
  if (decoder === undefined) return undefined;
  const sink = new SpillSink();
  const input = new SliceSource(data, dataStart, entry.compressedSize);
  try {
    await decodeInto(input, decoder, budgetOf(ctx), `member ${JSON.stringify(entry.name)}`, sink);
  } catch (error) {
    if (!isModelgateError(error, "MALFORMED") && !isModelgateError(error, "TRUNCATED")) {
      await sink.abort();
      throw error;
    }
  }
  const prefix = await sink.finish();
  return prefix.size === 0 ? undefined : prefix;
}

/**
 * A deflated member of a PyTorch archive that zlib refuses: decodes it as miniz does (what
 * `torch.load` reads) and reports how it stands. Decoded by miniz: `zip/deflate-miniz-only`;
 * miniz fails part-way or copies uninitialised memory (PyTorch 1.x reads the buffer all the same):
 * `zip/member-undecodable`, both high; ends short of the declared size (PyTorch refuses it):
 * `container/malformed-stream`. Returns the content to analyse (the loader's buffer).
 * @param zlibError - why zlib refused it
 */
async function minizFallback(
  ctx: AnalysisContext,
  entry: ZipEntry,
  data: ByteSource,
  dataStart: number,
  dataOffset: number,
  zlibError: string,
  report: Report,
): Promise<ByteSource> {
  const name = JSON.stringify(entry.name);
  const bytes = await data.read(dataStart, entry.compressedSize);
  // the declared size is capped by the caller (CRC_CHECK_LIMIT); what decodes is charged as it does
  const result = minizInflate(bytes, entry.uncompressedSize, inflateBudgets(ctx, false));
  const evidence = {
    member: entry.name,
    zlib: zlibError,
    miniz: result.status,
    written: result.written,
    declared: entry.uncompressedSize,
    ...(result.quirks.length === 0 ? {} : { quirks: result.quirks.join("; ") }),
  };
  const quirks = result.quirks.length === 0 ? "" : ` (${result.quirks.join("; ")})`;
  if (result.status === "failed" || result.undefinedBytes > 0) {
    const why =
      result.status === "failed"
        ? `miniz fails after ${result.written} of ${entry.uncompressedSize} bytes (${result.reason ?? "error"}), which PyTorch does not report: it reads those bytes and uninitialised memory after them`
        : `${result.undefinedBytes} of its bytes are copies at distance 0, which PyTorch takes from uninitialised memory`;
    report("undecodable", {
      ruleId: "zip/member-undecodable",
      message: `member ${name}: zlib refuses it (${zlibError}); ${why}${quirks}; what decoded was analysed, zeros standing for the rest`,
      offset: dataOffset,
      evidence,
    });
    return zeroPadded(result.produced, entry.uncompressedSize);
  }
  if (result.status === "done" && result.written < entry.uncompressedSize) {
    report("stream", {
      ruleId: "container/malformed-stream",
      message: `member ${name}: zlib refuses it (${zlibError}); miniz decodes ${result.written} bytes, ${entry.uncompressedSize} declared (PyTorch refuses it)${quirks}`,
      offset: dataOffset,
      evidence,
    });
    return new BufferSource(result.produced);
  }
  const full =
    result.status === "output-full"
      ? `; the stream has more output than the ${entry.uncompressedSize} bytes declared: miniz stops there and PyTorch keeps them`
      : "";
  report("miniz-only", {
    ruleId: "zip/deflate-miniz-only",
    message: `member ${name}: zlib refuses its deflate stream (${zlibError}) but miniz, PyTorch's zip reader, decodes it${quirks}${full}; analysed as miniz decodes it`,
    offset: dataOffset,
    evidence,
  });
  return new BufferSource(result.produced);
}

/**
 * The miniz decoder's budgets: the scan's deadline, and its decompression budget charged with
 * what is written as it is written (not the declared size: junk members that declare 64 MiB and
 * fail at once used to spend the budget of a whole checkpoint).
 */
function inflateBudgets(ctx: AnalysisContext, zlib: boolean): MinizInflateOptions {
  return { checkpoint: () => ctx.checkpoint(), charge: (n) => ctx.chargeDecompressed(n), zlib };
}

/**
 * A member whose compressed stream (or its local header's size, `byLocal`) ends `consumed` bytes into its
 * declared data: reports `zip/data-after-stream` and returns the bytes after it (and after the data
 * descriptor a bit-3 member has there), which a streaming reader reads as the next local header.
 */
async function dataAfterStream(
  ctx: AnalysisContext,
  entry: ZipEntry,
  dataOffset: number,
  consumed: number,
  byLocal: boolean,
  report: Report,
): Promise<ZipRange | undefined> {
  if (consumed >= entry.compressedSize) return undefined;
  const streamEnd = dataOffset + consumed;
  const dataEnd = dataOffset + entry.compressedSize;
  const descriptor = (entry.flags & 8) !== 0 ? descriptorLength(await ctx.source.read(streamEnd, 4)) : 0;
  const after = Math.min(dataEnd, streamEnd + descriptor);
  report("after-stream", {
    ruleId: "zip/data-after-stream",
    message: `member ${JSON.stringify(entry.name)}: its ${byLocal ? "local header gives" : "compressed stream ends after"} ${consumed} of its ${entry.compressedSize} declared compressed bytes; a streaming reader (Java's ZipInputStream) reads the ${dataEnd - after} bytes after it${descriptor > 0 ? " and its data descriptor" : ""} as the next entry`,
    offset: streamEnd,
    evidence: { member: entry.name, method: entry.method, streamBytes: consumed, declared: entry.compressedSize },
  });
  return after < dataEnd ? { offset: after, length: dataEnd - after } : undefined;
}

/** Analyzer of zip archives (and the zip-based PyTorch, TorchScript, .npz and .keras formats). */
export const zipAnalyzer: Analyzer = {
  name: "zip",
  formats: ["zip"],
  analyze: analyzeZip,
};
