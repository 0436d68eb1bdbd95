/**
 * Reading small *trusted* files (policy files, public keys named by a policy): files that decide
 * how input is judged, so they must be what they claim to be. A FIFO or a device must not hang or
 * flood the scan, a symbolic link must not redirect it, and a file that someone other than its
 * owner (or root) can change must not be trusted.
 * @module
 */
import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { type ErrorCode, ModelgateError } from "../core/errors.js";
import { sha256Hex } from "../core/sha256.js";
import { readCapped } from "./safe-write.js";

/** Why a file was not read. */
export type UntrustedReason =
  | "missing"
  | "unreadable"
  | "symlink"
  | "not-regular"
  | "writable"
  | "exposed"
  | "owner"
  | "outside"
  | "too-large";

/** A trusted file that could not be read or was refused. */
export class UntrustedFileError extends ModelgateError {
  /** Why. */
  readonly reason: UntrustedReason;
  /** The file (resolved). */
  readonly path: string;

  /**
   * @param code - error code (the caller's: `POLICY` for policy and key files)
   * @param reason - why the file was refused
   * @param path - the file
   * @param message - the full message
   * @param cause - the underlying error, if any
   */
  constructor(code: ErrorCode, reason: UntrustedReason, path: string, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? {} : { cause });
    this.name = "UntrustedFileError";
    this.reason = reason;
    this.path = path;
  }
}

/** Options of {@link readTrustedFile}. */
export interface TrustedReadOptions {
  /** Largest size accepted; at most `maxBytes + 1` bytes are ever read. */
  maxBytes: number;
  /**
   * A folder the file must lie in: a relative `path` is resolved against it, and the file may not
   * escape it (`..`, an absolute path elsewhere, or a symbolic link on the way).
   */
  within?: string;
  /** What the file is, for messages (`policy`, `key file`). */
  what?: string;
  /** Error code of refusals (default `INVALID_ARGUMENT`). */
  code?: ErrorCode;
  /**
   * The file holds a secret (a bearer token): group or others may not read it either (mode
   * `0600` or stricter), else anyone on the machine could read it.
   */
  secret?: boolean;
}

/** What {@link readTrustedFile} read. */
export interface TrustedFile {
  /** The file's absolute path. */
  readonly path: string;
  /** Its content. */
  readonly bytes: Buffer;
  /** SHA-256 (hex) of the content. */
  readonly sha256: string;
}

/** Whether ownership and mode bits mean anything here (POSIX). */
const POSIX = process.platform !== "win32" && typeof process.getuid === "function";
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Whether a file's mode and owner make it trustworthy: not writable by group or others, owned by
 * the current user or root.
 * @param info - the file's stat
 * @returns the problem, or undefined
 */
export function trustProblem(info: Stats): { reason: "writable" | "owner"; detail: string } | undefined {
  if (!POSIX) return undefined;
  if ((info.mode & 0o022) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    return { reason: "writable", detail: `writable by group or others (mode ${mode}; chmod go-w)` };
  }
  const uid = process.getuid!();
  if (info.uid !== uid && info.uid !== 0) {
    return { reason: "owner", detail: `owned by another user (uid ${info.uid}, you are ${uid})` };
  }
  return undefined;
}

/**
 * Reads a small trusted file safely: `lstat` first (a symbolic link, FIFO, socket or device is
 * refused without opening it), then `open` with `O_NOFOLLOW | O_NONBLOCK` and `fstat` on the open
 * file (the same regular file, still not a link), mode and owner checks (not writable by group or
 * others; owned by the current user or root), and at most `maxBytes + 1` bytes read.
 * @param path - the file (relative to `within` when given, else to the working directory)
 * @param options - size cap, containing folder, naming
 * @throws UntrustedFileError (a {@link ModelgateError} with `options.code`) naming the file and the reason
 */
export async function readTrustedFile(path: string, options: TrustedReadOptions): Promise<TrustedFile> {
  const code = options.code ?? "INVALID_ARGUMENT";
  const what = options.what ?? "file";
  const full = options.within === undefined ? resolve(path) : resolve(options.within, path);
  const refuse = (reason: UntrustedReason, detail: string, cause?: unknown): UntrustedFileError =>
    new UntrustedFileError(
      code,
      reason,
      full,
      reason === "missing" || reason === "unreadable"
        ? `cannot read ${what} ${full}: ${detail}`
        : `refusing ${what} ${full}: ${detail}`,
      cause,
    );

  if (options.within !== undefined) await checkWithin(full, options.within, refuse);

  let before: Stats;
  try {
    before = await lstat(full);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    throw refuse(errno === "ENOENT" || errno === "ENOTDIR" ? "missing" : "unreadable", errnoText(error), error);
  }
  if (before.isSymbolicLink()) throw refuse("symlink", "it is a symbolic link (name the file itself)");
  if (!before.isFile()) throw refuse("not-regular", `not a regular file (${kindOf(before)})`);

  let handle: FileHandle;
  try {
    handle = await open(full, OPEN_FLAGS);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === "ELOOP") throw refuse("symlink", "it is a symbolic link (name the file itself)", error);
    throw refuse("unreadable", errnoText(error), error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw refuse("not-regular", `not a regular file (${kindOf(info)})`);
    if (info.ino !== before.ino || info.dev !== before.dev) throw refuse("unreadable", "it changed while being opened");
    const problem = trustProblem(info);
    if (problem !== undefined) throw refuse(problem.reason, problem.detail);
    if (options.secret === true && POSIX && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
      throw refuse("exposed", `a secret readable by group or others (mode ${mode}; chmod 600)`);
    }
    // At most one byte more than allowed, whatever the size says (procfs, growing files).
    const bytes = await readCapped(handle, options.maxBytes);
    if (bytes === undefined) throw refuse("too-large", `larger than ${options.maxBytes} bytes`);
    return { path: full, bytes, sha256: sha256Hex(bytes) };
  } catch (error) {
    if (error instanceof UntrustedFileError) throw error;
    throw refuse("unreadable", errnoText(error), error);
  } finally {
    await handle.close();
  }
}

/** Refuses a path that is not inside `within`, or reaches it through a symbolic link. */
async function checkWithin(
  full: string,
  within: string,
  refuse: (reason: UntrustedReason, detail: string, cause?: unknown) => UntrustedFileError,
): Promise<void> {
  const base = resolve(within);
  const rel = relative(base, full);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw refuse("outside", `it is outside ${base} (keep it in that folder, next to the file that names it)`);
  }
  // The folders between `within` and the file must be real folders: compare resolved paths.
  let realBase: string;
  let realParent: string;
  try {
    realBase = await realpath(base);
    realParent = await realpath(dirname(full));
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    throw refuse(errno === "ENOENT" || errno === "ENOTDIR" ? "missing" : "unreadable", errnoText(error), error);
  }
  if (realParent !== join(realBase, dirname(rel))) {
    throw refuse("symlink", `a symbolic link on the way leads out of ${base} or around it`);
  }
}

function kindOf(info: Stats): string {
  if (info.isDirectory()) return "a directory";
  if (info.isFIFO()) return "a FIFO";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  return "not a file";
}

function errnoText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === "ENOENT") return "no such file";
  if (e?.code === "EACCES" || e?.code === "EPERM") return "permission denied";
  return e?.message ?? String(error);
}
