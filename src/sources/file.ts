/**
 * Local files as {@link ByteSource}s, opened safely: never through a symbolic link, never blocking
 * on a FIFO, only regular files, and only the file the listing saw.
 * @module
 */
import { constants, existsSync } from "node:fs";
import { type FileHandle, lstat, open } from "node:fs/promises";
import { platform } from "node:os";
import type { ByteSource } from "../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../core/errors.js";
import { raceAbort } from "./byte-source.js";

/** What identifies one file on disk, and the times that change when its content does. */
export interface FileIdentity {
  /** Device. */
  readonly dev: bigint;
  /** Inode. */
  readonly ino: bigint;
  /** Size in bytes. */
  readonly size: number;
  /** Last modification, in nanoseconds. */
  readonly mtimeNs: bigint;
  /** Last status change (also moves when the modification time is set back), in nanoseconds. */
  readonly ctimeNs: bigint;
}

/** What the listing saw of a file, which the file opened must match. */
export interface ExpectedFile {
  /** Device, from `lstat`. */
  readonly dev?: bigint | undefined;
  /** Inode, from `lstat`. */
  readonly ino?: bigint | undefined;
  /** Size, from `lstat`. */
  readonly size?: number | undefined;
}

/** Options of {@link FileSource.open}. */
export interface OpenFileOptions {
  /**
   * The file as listed: a file with another device, inode or size (renamed over, replaced, grown)
   * fails with a {@link FileChangedError}, and so does one that is no longer a regular file.
   */
  expect?: ExpectedFile;
  /** The file's deadline: an open (or its checks) not done by then is abandoned and closed. */
  signal?: AbortSignal;
}

/**
 * The file is not the one the listing saw: replaced, renamed over, turned into a link or a FIFO,
 * resized, or modified while it was read. Code `IO`; the engine reports it as
 * `scan/file-changed` (the file is `invalid`, its result never cached).
 */
export class FileChangedError extends ModelgateError {
  /**
   * @param path - the file
   * @param what - what changed
   */
  constructor(path: string, what: string) {
    super("IO", `${path} changed during the scan: ${what}`);
  }
}

/** Whether a value is a {@link FileChangedError}. */
export function isFileChangedError(value: unknown): value is FileChangedError {
  return value instanceof FileChangedError;
}

/**
 * `open(2)` flags for every input: read only, never through a symbolic link (the last component),
 * and non-blocking so that a FIFO or device put in a file's place does not hang the open.
 */
export const INPUT_OPEN_FLAGS: number = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Where this process's open descriptors can be reopened by path, when the platform has it. */
const DESCRIPTOR_DIR: string | undefined = (() => {
  if (platform() === "linux" && existsSync("/proc/self/fd")) return "/proc/self/fd";
  if ((platform() === "darwin" || platform() === "freebsd") && existsSync("/dev/fd")) return "/dev/fd";
  return undefined;
})();

/**
 * The identity of whatever a path names, without following a final symbolic link.
 * @param path - the path
 */
export async function lstatIdentity(path: string): Promise<FileIdentity> {
  return identityOf(await lstat(path, { bigint: true }));
}

function identityOf(s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): FileIdentity {
  return { dev: s.dev, ino: s.ino, size: Number(s.size), mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
}

function kindOf(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean }) {
  if (s.isFile()) return "a regular file";
  if (s.isDirectory()) return "a directory";
  if (s.isSymbolicLink()) return "a symbolic link";
  if (s.isFIFO()) return "a FIFO";
  return "a device or socket";
}

/** A {@link ByteSource} over a local file, read with positional reads (no whole-file loads). */
export class FileSource implements ByteSource {
  readonly size: number;
  readonly path: string;
  /** The file as it was when opened. */
  readonly identity: FileIdentity;
  #handle: FileHandle | undefined;

  private constructor(path: string, handle: FileHandle, identity: FileIdentity) {
    this.path = path;
    this.#handle = handle;
    this.identity = identity;
    this.size = identity.size;
  }

  /**
   * Opens an input file: `O_RDONLY | O_NOFOLLOW | O_NONBLOCK`, then `fstat` on the descriptor: it
   * must be a regular file, and the one the listing saw (`expect`). A file that says 0 bytes and
   * still reads data (procfs, sysfs) is refused. Everything is done under `signal`.
   * @param path - file path
   * @param options - what the listing saw, and the deadline
   * @throws ModelgateError `IO` ({@link FileChangedError} when it is not the file expected),
   *   `TIMEOUT`/`ABORTED` when the signal fires first
   */
  static async open(path: string, options: OpenFileOptions = {}): Promise<FileSource> {
    const { signal } = options;
    const attempt = FileSource.#open(path, options);
    if (signal === undefined) return attempt;
    try {
      return await raceAbort(attempt, signal);
    } catch (error) {
      // An open still pending when the deadline fired: close the file once it arrives.
      attempt.then((source) => source.close()).catch(() => undefined);
      throw toModelgateError(signal.aborted ? (signal.reason ?? error) : error);
    }
  }

  static async #open(path: string, options: OpenFileOptions): Promise<FileSource> {
    const expect = options.expect;
    let handle: FileHandle | undefined;
    try {
      try {
        handle = await open(path, INPUT_OPEN_FLAGS);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === "ELOOP" || code === "EMLINK") {
          // O_NOFOLLOW refused a symbolic link at the last component.
          if (expect !== undefined) throw new FileChangedError(path, "it is now a symbolic link (not followed)");
          throw new ModelgateError("IO", `${path} is a symbolic link (not followed)`, { cause: error });
        }
        if (expect !== undefined && code === "ENOENT") throw new FileChangedError(path, "it no longer exists");
        throw error;
      }
      const stat = await handle.stat({ bigint: true });
      if (!stat.isFile()) {
        const what = `it is ${kindOf(stat)}, not a regular file; not read`;
        throw expect !== undefined ? new FileChangedError(path, what) : new ModelgateError("IO", `${path}: ${what}`);
      }
      const identity = identityOf(stat);
      if (expect !== undefined) {
        if (
          (expect.dev !== undefined && expect.dev !== identity.dev) ||
          (expect.ino !== undefined && expect.ino !== identity.ino)
        ) {
          throw new FileChangedError(path, "another file took its place after it was listed");
        }
        if (expect.size !== undefined && expect.size !== identity.size) {
          throw new FileChangedError(path, `listed with ${expect.size} bytes, opened with ${identity.size}`);
        }
      }
      if (identity.size === 0) {
        // procfs and sysfs files say 0 bytes and still read data: what was never read is not empty.
        const probe = await handle.read(new Uint8Array(1), 0, 1, 0);
        if (probe.bytesRead > 0) {
          throw new ModelgateError(
            "IO",
            `${path} reports a size of 0 bytes but has content (a procfs/sysfs or growing file): it was not read`,
          );
        }
      }
      return new FileSource(path, handle, identity);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      throw toModelgateError(error);
    }
  }

  /**
   * A path that reopens this very file (the open descriptor, `/proc/self/fd/N` or `/dev/fd/N`)
   * whatever happens to its name, for helpers that take a path (the hash pool); undefined when
   * the platform has none or the file is closed.
   */
  get descriptorPath(): string | undefined {
    const fd = this.#handle?.fd;
    return DESCRIPTOR_DIR === undefined || fd === undefined ? undefined : `${DESCRIPTOR_DIR}/${fd}`;
  }

  /**
   * What changed since the file was opened, or undefined: the descriptor's device, inode, size,
   * modification and status-change times (an in-place write), and whether the path still names
   * this file (a rename over it).
   */
  async changes(): Promise<string | undefined> {
    const handle = this.#handle;
    if (handle === undefined) return "the file was closed";
    const before = this.identity;
    let now: FileIdentity;
    try {
      now = identityOf(await handle.stat({ bigint: true }));
    } catch (error) {
      return `it could not be checked (${toModelgateError(error).message})`;
    }
    let named: FileIdentity | undefined;
    try {
      named = await lstatIdentity(this.path);
    } catch {
      named = undefined;
    }
    if (named === undefined) return "its name was removed while it was read";
    if (named.dev !== before.dev || named.ino !== before.ino)
      return "another file was put in its place while it was read";
    if (now.size !== before.size) return `its size went from ${before.size} to ${now.size} bytes while it was read`;
    if (now.mtimeNs !== before.mtimeNs || now.ctimeNs !== before.ctimeNs) return "it was modified while it was read";
    return undefined;
  }

  /** @inheritdoc */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.min(Math.max(0, offset), this.size);
    const n = Math.max(0, Math.min(length, this.size - start));
    if (n === 0 && this.#handle !== undefined) return new Uint8Array(0);
    const buffer = new Uint8Array(n);
    const filled = await this.readInto(start, buffer);
    return filled === n ? buffer : buffer.subarray(0, filled);
  }

  /** @inheritdoc */
  async readInto(offset: number, target: Uint8Array): Promise<number> {
    const handle = this.#handle;
    if (handle === undefined) throw toModelgateError(new Error(`file ${this.path} is closed`));
    const start = Math.min(Math.max(0, offset), this.size);
    const n = Math.max(0, Math.min(target.length, this.size - start));
    let filled = 0;
    try {
      while (filled < n) {
        const { bytesRead } = await handle.read(target, filled, n - filled, start + filled);
        if (bytesRead === 0) break; // the file shrank under us: return what we have
        filled += bytesRead;
      }
    } catch (error) {
      throw toModelgateError(error);
    }
    return filled;
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}
