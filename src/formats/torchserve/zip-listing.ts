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
import type { RuleId } from "../../core/findings.js";
import { decodeUtf8Strict, type JsonParseOptions, type JsonValue, parseStrictJson } from "../../core/json.js";

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

/** How {@link readJsonMember} reads a JSON member and what it reports when it cannot. */
export interface JsonMemberOptions {
  /** Most bytes read. */
  readonly maxBytes: number;
  /** Budget name for the error when the member is larger. */
  readonly budget: string;
  /** The strict parser's budgets. */
  readonly json: Omit<JsonParseOptions, "checkpoint" | "allowNonFinite" | "allowLoneSurrogates">;
  /** Rule of the finding when the member cannot be read (an `invalidates` rule). */
  readonly ruleId: RuleId;
}

/**
 * Reads a JSON member of a zip the way Python's `json` does (NaN and lone surrogates accepted) with
 * the strict parser and its budgets. A member that is malformed, truncated, over budget or in an
 * unsupported encoding is reported under `options.ruleId` and yields undefined.
 * @param ctx - the zip's analysis context
 * @param entry - the member
 * @param options - budgets and the rule to report under
 */
export function readJsonMember(
  ctx: AnalysisContext,
  entry: ZipEntry,
  options: JsonMemberOptions,
): Promise<JsonValue | undefined> {
  return readJsonWith(ctx, entry.name, () => readMember(ctx, entry, options.maxBytes, options.budget), options);
}

/**
 * Parses JSON bytes the way Python's `json` does (NaN and lone surrogates accepted) with the strict
 * parser and its budgets, whatever container they come from (a zip member, a tar member, a file).
 * Bytes that cannot be read or parsed (malformed, truncated, over budget, unsupported encoding) are
 * reported under `options.ruleId` and yield undefined.
 * @param ctx - where findings go
 * @param name - the member or file, for the finding
 * @param read - reads the bytes (it enforces `options.maxBytes`)
 * @param options - budgets and the rule to report under
 */
export async function readJsonWith(
  ctx: Pick<AnalysisContext, "report" | "checkpoint">,
  name: string,
  read: () => Promise<Uint8Array>,
  options: JsonMemberOptions,
): Promise<JsonValue | undefined> {
  try {
    const bytes = await read();
    return parseStrictJson(decodeUtf8Strict(bytes), {
      ...options.json,
      allowNonFinite: true,
      allowLoneSurrogates: true,
      checkpoint: () => ctx.checkpoint(),
    }).value;
  } catch (error) {
    if (
      isModelgateError(error, "MALFORMED") ||
      isModelgateError(error, "TRUNCATED") ||
      isModelgateError(error, "BUDGET_EXCEEDED") ||
      isModelgateError(error, "UNSUPPORTED")
    ) {
      ctx.report({
        ruleId: options.ruleId,
        message: `${name} could not be read: ${error.message}`,
        evidence: { member: name, code: error.code },
      });
      return undefined;
    }
    throw error;
  }
}
