/**
 * Contracts between the scan engine, the sources it reads and the analyzers it runs.
 * @module
 */

import type { ErrorCode } from "../errors.js";
import type { SignatureVerification } from "../integrity/oms/result.js";
import type { VerifyOptions } from "../integrity/oms/verify.js";
import type { LockFile } from "../integrity/pins/lock.js";
import type { PolicyOptions, ResolvedPolicy } from "../policy/policy.js";
import type { RuleId } from "../policy/rules/index.js";
import type {
  Evidence,
  FileIntegrity,
  FileReport,
  Format,
  Hashes,
  Severity,
  Target,
  Verdict,
} from "../report/schema.js";
import type { ByteSource } from "../sources/byte-source.js";
import type { VerdictCache } from "./cache.js";

/** Budgets every analyzer honours. A budget that is hit is reported, never silently ignored. */
export interface Limits {
  /** Maximum bytes the analyzers may read from one top-level file (hashing not counted). */
  maxReadBytes: number;
  /** Maximum container nesting (a member of a member of ... a file). Top-level files are depth 0. */
  maxDepth: number;
  /** Maximum entries read from one container's directory. */
  maxEntries: number;
  /** Maximum total bytes decompressed while analysing one top-level file. */
  maxDecompressedBytes: number;
  /**
   * Maximum expansion ratio of one compressed member or stream. Checked once its output passes
   * 16 MiB, so small highly compressible members (zero-filled tensors) are not flagged.
   */
  maxCompressionRatio: number;
  /**
   * Wall-clock budget for one top-level file, in milliseconds: opening it, analysing it, hashing
   * or verifying it, and each read a repository analyzer makes of it later.
   */
  fileTimeoutMs: number;
  /**
   * Wall-clock budget for the whole scan, in milliseconds: resolving and listing the target, every
   * file and the repository analyzers. Files not finished when it runs out are `invalid`
   * (`scan/timeout`) and the report is incomplete.
   */
  scanTimeoutMs: number;
  /**
   * Deepest folder a directory walk descends into (the scanned directory is depth 0). A folder
   * below it is not listed: it is reported (`scan/depth-exceeded`) and the scan is incomplete.
   */
  maxDirectoryDepth: number;
}

/** Default budgets. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxReadBytes: 64 * 1024 ** 3,
  maxDepth: 8,
  maxEntries: 200_000,
  maxDecompressedBytes: 8 * 1024 ** 3,
  maxCompressionRatio: 1_000,
  fileTimeoutMs: 5 * 60_000,
  scanTimeoutMs: 60 * 60_000,
  maxDirectoryDepth: 256,
});

/** A format recognised in some bytes, and where it starts. */
export interface Detection {
  /** The format. */
  readonly format: Format;
  /** Byte offset where that format's data begins (non-zero for prepended data). */
  readonly offset: number;
  /** Short explanation of what matched (for evidence). */
  readonly reason: string;
  /**
   * Set on a pickle reading asked for by a claim rather than found by the sniffer alone
   * (`src/formats/claims.ts`): `strong` readings that fail make the stream `invalid`; `weak` ones
   * are speculative (only their dangerous findings count when the stream turns out not to parse);
   * `beside` readings run beside another format positively recognised at the same bytes (only
   * their dangerous findings count, and the stream keeps that format).
   */
  readonly claim?: "strong" | "weak" | "beside";
}

/** A finding as an analyzer reports it; the engine fills in severity, verdict and path. */
export interface FindingInput {
  /** Registered rule id. */
  ruleId: RuleId;
  /** Human-readable message, specific to this occurrence. */
  message: string;
  /** Byte offset within the analysed file or member. */
  offset?: number;
  /** Structured evidence (opcode, callee, argument preview, names, ...). */
  evidence?: Evidence;
  /**
   * Severity for this occurrence when the rule's default does not fit (e.g. a pickle global that is
   * known-dangerous vs merely unknown share a rule family). Policy overrides still win.
   */
  severity?: Severity;
  /** CVE/GHSA ids beyond those of the rule. */
  cve?: string[];
  /** Member path when the finding concerns a named part of this file not scanned as a member. */
  path?: string;
}

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

/** One entry of a scan root's listing. */
export interface RootEntry {
  /** POSIX path relative to the root. */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /**
   * Regular file, symbolic link (never followed), something else (device, FIFO, socket), an
   * entry that could not be listed (`error` says why), or a folder the walk did not descend into
   * (`skipped` says why).
   */
  readonly kind: "file" | "symlink" | "special" | "unreadable" | "skipped";
  /** Why the entry could not be listed, for `unreadable`. */
  readonly error?: string;
  /** Error code for `unreadable` (default `IO`; `BUDGET_EXCEEDED` for a listing budget). */
  readonly errorCode?: ErrorCode;
  /** Link target, for symlinks. */
  readonly linkTarget?: string;
  /**
   * For `skipped` folders: `vcs` (the scanned directory's own `.git`, `.hg` or `.svn`, which no
   * loader reads) or `depth` (deeper than `limits.maxDirectoryDepth`: its content was not seen).
   */
  readonly skipped?: "vcs" | "depth";
  /** For `skipped` `vcs` folders: entries found below it (capped, see `skippedMore`). */
  readonly skippedEntries?: number;
  /** For `skipped` `vcs` folders: true when there were more entries than `skippedEntries`. */
  readonly skippedMore?: boolean;
  /**
   * SHA-256 of the content as the root's metadata claims it before anything is read (a Hub LFS
   * oid). It is not a verified digest: a verdict cache hit under it is only used once the bytes
   * served are read whole and match it, unless `sha256Trusted` is set.
   */
  readonly sha256?: string;
  /**
   * The root vouches that reading this entry yields exactly the content `sha256` names (the caller
   * trusts the Hub's content addressing, `hub.trustListedDigests`): cache hits under `sha256`
   * answer without reading, and results of partial reads are cached under a key derived from it
   * (never the plain digest key that other roots and local scans look up).
   */
  readonly sha256Trusted?: boolean;
  /** Device of the file as the listing saw it (`lstat`); a file opened later must match it. */
  readonly dev?: bigint;
  /** Inode of the file as the listing saw it (`lstat`); a file opened later must match it. */
  readonly ino?: bigint;
}

/** Options of {@link ScanRoot.open}. */
export interface OpenOptions {
  /** The file's deadline (and caller abort): an open that has not finished by then fails. */
  signal?: AbortSignal;
  /**
   * The entry as listed: the opened file must still be it (same device, inode and size for local
   * files), or the open fails with a "changed during the scan" error.
   */
  entry?: RootEntry;
}

/** What a root that checks its own files' integrity says about one file after its analysis. */
export interface FileVerification {
  /** SHA-256 of the bytes served, when they were all read and hashed. */
  sha256?: string;
  /** Findings about the file's integrity or provenance. */
  findings?: FindingInput[];
  /** Integrity record for the file's report. */
  integrity?: FileIntegrity;
  /**
   * False when the bytes analysed are known not to be the content the entry's digest names (a
   * mismatch): the verdict is then not cached under that digest.
   */
  cacheable?: boolean;
}

/** Where the files of a scan come from: a directory, one file, a buffer, a remote repository. */
export interface ScanRoot {
  /** What kind of target this is. */
  readonly target: Target;
  /** The local directory on disk, when the root is one (for symlink resolution and signatures). */
  readonly localDir?: string;
  /** Lists the files, in a stable order. */
  list(signal: AbortSignal): AsyncIterable<RootEntry>;
  /**
   * Opens a listed file.
   * @param path - a path from {@link ScanRoot.list}
   * @param options - deadline, and the entry as listed (to check the file is still that one)
   */
  open(path: string, options?: OpenOptions): Promise<ByteSource>;
  /**
   * Optional: checks a file's integrity after its analysis and supplies its digest. When present,
   * the engine calls it instead of hashing the file itself (a remote root hashes what it fetched,
   * and reads the rest only when asked to verify fully).
   * @param path - the file, as listed
   * @param source - the source {@link ScanRoot.open} returned for it (still open)
   * @param signal - the file's abort signal (caller abort and time budget)
   * @param options - `full`: read whatever was not read yet so the digest is complete (the engine
   *   asks for it to confirm a verdict cache hit under a claimed digest)
   */
  verifyFile?(
    path: string,
    source: ByteSource,
    signal: AbortSignal,
    options?: { full?: boolean },
  ): Promise<FileVerification>;
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

/** Signature options of {@link ScanOptions}: those of `verifyModel`, plus discovery and policy. */
export interface ScanSignatureOptions
  extends Pick<
    VerifyOptions,
    | "publicKey"
    | "certificateChain"
    | "certificatePolicy"
    | "time"
    | "identity"
    | "issuer"
    | "trustedRoot"
    | "ignorePaths"
    | "ignoreUnsignedFiles"
    | "allowLegacy"
  > {
  /** The signature file (default: discovered by content in the scanned directory). */
  signaturePath?: string;
  /** A directory without a signature is a `high` finding (`integrity/signature-missing`). */
  require?: boolean;
}
