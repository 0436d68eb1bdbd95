/**
 * Budgets: how much one scan may read, decompress, nest and spend in time.
 * @module
 */

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
  /**
   * Largest top-level file analysed, in bytes (its size as listed; default unlimited). A larger
   * file is not opened (a remote one is not downloaded): it is reported (`scan/too-large`) and is
   * `invalid`, never clean; the scan still completes. Container members are bounded by the
   * decompression budgets instead. The CLI's `--max-size`.
   */
  maxFileBytes: number;
  /**
   * Most entries (files, links, folders skipped) a scan lists from its target. Past it the listing
   * stops: the scan reports `scan/budget-exceeded` and is `invalid` and incomplete, never clean.
   * Each listed file holds about 2.5 KB of heap until the report is written (its listing entry,
   * its recorder, its report), so the default (200,000) keeps a scan near 500 MB of live heap;
   * raise it (with `--max-old-space-size`) for larger trees.
   */
  maxFiles: number;
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
  maxFileBytes: Number.POSITIVE_INFINITY,
  maxFiles: 200_000,
});
