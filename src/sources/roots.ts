/**
 * Scan roots: a directory, a single file, an in-memory buffer or a caller's ByteSource.
 * @module
 */
import { type BigIntStats, constants, existsSync } from "node:fs";
import { type FileHandle, lstat, open, opendir, readlink, realpath, stat } from "node:fs/promises";
import { platform } from "node:os";
import { basename, join, resolve } from "node:path";
import { BufferSource, type ByteSource } from "../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../core/errors.js";
import { DEFAULT_LIMITS } from "../core/limits.js";
import type { OpenOptions, RootEntry, ScanRoot } from "../core/root.js";
import { isVersionControlName, VERSION_CONTROL_NAMES } from "../integrity/vcs.js";
import { FileChangedError, FileSource, type OpenFileOptions } from "./file.js";
import type { HttpTarget } from "./http/root.js";
import type { HubTarget } from "./hub/root.js";
import type { OciTarget } from "./oci/root.js";
import type { S3Target } from "./s3/root.js";

/**
 * Names skipped at the top of a scanned directory: a model repository's own version-control
 * internals (a folder, or the `.git` file of a worktree or submodule), which no loader reads.
 * They are reported (an info finding with the number of entries skipped); below the top, entries
 * of these names are scanned like any other. The same predicate decides what lock files leave out.
 */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = VERSION_CONTROL_NAMES;

/** Entries counted under a skipped folder before the count stops (`skippedMore`). */
export const MAX_SKIPPED_COUNT = 100_000;

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Options of {@link DirectoryRoot}. */
export interface DirectoryRootOptions {
  /** Deepest folder descended into (default {@link DEFAULT_LIMITS}.maxDirectoryDepth). */
  maxDirectoryDepth?: number;
  /**
   * Most names read from one folder (default {@link DEFAULT_LIMITS}.maxFiles): a folder with more
   * is reported unreadable (`BUDGET_EXCEEDED`) instead of being held in memory whole.
   */
  maxFiles?: number;
  /**
   * The scanned directory as the caller checked it (device and inode, from `stat`): a directory
   * opened with another identity (the path was redirected after the check) is not listed; the
   * listing fails with {@link DirectoryChangedError}.
   */
  expect?: RootIdentity;
}

/** A local target's device and inode, as a caller checked them (`stat`, links followed). */
export interface RootIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
}

/**
 * The scanned directory is not the one the caller checked (see {@link DirectoryRootOptions.expect}).
 * Code `IO`.
 */
export class DirectoryChangedError extends ModelgateError {
  /** @param dir - the directory */
  constructor(dir: string) {
    super("IO", `${dir} changed after it was checked: another directory took its place; not scanned`);
  }
}

/** One name of a folder: `raw` as stored on disk, `name` its UTF-8 text (escaped when `invalid`). */
interface FrameName {
  readonly name: string;
  readonly raw: Buffer;
  readonly dir: boolean;
  /** The stored name is not valid UTF-8: no text names it faithfully, so it is never opened. */
  readonly invalid: boolean;
}

interface Frame {
  readonly rel: string;
  readonly depth: number;
  readonly names: ReadonlyArray<FrameName>;
  next: number;
  /** Where the folder's entries are reached: `/proc/self/fd/N` of the open folder, or its path. */
  readonly base: string;
  /** The open folder, closed when the frame is done. */
  readonly handle: FileHandle | undefined;
}

/**
 * Where an open folder's entries can be reached without resolving any path component again
 * (Linux `/proc/self/fd/N/name`). Elsewhere folders are reached by their joined path.
 */
const FOLDER_FD_DIR: string | undefined =
  platform() === "linux" && existsSync("/proc/self/fd") ? "/proc/self/fd" : undefined;

/** Flags of a folder opened below the scanned directory: never through a symbolic link. */
const FOLDER_OPEN_FLAGS = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);
/** Flags of the scanned directory (a link to it is followed: the caller named it). */
const TOP_OPEN_FLAGS = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0);

/** `opendir` options that yield names as stored (Buffers); the typings only know text encodings. */
const BUFFER_NAMES = { encoding: "buffer" as BufferEncoding };

/** The path of `name` (raw bytes) in the folder reached by `base`. */
function childPath(base: string, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${base}/`, "utf8"), raw]);
}

/**
 * A stored name as text: its UTF-8 decoding when it round-trips, else (`invalid`) every byte
 * outside printable ASCII written `\xHH`, which no decoding of another name yields silently.
 * @param raw - the name's bytes
 */
export function decodeStoredName(raw: Buffer): { name: string; invalid: boolean } {
  const text = raw.toString("utf8");
  if (Buffer.from(text, "utf8").equals(raw)) return { name: text, invalid: false };
  let name = "";
  for (const byte of raw) {
    name += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return { name, invalid: true };
}

/**
 * A local directory, walked without following symbolic links, iteratively (an explicit stack, so
 * nesting depth costs memory, not call stack) and no deeper than `maxDirectoryDepth`.
 */
export class DirectoryRoot implements ScanRoot {
  readonly target;
  readonly localDir: string;
  readonly #maxDepth: number;
  readonly #maxFiles: number;
  readonly #expect: DirectoryRootOptions["expect"];

  /**
   * @param dir - the directory to scan
   * @param options - depth and size budgets, the directory's expected identity
   */
  constructor(dir: string, options: DirectoryRootOptions = {}) {
    this.localDir = resolve(dir);
    this.target = { kind: "directory" as const, name: dir };
    this.#maxDepth = options.maxDirectoryDepth ?? DEFAULT_LIMITS.maxDirectoryDepth;
    this.#maxFiles = options.maxFiles ?? DEFAULT_LIMITS.maxFiles;
    this.#expect = options.expect;
  }

  /**
   * Lists the tree. Each folder is opened by descriptor, relative to its parent's open descriptor
   * and never through a symbolic link (Linux), so a folder swapped for a link after its parent was
   * listed is not followed: it fails to open and is reported unreadable. A name that is not valid
   * UTF-8 is reported unreadable under an escaped path (`\xHH`), never opened by a text that
   * may name another file.
   * @param signal - stops the listing
   */
  async *list(signal: AbortSignal): AsyncIterable<RootEntry> {
    signal.throwIfAborted();
    const top = await this.#frame("", 0, undefined);
    if (top instanceof ModelgateError) {
      yield { path: ".", size: 0, kind: "unreadable", error: top.message, errorCode: top.code };
      return;
    }
    const stack: Frame[] = [top];
    try {
      yield* this.#walk(stack, signal);
    } finally {
      for (const frame of stack) await frame.handle?.close().catch(() => undefined);
    }
  }

  async *#walk(stack: Frame[], signal: AbortSignal): AsyncIterable<RootEntry> {
    while (stack.length > 0) {
      signal.throwIfAborted();
      const frame = stack[stack.length - 1]!;
      const item = frame.names[frame.next++];
      if (item === undefined) {
        stack.pop();
        await frame.handle?.close().catch(() => undefined);
        continue;
      }
      const path = frame.rel === "" ? item.name : `${frame.rel}/${item.name}`;
      if (item.invalid) {
        yield {
          path,
          size: 0,
          kind: "unreadable",
          error: `${path}: the name stored on disk is not valid UTF-8, so no text names it faithfully (a loader may still read it): not listed or scanned`,
        };
        continue;
      }
      const full = join(this.localDir, path);
      const at = childPath(frame.base, item.raw);
      let dir = item.dir;
      let stat: BigIntStats | undefined;
      if (!dir) {
        try {
          stat = await lstat(at, { bigint: true });
        } catch (error) {
          yield { path, size: 0, kind: "unreadable", error: toModelgateError(error).message };
          continue;
        }
        dir = stat.isDirectory();
      }
      if (frame.depth === 0 && isVersionControlName(item.name)) {
        const { count, more } = dir ? await countEntries(full, signal) : { count: 1, more: false };
        yield { path, size: 0, kind: "skipped", skipped: "vcs", skippedEntries: count, skippedMore: more };
        continue;
      }
      if (dir) {
        if (frame.depth + 1 > this.#maxDepth) {
          yield { path, size: 0, kind: "skipped", skipped: "depth" };
          continue;
        }
        const child = await this.#frame(path, frame.depth + 1, at);
        if (child instanceof ModelgateError)
          yield { path, size: 0, kind: "unreadable", error: child.message, errorCode: child.code };
        else stack.push(child);
        continue;
      }
      if (stat === undefined) continue;
      if (stat.isSymbolicLink()) {
        const linkTarget = await readlink(at).catch(() => "");
        yield { path, size: 0, kind: "symlink", linkTarget };
      } else {
        yield {
          path,
          size: Number(stat.size),
          kind: stat.isFile() ? "file" : "special",
          dev: stat.dev,
          ino: stat.ino,
        };
      }
    }
  }

  /**
   * Opens one folder (below the top: by its parent's descriptor path `at`, never through a link),
   * reads and sorts its names; an error is why it could not be read.
   */
  async #frame(rel: string, depth: number, at: Buffer | undefined): Promise<Frame | ModelgateError> {
    const names: FrameName[] = [];
    let handle: FileHandle | undefined;
    try {
      let base = join(this.localDir, rel);
      if (FOLDER_FD_DIR !== undefined) {
        // The scanned directory itself is followed if it is a link (the caller named it).
        handle = await open(at ?? this.localDir, at === undefined ? TOP_OPEN_FLAGS : FOLDER_OPEN_FLAGS);
        const seen = await handle.stat({ bigint: true });
        if (!seen.isDirectory()) throw new ModelgateError("IO", `${rel}: no longer a folder; not listed`);
        if (at === undefined && this.#expect !== undefined) {
          if (seen.dev !== this.#expect.dev || seen.ino !== this.#expect.ino) {
            throw new DirectoryChangedError(this.localDir);
          }
        }
        base = `${FOLDER_FD_DIR}/${handle.fd}`;
      } else if (at === undefined && this.#expect !== undefined) {
        const seen = await stat(this.localDir, { bigint: true });
        if (seen.dev !== this.#expect.dev || seen.ino !== this.#expect.ino) {
          throw new DirectoryChangedError(this.localDir);
        }
      }
      for await (const dirent of await opendir(base, BUFFER_NAMES)) {
        if (names.length >= this.#maxFiles) {
          throw new ModelgateError(
            "BUDGET_EXCEEDED",
            `${rel === "" ? "the scanned directory" : rel} holds more than ${this.#maxFiles} entries (maxFiles): not listed`,
            { budget: "maxFiles" },
          );
        }
        const raw = dirent.name as unknown as Buffer;
        names.push({ ...decodeStoredName(raw), raw, dir: dirent.isDirectory() });
      }
      names.sort((a, b) => byCodePoint(a.name, b.name));
      return { rel, depth, names, next: 0, base, handle };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      if (at === undefined && error instanceof DirectoryChangedError) throw error;
      return toModelgateError(error);
    }
  }

  /** @inheritdoc */
  open(path: string, options: OpenOptions = {}): Promise<ByteSource> {
    return FileSource.open(join(this.localDir, path), openFileOptions(options));
  }
}

/** {@link FileSource.open} options for a listed entry. */
function openFileOptions(options: OpenOptions): OpenFileOptions {
  const out: OpenFileOptions = {};
  if (options.signal !== undefined) out.signal = options.signal;
  const entry = options.entry;
  if (entry !== undefined) out.expect = { dev: entry.dev, ino: entry.ino, size: entry.size };
  return out;
}

/** Counts the entries below a folder (links not followed), up to {@link MAX_SKIPPED_COUNT}. */
async function countEntries(dir: string, signal: AbortSignal): Promise<{ count: number; more: boolean }> {
  const pending = [dir];
  let count = 0;
  while (pending.length > 0) {
    signal.throwIfAborted();
    const next = pending.pop()!;
    try {
      for await (const dirent of await opendir(next)) {
        if (++count >= MAX_SKIPPED_COUNT) return { count, more: true };
        if (dirent.isDirectory()) pending.push(join(next, dirent.name));
      }
    } catch {
      // unreadable parts are simply not counted
    }
  }
  return { count, more: false };
}

/** One local file, reported under its base name. */
export class FileRoot implements ScanRoot {
  readonly target;
  readonly localDir: string;
  readonly #path: string;
  readonly #expect: RootIdentity | undefined;
  #real: string | undefined;

  /**
   * @param path - the file to scan
   * @param options - `expect`: the file as the caller checked it (device and inode from `stat`);
   *   a file listed with another identity fails the listing with a {@link FileChangedError}
   */
  constructor(path: string, options: { expect?: RootIdentity } = {}) {
    this.#path = resolve(path);
    this.localDir = resolve(path, "..");
    this.target = { kind: "file" as const, name: path };
    this.#expect = options.expect;
  }

  /** @inheritdoc */
  async *list(): AsyncIterable<RootEntry> {
    let stat: BigIntStats;
    try {
      // The file the caller names is followed if it is a link (as `rootFor` does); what it points
      // to is then opened without following anything.
      this.#real = await realpath(this.#path);
      stat = await lstat(this.#real, { bigint: true });
    } catch (error) {
      throw toModelgateError(error);
    }
    if (this.#expect !== undefined && (stat.dev !== this.#expect.dev || stat.ino !== this.#expect.ino)) {
      throw new FileChangedError(this.#path, "another file took its place after it was checked; not scanned");
    }
    const path = basename(this.#path);
    if (!stat.isFile()) {
      yield { path, size: Number(stat.size), kind: "special" };
      return;
    }
    yield { path, size: Number(stat.size), kind: "file", dev: stat.dev, ino: stat.ino };
  }

  /** @inheritdoc */
  open(_path: string, options: OpenOptions = {}): Promise<ByteSource> {
    return FileSource.open(this.#real ?? this.#path, openFileOptions(options));
  }
}

/** A caller's bytes or ByteSource, reported under the name the caller gives. */
export class SourceRoot implements ScanRoot {
  readonly target;
  readonly #source: ByteSource;
  readonly #name: string;

  /**
   * @param source - the bytes
   * @param name - the name to report (a hint for the sniffer too)
   * @param kind - whether the caller passed bytes or a source
   */
  constructor(source: ByteSource, name: string, kind: "bytes" | "source") {
    if (name === "" || name.includes("!")) {
      throw new ModelgateError("INVALID_ARGUMENT", `invalid name for scanned bytes: "${name}"`);
    }
    this.#source = source;
    this.#name = name;
    this.target = { kind, name };
  }

  /** @inheritdoc */
  async *list(): AsyncIterable<RootEntry> {
    yield { path: this.#name, size: this.#source.size, kind: "file" };
  }

  /** @inheritdoc */
  open(): Promise<ByteSource> {
    // The caller owns the source: hand out a view that does not close it.
    const inner = this.#source;
    return Promise.resolve({ size: inner.size, read: (offset, length) => inner.read(offset, length) });
  }
}

/** What `scan` accepts as a target. */
export type ScanTarget =
  | string
  | { readonly hub: HubTarget }
  | { readonly oci: OciTarget }
  | { readonly url: HttpTarget }
  | { readonly s3: S3Target }
  | { readonly bytes: Uint8Array; readonly name: string }
  | { readonly source: ByteSource; readonly name: string }
  | (ByteSource & { readonly name?: string });

/** Options of {@link rootFor}. */
export interface RootOptions {
  /** Aborts what building the root needs (resolving a Hub revision). */
  signal?: AbortSignal;
  /** Deepest folder a directory walk descends into (see `Limits.maxDirectoryDepth`). */
  maxDirectoryDepth?: number;
  /** Most entries read from one folder of a directory walk (see `Limits.maxFiles`). */
  maxFiles?: number;
  /**
   * For a local path: the file or directory as the caller checked it (`stat` after `realpath`).
   * The root refuses to list anything else ({@link DirectoryChangedError}, {@link FileChangedError}),
   * closing the gap between a caller's check of a path and the scan of it.
   */
  expect?: RootIdentity;
  /** The scan's pins: a remote root takes a pin for a file it lists as that file's pinned digest. */
  pins?: Readonly<Record<string, string>> | undefined;
  /**
   * The scan's `limits.maxFileBytes`: a URL root never downloads a file over it (even when the
   * server ignores Range and sends the body whole), so the engine reports it `scan/too-large`.
   */
  maxFileBytes?: number | undefined;
  /** Whether the scan analyses a path (`include`/`exclude`): a URL root does not download the others. */
  selected?: ((path: string) => boolean) | undefined;
}

/**
 * Builds the scan root for a target.
 * @param target - a path, a Hub repository, bytes with a name, or a ByteSource
 * @param options - abort signal
 */
export async function rootFor(target: ScanTarget, options: RootOptions = {}): Promise<ScanRoot> {
  if (typeof target === "string") {
    if (target === "") throw new ModelgateError("INVALID_ARGUMENT", "empty path");
    let isDir: boolean;
    try {
      // The target the caller names is followed if it is a link; links inside it are not.
      isDir = (await stat(target)).isDirectory();
    } catch (error) {
      const e = toModelgateError(error);
      throw new ModelgateError(e.code === "IO" ? "INVALID_ARGUMENT" : e.code, `cannot scan ${target}: ${e.message}`, {
        cause: error,
      });
    }
    const expect = options.expect === undefined ? {} : { expect: options.expect };
    if (!isDir) return new FileRoot(target, expect);
    return new DirectoryRoot(target, {
      ...(options.maxDirectoryDepth === undefined ? {} : { maxDirectoryDepth: options.maxDirectoryDepth }),
      ...(options.maxFiles === undefined ? {} : { maxFiles: options.maxFiles }),
      ...expect,
    });
  }
  if ("hub" in target && typeof target.hub === "object" && target.hub !== null) {
    // Remote sources (and their clients) load only when a target needs them (start-up time).
    const { HubRoot } = await import("./hub/root.js");
    return HubRoot.open(target.hub, options.signal);
  }
  if ("url" in target && typeof target.url === "object" && target.url !== null) {
    const { HttpRoot } = await import("./http/root.js");
    return new HttpRoot(target.url, {
      signal: options.signal,
      pins: options.pins,
      maxFileBytes: options.maxFileBytes,
      selected: options.selected,
    });
  }
  if ("s3" in target && typeof target.s3 === "object" && target.s3 !== null) {
    const { S3Root } = await import("./s3/root.js");
    return new S3Root(target.s3, { signal: options.signal, pins: options.pins });
  }
  if ("oci" in target && typeof target.oci === "object" && target.oci !== null) {
    const { ociRoot } = await import("./oci/root.js");
    return ociRoot(target.oci, options.signal);
  }
  if ("bytes" in target && target.bytes instanceof Uint8Array) {
    return new SourceRoot(new BufferSource(target.bytes), target.name, "bytes");
  }
  if ("source" in target && typeof target.source === "object") {
    return new SourceRoot(target.source, target.name, "source");
  }
  if ("read" in target && typeof target.read === "function" && typeof target.size === "number") {
    return new SourceRoot(target, target.name ?? "input", "source");
  }
  throw new ModelgateError(
    "INVALID_ARGUMENT",
    "scan target must be a path, { hub }, { url }, { s3 }, { bytes, name }, or a ByteSource",
  );
}
