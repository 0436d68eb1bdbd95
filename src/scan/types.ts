/**
 * The scan's options and progress events. The analyzer contract (`Analyzer`, `AnalysisContext`,
 * `RepoAnalyzer`) and the shared vocabulary are in `src/core/`, re-exported here.
 * @module
 */

import type { ScanSections } from "../core/analyzer.js";
import type { Limits } from "../core/limits.js";
import type { ScanSignatureOptions } from "../integrity/oms/verify.js";
import type { LockFile } from "../integrity/pins/lock.js";
import type { PolicyOptions } from "../policy/policy.js";
import type { VerdictCache } from "./cache.js";

export type {
  AnalysisContext,
  Analyzer,
  FormatCatalog,
  MemberOptions,
  PolicySections,
  PolicyView,
  RepoAnalyzer,
  RepoContext,
  RepoFile,
  ScanSections,
} from "../core/analyzer.js";

export type { FindingInput } from "../core/findings.js";
export type { Detection } from "../core/formats.js";
export { DEFAULT_LIMITS, type Limits } from "../core/limits.js";
export type { FileVerification, OpenOptions, RootEntry, ScanRoot } from "../core/root.js";
export type { ScanSignatureOptions } from "../integrity/oms/verify.js";

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
export interface ScanOptions extends ScanSections {
  /**
   * Budgets; unspecified ones take {@link DEFAULT_LIMITS}. `maxFileBytes` skips the analysis of
   * top-level files larger than it (each is `invalid`, `scan/too-large`; see {@link Limits}).
   */
  limits?: Partial<Limits>;
  /**
   * Globs over each regular file's POSIX path relative to the scan root (the file's name for a
   * single file); when given and non-empty, only files matching one of them are analysed. The
   * policy's glob dialect: matched against the whole path, `**` any depth, `*` and `?` within a
   * segment and also over a leading dot (dotfiles are not special), `[a-z]`, `{a,b}`, `\` escapes.
   * A file left out is not analysed and not in `files` (unless a lock-file or signature check finds
   * a problem with it); it is listed in the report's `skipped`. Lock-file, signature and other
   * repository checks still see every file. Links, special files and unlistable entries are always
   * reported. When the globs leave no file to analyse, the report is incomplete
   * (`INVALID_ARGUMENT` under `errors`). Bad globs reject the scan (`INVALID_ARGUMENT`).
   */
  include?: readonly string[];
  /** Globs (as for {@link ScanOptions.include}) of files not to analyse; wins over `include`. */
  exclude?: readonly string[];
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
   * before reading (`RootEntry.sha256`) and that was scanned before with the same
   * modelgate version and policy is not analysed again: it is read whole to check the claim, and
   * answered from the cache when it holds (without reading at all when the root vouches for its
   * digests, `RootEntry.sha256Trusted`).
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
