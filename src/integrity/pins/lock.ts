/**
 * Pinned digests and lock files: `{ path: sha256 }` maps, and the `modelgate.lock.json` file that
 * `modelgate lock <dir>` writes and `modelgate scan --lock FILE` checks.
 * @module
 */
import { relative, resolve, sep } from "node:path";
import { z } from "zod";
import { ModelgateError } from "../../core/errors.js";
import { TOOL_NAME, TOOL_VERSION } from "../../core/version.js";
import {
  assertWritableTarget,
  describeJsonError,
  readFileSafely,
  UnsafePathError,
  writeFileSafely,
} from "../../sources/safe-write.js";
import { defaultHashPool, type HashPool } from "../hash/pool.js";
import { isVersionControlPath } from "../vcs.js";
import { compareCodePoints, listTree, mapLimit } from "../walk.js";
import { comparePins, isSafeRelativePath, lockToPins, type PinViolation, validatePins } from "./pins.js";

export {
  comparePins,
  isSafeRelativePath,
  lockToPins,
  type ObservedFile,
  type PinViolation,
  validatePins,
} from "./pins.js";

/** Conventional file name of a lock file. */
export const LOCK_FILE_NAME = "modelgate.lock.json";

/** Largest lock file read (64 MiB: about 400,000 entries). */
export const MAX_LOCK_FILE_BYTES = 64 * 1024 * 1024;

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256");

/**
 * A relative POSIX path as pins and lock files hold them: not empty, not absolute, no `.`/`..`
 * segment, no backslash, no empty segment.
 */
export const PinPathSchema = z
  .string()
  .min(1)
  .refine((p) => isSafeRelativePath(p), "a relative POSIX path without '.', '..' or empty segments");

/** One locked file. */
export const LockEntrySchema = z.union([
  z.strictObject({ sha256: SHA256, size: z.int().nonnegative() }),
  z.strictObject({ symlink: z.string().min(1) }),
]);

/** The lock file. */
export const LockFileSchema = z.strictObject({
  lockfileVersion: z.literal(1),
  generator: z.string().optional(),
  files: z.record(PinPathSchema, LockEntrySchema),
});

/** One locked file: a regular file's digest and size, or a symbolic link's target. */
export type LockEntry = z.infer<typeof LockEntrySchema>;
/** A parsed lock file. */
export type LockFile = z.infer<typeof LockFileSchema>;

/**
 * Parses lock file text.
 * @param text - the JSON text
 * @throws ModelgateError `INVALID_ARGUMENT` when it is not a valid lock file
 */
export function parseLockFile(text: string): LockFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // Never the parser's message: it quotes the input.
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      `lock file is not JSON (${describeJsonError(error, Buffer.byteLength(text))})`,
    );
  }
  const parsed = LockFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelgateError(
      "INVALID_ARGUMENT",
      `invalid lock file at ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

/**
 * Reads and validates a lock file, link-safely: a symbolic link (at the last component), a FIFO,
 * socket, device or directory is refused without being opened or followed, and at most
 * {@link MAX_LOCK_FILE_BYTES} + 1 bytes are read.
 * @param path - lock file path
 * @throws ModelgateError `IO` (missing or unreadable), `INVALID_ARGUMENT` (a link, a special file, not a lock file), `BUDGET_EXCEEDED`
 */
export async function readLockFile(path: string): Promise<LockFile> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileSafely(path, { maxBytes: MAX_LOCK_FILE_BYTES, what: "lock file" });
  } catch (error) {
    if (error instanceof UnsafePathError && error.reason === "too-large") {
      throw new ModelgateError("BUDGET_EXCEEDED", `lock file larger than ${MAX_LOCK_FILE_BYTES} bytes`, {
        budget: "maxLockFileBytes",
      });
    }
    throw error;
  }
  if (bytes === undefined) throw new ModelgateError("IO", `lock file ${path} does not exist`);
  return parseLockFile(bytes.toString("utf8"));
}

/** Serialises a lock file: sorted paths, two-space indent, trailing newline (stable diffs). */
export function formatLockFile(lock: LockFile): string {
  const files: Record<string, LockEntry> = {};
  for (const path of Object.keys(lock.files).sort(compareCodePoints)) files[path] = lock.files[path] as LockEntry;
  return `${JSON.stringify({ ...lock, files }, null, 2)}\n`;
}

/** Options of {@link createLockFile}. */
export interface CreateLockOptions {
  /** Paths (relative to the directory, subtree included) left out; the top-level `.git` always is. */
  ignorePaths?: readonly string[];
  /** Hash pool (default: the process-wide pool). */
  pool?: HashPool;
  /** Stops the work. */
  signal?: AbortSignal;
}

/**
 * Hashes every file under a directory into a lock file. Symbolic links are recorded by target,
 * never followed; special files (FIFOs, devices) are refused.
 * @param dir - the model directory
 * @param options - ignores, pool, signal
 */
export async function createLockFile(dir: string, options: CreateLockOptions = {}): Promise<LockFile> {
  // Version-control entries are left out exactly as the scan's directory walk skips them.
  const ignored = new Set([LOCK_FILE_NAME, ...(options.ignorePaths ?? [])]);
  const ignore = (path: string) => {
    if (isVersionControlPath(path)) return true;
    for (const p of ignored) if (path === p || path.startsWith(`${p}/`)) return true;
    return false;
  };
  const entries = await listTree(dir, options.signal === undefined ? { ignore } : { ignore, signal: options.signal });
  const pool = options.pool ?? defaultHashPool();
  const regular = entries.filter((e) => e.kind === "file");
  for (const entry of entries) {
    if (entry.kind === "special") {
      throw new ModelgateError("UNSUPPORTED", `${entry.path} is not a regular file (FIFO, socket or device)`);
    }
  }
  const digests = await mapLimit(regular, Math.max(2, pool.size * 2), (entry) =>
    pool.hash({
      path: entry.fsPath,
      noFollow: true,
      expectedSize: entry.size,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }),
  );
  const byPath = new Map(regular.map((entry, i) => [entry.path, digests[i]]));
  const files: Record<string, LockEntry> = {};
  for (const entry of entries) {
    const result = byPath.get(entry.path);
    files[entry.path] =
      entry.kind === "symlink"
        ? { symlink: entry.linkTarget ?? "" }
        : { sha256: result?.digests[0]?.sha256 ?? "", size: result?.size ?? entry.size };
  }
  return { lockfileVersion: 1, generator: `${TOOL_NAME} ${TOOL_VERSION}`, files };
}

/**
 * Writes a lock file for a directory, atomically and never through a link: an output that is a
 * symbolic link, FIFO, socket, device or directory is refused (see `writeFileSafely`).
 * @param dir - the model directory
 * @param output - where to write (default `<dir>/modelgate.lock.json`, which is left out of the lock)
 * @param options - ignores, pool, signal
 * @returns the lock written and its path
 */
export async function writeLockFile(
  dir: string,
  output?: string,
  options: CreateLockOptions = {},
): Promise<{ lock: LockFile; path: string }> {
  const path = output ?? resolve(dir, LOCK_FILE_NAME);
  const inside = relative(resolve(dir), resolve(path));
  const ignorePaths = [...(options.ignorePaths ?? [])];
  if (inside !== "" && !inside.startsWith("..") && !inside.startsWith(sep))
    ignorePaths.push(inside.split(sep).join("/"));
  // Fail before hashing when the output is a link or a special file (writing checks again).
  await assertWritableTarget(path, "lock file");
  const lock = await createLockFile(dir, { ...options, ignorePaths });
  await writeFileSafely(path, formatLockFile(lock), { what: "lock file" });
  return { lock, path };
}

/** Options of {@link checkDirectory}. */
export interface CheckDirectoryOptions {
  /** Files present but not pinned are fine. */
  allowUnexpected?: boolean;
  /** Paths left out of the comparison (subtree included); the top-level `.git` always is. */
  ignorePaths?: readonly string[];
  /** Hash pool (default: the process-wide pool). */
  pool?: HashPool;
  /** Stops the work. */
  signal?: AbortSignal;
}

/**
 * Checks a directory against a lock file or a pin map, hashing every file.
 * @param dir - the model directory
 * @param pins - a lock file, or `{ path: sha256 }`
 * @param options - unexpected-file policy, ignores, pool, signal
 */
export async function checkDirectory(
  dir: string,
  pins: LockFile | Readonly<Record<string, string>>,
  options: CheckDirectoryOptions = {},
): Promise<PinViolation[]> {
  const expected =
    "lockfileVersion" in pins && typeof pins.files === "object"
      ? lockToPins(pins as LockFile)
      : new Map([...validatePins(pins as Record<string, string>)].map(([p, d]) => [p, { sha256: d }]));
  const lock = await createLockFile(dir, {
    ...(options.ignorePaths === undefined ? {} : { ignorePaths: options.ignorePaths }),
    ...(options.pool === undefined ? {} : { pool: options.pool }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return comparePins(expected, lockToPins(lock), { allowUnexpected: options.allowUnexpected ?? false });
}
