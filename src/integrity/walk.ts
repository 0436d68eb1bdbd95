/**
 * Listing the files of a model directory for lock files and signatures: POSIX relative paths,
 * symbolic links never followed while walking (and a link whose target leaves the root is never
 * described as usable, whatever a signature allows), special files never opened, budgets enforced.
 * @module
 */
import type { Dirent, Stats } from "node:fs";
import { lstat, readdir, readlink, realpath } from "node:fs/promises";
import { basename, isAbsolute, join, relative, sep } from "node:path";
import { ModelgateError, toModelgateError } from "../core/errors.js";

/** A listed path. */
export interface ListedEntry {
  /** POSIX path relative to the root (the basename for a single-file root). */
  readonly path: string;
  /** Absolute (or root-joined) path on disk. */
  readonly fsPath: string;
  /** What the path is; directories are never listed. */
  readonly kind: "file" | "symlink" | "special";
  /** Size in bytes (of the link target for a symlink to a regular file inside the root, else 0). */
  readonly size: number;
  /** For a symlink: its target as stored. */
  readonly linkTarget?: string;
  /**
   * For a symlink: what the target is (`missing` when dangling, `outside` when it resolves outside
   * the listed root: such a target is never examined further, and never hashed or read).
   */
  readonly targetKind?: "file" | "directory" | "special" | "missing" | "outside";
  /**
   * For a symlink to a regular file inside the root: the target's resolved path (no link left in
   * it), the path to open instead of the link.
   */
  readonly targetPath?: string;
}

/** Options of {@link listTree}. */
export interface ListTreeOptions {
  /** Whether a relative POSIX path (file or directory) is excluded, subtree included. */
  ignore?: (path: string) => boolean;
  /** Maximum entries listed (default 1,000,000). */
  maxEntries?: number;
  /** Maximum directory depth (default 64). */
  maxDepth?: number;
  /** Stops the walk. */
  signal?: AbortSignal;
}

/**
 * Compares two strings by Unicode code point (the order OMS and lock files use), unlike the
 * default UTF-16 order of `Array.prototype.sort`.
 * @param a - first string
 * @param b - second string
 */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Whether `path` is `root` or below it (both absolute and resolved).
 * @param root - the containing directory
 * @param path - the candidate
 */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Describes a symbolic link's target without opening it. The link is resolved (`realpath`) and a
 * target outside `rootReal` is `outside`, examined no further.
 * @param fsPath - the link
 * @param rootReal - the resolved root the target must stay in
 */
async function describeLink(
  fsPath: string,
  rootReal: string,
): Promise<Pick<ListedEntry, "size" | "targetKind" | "targetPath">> {
  let real: string;
  try {
    real = await realpath(fsPath);
  } catch {
    return { size: 0, targetKind: "missing" };
  }
  if (!isWithin(rootReal, real)) return { size: 0, targetKind: "outside" };
  try {
    const target = await lstat(real);
    if (target.isFile()) return { size: target.size, targetKind: "file", targetPath: real };
    if (target.isDirectory()) return { size: 0, targetKind: "directory" };
    return { size: 0, targetKind: "special" };
  } catch {
    return { size: 0, targetKind: "missing" };
  }
}

/** The resolved path and status of a link to a directory, or undefined for any other link. */
async function resolvedDirectory(link: string): Promise<[string, Stats] | undefined> {
  try {
    const real = await realpath(link);
    const s = await lstat(real);
    return s.isDirectory() ? [real, s] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lists a directory tree (or a single file) in code-point order of the relative paths.
 * @param givenRoot - a directory (or a link to one: the directory is listed), or a regular file
 * @param options - ignore predicate, budgets, signal
 * @throws ModelgateError `IO` when the root cannot be read, `BUDGET_EXCEEDED` past a budget
 */
export async function listTree(givenRoot: string, options: ListTreeOptions = {}): Promise<ListedEntry[]> {
  const maxEntries = options.maxEntries ?? 1_000_000;
  const maxDepth = options.maxDepth ?? 64;
  let root = givenRoot;
  let rootStat: Stats;
  try {
    rootStat = await lstat(root);
  } catch (error) {
    throw toModelgateError(error);
  }
  // A root given as a link to a directory (`/models/current -> v3`) is the directory: resolved
  // once, here, as the scan's directory walk and `stat` do. Links inside it stay links.
  if (rootStat.isSymbolicLink()) {
    const resolved = await resolvedDirectory(root);
    if (resolved !== undefined) [root, rootStat] = resolved;
  }
  if (!rootStat.isDirectory()) {
    const name = basename(root);
    if (rootStat.isFile()) return [{ path: name, fsPath: root, kind: "file", size: rootStat.size }];
    if (rootStat.isSymbolicLink()) {
      // A single-file root named by the caller: its target may live anywhere (the caller chose it).
      const linkTarget = await readlink(root);
      let real: string | undefined;
      try {
        real = await realpath(root);
      } catch {
        real = undefined;
      }
      const described = real === undefined ? undefined : await describeLink(root, real);
      return [
        { path: name, fsPath: root, kind: "symlink", linkTarget, ...(described ?? { size: 0, targetKind: "missing" }) },
      ];
    }
    return [{ path: name, fsPath: root, kind: "special", size: 0 }];
  }
  let rootReal: string;
  try {
    rootReal = await realpath(root);
  } catch (error) {
    throw toModelgateError(error);
  }
  const out: ListedEntry[] = [];
  const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
    options.signal?.throwIfAborted();
    if (depth > maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `directory nesting deeper than ${maxDepth} at ${prefix}`, {
        budget: "maxDepth",
      });
    }
    let dirents: Dirent<Buffer>[];
    try {
      // Names as stored: one that is not valid UTF-8 would decode to another file's name.
      dirents = await readdir(dir, { withFileTypes: true, encoding: "buffer" });
    } catch (error) {
      throw toModelgateError(error);
    }
    for (const dirent of dirents) {
      const name = dirent.name.toString("utf8");
      if (!Buffer.from(name, "utf8").equals(dirent.name)) {
        const shown = prefix === "" ? name : `${prefix}/${name}`;
        throw new ModelgateError(
          "IO",
          `${shown}: a name stored on disk is not valid UTF-8 (shown with U+FFFD); it cannot be listed, hashed or signed faithfully: rename it`,
        );
      }
      const rel = prefix === "" ? name : `${prefix}/${name}`;
      if (options.ignore?.(rel)) continue;
      const fsPath = join(dir, name);
      if (dirent.isDirectory()) {
        await walk(fsPath, rel, depth + 1);
        continue;
      }
      if (out.length >= maxEntries) {
        throw new ModelgateError("BUDGET_EXCEEDED", `more than ${maxEntries} files under ${root}`, {
          budget: "maxEntries",
        });
      }
      if (dirent.isFile()) {
        const s = await lstat(fsPath).catch((error: unknown) => {
          throw toModelgateError(error);
        });
        out.push({ path: rel, fsPath, kind: "file", size: s.size });
      } else if (dirent.isSymbolicLink()) {
        const linkTarget = await readlink(fsPath).catch((error: unknown) => {
          throw toModelgateError(error);
        });
        out.push({ path: rel, fsPath, kind: "symlink", linkTarget, ...(await describeLink(fsPath, rootReal)) });
      } else {
        out.push({ path: rel, fsPath, kind: "special", size: 0 });
      }
    }
  };
  await walk(root, "", 0);
  return out.sort((a, b) => compareCodePoints(a.path, b.path));
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, keeping the order of results.
 * @param items - inputs
 * @param limit - maximum concurrency (at least 1)
 * @param fn - the work
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, run));
  return results;
}
