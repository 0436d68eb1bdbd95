/**
 * Reading a file beside the one being analysed, for formats whose role is given by a companion
 * file (IR weights beside their `.xml`, checkpoint shards beside their `.index`). Only top-level
 * files have siblings; the sibling is opened through the scan root (its link and identity checks
 * apply) and only its first and last bytes are read.
 * @module
 */
import type { AnalysisContext } from "./analyzer.js";
import { readClamped } from "./byte-source.js";

/** What is read of a sibling. */
export interface SiblingBytes {
  /** Its first bytes (at most the requested count). */
  readonly head: Uint8Array;
  /** Its last bytes (at most the requested count). */
  readonly tail: Uint8Array;
  /** Its size. */
  readonly size: number;
}

/**
 * The first and last bytes of the file at `path` in the root of a top-level file's scan, or
 * undefined when the analysed file is a member, the sibling does not exist or cannot be read.
 * @param ctx - the analysis context of the file that has the sibling
 * @param path - the sibling's path in the root
 * @param bytes - how many bytes to read at each end
 */
export async function readSibling(
  ctx: AnalysisContext,
  path: string,
  bytes: number,
): Promise<SiblingBytes | undefined> {
  if (ctx.depth !== 0) return undefined;
  try {
    const source = await ctx.root.open(path, { signal: ctx.signal });
    try {
      const head = await readClamped(source, 0, bytes);
      const tail = source.size <= bytes ? head : await readClamped(source, source.size - bytes, bytes);
      return { head, tail, size: source.size };
    } finally {
      await source.close?.();
    }
  } catch {
    return undefined;
  }
}
