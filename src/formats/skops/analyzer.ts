/**
 * The skops analyzer: runs on every zip (after the zip container, which hands every member to the
 * engine: the `.npy` arrays are read as NumPy there) and judges the `schema.json` that
 * `skops.io.load` would read. skops only opens `schema.json` with Python's `zipfile` and ignores
 * the file's name and its other members, so the schema is looked up as `zipfile` names members
 * (cut at a NUL, directory bits ignored, the last of repeated names winning), and a zip that is
 * not named or shaped like skops is judged as soon as its schema is a skops tree (`__loader__` and
 * `protocol` at its root).
 * @module
 */

import { readZipDirectory, type ZipEntry } from "../../containers/zip/reader.js";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import { JsonObject, type JsonValue, parseStrictJson } from "../../core/json.js";
import { decodeJsonBytes } from "../../core/json-bytes.js";
import { lowerExtension, readMember } from "../torchserve/zip-listing.js";
import { pythonMemberName, SCHEMA } from "./names.js";
import { analyzeSchema } from "./schema.js";

/** The largest schema read (forests of thousands of trees stay well below). */
const MAX_SCHEMA_BYTES = 64 << 20;
/** Copies of a repeated `schema.json` judged at most (the last, the first, then the others from the end). */
const MAX_COPIES = 8;
/** Schema bytes read in one archive at most, all copies together (the last copy is always read). */
const MAX_TOTAL_BYTES = 128 << 20;

/** Errors that make a copy unreadable (others, such as a timeout, end the analysis). */
const READ_ERRORS: ReadonlySet<string> = new Set(["MALFORMED", "TRUNCATED", "BUDGET_EXCEEDED", "UNSUPPORTED"]);

/** Every central directory entry (directories included: `zipfile` reads them by name like files). */
async function listEntries(ctx: AnalysisContext): Promise<readonly ZipEntry[] | undefined> {
  try {
    const directory = await readZipDirectory(ctx.source, { maxEntries: ctx.limits.maxEntries, signal: ctx.signal });
    return directory.entries;
  } catch (error) {
    // reported by the zip analyzer already (the file is invalid)
    if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) return undefined;
    throw error;
  }
}

/**
 * The copies to judge, most important first: the last (Python's `zipfile` reads it), the first
 * (readers that keep the first name), then the others from the end, within the budgets.
 */
function copiesToJudge(schemas: readonly ZipEntry[]): ZipEntry[] {
  const order = [schemas.length - 1, 0];
  for (let i = schemas.length - 2; i > 0; i--) order.push(i);
  const picked: ZipEntry[] = [];
  let bytes = 0;
  for (const i of new Set(order)) {
    const entry = schemas[i] as ZipEntry;
    if (picked.length >= MAX_COPIES) break;
    if (picked.length > 0 && bytes + entry.uncompressedSize > MAX_TOTAL_BYTES) continue;
    bytes += entry.uncompressedSize;
    picked.push(entry);
  }
  return picked;
}

/** Whether a parsed schema is a skops tree: what `skops.io.load` reads before it builds anything. */
function looksLikeSkops(value: JsonValue): boolean {
  return value instanceof JsonObject && value.get("__loader__") !== undefined && value.get("protocol") !== undefined;
}

/**
 * Reads and parses one copy as skops does (`json.loads` of the member's bytes). A copy that cannot
 * be read is reported when the archive is a skops one, or when it may be meant for skops (over
 * budget, in an encoding that did not decode, or mentioning `__loader__` or a `\u` escape).
 */
async function readSchema(ctx: AnalysisContext, entry: ZipEntry, claimed: boolean): Promise<JsonValue | undefined> {
  let text: string | undefined;
  try {
    const bytes = await readMember(ctx, entry, MAX_SCHEMA_BYTES, "skops.maxSchemaBytes");
    text = decodeJsonBytes(bytes).text;
    return parseStrictJson(text, {
      maxDepth: 512,
      maxValues: 5_000_000,
      maxStringLength: 1 << 20,
      maxTreeBytes: 512 << 20,
      allowNonFinite: true,
      allowLoneSurrogates: true,
      checkpoint: () => ctx.checkpoint(),
    }).value;
  } catch (error) {
    if (!isModelgateError(error) || !READ_ERRORS.has(error.code)) throw error;
    const code = error.code;
    const maybeSkops =
      claimed || code === "BUDGET_EXCEEDED" || (text !== undefined && /__loader__|\\u/.test(text.slice(0, 1 << 20)));
    if (maybeSkops) {
      ctx.report({
        ruleId: "skops/malformed",
        message: `${JSON.stringify(entry.name)} could not be read: ${error.message}`,
        evidence: { member: entry.name, code },
      });
    }
    return undefined;
  }
}

/** Analyses the `schema.json` skops would load from a zip. */
export const skopsAnalyzer: Analyzer = {
  name: "skops",
  formats: ["zip"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const entries = await listEntries(ctx);
    if (entries === undefined) return;
    const claimed =
      lowerExtension(ctx.name) === "skops" ||
      ctx.formats
        .zipFlavors(
          entries.map((e) => e.name),
          ctx.source,
        )
        .some((f) => f.format === "skops");
    const schemas = entries.filter((e) => pythonMemberName(e.name) === SCHEMA);
    if (schemas.length === 0) {
      if (claimed) ctx.report({ ruleId: "skops/malformed", message: `the archive has no ${SCHEMA}` });
      return;
    }
    const members = new Set(entries.map((e) => pythonMemberName(e.name)));
    const picked = copiesToJudge(schemas);
    if (schemas.length > 1) ctx.fact("skops.schemaCopies", { found: schemas.length, judged: picked.length });
    for (const entry of picked) {
      ctx.checkpoint();
      const value = await readSchema(ctx, entry, claimed);
      if (value === undefined || (!claimed && !looksLikeSkops(value))) continue;
      const { findings, facts } = analyzeSchema(value, members, () => ctx.checkpoint());
      for (const finding of findings) ctx.report(withMember(finding, entry.name));
      for (const [key, fact] of Object.entries(facts)) ctx.fact(key, fact);
    }
  },
};

function withMember(finding: FindingInput, member: string): FindingInput {
  return { ...finding, evidence: { ...finding.evidence, member } };
}
