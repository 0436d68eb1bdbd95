/**
 * Scan roots: a directory, a single file, an in-memory buffer or a caller's ByteSource.
 * @module
 */
import type { BigIntStats } from "node:fs";
import { lstat, opendir, readlink, realpath, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { BufferSource, type ByteSource } from "../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../core/errors.js";
import { DEFAULT_LIMITS } from "../core/limits.js";
import type { OpenOptions, RootEntry, ScanRoot } from "../core/root.js";
import { FileSource, type OpenFileOptions } from "./file.js";
import type { HttpTarget } from "./http/root.js";
import type { HubTarget } from "./hub/root.js";
import type { OciTarget } from "./oci/root.js";
import type { S3Target } from "./s3/root.js";

/**
 * Folder names skipped at the top of a scanned directory: a model repository's own version-control
 * internals, which no loader reads. They are reported (an info finding with the number of entries
 * skipped); below the top, folders of these names are scanned like any other.
 */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set([".git", ".hg", ".svn"]);

/** Entries counted under a skipped folder before the count stops (`skippedMore`). */
export const MAX_SKIPPED_COUNT = 100_000;

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Options of {@link DirectoryRoot}. */
export interface DirectoryRootOptions {
  /** Deepest folder descended into (default {@link DEFAULT_LIMITS}.maxDirectoryDepth). */
  maxDirectoryDepth?: number;
}

interface Frame {
  readonly rel: string;
  readonly depth: number;
  readonly names: ReadonlyArray<{ readonly name: string; readonly dir: boolean }>;
  next: number;
}

/**
 * A local directory, walked without following symbolic links, iteratively (an explicit stack, so
 * nesting depth costs memory, not call stack) and no deeper than `maxDirectoryDepth`.
 */
export class DirectoryRoot implements ScanRoot {
  readonly target;
  readonly localDir: string;
  readonly #maxDepth: number;

  /**
   * @param dir - the directory to scan
   * @param options - depth budget
   */
  constructor(dir: string, options: DirectoryRootOptions = {}) {
    this.localDir = resolve(dir);
    this.target = { kind: "directory" as const, name: dir };
    this.#maxDepth = options.maxDirectoryDepth ?? DEFAULT_LIMITS.maxDirectoryDepth;
  }

  /** @inheritdoc */
  async *list(signal: AbortSignal): AsyncIterable<RootEntry> {
    signal.throwIfAborted();
    const top = await this.#frame("", 0);
    if (typeof top === "string") {
      yield { path: ".", size: 0, kind: "unreadable", error: top };
      return;
    }
    const stack: Frame[] = [top];
    while (stack.length > 0) {
      signal.throwIfAborted();
      const frame = stack[stack.length - 1]!;
      const item = frame.names[frame.next++];
      if (item === undefined) {
        stack.pop();
        continue;
      }
      const path = frame.rel === "" ? item.name : `${frame.rel}/${item.name}`;
      const full = join(this.localDir, path);
      let dir = item.dir;
      let stat: BigIntStats | undefined;
      if (!dir) {
        try {
          stat = await lstat(full, { bigint: true });
        } catch (error) {
          yield { path, size: 0, kind: "unreadable", error: toModelgateError(error).message };
          continue;
        }
        dir = stat.isDirectory();
      }
      if (dir) {
        if (frame.depth === 0 && SKIPPED_DIRECTORIES.has(item.name)) {
          const { count, more } = await countEntries(full, signal);
          yield { path, size: 0, kind: "skipped", skipped: "vcs", skippedEntries: count, skippedMore: more };
          continue;
        }
        if (frame.depth + 1 > this.#maxDepth) {
          yield { path, size: 0, kind: "skipped", skipped: "depth" };
          continue;
        }
        const child = await this.#frame(path, frame.depth + 1);
        if (typeof child === "string") yield { path, size: 0, kind: "unreadable", error: child };
        else stack.push(child);
        continue;
      }
      if (stat === undefined) continue;
      if (stat.isSymbolicLink()) {
        const linkTarget = await readlink(full).catch(() => "");
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

  /** Reads and sorts one folder's names; a string is why it could not be read. */
  async #frame(rel: string, depth: number): Promise<Frame | string> {
    const names: Array<{ name: string; dir: boolean }> = [];
    try {
      const handle = await opendir(join(this.localDir, rel));
      for await (const dirent of handle) names.push({ name: dirent.name, dir: dirent.isDirectory() });
    } catch (error) {
      return toModelgateError(error).message;
    }
    names.sort((a, b) => byCodePoint(a.name, b.name));
    return { rel, depth, names, next: 0 };
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
  #real: string | undefined;

  /** @param path - the file to scan */
  constructor(path: string) {
    this.#path = resolve(path);
    this.localDir = resolve(path, "..");
    this.target = { kind: "file" as const, name: path };
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
  /** The scan's pins: a remote root takes a pin for a file it lists as that file's pinned digest. */
  pins?: Readonly<Record<string, string>> | undefined;
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
    if (!isDir) return new FileRoot(target);
    return new DirectoryRoot(
      target,
      options.maxDirectoryDepth === undefined ? {} : { maxDirectoryDepth: options.maxDirectoryDepth },
    );
  }
  if ("hub" in target && typeof target.hub === "object" && target.hub !== null) {
    // Remote sources (and their clients) load only when a target needs them (start-up time).
    const { HubRoot } = await import("./hub/root.js");
    return HubRoot.open(target.hub, options.signal);
  }
  if ("url" in target && typeof target.url === "object" && target.url !== null) {
    const { HttpRoot } = await import("./http/root.js");
    return new HttpRoot(target.url, { signal: options.signal, pins: options.pins });
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
