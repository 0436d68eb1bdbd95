/**
 * The scan engine: lists a root's files, analyses each with bounded concurrency and budgets, runs
 * the repository-level analyzers and assembles the report.
 * @module
 */
import { availableParallelism } from "node:os";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { ModelgateError, toModelgateError } from "../errors.js";
import { REPO_ANALYZERS } from "../formats/registry.js";
import { startScanHash } from "../integrity/hash/scan-hash.js";
import type { SignatureVerification } from "../integrity/oms/result.js";
import { resolvePolicy } from "../policy/policy.js";
import { applySignaturePolicy } from "../policy/signature.js";
import { type FileReport, REPORT_SCHEMA_VERSION, type ScanError, type ScanReport } from "../report/schema.js";
import { summarize } from "../report/summary.js";
import { worstVerdict } from "../report/verdict.js";
import { BufferSource, type ByteSource, GuardedSource } from "../sources/byte-source.js";
import { type RootOptions, rootFor, type ScanTarget } from "../sources/roots.js";
import { TOOL_NAME, TOOL_VERSION } from "../version.js";
import { analyzeNode, type FileScanState, reportError } from "./analyze.js";
import { restoreReport, type VerdictCacheKey } from "./cache.js";
import { FileRecorder } from "./file-recorder.js";
import {
  DEFAULT_LIMITS,
  type FileVerification,
  type Limits,
  type RootEntry,
  type ScanOptions,
  type ScanRoot,
} from "./types.js";

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
 * aborted (`complete: false`, unfinished files `invalid`); rejects only for a bad target or bad
 * options.
 * @param target - a path, `{ bytes, name }`, `{ source, name }` or a ByteSource
 * @param options - budgets, policy, concurrency, progress, abort signal
 */
export async function scan(target: ScanTarget, options: ScanOptions = {}): Promise<ScanReport> {
  const rootOptions: RootOptions = {};
  if (options.signal !== undefined) rootOptions.signal = options.signal;
  const root = await rootFor(target, rootOptions);
  return scanRoot(root, options);
}

/**
 * Scans a {@link ScanRoot} (how remote sources plug in).
 * @param root - where the files come from
 * @param options - as for {@link scan}
 */
export async function scanRoot(root: ScanRoot, options: ScanOptions = {}): Promise<ScanReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const policy = resolvePolicy(options.policy, {
    now: startedAt,
    ...policyPrefix(options.policy?.source, root.localDir),
  });
  const limits = resolveLimits({ ...policy.options.limits, ...options.limits });
  const signal = options.signal ?? new AbortController().signal;
  const progress = options.onProgress;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? Math.max(2, availableParallelism())));
  const errors: ScanError[] = [];
  const retained = { bytes: 0 };
  let bytesRead = 0;

  const entries: RootEntry[] = [];
  try {
    for await (const entry of root.list(signal)) {
      entries.push(entry);
      progress?.({ phase: "list", path: entry.path, bytesDone: entries.length, bytesTotal: 0 });
    }
  } catch (error) {
    const e = toModelgateError(error);
    if (e.code !== "ABORTED") throw e;
    errors.push({ code: e.code, message: `listing aborted: ${e.message}` });
  }

  const recorders = new Map<string, FileRecorder>();
  const scanEntry = async (entry: RootEntry): Promise<void> => {
    const recorder = new FileRecorder(entry.path, entry.size, policy);
    recorders.set(entry.path, recorder);
    if (signal.aborted) {
      recorder.add(recorder.root, { ruleId: "scan/aborted", message: "scan aborted before this file was analysed" });
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
      case "unreadable":
        recorder.add(recorder.root, { ruleId: "scan/read-error", message: entry.error ?? "could not be listed" });
        errors.push({ code: "IO", message: entry.error ?? "could not be listed", path: entry.path });
        return;
      case "file":
        break;
    }
    const known = cacheKeyFor(entry.sha256, policy.hash);
    if (known !== undefined && options.cache !== undefined) {
      const hit = await options.cache.get(known).catch(() => undefined);
      if (hit !== undefined) {
        recorder.restore(restoreReport(hit, entry.path, entry.size));
        return;
      }
    }
    let source: ByteSource;
    try {
      source = await root.open(entry.path);
    } catch (error) {
      const e = toModelgateError(error);
      recorder.add(recorder.root, { ruleId: "scan/read-error", message: e.message, evidence: { code: e.code } });
      errors.push({ code: e.code, message: e.message, path: entry.path });
      return;
    }
    let done: Awaited<ReturnType<typeof scanFile>> | undefined;
    try {
      done = await scanFile(recorder, source, entry, root, { limits, policy, signal, options, errors, retained });
      bytesRead += done.bytesRead;
    } finally {
      await source.close?.().catch(() => undefined);
    }
    if (options.cache !== undefined && done.verification?.cacheable !== false) {
      // What the content says, without what the root said about this copy of it.
      const report = done.contentReport;
      const key = cacheKeyFor(report.sha256 ?? entry.sha256, policy.hash);
      if (key !== undefined && !report.findings.some((f) => f.ruleId.startsWith("scan/"))) {
        await options.cache.set(key, report).catch(() => undefined);
      }
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const entry = entries[next++]!;
      await scanEntry(entry);
      progress?.({ phase: "done", path: entry.path, bytesDone: recorders.size, bytesTotal: entries.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, entries.length)) }, worker));

  let signature: SignatureVerification | undefined;
  const ordered = () => entries.map((e) => recorders.get(e.path)!).filter((r) => r !== undefined);
  const openFile = (path: string): Promise<ByteSource> => {
    const content = recorders.get(path)?.content;
    return content === undefined ? root.open(path) : Promise.resolve(new BufferSource(content));
  };
  if (REPO_ANALYZERS.length > 0 && !signal.aborted) {
    const snapshot = ordered().map((r) => r.toReport());
    for (const analyzer of REPO_ANALYZERS) {
      try {
        await analyzer.analyze({
          root,
          entries,
          openFile,
          files: snapshot,
          limits,
          policy,
          signal,
          options,
          report: (path, finding) => {
            const recorder = recorders.get(path);
            if (recorder === undefined)
              throw new ModelgateError("INTERNAL", `${analyzer.name} reported on unknown ${path}`);
            recorder.add(recorder.root, finding);
          },
          setSignature: (result) => {
            signature = result;
          },
          addHashes: (path, hashes) => {
            const recorder = recorders.get(path);
            if (recorder !== undefined) recorder.hashes = { ...hashes, ...recorder.hashes };
          },
          fact: (path, key, value) => {
            const recorder = recorders.get(path);
            if (recorder !== undefined) recorder.facts[key] = value;
          },
        });
      } catch (error) {
        const e = toModelgateError(error);
        errors.push({ code: e.code, message: `${analyzer.name}: ${e.message}` });
      }
    }
  }

  const files = ordered().map((r) => r.toReport());
  const verdict = worstVerdict(...files.map((f) => f.verdict));
  const report: ScanReport = applySignaturePolicy(
    {
      schemaVersion: REPORT_SCHEMA_VERSION,
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      target: root.target,
      startedAt: startedAt.toISOString(),
      durationMs: 0,
      verdict: errors.length > 0 || signal.aborted ? worstVerdict(verdict, "invalid") : verdict,
      complete: errors.length === 0 && !signal.aborted,
      files,
      errors,
      ...(signature === undefined ? {} : { signature }),
      summary: summarize(files, bytesRead),
    },
    policy,
  );
  const uses = policy.suppressionUses();
  report.policy = {
    hash: policy.hash,
    ...(policy.options.source === undefined ? {} : { source: policy.options.source }),
    ...(uses.length === 0 ? {} : { suppressions: uses }),
  };
  report.durationMs = Math.round((performance.now() - t0) * 1000) / 1000;
  return report;
}

/** The scanned directory relative to the policy file's directory, when inside it. */
function policyPrefix(source: string | undefined, localDir: string | undefined): { pathPrefix?: string } {
  if (source === undefined || localDir === undefined) return {};
  const rel = relative(dirname(resolve(source)), localDir)
    .split(sep)
    .join("/");
  return rel === "" || rel === ".." || rel.startsWith("../") || isAbsolute(rel) ? {} : { pathPrefix: rel };
}

interface FileScanParams {
  limits: Readonly<Limits>;
  policy: ReturnType<typeof resolvePolicy>;
  signal: AbortSignal;
  options: ScanOptions;
  errors: ScanError[];
  retained: { bytes: number };
}

/** The cache key for a digest, or undefined when there is none (or it is not SHA-256 hex). */
function cacheKeyFor(sha256: string | undefined, policyHash: string): VerdictCacheKey | undefined {
  return sha256 !== undefined && /^[0-9a-f]{64}$/.test(sha256)
    ? { sha256, toolVersion: TOOL_VERSION, policyHash }
    : undefined;
}

/**
 * Analyses one file and hashes it alongside (or lets the root verify it); returns the bytes the
 * analyzers read, the root's verification, and the report before the root's findings (what the
 * verdict cache keeps).
 */
async function scanFile(
  recorder: FileRecorder,
  raw: ByteSource,
  entry: RootEntry,
  root: ScanRoot,
  params: FileScanParams,
): Promise<{ bytesRead: number; verification: FileVerification | undefined; contentReport: FileReport }> {
  const { limits, policy, signal, options, errors } = params;
  const progress = options.onProgress;
  const fileSignal = AbortSignal.any([signal, AbortSignal.timeout(limits.fileTimeoutMs)]);
  // SHA-256 of the file: on the worker pool for large local files, else from the analyzers' reads.
  const hashing =
    options.hash === false || root.verifyFile !== undefined
      ? undefined
      : startScanHash(raw, {
          signal: fileSignal,
          onBytes: (done) => progress?.({ phase: "hash", path: entry.path, bytesDone: done, bytesTotal: raw.size }),
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
  const state: FileScanState = {
    recorder,
    limits,
    policy,
    signal: fileSignal,
    deadline: Date.now() + limits.fileTimeoutMs,
    root,
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
  let verification: FileVerification | undefined;
  if (root.verifyFile !== undefined) {
    try {
      verification = await root.verifyFile(entry.path, raw, fileSignal);
      recorder.sha256 = verification.sha256;
      recorder.integrity = verification.integrity;
    } catch (error) {
      reportError(state, recorder.root, error);
    }
  }
  const contentReport = recorder.toReport();
  for (const finding of verification?.findings ?? []) recorder.add(recorder.root, finding);
  for (const finding of recorder.toReport().findings) {
    const code = OPERATIONAL_RULES.get(finding.ruleId);
    if (code !== undefined) errors.push({ code, message: finding.message, path: finding.path });
  }
  return { bytesRead: guarded.bytesRead, verification, contentReport };
}

/** Findings that also mean the scan itself did not complete. */
const OPERATIONAL_RULES: ReadonlyMap<string, string> = new Map([
  ["scan/timeout", "TIMEOUT"],
  ["scan/aborted", "ABORTED"],
  ["scan/read-error", "IO"],
  ["scan/internal-error", "INTERNAL"],
]);
