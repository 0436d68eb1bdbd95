/**
 * Scan roots: a directory, a single file, an in-memory buffer or a caller's ByteSource.
 * @module
 */
import { lstat, opendir, readlink, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { ModelgateError, toModelgateError } from "../errors.js";
import type { RootEntry, ScanRoot } from "../scan/types.js";
import { BufferSource, type ByteSource } from "./byte-source.js";
import { FileSource } from "./file.js";
import { HubRoot, type HubTarget } from "./hub/root.js";

/** Directory names never descended into: version-control internals are not model content. */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set([".git", ".hg", ".svn"]);

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A local directory, walked without following symbolic links. */
export class DirectoryRoot implements ScanRoot {
  readonly target;
  readonly localDir: string;

  /** @param dir - the directory to scan */
  constructor(dir: string) {
    this.localDir = resolve(dir);
    this.target = { kind: "directory" as const, name: dir };
  }

  /** @inheritdoc */
  async *list(signal: AbortSignal): AsyncIterable<RootEntry> {
    yield* this.#walk("", signal);
  }

  async *#walk(rel: string, signal: AbortSignal): AsyncGenerator<RootEntry> {
    signal.throwIfAborted();
    const names: Array<{ name: string; dir: boolean; link: boolean; file: boolean }> = [];
    let handle: Awaited<ReturnType<typeof opendir>>;
    try {
      handle = await opendir(join(this.localDir, rel));
    } catch (error) {
      yield { path: rel === "" ? "." : rel, size: 0, kind: "unreadable", error: toModelgateError(error).message };
      return;
    }
    for await (const dirent of handle) {
      names.push({
        name: dirent.name,
        dir: dirent.isDirectory(),
        link: dirent.isSymbolicLink(),
        file: dirent.isFile(),
      });
    }
    names.sort((a, b) => byCodePoint(a.name, b.name));
    for (const entry of names) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const full = join(this.localDir, path);
      if (entry.dir) {
        if (!SKIPPED_DIRECTORIES.has(entry.name)) yield* this.#walk(path, signal);
      } else if (entry.link) {
        const linkTarget = await readlink(full).catch(() => "");
        yield { path, size: 0, kind: "symlink", linkTarget };
      } else {
        const stat = await lstat(full);
        yield { path, size: stat.size, kind: entry.file ? "file" : "special" };
      }
    }
  }

  /** @inheritdoc */
  open(path: string): Promise<ByteSource> {
    return FileSource.open(join(this.localDir, path));
  }
}

/** One local file, reported under its base name. */
export class FileRoot implements ScanRoot {
  readonly target;
  readonly localDir: string;
  readonly #path: string;

  /** @param path - the file to scan */
  constructor(path: string) {
    this.#path = resolve(path);
    this.localDir = resolve(path, "..");
    this.target = { kind: "file" as const, name: path };
  }

  /** @inheritdoc */
  async *list(): AsyncIterable<RootEntry> {
    const stat = await lstat(this.#path).catch((error: unknown) => {
      throw toModelgateError(error);
    });
    yield { path: basename(this.#path), size: stat.size, kind: stat.isFile() ? "file" : "special" };
  }

  /** @inheritdoc */
  open(): Promise<ByteSource> {
    return FileSource.open(this.#path);
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
  | { readonly bytes: Uint8Array; readonly name: string }
  | { readonly source: ByteSource; readonly name: string }
  | (ByteSource & { readonly name?: string });

/** Options of {@link rootFor}. */
export interface RootOptions {
  /** Aborts what building the root needs (resolving a Hub revision). */
  signal?: AbortSignal;
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
    return isDir ? new DirectoryRoot(target) : new FileRoot(target);
  }
  if ("hub" in target && typeof target.hub === "object" && target.hub !== null) {
    return HubRoot.open(target.hub, options.signal);
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
  throw new ModelgateError("INVALID_ARGUMENT", "scan target must be a path, { hub }, { bytes, name }, or a ByteSource");
}
