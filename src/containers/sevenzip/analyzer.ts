/**
 * The 7z analyzer: lists the archive, reports encryption and anomalies, decodes every folder
 * once, in order, and hands each file to the engine as a member (a pickle packed with 7z, the
 * "nullifAI" layout, is then analysed like any other pickle).
 *
 * Solid folders (many files in one compressed stream) are decoded as one stream; each file is
 * cut from it in turn into a {@link SpillSink} (memory up to {@link MEMBER_MEMORY_BYTES}, a private
 * temporary file beyond), analysed, and released before the next one is decoded, so memory stays
 * around one member's cap plus the decoder's dictionary whatever the archive's size. Every byte is
 * charged to the scan's decompression budget, the expansion ratio is checked, and every file's
 * CRC-32 is verified.
 * @module
 */
import { crc32 } from "node:zlib";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type ByteSource, SliceSource } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { budgetOf } from "../budget.js";
import {
  type DecompressionBudget,
  isBombError,
  RATIO_CHECK_THRESHOLD,
  SpillSink,
} from "../compressed/decoded-source.js";
import { type FolderStream, openFolderStream } from "./coders.js";
import { readSevenZip, type SevenZipArchive, type SevenZipFolder, type SevenZipPart } from "./reader.js";

/** Decoded bytes of one member kept in memory before it spills to a temporary file. */
export const MEMBER_MEMORY_BYTES = 16 * 1024 * 1024;

const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;

/** Pulls a folder's output under the budgets, handing out consecutive runs. */
class FolderReader {
  readonly #stream: FolderStream;
  readonly #budget: DecompressionBudget;
  readonly #label: string;
  readonly #checkpoint: () => void;
  #pending: Uint8Array | null = null;
  #produced = 0;
  /** CRC-32 of everything handed out. */
  crc = 0;

  constructor(stream: FolderStream, budget: DecompressionBudget, label: string, checkpoint: () => void) {
    this.#stream = stream;
    this.#budget = budget;
    this.#label = label;
    this.#checkpoint = checkpoint;
  }

  async #chunk(): Promise<Uint8Array | null> {
    if (this.#pending !== null) {
      const p = this.#pending;
      this.#pending = null;
      return p;
    }
    this.#checkpoint();
    const chunk = await this.#stream.next();
    if (chunk === null) return null;
    this.#produced += chunk.length;
    this.#budget.charge(chunk.length);
    const ratio = this.#produced / Math.max(1, this.#stream.packRead);
    if (this.#produced > RATIO_CHECK_THRESHOLD && ratio > this.#budget.maxRatio) {
      throw new ModelgateError(
        "BUDGET_EXCEEDED",
        `${this.#label} expands ${Math.round(ratio)}× (${this.#produced} bytes from ${this.#stream.packRead}), over the ratio budget of ${this.#budget.maxRatio}`,
        { budget: "maxCompressionRatio" },
      );
    }
    return chunk;
  }

  /** Hands the next `size` bytes to `each`; fewer only if the stream ends (it then throws). */
  async take(size: number, each: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    let need = size;
    while (need > 0) {
      let chunk = await this.#chunk();
      if (chunk === null) {
        throw new ModelgateError("MALFORMED", `${this.#label}: output ends ${need} bytes early`);
      }
      if (chunk.length > need) {
        this.#pending = chunk.subarray(need);
        chunk = chunk.subarray(0, need);
      }
      this.crc = crc32(chunk, this.crc);
      need -= chunk.length;
      await each(chunk);
    }
  }

  /** Reads to the end of the stream (the size and end-of-data checks of the coders run there). */
  async finish(): Promise<number> {
    let extra = 0;
    for (;;) {
      const chunk = await this.#chunk();
      if (chunk === null) return extra;
      this.crc = crc32(chunk, this.crc);
      extra += chunk.length;
    }
  }

  close(): void {
    this.#stream.close();
  }
}

/** Display name of a part: its file's name (made unique), or a placeholder. */
function partName(archive: SevenZipArchive, partIndex: number, names: Map<string, number>): string {
  const part = archive.parts[partIndex] as SevenZipPart;
  const entry = part.entry >= 0 ? archive.entries[part.entry] : undefined;
  if (entry === undefined) return `<stream#${partIndex}>`;
  const seen = names.get(entry.name) ?? 0;
  names.set(entry.name, seen + 1);
  return seen === 0 && entry.name !== "" ? entry.name : `${entry.name}#${entry.index}`;
}

function memberList(archive: SevenZipArchive, folder: SevenZipFolder): string {
  const names = folder.parts
    .map((p) => archive.parts[p]?.entry ?? -1)
    .filter((e) => e >= 0)
    .map((e) => archive.entries[e]?.name ?? "");
  const shown = names.slice(0, 5).map((n) => JSON.stringify(n));
  return names.length > 5 ? `${shown.join(", ")} and ${names.length - 5} more` : shown.join(", ");
}

async function analyzeSevenZip(ctx: AnalysisContext): Promise<void> {
  const budget = budgetOf(ctx);
  const archive = await readSevenZip(ctx.source, {
    maxEntries: ctx.limits.maxEntries,
    charge: (n) => ctx.chargeDecompressed(n),
    checkpoint: () => ctx.checkpoint(),
  });
  for (const finding of archive.findings) ctx.report(finding);
  ctx.fact("7z.version", archive.version);
  if (archive.headerEncoded) ctx.fact("7z.headerMethods", archive.headerMethods);
  if (archive.headerEncrypted) {
    ctx.report({
      ruleId: "7z/encrypted",
      message: `the archive's header is encrypted (${archive.headerMethods.join(" + ")}): its member names and contents cannot be inspected`,
      evidence: { scope: "header", methods: archive.headerMethods.join(" + ") },
    });
    await scanUnreferenced(ctx, archive);
    return;
  }
  ctx.fact("7z.entries", archive.declaredEntries);
  ctx.fact("7z.folders", archive.folders.length);
  const methods = [...new Set(archive.folders.map((f) => f.methods.join("+")))];
  if (methods.length > 0) ctx.fact("7z.methods", methods);
  if (archive.folders.some((f) => f.parts.length > 1)) ctx.fact("7z.solid", true);

  const findings = new FindingList();
  try {
    await analyzeFolders(ctx, archive, budget, findings);
  } finally {
    for (const finding of findings.list()) ctx.report(finding);
  }
  await scanUnreferenced(ctx, archive);
}

async function analyzeFolders(
  ctx: AnalysisContext,
  archive: SevenZipArchive,
  budget: DecompressionBudget,
  findings: FindingList,
): Promise<void> {
  const names = new Map<string, number>();
  for (const folder of archive.folders) {
    ctx.checkpoint();
    if (folder.parts.length === 0 || (folder.parts[0] as number) >= archive.partsInBudget) continue;
    const label = `7z folder ${folder.index} (${folder.methods.join(" + ")})`;
    const evidence = { folder: folder.index, methods: folder.methods.join(" + "), members: folder.parts.length };
    if (folder.encrypted) {
      findings.add({
        ruleId: "7z/encrypted",
        message: `folder ${folder.index} is encrypted (${folder.methods.join(" + ")}); members not analysed: ${memberList(archive, folder)}`,
        offset: folder.packOffset,
        evidence: { ...evidence, scope: "content" },
      });
      continue;
    }
    if (folder.unsupported !== undefined) {
      findings.add({
        ruleId: "format/unsupported",
        message: `folder ${folder.index} uses ${folder.unsupported}, which modelgate does not decode; members not analysed: ${memberList(archive, folder)}`,
        offset: folder.packOffset,
        evidence: { ...evidence, method: folder.unsupported },
      });
      continue;
    }
    if (
      folder.unpackSize > RATIO_CHECK_THRESHOLD &&
      folder.unpackSize / Math.max(1, folder.packSize) > ctx.limits.maxCompressionRatio
    ) {
      findings.add({
        ruleId: "container/decompression-bomb",
        message: `folder ${folder.index} declares ${folder.unpackSize} bytes from ${folder.packSize} packed; members not analysed: ${memberList(archive, folder)}`,
        offset: folder.packOffset,
        evidence: { ...evidence, packedSize: folder.packSize, unpackedSize: folder.unpackSize },
      });
      continue;
    }
    await analyzeFolder(ctx, archive, folder, label, budget, findings, names);
  }
}

/** Decodes one folder and scans its members in order. */
async function analyzeFolder(
  ctx: AnalysisContext,
  archive: SevenZipArchive,
  folder: SevenZipFolder,
  label: string,
  budget: DecompressionBudget,
  findings: FindingList,
  names: Map<string, number>,
): Promise<void> {
  const streams = archive.streams;
  if (streams === undefined) return;
  let reader: FolderReader | undefined;
  let current = -1;
  try {
    reader = new FolderReader(
      openFolderStream(ctx.source, streams, folder.index, archive.packBase),
      budget,
      label,
      () => ctx.checkpoint(),
    );
    for (const partIndex of folder.parts) {
      if (partIndex >= archive.partsInBudget) return; // past the entry budget (reported)
      current = partIndex;
      const part = archive.parts[partIndex] as SevenZipPart;
      const name = partName(archive, partIndex, names);
      const sink = new SpillSink({ memoryBytes: MEMBER_MEMORY_BYTES });
      let crc = 0;
      let failure: unknown;
      try {
        await reader.take(part.size, async (chunk) => {
          crc = crc32(chunk, crc);
          await sink.write(chunk);
        });
      } catch (error) {
        failure = error;
      }
      if (failure !== undefined && !isDecodeError(failure)) {
        await sink.abort();
        throw failure;
      }
      if (failure === undefined && part.crc !== undefined && crc !== part.crc) {
        findings.add({
          ruleId: "7z/crc-mismatch",
          message: `member ${JSON.stringify(name)} has CRC ${hex(crc)}, ${hex(part.crc)} declared`,
          offset: folder.packOffset,
          evidence: { member: name, declared: part.crc, actual: crc },
        });
      }
      // What decoded is analysed even when the rest of the stream is corrupt.
      const content: ByteSource = await sink.finish();
      try {
        if (content.size > 0) await ctx.scanMember(name, content, { offset: folder.packOffset });
      } finally {
        await content.close?.();
      }
      if (failure !== undefined) throw failure;
    }
    current = -1;
    const extra = await reader.finish();
    if (extra > 0) throw new ModelgateError("MALFORMED", `${label}: ${extra} bytes after its last member`);
    if (folder.crc !== undefined && folder.parts.length > 1 && reader.crc !== folder.crc) {
      findings.add({
        ruleId: "7z/crc-mismatch",
        message: `folder ${folder.index} decodes with CRC ${hex(reader.crc)}, ${hex(folder.crc)} declared`,
        offset: folder.packOffset,
        evidence: { folder: folder.index, declared: folder.crc, actual: reader.crc },
      });
    }
  } catch (error) {
    if (!isDecodeError(error)) throw error;
    const at = current >= 0 ? ` at member ${JSON.stringify(partLabel(archive, current))}` : "";
    findings.add({
      ruleId: isBombError(error)
        ? "container/decompression-bomb"
        : isModelgateError(error, "BUDGET_EXCEEDED")
          ? "scan/budget-exceeded"
          : "container/malformed-stream",
      message: `${label}${at}: ${error.message}; the rest of the folder was not analysed`,
      offset: folder.packOffset,
      evidence: { folder: folder.index, methods: folder.methods.join(" + ") },
    });
  } finally {
    reader?.close();
  }
}

function partLabel(archive: SevenZipArchive, partIndex: number): string {
  const entry = archive.entries[archive.parts[partIndex]?.entry ?? -1];
  return entry?.name ?? `<stream#${partIndex}>`;
}

/** Errors that mean "this folder's data is bad or too big", not "the scan must stop". */
function isDecodeError(error: unknown): error is ModelgateError {
  return (
    isBombError(error) ||
    isModelgateError(error, "MALFORMED") ||
    isModelgateError(error, "TRUNCATED") ||
    (isModelgateError(error, "BUDGET_EXCEEDED") && error.budget === "maxLzmaDictionary")
  );
}

/** Reports and sniffs bytes that no 7z structure accounts for. */
async function scanUnreferenced(ctx: AnalysisContext, archive: SevenZipArchive): Promise<void> {
  for (const range of archive.unreferenced.slice(0, 16)) {
    const finding: FindingInput = {
      ruleId: "7z/unreferenced-data",
      message: `${range.length} bytes at ${range.offset} belong to no 7z structure; they are analysed separately`,
      offset: range.offset,
      evidence: { bytes: range.length },
    };
    ctx.report(finding);
    await ctx.scanMember(`<unreferenced@${range.offset}>`, new SliceSource(ctx.source, range.offset, range.length), {
      offset: range.offset,
      opaqueData: true,
    });
  }
}

/** Analyzer of 7z archives. */
export const sevenZipAnalyzer: Analyzer = {
  name: "7z",
  formats: ["7z"],
  analyze: analyzeSevenZip,
};
