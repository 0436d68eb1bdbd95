/**
 * Archive-level reading for zip-based formats whose analysis needs the member list and one small
 * member (a manifest, a schema): the zip container already hands every member to the engine, so
 * this only re-reads the central directory and the few bytes of the member asked for. Shared by
 * the TorchServe and skops analyzers.
 * @module
 */

import { budgetOf } from "../../containers/budget.js";
import { openZipEntry } from "../../containers/zip/member.js";
import { readZipDirectory, type ZipEntry } from "../../containers/zip/reader.js";
import type { AnalysisContext } from "../../core/analyzer.js";
import { readExact } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import type { JsonParseOptions } from "../../core/json.js";

/** The archive's file members (directories left out), in central directory order. */
export interface ZipListing {
  readonly entries: readonly ZipEntry[];
  /** Every member name (directories included), as the zip flavour sees them. */
  readonly names: readonly string[];
}

/**
 * Reads the central directory again. A directory that cannot be read was reported by the zip
 * analyzer (the file is already invalid): undefined then, so no finding is reported twice.
 * @param ctx - the analysis context of the zip
 */
export async function listZip(ctx: AnalysisContext): Promise<ZipListing | undefined> {
  try {
    const directory = await readZipDirectory(ctx.source, { maxEntries: ctx.limits.maxEntries, signal: ctx.signal });
    return {
      entries: directory.entries.filter((e) => !e.isDirectory),
      names: directory.entries.map((e) => e.name),
    };
  } catch (error) {
    if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) return undefined;
    throw error;
  }
}

/**
 * Reads one member whole, at most `max` bytes after decompression (charged to the scan's budget).
 * A member flagged encrypted is read as plain bytes: if it really is encrypted the text will not
 * parse, and the caller reports it malformed.
 * @param ctx - the analysis context of the zip
 * @param entry - the member
 * @param max - the largest member read (`BUDGET_EXCEEDED` past it)
 * @param budget - the budget's name, for the error
 */
export async function readMember(
  ctx: AnalysisContext,
  entry: ZipEntry,
  max: number,
  budget: string,
): Promise<Uint8Array> {
  if (entry.uncompressedSize > max || (entry.method === 0 && entry.compressedSize > max)) {
    throw new ModelgateError("BUDGET_EXCEEDED", `member ${JSON.stringify(entry.name)} is larger than ${max} bytes`, {
      budget,
    });
  }
  const content = await openZipEntry(ctx.source, entry, budgetOf(ctx), undefined, { ignoreEncryptionFlag: true });
  try {
    return await readExact(content, 0, content.size);
  } finally {
    await content.close?.();
  }
}

/**
 * The extension of a name (lowercase, without the dot).
 * @param name - file or member name
 */
export function lowerExtension(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot < 0 ? "" : base.slice(dot + 1).toLowerCase();
}

/** How a JSON member (a manifest) is read: byte and parser budgets. */
export interface JsonMemberOptions {
  /** Most bytes read. */
  readonly maxBytes: number;
  /** Budget name for the error when the member is larger. */
  readonly budget: string;
  /** The strict parser's budgets. */
  readonly json: Omit<JsonParseOptions, "checkpoint" | "allowNonFinite" | "allowLoneSurrogates">;
}
