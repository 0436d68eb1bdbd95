/**
 * The scan engine: lists a root's files, analyses each with bounded concurrency and budgets, runs
 * the repository-level analyzers and assembles the report.
 * @module
 */
import { availableParallelism } from "node:os";
import { BufferSource, type ByteSource, readChunks } from "../core/byte-source.js";
import { ModelgateError, operationalCode, ruleForError, toModelgateError } from "../core/errors.js";
import type { FindingInput } from "../core/findings.js";
import { DEFAULT_LIMITS, type Limits } from "../core/limits.js";
import type { FileVerification, RootEntry, ScanRoot } from "../core/root.js";
import { createSha256, sha256Hex } from "../core/sha256.js";
import { TOOL_NAME, TOOL_VERSION } from "../core/version.js";
import type { RangeDigests } from "../integrity/hash/core.js";
import { defaultHashPool, type HashJob, HashPool } from "../integrity/hash/pool.js";
import { startScanHash } from "../integrity/hash/scan-hash.js";
import { signatureViolation } from "../integrity/oms/requirement.js";
import type { SignatureVerification } from "../integrity/oms/result.js";
import { policyAnchor, resolvePolicyAsync, validatePolicyAsync } from "../policy/resolve.js";
import { REPO_ANALYZERS } from "../registry/catalog.js";
import type { FileReport, ScanError, ScanReport } from "../report/schema.js";
import { summarize } from "../report/summary.js";
import { worstVerdict } from "../report/verdict.js";
import { REPORT_SCHEMA_VERSION } from "../report/version.js";
import { GuardedSource, raceAbort } from "../sources/byte-source.js";
import { FileSource, isFileChangedError } from "../sources/file.js";
import { type RootOptions, rootFor, type ScanTarget } from "../sources/roots.js";
import { analyzeNode, type FileScanState, reportError } from "./analyze.js";
import { contentKeyDigest, restoreReport, type VerdictCacheKey } from "./cache.js";
import { watchContext } from "./context-watch.js";
import { FileRecorder } from "./file-recorder.js";
import type { FilePassRecord } from "./reread.js";
import { fileSelector, type SkipReason } from "./select.js";
import type { ScanOptions } from "./types.js";

export { summarize } from "../report/summary.js";

/**
 * Validates caller limits and fills in defaults.
 * @param limits - partial limits
 * @throws ModelgateError `INVALID_ARGUMENT` for a non-positive or non-numeric limit
 */
export function resolveLimits(limits: Partial<Limits> = {}): Readonly<Limits> {
  const resolved: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(limits) as Array<[keyof Limits, unknown]>) {
    if (!(key in DEFAULT_LIMITS)) throw new ModelgateError("INVALID_ARGUMENT", `unknown limit "${key}"`);
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value > 0) || Number.isNaN(value)) {
      throw new ModelgateError("INVALID_ARGUMENT", `limit "${key}" must be a positive number`);
    }
    resolved[key] = value;
  }
  return Object.freeze(resolved);
}

/**
 * Scans a file, a directory, in-memory bytes or a ByteSource and reports what it finds. Never
 * executes or deserialises anything. Resolves with a report even when files fail or the scan is
 * aborted or runs out of time (`complete: false`, unfinished files `invalid`); rejects only for a
 * bad target or bad options (or a target that cannot even be resolved within `scanTimeoutMs`).
 * @param target - a path, `{ bytes, name }`, `{ source, name }` or a ByteSource
 * @param options - budgets, policy, concurrency, progress, abort signal
 */
export async function scan(target: ScanTarget, options: ScanOptions = {}): Promise<ScanReport> {
  const startedAt = new Date();
  const limits = resolveLimits({ ...(await validatePolicyAsync(options.policy)).limits, ...options.limits });
  const deadline = startDeadline(limits.scanTimeoutMs, options.signal);
  try {
    const rootOptions: RootOptions = {
      signal: deadline.signal,
      maxDirectoryDepth: limits.maxDirectoryDepth,
      maxFiles: limits.maxFiles,
      pins: options.pins,
      // a URL root must not download what the scan will not analyse (over --max-size, excluded)
      maxFileBytes: limits.maxFileBytes,
      selected: selectedBy(options),
    };
    let root: ScanRoot;
    try {
      root = await rootFor(target, rootOptions);
    } catch (error) {
      throw deadline.expired() ? deadline.reason() : error;
    }
    try {
      return await runScan(root, options, deadline, startedAt);
    } finally {
      await root.close?.().catch(() => undefined);
    }
  } finally {
    deadline.dispose();
  }
}

/**
 * Scans a {@link ScanRoot} (how remote sources plug in).
 * @param root - where the files come from
 * @param options - as for {@link scan}
 */
export async function scanRoot(root: ScanRoot, options: ScanOptions = {}): Promise<ScanReport> {
  const startedAt = new Date();
  const limits = resolveLimits({ ...(await validatePolicyAsync(options.policy)).limits, ...options.limits });
  const deadline = startDeadline(limits.scanTimeoutMs, options.signal);
  try {
    return await runScan(root, options, deadline, startedAt);
  } finally {
    deadline.dispose();
  }
}

/** The scan's overall deadline, combined with the caller's signal. */
interface Deadline {
  /** Fires on caller abort or when the scan's time budget runs out. */
  readonly signal: AbortSignal;
  /** Whether the time budget (not the caller) stopped the scan. */
  expired(): boolean;
  /** The `TIMEOUT` error the budget fires with. */
  reason(): ModelgateError;
  /** Stops the timer. */
  dispose(): void;
}

/** Longest delay one timer can take (longer ones are chained). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function startDeadline(ms: number, outer: AbortSignal | undefined): Deadline {
  const controller = new AbortController();
  const error = new ModelgateError("TIMEOUT", `the scan did not finish within its ${ms} ms budget (scanTimeoutMs)`, {
    budget: "scanTimeoutMs",
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (Number.isFinite(ms)) {
    const at = Date.now() + ms;
    const arm = (): void => {
      const left = at - Date.now();
      if (left <= 0) controller.abort(error);
      else timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    };
    arm();
  }
  return {
    signal: outer === undefined ? controller.signal : AbortSignal.any([outer, controller.signal]),
    expired: () => controller.signal.aborted,
    reason: () => error,
    dispose: () => clearTimeout(timer),
  };
}

/** Targets whose every read is a request to a server (which may answer a second one otherwise). */
const REMOTE_TARGETS: ReadonlySet<string> = new Set(["hub", "url", "s3", "oci"]);

/** Whether the scan's `include`/`exclude` leave a path to analyse (bad globs reject the scan). */
function selectedBy(options: ScanOptions): (path: string) => boolean {
  const selector = fileSelector(options.include, options.exclude);
  return (path) => selector.skip(path) === undefined;
}

/** Why a path the listing named twice is invalid. */
const DUPLICATE_MESSAGE =
  "the listing named this path more than once (names on disk that are not valid UTF-8 can decode to the same text)";

/** How long a listing may go on once the scan is stopped, to name the files it did not scan. */
const LISTING_GRACE_MS = 1_000;
/**
 * How long a file's analysis (or a repository analyzer) may go on once its deadline has passed:
 * analyzers notice the signal at their next read or checkpoint and report what they saw. One still
 * running after it (awaiting something that never settles) is abandoned.
 */
const ANALYSIS_GRACE_MS = 2_000;

/** Settles with `step`, or rejects with the signal's reason `graceMs` after it fires. */
function raceWithGrace<T>(step: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  const grace = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const start = () => {
    timer = setTimeout(() => grace.abort(signal.reason), graceMs);
  };
  if (signal.aborted) start();
  else signal.addEventListener("abort", start, { once: true });
  return raceAbort(step, grace.signal).finally(() => {
    clearTimeout(timer);
    signal.removeEventListener("abort", start);
  });
}

/** Settles with `step`, or rejects with the signal's reason {@link LISTING_GRACE_MS} after it fires. */
function raceListing<T>(step: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceWithGrace(step, signal, LISTING_GRACE_MS);
}

/** A signal that fires after `ms` (never, for budgets beyond what one timer can wait). */
function timeoutSignal(ms: number): AbortSignal {
  return ms <= MAX_TIMER_MS ? AbortSignal.timeout(ms) : new AbortController().signal;
}

async function runScan(root: ScanRoot, options: ScanOptions, deadline: Deadline, startedAt: Date): Promise<ScanReport> {
  // process.hrtime, not performance.now(): the `performance` global loads perf_hooks and ten
  // internal modules on first use (about 2 ms of a CLI start).
  const t0 = process.hrtime.bigint();
  const policy = await resolvePolicyAsync(options.policy, {
    now: startedAt,
    ...policyAnchor(options.policy?.source, root.localDir, root.target.kind),
  });
  const limits = resolveLimits({ ...policy.options.limits, ...options.limits });
  const signal = deadline.signal;
  const progress = options.onProgress;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? Math.max(2, availableParallelism())));
  // Which listed files are analysed (bad globs reject the scan before any work). Applied per file
  // below, never to the listing: lock-file and signature checks still see every file.
  const selector = fileSelector(options.include, options.exclude);
  /** Regular files left out by `include`/`exclude`, and why. */
  const skippedBy = new Map<string, SkipReason>();
  const errors: ScanError[] = [];
  const retained = { bytes: 0 };
  let bytesRead = 0;
  /** Why files were not (fully) analysed, once the scan has stopped. */
  const stopped = (): FindingInput =>
    deadline.expired()
      ? { ruleId: "scan/timeout", message: `${deadline.reason().message}; this file was not analysed` }
      : { ruleId: "scan/aborted", message: "scan aborted before this file was analysed" };

  const entries: RootEntry[] = [];
  /**
   * Paths the listing named more than once (two names on disk that decode to one text, a remote
   * listing with a repeated key): the files behind them cannot be told apart, so none is trusted.
   */
  const duplicated = new Set<string>();
  const seenPaths = new Set<string>();
  const listing = root.list(signal)[Symbol.asyncIterator]();
  try {
    // Raced against the signal (after a grace period, so that a listing that is quick to finish
    // still names the files left unscanned): a listing stuck in a request of its own still ends.
    for (let step = await raceListing(listing.next(), signal); step.done !== true; ) {
      const entry = step.value;
      if (seenPaths.has(entry.path)) {
        if (!duplicated.has(entry.path)) {
          duplicated.add(entry.path);
          errors.push({ code: "IO", message: `${DUPLICATE_MESSAGE}: not scanned as one file`, path: entry.path });
        }
        step = await raceListing(listing.next(), signal);
        continue;
      }
      if (entries.length >= limits.maxFiles) {
        const message = `the target lists more than ${limits.maxFiles} entries (maxFiles): the rest were not listed or scanned`;
        // reported on the target itself (`scan/budget-exceeded`, an error of the scan): never clean
        entries.push({ path: ".", size: 0, kind: "unreadable", error: message, errorCode: "BUDGET_EXCEEDED" });
        await raceListing(Promise.resolve(listing.return?.()), signal).catch(() => undefined);
        break;
      }
      seenPaths.add(entry.path);
      entries.push(entry);
      progress?.({ phase: "list", path: entry.path, bytesDone: entries.length, bytesTotal: 0 });
      step = await raceListing(listing.next(), signal);
    }
  } catch (error) {
    const e = toModelgateError(deadline.expired() ? deadline.reason() : error);
    if (!signal.aborted) throw e;
    errors.push({ code: e.code, message: `listing stopped: ${e.message}` });
    listing.return?.()?.catch(() => undefined);
  }

  const recorders = new Map<string, FileRecorder>();
  /** Files whose analysis finished without a `scan/*` finding: the only ones repo analyzers may open. */
  const readable = new Set<string>();
  /**
   * The SHA-256 of a local file that is not analysed (skipped, or over `maxFileBytes`), when pins
   * or a lock file need it: the lock still covers the file. Remote files are never fetched for it
   * (the pins check then reports that it has no digest for them).
   */
  const digestOnly = async (recorder: FileRecorder, entry: RootEntry): Promise<void> => {
    const pinned = options.pins !== undefined || options.lockFile !== undefined;
    if (!pinned || options.hash === false || root.localDir === undefined || signal.aborted) return;
    const fileSignal = AbortSignal.any([signal, timeoutSignal(limits.fileTimeoutMs)]);
    const opening = root.open(entry.path, { signal: fileSignal, entry });
    let raw: ByteSource;
    try {
      raw = await raceAbort(opening, fileSignal);
    } catch {
      opening.then((s) => s.close?.()).catch(() => undefined);
      return;
    }
    try {
      const sha256 = await startScanHash(raw, { signal: fileSignal, ...hashPlacement(raw) }).finish();
      if (!(raw instanceof FileSource && (await raw.changes()) !== undefined)) recorder.sha256 = validDigest(sha256);
    } catch {
      // left without a digest: the pins check says so
    } finally {
      await raw.close?.().catch(() => undefined);
    }
  };
  const scanEntry = async (entry: RootEntry): Promise<void> => {
    const recorder = new FileRecorder(entry.path, entry.size, policy);
    recorders.set(entry.path, recorder);
    if (duplicated.has(entry.path)) {
      recorder.add(recorder.root, {
        ruleId: "scan/read-error",
        message: `${DUPLICATE_MESSAGE}: neither is trusted, none was analysed`,
        evidence: { code: "IO" },
      });
      return;
    }
    const skip = entry.kind === "file" ? selector.skip(entry.path) : undefined;
    if (skip !== undefined) {
      skippedBy.set(entry.path, skip);
      await digestOnly(recorder, entry);
      return;
    }
    if (signal.aborted) {
      recorder.add(recorder.root, stopped());
      return;
    }
    switch (entry.kind) {
      case "symlink":
        recorder.add(recorder.root, {
          ruleId: "file/symlink",
          message: `symbolic link to ${entry.linkTarget ?? "?"} (not followed)`,
          evidence: { target: entry.linkTarget ?? null },
        });
        return;
      case "special":
        recorder.add(recorder.root, { ruleId: "file/special", message: "not a regular file; not read" });
        return;
      case "unreadable": {
        const code = entry.errorCode ?? "IO";
        recorder.add(recorder.root, {
          ruleId: code === "BUDGET_EXCEEDED" ? "scan/budget-exceeded" : "scan/read-error",
          message: entry.error ?? "could not be listed",
          evidence: { code },
        });
        errors.push({ code, message: entry.error ?? "could not be listed", path: entry.path });
        return;
      }
      case "skipped":
        if (entry.skipped === "vcs") {
          const count = `${entry.skippedEntries ?? 0}${entry.skippedMore === true ? "+" : ""}`;
          recorder.add(recorder.root, {
            ruleId: "scan/skipped-directory",
            message: `version-control entry ${JSON.stringify(entry.path)} of the scanned directory (a .git folder, or a worktree's .git file), not scanned (${count} entries): no loader reads it`,
            evidence: { entries: entry.skippedEntries ?? 0, more: entry.skippedMore === true },
          });
        } else {
          const message = `folder nested deeper than ${limits.maxDirectoryDepth} levels: its content was not listed or scanned`;
          recorder.add(recorder.root, {
            ruleId: "scan/depth-exceeded",
            message,
            evidence: { maxDirectoryDepth: limits.maxDirectoryDepth },
          });
          errors.push({ code: "BUDGET_EXCEEDED", message, path: entry.path });
        }
        return;
      case "file":
        break;
    }
    if (entry.size > limits.maxFileBytes) {
      recorder.add(recorder.root, {
        ruleId: "scan/too-large",
        message: `${entry.size} bytes, over the ${limits.maxFileBytes}-byte limit (maxFileBytes, --max-size): not opened or analysed`,
        evidence: { size: entry.size, maxFileBytes: limits.maxFileBytes },
      });
      await digestOnly(recorder, entry);
      return;
    }
    const fileSignal = AbortSignal.any([signal, timeoutSignal(limits.fileTimeoutMs)]);
    const fileDeadline = Date.now() + limits.fileTimeoutMs;
    const params: FileScanParams = {
      limits,
      policy,
      signal: fileSignal,
      deadline: fileDeadline,
      options,
      errors,
      retained,
    };
    // A hit under a digest the root only claims stands for the bytes served once they are read
    // whole and match it (unless the root vouches for its digests).
    let pending: FileReport | undefined;
    const claimed = validDigest(entry.sha256);
    if (claimed !== undefined && options.cache !== undefined) {
      const cache = options.cache;
      const lookup = (key: VerdictCacheKey) => cache.get(key).catch(() => undefined);
      if (entry.sha256Trusted === true) {
        const hit =
          (await lookup(cacheKey(claimed, policy.decisionsHash, entry.path))) ??
          (await lookup(claimedCacheKey(claimed, policy.decisionsHash, entry.path)));
        if (hit !== undefined) {
          recorder.restore(restoreReport(hit, entry.path, entry.size));
          readable.add(entry.path);
          return;
        }
      } else {
        pending = await lookup(cacheKey(claimed, policy.decisionsHash, entry.path));
      }
    }
    let source: ByteSource;
    const opening = root.open(entry.path, { signal: fileSignal, entry });
    try {
      source = await raceAbort(opening, fileSignal);
    } catch (error) {
      opening.then((s) => s.close?.()).catch(() => undefined);
      const e = toModelgateError(fileSignal.aborted ? (fileSignal.reason ?? error) : error);
      const ruleId = isFileChangedError(error) ? "scan/file-changed" : ruleForError(e);
      recorder.add(recorder.root, { ruleId, message: e.message, evidence: { code: e.code } });
      errors.push({ code: e.code, message: e.message, path: entry.path });
      return;
    }
    let done: Awaited<ReturnType<typeof scanFile>> | undefined;
    try {
      if (pending !== undefined && (await confirmHit(recorder, source, entry, root, fileSignal, pending))) {
        readable.add(entry.path);
        return;
      }
      const scanning = scanFile(recorder, source, entry, root, params);
      try {
        done = await raceWithGrace(scanning, fileSignal, ANALYSIS_GRACE_MS);
      } catch (error) {
        scanning.catch(() => undefined);
        if (!fileSignal.aborted) {
          // The analysis failed on its own, before its deadline (a bug, or input no analyzer
          // guarded against): this file is not clean, and the other files are scanned as usual.
          failEntry(entry, error);
          return;
        }
        // The analysis outlived its deadline by the grace period: whatever it still does is
        // ignored (it writes to a recorder the report no longer reads) and the file is not clean.
        const late = recorder.detach();
        recorders.set(entry.path, late);
        const e = toModelgateError(fileSignal.reason ?? error);
        const message = `${e.message}; the analysis did not stop within ${ANALYSIS_GRACE_MS} ms of its deadline and was abandoned`;
        late.add(late.root, { ruleId: "scan/timeout", message, evidence: { code: "TIMEOUT" } });
        errors.push({ code: "TIMEOUT", message, path: entry.path });
        return;
      }
      bytesRead += done.bytesRead;
    } finally {
      // a close that never settles holds the scan no longer than the file's deadline and its grace
      const closing = source.close?.();
      if (closing !== undefined) await raceWithGrace(closing, fileSignal, ANALYSIS_GRACE_MS).catch(() => undefined);
    }
    // What the content says, without what the root said about this copy of it.
    const report = done.contentReport;
    const failed = report.findings.some((f) => f.ruleId.startsWith("scan/"));
    if (!failed) readable.add(entry.path);
    // A result that depended on other files (a sibling read, a folder listed) is not the content's
    // alone: the same bytes elsewhere may be something else, so it is not stored.
    if (options.cache === undefined || failed || done.usedContext) return;
    // Only a digest computed over every byte the scan saw, equal to what the root pinned, keys a
    // result that any scan may look up; a partial read is cached only where the root vouches for
    // its listed digest, under a key nothing else looks up.
    let key: VerdictCacheKey | undefined;
    if (done.digest !== undefined && (claimed === undefined || done.digest === claimed)) {
      key = cacheKey(done.digest, policy.decisionsHash, entry.path);
    } else if (
      entry.sha256Trusted === true &&
      claimed !== undefined &&
      done.digest === undefined &&
      done.verification?.cacheable !== false
    ) {
      key = claimedCacheKey(claimed, policy.decisionsHash, entry.path);
    }
    if (key !== undefined) await options.cache.set(key, report).catch(() => undefined);
  };

  /**
   * Records a failure of one file's scan on that file alone (`scan/internal-error`, the file
   * `invalid`): what was recorded before it stays, copied away from an analysis that may still
   * write, and the rest of the scan goes on.
   */
  const failEntry = (entry: RootEntry, error: unknown): void => {
    const e = toModelgateError(error);
    let recorder: FileRecorder;
    try {
      recorder = recorders.get(entry.path)?.detach() ?? new FileRecorder(entry.path, entry.size, policy);
    } catch {
      recorder = new FileRecorder(entry.path, entry.size, policy);
    }
    recorders.set(entry.path, recorder);
    const message = `the scan of this file failed: ${e.message}`;
    // an analyzer's own deadline or abort keeps its rule (scan/timeout ...); anything else is a bug
    const ruleId = e.code === "TIMEOUT" || e.code === "ABORTED" ? ruleForError(e) : "scan/internal-error";
    recorder.add(recorder.root, { ruleId, message, evidence: { code: e.code } });
    errors.push({ code: e.code, message, path: entry.path });
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const entry = entries[next++]!;
      try {
        await scanEntry(entry);
      } catch (error) {
        failEntry(entry, error);
      }
      progress?.({ phase: "done", path: entry.path, bytesDone: recorders.size, bytesTotal: entries.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, entries.length)) }, worker));

  let signature: SignatureVerification | undefined;
  const listed = entries.filter((e) => e.kind !== "skipped");
  const listedByPath = new Map(listed.map((e) => [e.path, e]));
  const ordered = (all: readonly RootEntry[]) => all.map((e) => recorders.get(e.path)!).filter((r) => r !== undefined);
  /**
   * Files a repository analyzer could not open again (or were refused because the file pass did
   * not finish them): their failure is recorded once, here or in the file pass, so an analyzer
   * that reports it too does not add it twice.
   */
  const rereadFailed = new Set<string>();
  /** Records a failed re-read on the file itself: no analyzer can make it disappear by ignoring it. */
  const recordRereadFailure = (path: string, error: unknown): void => {
    const recorder = recorders.get(path);
    if (recorder === undefined || rereadFailed.has(path)) return;
    rereadFailed.add(path);
    const e = toModelgateError(error);
    const ruleId = isFileChangedError(error) ? "scan/file-changed" : ruleForError(e);
    const message = `opened again for the repository analysis: ${e.message}`;
    recorder.add(recorder.root, { ruleId, message, evidence: { code: e.code } });
    const code = operationalCode(ruleId);
    if (code !== undefined) errors.push({ code, message, path });
  };
  const openFile = async (path: string): Promise<ByteSource> => {
    const recorder = recorders.get(path);
    if (recorder === undefined || !(readable.has(path) || skippedBy.has(path))) {
      // a regular file refused here failed in the file pass: its own finding says why
      if (recorder !== undefined && listedByPath.get(path)?.kind === "file") rereadFailed.add(path);
      throw new ModelgateError("IO", `${path} was not read successfully in the file pass; not opened again`);
    }
    const content = recorder.content;
    if (content !== undefined) return new BufferSource(content);
    // Every read a repository analyzer makes has a deadline, like the file pass.
    const readSignal = AbortSignal.any([signal, timeoutSignal(limits.fileTimeoutMs)]);
    const entry = listedByPath.get(path);
    const fail = (error: unknown): never => {
      const e = toModelgateError(readSignal.aborted ? (readSignal.reason ?? error) : error);
      // A budget refusal is not a failure of the file; the scan's own stop is reported once.
      if (e.code !== "BUDGET_EXCEEDED" && !signal.aborted)
        recordRereadFailure(path, isFileChangedError(error) ? error : e);
      throw isFileChangedError(error) ? error : e;
    };
    // The bytes handed out are those the file pass analysed (see reread.ts, loaded with the first
    // re-read: a scan of one small file needs none) ...
    const { checkRereadable, guardReread, verifiedReread } = await import("./reread.js");
    const file: FilePassRecord = {
      path,
      size: entry?.size ?? recorder.root.size,
      sha256: validDigest(recorder.sha256),
      local: !REMOTE_TARGETS.has(root.target.kind),
    };
    checkRereadable(file);
    // ... from an open the root pins as it can (the listed device and inode, an ETag, a commit).
    const opening = root.open(path, { signal: readSignal, ...(entry === undefined ? {} : { entry }) });
    let source: ByteSource;
    try {
      source = await raceAbort(opening, readSignal);
    } catch (error) {
      opening.then((s) => s.close?.()).catch(() => undefined);
      return fail(error);
    }
    const guarded = guardReread(source, { signal: readSignal, maxReadBytes: limits.maxReadBytes, typedErrors: true });
    const verifying = verifiedReread(guarded, file, readSignal);
    try {
      return await raceAbort(verifying, readSignal);
    } catch (error) {
      // abandoned at its deadline: what it still hands out is closed (it closes what it refuses)
      verifying.then((s) => s.close?.()).catch(() => undefined);
      return fail(error);
    }
  };
  if (REPO_ANALYZERS.length > 0 && !signal.aborted) {
    const snapshot = ordered(listed).map((r) => r.toReport());
    for (const analyzer of REPO_ANALYZERS) {
      if (signal.aborted) break;
      // once abandoned (see ANALYSIS_GRACE_MS), what the analyzer still reports is ignored
      let abandoned = false;
      try {
        const analysis = analyzer.analyze({
          root,
          entries: listed,
          openFile,
          files: snapshot,
          limits,
          policy,
          signal,
          options,
          report: (path, finding) => {
            if (abandoned) return;
            const recorder = recorders.get(path);
            if (recorder === undefined)
              throw new ModelgateError("INTERNAL", `${analyzer.name} reported on unknown ${path}`);
            // a failed re-read is already on the file (recordRereadFailure, or the file pass)
            if (rereadFailed.has(path) && operationalCode(finding.ruleId) !== undefined) return;
            recorder.add(recorder.root, finding);
            const code = operationalCode(finding.ruleId);
            if (code !== undefined) errors.push({ code, message: `${analyzer.name}: ${finding.message}`, path });
          },
          setSignature: (result) => {
            if (!abandoned) signature = result;
          },
          addHashes: (path, hashes) => {
            if (abandoned) return;
            const recorder = recorders.get(path);
            if (recorder !== undefined) recorder.hashes = { ...hashes, ...recorder.hashes };
          },
          fact: (path, key, value) => {
            if (abandoned) return;
            const recorder = recorders.get(path);
            if (recorder !== undefined) recorder.facts[key] = value;
          },
        });
        try {
          await raceWithGrace(analysis, signal, ANALYSIS_GRACE_MS);
        } catch (error) {
          abandoned = true;
          analysis.catch(() => undefined);
          throw error;
        }
      } catch (error) {
        const e = toModelgateError(deadline.expired() ? deadline.reason() : error);
        errors.push({ code: e.code, message: `${analyzer.name}: ${e.message}` });
      }
    }
  }
  if (signal.aborted && !errors.some((e) => e.code === "TIMEOUT" || e.code === "ABORTED")) {
    const e = deadline.expired() ? deadline.reason() : new ModelgateError("ABORTED", "scan aborted");
    errors.push({ code: e.code, message: e.message });
  }

  // The policy's signature requirement: when it is not met, every file but the signatures
  // themselves gets a finding, through its recorder (the policy's overrides and suppressions apply).
  const violation = signatureViolation(signature, policy.options.signature);
  if (violation !== undefined) {
    for (const recorder of ordered(entries)) {
      if (recorder.root.format === "oms-signature" || skippedBy.has(recorder.root.path)) continue;
      recorder.add(recorder.root, {
        ruleId: "policy/signature-required",
        message: violation.message,
        evidence: violation.evidence,
        ...(violation.severity === undefined ? {} : { severity: violation.severity }),
      });
    }
  }
  // A skipped file is reported only when a repository check found something wrong with it (a
  // tampered or unpinned file): never as a clean file it was not.
  const files = ordered(entries)
    .map((r) => r.toReport())
    .filter((f) => !skippedBy.has(f.path) || f.verdict !== "clean");
  const skipped = entries.flatMap((e) => {
    const reason = skippedBy.get(e.path);
    return reason === undefined ? [] : [{ path: e.path, reason, size: e.size }];
  });
  if (skipped.length > 0 && !entries.some((e) => e.kind === "file" && !skippedBy.has(e.path))) {
    errors.push({
      code: "INVALID_ARGUMENT",
      message: `include/exclude left none of the ${skipped.length} listed files to analyse`,
    });
  }
  const verdict = worstVerdict(...files.map((f) => f.verdict));
  const report: ScanReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    target: root.target,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    verdict: errors.length > 0 || signal.aborted ? worstVerdict(verdict, "invalid") : verdict,
    complete: errors.length === 0 && !signal.aborted,
    files,
    errors,
    ...(selector.active ? { skipped } : {}),
    ...(signature === undefined ? {} : { signature }),
    summary: summarize(files, bytesRead),
  };
  const uses = policy.suppressionUses();
  report.policy = {
    hash: policy.hash,
    ...(policy.options.source === undefined ? {} : { source: policy.options.source }),
    ...(uses.length === 0 ? {} : { suppressions: uses }),
  };
  report.durationMs = Math.round(Number(process.hrtime.bigint() - t0) / 1000) / 1000;
  return report;
}

interface FileScanParams {
  limits: Readonly<Limits>;
  policy: Awaited<ReturnType<typeof resolvePolicyAsync>>;
  /** The file's signal: caller abort, the scan's deadline and the file's own. */
  signal: AbortSignal;
  /** When the file's own time budget runs out (epoch ms). */
  deadline: number;
  options: ScanOptions;
  errors: ScanError[];
  retained: { bytes: number };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The digest when it is SHA-256 hex, else undefined. */
function validDigest(sha256: string | undefined): string | undefined {
  return sha256 !== undefined && HEX64.test(sha256) ? sha256 : undefined;
}

/**
 * The cache key of content whose SHA-256 modelgate computed over every byte, at this path: what a
 * file is taken for depends on its name as well as its bytes (an extension claims a format, a
 * well-known name is read as what loaders read it as), so the same bytes under another name are
 * another result.
 */
function cacheKey(sha256: string, policyHash: string, path: string): VerdictCacheKey {
  return { sha256: contentKeyDigest(sha256, path), toolVersion: TOOL_VERSION, policyHash };
}

/**
 * The cache key of a partial read of a Hub file whose listed digest the caller trusts: derived
 * from the digest (and the origin kind), so it never answers a lookup by a computed digest.
 */
function claimedCacheKey(sha256: string, policyHash: string, path: string): VerdictCacheKey {
  const derived = sha256Hex(`modelgate:hub-listed-oid\0${sha256}\0${path}`);
  return { sha256: derived, toolVersion: TOOL_VERSION, policyHash };
}

/**
 * Hands the hash pool the path of the open descriptor (`/proc/self/fd/N`) instead of the file's
 * name: the digest is then computed from the very file the analyzers read, whatever happens to
 * the name meanwhile.
 */
class DescriptorHashPool extends HashPool {
  readonly #path: string;

  constructor(path: string) {
    super({ workers: 0 });
    this.#path = path;
  }

  override hash(job: HashJob): Promise<RangeDigests> {
    return defaultHashPool().hash({ ...job, path: this.#path });
  }
}

/** How a file's SHA-256 is computed so that it covers the bytes of the descriptor analysed. */
function hashPlacement(raw: ByteSource): { pool?: HashPool; poolThreshold?: number } {
  if (!(raw instanceof FileSource)) return {};
  const path = raw.descriptorPath;
  // Without a descriptor path, hash in this thread from the same descriptor rather than by name.
  return path === undefined ? { poolThreshold: Number.POSITIVE_INFINITY } : { pool: new DescriptorHashPool(path) };
}

/**
 * Checks a verdict cache hit found under a digest the root claims: the file is read whole (the
 * root's verification, or a hash here) and the hit is taken only when the bytes match the digest
 * (and, for local files, did not change meanwhile). Returns whether the hit was taken.
 */
async function confirmHit(
  recorder: FileRecorder,
  raw: ByteSource,
  entry: RootEntry,
  root: ScanRoot,
  signal: AbortSignal,
  hit: FileReport,
): Promise<boolean> {
  let verification: FileVerification | undefined;
  let digest: string | undefined;
  try {
    if (root.verifyFile !== undefined) {
      verification = await root.verifyFile(entry.path, raw, signal, { full: true });
      digest = verification.cacheable === false ? undefined : verification.sha256;
    } else {
      const hash = createSha256();
      const guarded = new GuardedSource(raw, { signal });
      for await (const chunk of readChunks(guarded, { chunkSize: 4 << 20 })) hash.update(chunk);
      digest = hash.digest();
      if (raw instanceof FileSource && (await raw.changes()) !== undefined) digest = undefined;
    }
  } catch {
    return false; // the file is analysed instead, which reports what went wrong
  }
  if (digest === undefined || digest !== entry.sha256) return false;
  recorder.restore(restoreReport(hit, entry.path, entry.size));
  if (verification?.integrity !== undefined) recorder.integrity = verification.integrity;
  for (const finding of verification?.findings ?? []) recorder.add(recorder.root, finding);
  return true;
}

/**
 * Analyses one file and hashes it alongside (or lets the root verify it); returns the bytes the
 * analyzers read, the root's verification, the report before the root's findings (what the
 * verdict cache keeps), and the SHA-256 computed over every byte of the file when there is one
 * (the only digest a result may be cached under).
 */
async function scanFile(
  recorder: FileRecorder,
  raw: ByteSource,
  entry: RootEntry,
  root: ScanRoot,
  params: FileScanParams,
): Promise<{
  bytesRead: number;
  verification: FileVerification | undefined;
  contentReport: FileReport;
  digest: string | undefined;
  usedContext: boolean;
}> {
  const { limits, policy, signal: fileSignal, options, errors } = params;
  const progress = options.onProgress;
  // SHA-256 of the file: on the worker pool for large local files, else from the analyzers' reads;
  // either way from the descriptor the analyzers read.
  const hashing =
    options.hash === false || root.verifyFile !== undefined
      ? undefined
      : startScanHash(raw, {
          signal: fileSignal,
          onBytes: (done) => progress?.({ phase: "hash", path: entry.path, bytesDone: done, bytesTotal: raw.size }),
          ...hashPlacement(raw),
        });
  let lastEmit = 0;
  const guarded = new GuardedSource(hashing?.source ?? raw, {
    maxReadBytes: limits.maxReadBytes,
    signal: fileSignal,
    onRead: () => {
      const now = Date.now();
      if (progress !== undefined && now - lastEmit > 100) {
        lastEmit = now;
        progress({ phase: "analyze", path: entry.path, bytesDone: guarded.bytesRead, bytesTotal: raw.size });
      }
    },
  });
  const watched = watchContext(root, entry.path);
  const state: FileScanState = {
    recorder,
    limits,
    policy,
    signal: fileSignal,
    deadline: params.deadline,
    root: watched.root,
    decompressed: 0,
    retained: params.retained,
  };
  progress?.({ phase: "analyze", path: entry.path, bytesDone: 0, bytesTotal: raw.size });
  try {
    await analyzeNode(state, {
      node: recorder.root,
      name: entry.path,
      source: guarded,
      depth: 0,
      lineage: [],
      opaqueData: false,
    });
  } catch (error) {
    reportError(state, recorder.root, error);
  }
  recorder.sha256 = await hashing?.finish().catch((error: unknown) => {
    const e = toModelgateError(error);
    errors.push({ code: e.code, message: `hashing failed: ${e.message}`, path: entry.path });
    return undefined;
  });
  let digest = recorder.sha256;
  let verification: FileVerification | undefined;
  if (root.verifyFile !== undefined) {
    try {
      verification = await root.verifyFile(entry.path, raw, fileSignal);
      recorder.sha256 = verification.sha256;
      recorder.integrity = verification.integrity;
      digest = verification.cacheable === false ? undefined : verification.sha256;
    } catch (error) {
      digest = undefined;
      reportError(state, recorder.root, error);
    }
  }
  // A local file must be the same file, with the same content, after its analysis as before it.
  const changed = raw instanceof FileSource ? await raw.changes() : undefined;
  if (changed !== undefined) {
    recorder.sha256 = undefined;
    digest = undefined;
    recorder.add(recorder.root, {
      ruleId: "scan/file-changed",
      message: `changed during the scan: ${changed}; its verdict and digest do not describe the file now on disk`,
    });
  }
  const contentReport = recorder.toReport();
  for (const finding of verification?.findings ?? []) recorder.add(recorder.root, finding);
  for (const finding of recorder.toReport().findings) {
    const code = operationalCode(finding.ruleId);
    if (code !== undefined) errors.push({ code, message: finding.message, path: finding.path });
  }
  return {
    bytesRead: guarded.bytesRead,
    verification,
    contentReport,
    digest: validDigest(digest),
    usedContext: watched.used(),
  };
}
