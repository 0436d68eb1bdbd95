/**
 * Notes whether a file's analysis looked beyond the file: a sibling opened, a folder listed, the
 * root's directory or target read (opening the file itself is the only use that does not count). Such a result depends on where the bytes were found (an ONNX model's
 * external data, a checkpoint shard beside its index, IR weights beside their XML), so the engine
 * does not store it in the verdict cache under the content's digest.
 * @module
 */
import type { ScanRoot } from "../core/root.js";

/** A root handed to one file's analyzers, and whether they used it beyond that file. */
export interface WatchedRoot {
  /** The root the analyzers see: the scan's root, with its accesses noted. */
  readonly root: ScanRoot;
  /** Whether an analyzer used the root for anything but opening the file itself. */
  used(): boolean;
}

/**
 * Wraps a scan root for the analysis of the file at `path`.
 * @param root - the scan's root
 * @param path - the analysed file's path in the root
 */
export function watchContext(root: ScanRoot, path: string): WatchedRoot {
  let used = false;
  const proxy = new Proxy(root, {
    get(target, property) {
      if (property === "open") {
        return (other: string, options?: Parameters<ScanRoot["open"]>[1]) => {
          if (other !== path) used = true;
          return target.open(other, options);
        };
      }
      // Anything else an analyzer reads of the root (another file, a listing, the local folder,
      // even the target's kind or an object a module-level cache is keyed by) may make the result
      // depend on where the bytes were found.
      used = true;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { root: proxy, used: () => used };
}
