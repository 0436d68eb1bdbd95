/**
 * Comparing the files of a model with a signed manifest, and building manifests for signing:
 * ignore paths (recorded, default, caller, the signature itself), the symlink policy, files and
 * shards, hashed on the worker pool.
 * @module
 */
import { stat } from "node:fs/promises";
import { basename, isAbsolute, relative, resolve, sep } from "node:path";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import type { ByteRange, HashAlgorithm } from "../hash/core.js";
import { defaultHashPool, type HashPool } from "../hash/pool.js";
import { isSafeRelativePath } from "../pins/pins.js";
import { compareCodePoints, type ListedEntry, listTree, mapLimit } from "../walk.js";
import { OmsError } from "./bundle.js";
import type { SignedFileResult } from "./result.js";
import type { Manifest, ManifestResource } from "./statement.js";

/** Paths OMS excludes by default, as top-level components of the model root only. */
export const DEFAULT_IGNORED_TOP_LEVEL = [".git", ".gitattributes", ".github", ".gitignore"] as const;

/** Jobs of consecutive shards are batched up to this many bytes before going to the pool. */
const SHARD_BATCH_BYTES = 256 * 1024 * 1024;

/**
 * Turns an ignore path (relative to the model root, or absolute) into a relative POSIX path
 * inside the root; paths outside the root are no-ops (undefined).
 * @param root - the model root directory
 * @param path - the ignore path
 */
export function normaliseIgnorePath(root: string, path: string): string | undefined {
  if (path === "") return undefined;
  const abs = isAbsolute(path) ? path : resolve(root, path);
  const rel = relative(resolve(root), abs);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) return undefined;
  const posix = rel.split(sep).join("/");
  return isSafeRelativePath(posix) ? posix : undefined;
}

/** Builds the predicate deciding which relative paths are excluded. */
export function ignorePredicate(ignored: readonly string[]): (path: string) => boolean {
  const set = new Set(ignored);
  return (path) => {
    if (set.has(path)) return true;
    let i = path.indexOf("/");
    while (i > 0) {
      if (set.has(path.slice(0, i))) return true;
      i = path.indexOf("/", i + 1);
    }
    return false;
  };
}

/** The local view of a model: its root and its files after ignores. */
export interface ModelFiles {
  /** Whether the model is a single file. */
  readonly singleFile: boolean;
  /** The directory (or the file) given. */
  readonly root: string;
  /** Listed entries after ignores, by relative path. */
  readonly entries: ReadonlyMap<string, ListedEntry>;
  /** The ignore paths applied (relative, sorted, defaults included). */
  readonly ignored: readonly string[];
}

/** Options of {@link listModelFiles}. */
export interface ListModelOptions {
  /** Ignore paths (relative to the root, or absolute). */
  ignorePaths?: readonly string[];
  /** Signature files to leave out (absolute or relative to the working directory). */
  signaturePaths?: readonly string[];
  /** Maximum files (default 1,000,000). */
  maxEntries?: number;
  /** Stops the walk. */
  signal?: AbortSignal;
}

/**
 * Lists a model's files under the OMS exclusion rules.
 * @param modelPath - model directory or single file
 * @param options - ignores and signature paths
 */
export async function listModelFiles(modelPath: string, options: ListModelOptions = {}): Promise<ModelFiles> {
  let rootStat: Awaited<ReturnType<typeof stat>>;
  try {
    rootStat = await stat(modelPath);
  } catch (error) {
    throw toModelgateError(error);
  }
  if (rootStat.isFile()) {
    const name = basename(modelPath);
    const entry: ListedEntry = { path: name, fsPath: modelPath, kind: "file", size: rootStat.size };
    return { singleFile: true, root: modelPath, entries: new Map([[name, entry]]), ignored: [] };
  }
  if (!rootStat.isDirectory())
    throw new ModelgateError("INVALID_ARGUMENT", `${modelPath} is neither a file nor a directory`);
  const ignored = new Set<string>(DEFAULT_IGNORED_TOP_LEVEL);
  for (const p of [...(options.ignorePaths ?? []), ...(options.signaturePaths ?? []).map((s) => resolve(s))]) {
    const rel = normaliseIgnorePath(modelPath, p);
    if (rel !== undefined) ignored.add(rel);
  }
  const list = await listTree(modelPath, {
    ignore: ignorePredicate([...ignored]),
    ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return {
    singleFile: false,
    root: modelPath,
    entries: new Map(list.map((e) => [e.path, e])),
    ignored: [...ignored].sort(compareCodePoints),
  };
}

/** Shard ranges of a file of `size` bytes (none for an empty file). */
export function shardRanges(size: number, shardSize: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (let start = 0; start < size; start += shardSize) out.push({ start, end: Math.min(size, start + shardSize) });
  return out;
}

/** Shard size assumed when a manifest names none (statements always set one after parsing). */
const DEFAULT_SHARD_SIZE_FALLBACK = 1;

/**
 * Why a file of `size` bytes does not have the signed shard layout, or undefined when it has it:
 * the shard count is compared first (arithmetic, nothing allocated), then each signed shard's
 * bounds against the layout of `shardSize`.
 * @param size - the file's size
 * @param shardSize - the signed shard size
 * @param signed - the signed shards of the file, sorted by start
 */
export function shardLayoutError(
  size: number,
  shardSize: number,
  signed: readonly { readonly start?: number | undefined; readonly end?: number | undefined }[],
): string | undefined {
  const signedSize = signed[signed.length - 1]?.end ?? 0;
  const mismatch = `file has ${size} bytes; the signed shards cover ${signedSize}`;
  if (!Number.isSafeInteger(shardSize) || shardSize <= 0) return `shard size ${shardSize} is not a positive integer`;
  const expected = Math.ceil(size / shardSize);
  if (expected !== signed.length) {
    return `${mismatch} (${signed.length} signed shard${signed.length === 1 ? "" : "s"}, ${expected} expected at shard size ${shardSize})`;
  }
  for (let i = 0; i < signed.length; i++) {
    const start = i * shardSize;
    const s = signed[i];
    if (s?.start !== start || s.end !== Math.min(size, start + shardSize)) return mismatch;
  }
  return undefined;
}

/**
 * Why a listed entry cannot be hashed under a symlink policy, or undefined when it can. A link whose
 * target leaves the model root is never followed, whatever the signature allows.
 */
function unusable(entry: ListedEntry, allowSymlinks: boolean): string | undefined {
  if (entry.kind === "special") return "not a regular file (FIFO, socket or device)";
  if (entry.kind === "symlink") {
    if (!allowSymlinks) return "symbolic link, and the signature does not allow symlinks";
    if (entry.targetKind === "outside") return "symbolic link leaving the model root (never followed)";
    if (entry.targetKind === "missing") return "dangling symbolic link";
    if (entry.targetKind !== "file" || entry.targetPath === undefined)
      return `symbolic link to a ${entry.targetKind ?? "non-file"}`;
  }
  return undefined;
}

/**
 * The path to open for a usable entry: a regular file itself, or a link's resolved target inside
 * the root; either way opened with `O_NOFOLLOW`, so a link swapped in later is refused.
 * @param entry - a listed entry {@link unusable} accepted
 */
export function openPathOf(entry: ListedEntry): string {
  return entry.kind === "symlink" && entry.targetPath !== undefined ? entry.targetPath : entry.fsPath;
}

interface HashTask {
  readonly entry: ListedEntry;
  readonly ranges?: ByteRange[];
}

async function hashTasks(
  tasks: readonly HashTask[],
  algorithm: HashAlgorithm,
  pool: HashPool,
  signal: AbortSignal | undefined,
): Promise<string[][]> {
  return mapLimit(tasks, Math.max(2, pool.size * 2), async (task) => {
    const result = await pool.hash({
      path: openPathOf(task.entry),
      noFollow: true,
      algorithms: [algorithm],
      expectedSize: task.entry.size,
      ...(task.ranges === undefined ? {} : { ranges: task.ranges }),
      ...(signal === undefined ? {} : { signal }),
    });
    return result.digests.map((d) => d[algorithm] ?? "");
  });
}

/** Splits a file's shard ranges into pool jobs of about {@link SHARD_BATCH_BYTES}. */
function batchRanges(entry: ListedEntry, ranges: readonly ByteRange[]): HashTask[] {
  const tasks: HashTask[] = [];
  let batch: ByteRange[] = [];
  let bytes = 0;
  for (const range of ranges) {
    batch.push(range);
    bytes += range.end - range.start;
    if (bytes >= SHARD_BATCH_BYTES) {
      tasks.push({ entry, ranges: batch });
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) tasks.push({ entry, ranges: batch });
  return tasks;
}

/** Options of {@link checkManifest}. */
export interface CheckManifestOptions extends ListModelOptions {
  /** Files present but not signed do not fail verification. */
  ignoreUnsignedFiles?: boolean;
  /** Hash pool (default: the process-wide pool). */
  pool?: HashPool;
  /**
   * SHA-256 digests already computed (by a scan) for regular files, by path relative to the model
   * root: used instead of hashing again when the signature uses sha256 over whole files and the
   * size still matches.
   */
  knownSha256?: ReadonlyMap<string, { readonly sha256: string; readonly size: number }>;
  /**
   * Paths (relative to the model root) compared when the manifest lists them and left out when it
   * does not: other signature files and the scan's own lock and policy files in the tree.
   */
  optionalPaths?: readonly string[];
}

/**
 * Compares a model with a signed manifest, hashing each file once.
 * @param modelPath - model directory or single file
 * @param manifest - the signed manifest
 * @param options - ignores, signature paths, unsigned-file policy, pool
 * @returns per-file results, sorted by path
 * @throws OmsError at stage `manifest` when any file is missing, extra or differs
 */
export async function checkManifest(
  modelPath: string,
  manifest: Manifest,
  options: CheckManifestOptions = {},
): Promise<SignedFileResult[]> {
  const model = await listModelFiles(modelPath, {
    ...options,
    ignorePaths: [...manifest.ignorePaths, ...(options.ignorePaths ?? [])],
  });
  const pool = options.pool ?? defaultHashPool();
  const signedByPath = new Map<string, ManifestResource[]>();
  for (const r of manifest.resources) {
    const path = model.singleFile && r.path === "." ? ([...model.entries.keys()][0] ?? r.path) : r.path;
    const list = signedByPath.get(path);
    if (list === undefined) signedByPath.set(path, [r]);
    else list.push(r);
  }
  const results = new Map<string, SignedFileResult>();
  const tasks: { path: string; task: HashTask; resources: ManifestResource[] }[] = [];
  for (const [path, resources] of signedByPath) {
    const first = resources[0] as ManifestResource;
    const entry = model.entries.get(path);
    if (entry === undefined) {
      results.set(path, { path, status: "missing", algorithm: first.algorithm, expected: first.digest });
      continue;
    }
    const reason = unusable(entry, manifest.allowSymlinks);
    if (reason !== undefined) {
      results.set(path, { path, status: "mismatch", algorithm: first.algorithm, expected: first.digest, reason });
      continue;
    }
    if (manifest.method === "files") {
      if (resources.length !== 1) throw new OmsError("statement", `file ${path} is listed more than once`);
      const known =
        entry.kind === "file" && manifest.hashType === "sha256" ? options.knownSha256?.get(path) : undefined;
      if (known !== undefined && known.size === entry.size) {
        const ok = known.sha256 === first.digest;
        results.set(path, {
          path,
          status: ok ? "ok" : "mismatch",
          algorithm: first.algorithm,
          expected: first.digest,
          actual: known.sha256,
        });
        continue;
      }
      tasks.push({ path, task: { entry }, resources });
      continue;
    }
    const signed = [...resources].sort((a, b) => (a.start ?? 0) - (b.start ?? 0));
    // The layout is compared before any shard range is built: a hostile bundle with a tiny shard
    // size must not make a large file cost one object per byte. Ranges are only ever built for
    // as many shards as the bundle itself lists.
    const layout = shardLayoutError(entry.size, manifest.shardSize ?? DEFAULT_SHARD_SIZE_FALLBACK, signed);
    if (layout !== undefined) {
      results.set(path, {
        path,
        status: "mismatch",
        algorithm: first.algorithm,
        shards: signed.length,
        reason: layout,
      });
      continue;
    }
    const local = shardRanges(entry.size, manifest.shardSize ?? DEFAULT_SHARD_SIZE_FALLBACK);
    for (const task of batchRanges(entry, local)) {
      const offset = signed.findIndex((s) => s.start === task.ranges?.[0]?.start);
      tasks.push({ path, task, resources: signed.slice(offset, offset + (task.ranges?.length ?? 0)) });
    }
  }
  const digests = await hashTasks(
    tasks.map((t) => t.task),
    manifest.hashType,
    pool,
    options.signal,
  );
  tasks.forEach(({ path, resources }, i) => {
    const got = digests[i] ?? [];
    const previous = results.get(path);
    const shards = manifest.method === "shards" ? (signedByPath.get(path)?.length ?? 0) : undefined;
    const bad = resources.findIndex((r, j) => r.digest !== got[j]);
    const base = {
      path,
      algorithm: resources[0]?.algorithm ?? manifest.hashType,
      ...(shards === undefined ? {} : { shards }),
    };
    if (bad >= 0) {
      if (previous?.status === "mismatch") return;
      results.set(path, {
        ...base,
        status: "mismatch",
        expected: resources[bad]?.digest ?? "",
        actual: got[bad] ?? "",
      });
    } else if (previous === undefined) {
      results.set(
        path,
        manifest.method === "files"
          ? { ...base, status: "ok", expected: resources[0]?.digest ?? "", actual: got[0] ?? "" }
          : { ...base, status: "ok" },
      );
    }
  });
  const optional = new Set(options.optionalPaths ?? []);
  for (const [path, entry] of model.entries) {
    if (signedByPath.has(path) || optional.has(path)) continue;
    // Zero-byte files are not signed in shard mode (the spec omits them).
    if (manifest.method === "shards" && entry.kind === "file" && entry.size === 0) continue;
    const reason = unusable(entry, manifest.allowSymlinks);
    results.set(path, {
      path,
      status: options.ignoreUnsignedFiles ? "unsigned" : "extra",
      ...(reason === undefined ? {} : { reason }),
    });
  }
  const files = [...results.values()].sort((a, b) => compareCodePoints(a.path, b.path));
  const failing = files.filter((f) => f.status !== "ok" && f.status !== "unsigned");
  if (failing.length > 0) {
    const by = (status: SignedFileResult["status"]) => failing.filter((f) => f.status === status).map((f) => f.path);
    const parts = [
      ["mismatched", by("mismatch")],
      ["missing", by("missing")],
      ["extra (unsigned)", by("extra")],
    ] as const;
    const message = parts
      .filter(([, list]) => list.length > 0)
      .map(
        ([label, list]) =>
          `${label}: ${list.slice(0, 10).join(", ")}${list.length > 10 ? ` and ${list.length - 10} more` : ""}`,
      )
      .join("; ");
    throw Object.assign(new OmsError("manifest", `model does not match its signature: ${message}`), { files });
  }
  return files;
}

/** The file list of a manifest check that failed, when the error carries it. */
export function filesOfError(error: unknown): SignedFileResult[] | undefined {
  const files = (error as { files?: unknown } | null)?.files;
  return Array.isArray(files) ? (files as SignedFileResult[]) : undefined;
}
