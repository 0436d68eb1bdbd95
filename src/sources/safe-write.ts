/**
 * Link-safe file access for paths inside a model folder, which an attacker may control: writes are
 * atomic (a fresh temporary file in the same folder, renamed over the target) and never go through a
 * symbolic link or into a FIFO, device or directory; reads refuse links and special files, never
 * block on a FIFO and are size-capped.
 * @module
 */
import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ModelgateError, toModelgateError } from "../core/errors.js";

/** Why a path was refused. */
export type UnsafePathReason = "symlink" | "not-regular" | "too-large" | "changed";

/** A path refused because of what it is (a link, a special file), its size, or a race. */
export class UnsafePathError extends ModelgateError {
  /** Why the path was refused. */
  readonly reason: UnsafePathReason;

  /**
   * @param reason - why
   * @param message - human-readable description (names the path, never its content)
   */
  constructor(reason: UnsafePathReason, message: string) {
    super(reason === "too-large" ? "BUDGET_EXCEEDED" : "INVALID_ARGUMENT", message);
    this.name = "UnsafePathError";
    this.reason = reason;
  }
}

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** What a non-regular file is, in words. */
export function describeFileType(stats: Stats): string {
  if (stats.isSymbolicLink()) return "a symbolic link";
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return "a device";
  return "not a regular file";
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw toModelgateError(error);
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return undefined;
    throw toModelgateError(error);
  }
}

/**
 * Refuses a path that exists and is not a regular file (a symbolic link, FIFO, socket, device or
 * directory), without opening it.
 * @param path - the file about to be written
 * @param what - what the file is, for the message (`lock file`, `signature`)
 * @returns the existing file's stats, or undefined when it does not exist
 * @throws UnsafePathError `symlink` or `not-regular`
 */
export async function assertWritableTarget(path: string, what = "file"): Promise<Stats | undefined> {
  const stats = await lstatOrUndefined(path);
  if (stats === undefined || stats.isFile()) return stats;
  const kind = describeFileType(stats);
  throw new UnsafePathError(
    stats.isSymbolicLink() ? "symlink" : "not-regular",
    `refusing to write the ${what} ${path}: it is ${kind}${kind.startsWith("not") ? "" : ", not a regular file"}`,
  );
}

/** Options of {@link writeFileSafely}. */
export interface WriteFileSafelyOptions {
  /**
   * Mode of a new file (default 0o644, less the umask); a replaced file keeps its own mode, less
   * set-id, sticky and group/other write bits.
   */
  mode?: number;
  /** What the file is, for error messages (default `file`). */
  what?: string;
}

/**
 * Writes a file atomically without following links: refuses when `path` exists and is not a
 * regular file (a symbolic link, FIFO, socket, device or directory: none is opened), writes a
 * temporary file in the same folder (`O_CREAT | O_EXCL | O_NOFOLLOW`), syncs it and renames it over
 * `path`. A regular file that is replaced keeps its mode (less set-id, sticky and group/other
 * write bits); a hard link to it elsewhere keeps the old
 * content.
 * @param path - where to write
 * @param data - the content
 * @param options - mode of a new file, name for messages
 * @throws UnsafePathError when `path` is not a regular file; ModelgateError `IO` when writing fails
 */
export async function writeFileSafely(
  path: string,
  data: string | Uint8Array,
  options: WriteFileSafelyOptions = {},
): Promise<void> {
  const what = options.what ?? "file";
  const existing = await assertWritableTarget(path, what);
  // A replaced file keeps its permission bits, but never set-id, sticky or group/other write bits:
  // a file planted at the output path (mode 6777) must not make the report setuid or writable by all.
  const keepMode = existing === undefined ? undefined : existing.mode & 0o755;
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.getBuiltinModule("node:crypto").randomBytes(6).toString("hex")}.tmp`,
  );
  let handle: FileHandle | undefined;
  let created = false;
  try {
    handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
      options.mode ?? 0o644,
    );
    created = true;
    if (keepMode !== undefined) await handle.chmod(keepMode);
    await handle.writeFile(typeof data === "string" ? Buffer.from(data, "utf8") : data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    // Checked again just before the rename: rename replaces a link or file that appeared in
    // between (never writes through it), and fails on a directory.
    await assertWritableTarget(path, what);
    await rename(temp, path);
    created = false;
  } catch (error) {
    if (error instanceof ModelgateError) throw error;
    throw toModelgateError(error);
  } finally {
    await handle?.close().catch(() => undefined);
    if (created) await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dirname(path));
}

/** Makes a rename durable (best effort: not every platform can open a directory). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Reads an open file to its end, whatever `fstat` said its size was (procfs files say 0, files
 * grow): chunk by chunk, never more than `maxBytes + 1` bytes in all.
 * @param handle - the open file
 * @param maxBytes - the cap
 * @returns the bytes, or undefined when there are more than `maxBytes`
 */
export async function readCapped(handle: FileHandle, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, total);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
    if (total > maxBytes) return undefined;
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

/** Options of {@link readFileSafely}. */
export interface ReadFileSafelyOptions {
  /** Largest size accepted, in bytes; at most `maxBytes + 1` bytes are ever read. */
  maxBytes: number;
  /** What the file is, for error messages (default `file`). */
  what?: string;
  /**
   * Follow a symbolic link at the last component (default false). Only for a file the user named
   * outside any model folder (a key, a trust root); special files are refused either way.
   */
  followLinks?: boolean;
}

/**
 * Reads a regular file without following a link at its last component (unless `followLinks`) and
 * without blocking on a FIFO: `lstat` first (symbolic links and special files are refused unopened), then
 * `open(O_NOFOLLOW | O_NONBLOCK)`, `fstat` (still a regular file, the same one), and at most
 * `maxBytes + 1` bytes read. Messages name the path and sizes, never the content.
 * @param path - the file
 * @param options - size cap, name for messages
 * @returns the bytes, or undefined when the file does not exist
 * @throws UnsafePathError `symlink`, `not-regular`, `too-large` or `changed`; ModelgateError `IO`
 */
export async function readFileSafely(path: string, options: ReadFileSafelyOptions): Promise<Buffer | undefined> {
  const what = options.what ?? "file";
  const follow = options.followLinks === true;
  const before = follow ? await statOrUndefined(path) : await lstatOrUndefined(path);
  if (before === undefined) return undefined;
  if (!before.isFile()) {
    throw new UnsafePathError(
      before.isSymbolicLink() ? "symlink" : "not-regular",
      `refusing to read the ${what} ${path}: it is ${describeFileType(before)}`,
    );
  }
  const tooLarge = () =>
    new UnsafePathError("too-large", `the ${what} ${path} is larger than ${options.maxBytes} bytes`);
  if (before.size > options.maxBytes) throw tooLarge();
  let handle: FileHandle | undefined;
  try {
    try {
      handle = await open(path, constants.O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_NONBLOCK);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "ELOOP" || code === "EMLINK") {
        throw new UnsafePathError("symlink", `refusing to read the ${what} ${path}: it is a symbolic link`);
      }
      if (code === "ENOENT") return undefined;
      throw toModelgateError(error);
    }
    const stats = await handle.stat();
    if (!stats.isFile() || stats.ino !== before.ino || stats.dev !== before.dev) {
      throw new UnsafePathError("changed", `refusing to read the ${what} ${path}: it changed while being opened`);
    }
    if (stats.size > options.maxBytes) throw tooLarge();
    const bytes = await readCapped(handle, options.maxBytes);
    if (bytes === undefined) throw tooLarge();
    return bytes;
  } catch (error) {
    if (error instanceof ModelgateError) throw error;
    throw toModelgateError(error);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * A short, escaped description of bytes for an error message: the length and at most `preview`
 * printable-ASCII characters, everything else escaped. Use it instead of echoing file content.
 * @param bytes - the bytes
 * @param preview - characters to show (default 0: the length only)
 */
export function describeBytes(bytes: Uint8Array, preview = 0): string {
  if (preview <= 0) return `${bytes.length} bytes`;
  let out = "";
  for (const b of bytes.subarray(0, preview)) {
    out +=
      b >= 0x20 && b < 0x7f && b !== 0x5c && b !== 0x22
        ? String.fromCharCode(b)
        : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `${bytes.length} bytes, starting "${out}"${bytes.length > preview ? "..." : ""}`;
}

/**
 * Says why text is not JSON without quoting it: V8's `JSON.parse` messages can quote the input
 * (`Unexpected token 'r', "root:x:0:0"... is not valid JSON`), so only the position is kept.
 * @param error - what `JSON.parse` threw
 * @param length - the input's length in bytes
 */
export function describeJsonError(error: unknown, length: number): string {
  const message = error instanceof Error ? error.message : "";
  const position = /\bat position (\d+)/.exec(message)?.[1];
  const end = /Unexpected end of JSON input/.test(message);
  return `${length} bytes${position === undefined ? (end ? ", ends early" : "") : `, invalid at position ${position}`}`;
}

/** Largest key, certificate or trust-root file the CLI reads (16 MiB). */
export const MAX_NAMED_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a text file the user named on the command line (a key, a certificate, a trust root): a link
 * the user named is followed, but a FIFO, socket, device or directory is refused without blocking,
 * and at most `maxBytes + 1` bytes are read.
 * @param path - the file
 * @param what - what it is, for messages (`private key`, `trusted root`)
 * @param maxBytes - size cap (default {@link MAX_NAMED_FILE_BYTES})
 * @throws ModelgateError `IO` when missing or unreadable; UnsafePathError for a special or oversized file
 */
export async function readNamedFile(path: string, what: string, maxBytes = MAX_NAMED_FILE_BYTES): Promise<string> {
  const bytes = await readFileSafely(path, { maxBytes, what, followLinks: true });
  if (bytes === undefined) throw new ModelgateError("IO", `cannot read the ${what} ${path}: no such file`);
  return bytes.toString("utf8");
}
