/**
 * Contracts between the scan engine, the sources it reads and the analyzers it runs. The shared
 * vocabulary (budgets, detections, findings, byte sources) is in `src/core/`, what a scan root is
 * in `src/sources/types.ts`; both are re-exported here.
 * @module
 */

import type { ByteSource } from "../core/byte-source.js";
import type { FindingInput } from "../core/findings.js";
import type { Detection, Format } from "../core/formats.js";
import type { Limits } from "../core/limits.js";
import type { Verdict } from "../core/severity.js";
import type { SignatureVerification } from "../integrity/oms/result.js";
import type { ScanSignatureOptions } from "../integrity/oms/verify.js";
import type { LockFile } from "../integrity/pins/lock.js";
import type { PolicyOptions, ResolvedPolicy } from "../policy/policy.js";
import type { FileReport, Hashes } from "../report/schema.js";
import type { RootEntry, ScanRoot } from "../sources/types.js";
import type { VerdictCache } from "./cache.js";

export type { FindingInput } from "../core/findings.js";
export type { Detection } from "../core/formats.js";
export { DEFAULT_LIMITS, type Limits } from "../core/limits.js";
export type { ScanSignatureOptions } from "../integrity/oms/verify.js";
export type { FileVerification, OpenOptions, RootEntry, ScanRoot } from "../sources/types.js";

/** Options for {@link AnalysisContext.scanMember}. */
export interface MemberOptions {
  /** Byte offset of the member's data within the parent, for evidence. */
  offset?: number;
  /**
   * The member is expected to be opaque data (a tensor storage): no `format/unknown` finding when
   * its content is not recognised. Its first `OPAQUE_SNIFF_BYTES` (4 KiB) are still sniffed, so a
   * pickle hidden there is analysed.
   */
  opaqueData?: boolean;
  /** Format the parent says the member has; content still decides. */
  formatHint?: Format;
}

/** What an analyzer sees of the file (or member) it analyses. */
export interface AnalysisContext {
  /** Display path: `dir/file.pt`, or `outer.pt!archive/data.pkl` for a member. */
  readonly path: string;
  /** Last path component (an extension hint only). */
  readonly name: string;
  /** The bytes, guarded by the read budget and abort signal. */
  readonly source: ByteSource;
  /** The first bytes of `source` (up to 64 KiB), already read by the sniffer. */
  readonly head: Uint8Array;
  /** Every format the sniffer recognised, primary first. */
  readonly detections: readonly Detection[];
  /** The detection this analyzer was chosen for. */
  readonly detection: Detection;
  /** 0 for a top-level file, +1 per enclosing container. */
  readonly depth: number;
  /** Formats of the enclosing containers, outermost first. */
  readonly lineage: readonly Format[];
  /** Budgets. */
  readonly limits: Readonly<Limits>;
  /** Rule severities and allow/deny lists in force. */
  readonly policy: ResolvedPolicy;
  /** Fires on caller abort or when the file's time budget runs out. */
  readonly signal: AbortSignal;
  /** Where the file came from (siblings can be listed and opened through it). */
  readonly root: ScanRoot;
  /** Records a finding against this file or member. */
  report(finding: FindingInput): void;
  /** Replaces the primary format once the analyzer knows better (zip → pytorch-zip). */
  refineFormat(format: Format): void;
  /** Records a fact about the model (architecture, tensor count, dtypes ...) for reports and BOMs. */
  fact(key: string, value: unknown): void;
  /**
   * Sniffs and analyses a nested byte stream (container member, decompressed stream, embedded
   * payload) at depth + 1, reported as `path!name`. Enforces the depth budget.
   * @returns the member's verdict
   */
  scanMember(name: string, source: ByteSource, options?: MemberOptions): Promise<Verdict>;
  /** Throws `ABORTED`/`TIMEOUT` when the scan must stop. Call it in long CPU-bound loops. */
  checkpoint(): void;
  /** Counts decompressed bytes against the file's budget; throws `BUDGET_EXCEEDED` past it. */
  chargeDecompressed(bytes: number): void;
}

/** Analyses one format. */
export interface Analyzer {
  /** Name, for errors and diagnostics. */
  readonly name: string;
  /** Formats this analyzer handles. */
  readonly formats: readonly Format[];
  /**
   * Analyses the file or member. Reports findings through the context. May throw a
   * `ModelgateError`: the engine turns it into a finding and marks the file `invalid`.
   */
  analyze(ctx: AnalysisContext): Promise<void>;
}

/** Context of analyzers that look at the scanned tree as a whole (signatures, repo configs). */
export interface RepoContext {
  /** The root scanned. */
  readonly root: ScanRoot;
  /** Every entry listed. */
  readonly entries: readonly RootEntry[];
  /**
   * Opens a listed file. Small text files the engine already read whole are served from memory,
   * so a repo analyzer does not fetch them twice (it matters for remote roots). Close it after use.
   * Files that failed, timed out or were not reached in the file pass are refused (`IO`), and the
   * open and every read of what it returns obey a deadline of `limits.fileTimeoutMs` (`TIMEOUT`).
   * @param path - a path from {@link RepoContext.entries}
   */
  openFile(path: string): Promise<ByteSource>;
  /** The per-file reports produced so far (read-only view). */
  readonly files: readonly FileReport[];
  /** Budgets. */
  readonly limits: Readonly<Limits>;
  /** Policy in force. */
  readonly policy: ResolvedPolicy;
  /** Caller abort and the scan's deadline (`limits.scanTimeoutMs`). */
  readonly signal: AbortSignal;
  /** The scan's options, as the caller passed them. */
  readonly options: Readonly<ScanOptions>;
  /**
   * Records a finding against a listed file (`path` from {@link RepoContext.entries}).
   * @param path - the file
   * @param finding - what was found
   */
  report(path: string, finding: FindingInput): void;
  /** Records a fact about a listed file. */
  fact(path: string, key: string, value: unknown): void;
  /** Records the verification of the tree's OMS signature (the report's `signature`). */
  setSignature?(result: SignatureVerification): void;
  /**
   * Adds digests computed for a listed file (the report's `files[].hashes`), for example the
   * BLAKE2b or BLAKE3 digests an OMS verification computed; existing ones are kept.
   * @param path - a path from {@link RepoContext.entries}
   * @param hashes - lowercase hex digests by algorithm
   */
  addHashes?(path: string, hashes: Hashes): void;
}

/** Analyses the scanned tree as a whole, after every file has been analysed. */
export interface RepoAnalyzer {
  /** Name, for errors. */
  readonly name: string;
  /** Runs once per scan. */
  analyze(ctx: RepoContext): Promise<void>;
}

/** Phase of a progress event. */
export type ProgressPhase = "list" | "analyze" | "hash" | "verify" | "done";

/** A progress event. */
export interface ProgressEvent {
  /** What is happening. */
  readonly phase: ProgressPhase;
  /** The file concerned (empty for scan-wide events). */
  readonly path: string;
  /** Bytes processed so far for this file (or files done, for `list`/`done`). */
  readonly bytesDone: number;
  /** Total bytes of this file (or files in the scan). */
  readonly bytesTotal: number;
}

/** Options of `scan`. */
export interface ScanOptions {
  /** Budgets; unspecified ones take {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /** Aborts the scan; files not finished are reported `invalid`. */
  signal?: AbortSignal;
  /** Receives typed progress events. Must not throw. */
  onProgress?: (event: ProgressEvent) => void;
  /** How many files are analysed at once (default: available cores, at least 2). */
  concurrency?: number;
  /** Rule severity overrides, disabled rules, allow/deny lists. */
  policy?: PolicyOptions;
  /** Compute `files[].sha256` (default true). */
  hash?: boolean;
  /**
   * Verdict cache. Results are stored only under a SHA-256 modelgate computed over every byte of
   * the file (never under a digest a listing merely claims), and only when complete, unchanged
   * during the scan and matching the digest the root pinned. A file whose digest the root claims
   * before reading (see {@link RootEntry.sha256}) and that was scanned before with the same
   * modelgate version and policy is not analysed again: it is read whole to check the claim, and
   * answered from the cache when it holds (without reading at all when the root vouches for its
   * digests, {@link RootEntry.sha256Trusted}).
   */
  cache?: VerdictCache;
  /** Expected SHA-256 digests by POSIX path relative to the scanned directory; differences are `high`. */
  pins?: Readonly<Record<string, string>>;
  /** A lock file (path or parsed, see `modelgate lock`) the tree must match; differences are `high`. */
  lockFile?: string | LockFile;
  /** Files present but not in `pins`/`lockFile` are fine (default false: `integrity/pin-unexpected`). */
  allowUnpinned?: boolean;
  /**
   * OMS signature verification of a scanned directory. Signatures are discovered by content; with no
   * trust material a signature's manifest is still checked and the signer is reported unverified.
   * `false` skips signatures entirely.
   */
  signature?: ScanSignatureOptions | false;
}
