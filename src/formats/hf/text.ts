/**
 * Reading small text files (configs, scripts, templates) under a byte budget.
 * @module
 */

import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import {
  type DuplicateKey,
  type JsonParseOptions,
  type JsonParseResult,
  parsePlainJson,
  parseStrictJson,
} from "../../core/json.js";
import { decodeUtf16 } from "../text/index.js";

export { decodeUtf16 };

/** Largest configuration or script read whole (64 MiB: big `tokenizer.json` files fit). */
export const MAX_TEXT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a whole source as text: UTF-16 when it opens with a UTF-16 byte-order mark, else UTF-8
 * (invalid sequences replaced, BOM dropped).
 * @param source - the bytes
 * @param maxBytes - budget
 * @param head - first bytes already read
 * @throws ModelgateError `BUDGET_EXCEEDED` past the budget
 */
export async function readText(source: ByteSource, maxBytes = MAX_TEXT_BYTES, head?: Uint8Array): Promise<string> {
  if (source.size > maxBytes) {
    throw new ModelgateError(
      "BUDGET_EXCEEDED",
      `text file of ${source.size} bytes exceeds the ${maxBytes}-byte budget`,
      {
        budget: "maxTextBytes",
      },
    );
  }
  const bytes =
    head !== undefined && head.length >= source.size
      ? head.subarray(0, source.size)
      : await readExact(source, 0, source.size);
  const text = decodeUtf16(bytes) ?? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Budgets of {@link parseConfigJson}. Configs, tokenizers, notebooks and other JSON in model
 * repositories are read whole (up to {@link MAX_TEXT_BYTES}); these bound what parsing them can
 * hold, whatever their shape, so that scanning any such file peaks well under 512 MiB. The largest
 * real tokenizers (Gemma 3's `tokenizer.json`, 33 MB, about 1.8 M values) take about 100 MiB here;
 * a file of millions of `{}` is refused, not parsed into gigabytes.
 */
export const CONFIG_JSON_BUDGETS = {
  /** Nesting (Python's own parser stops near 1,000). */
  maxDepth: 512,
  /** Values, all levels together. */
  maxValues: 5_000_000,
  /** Estimated memory of the parsed tree (see `JsonParseOptions.maxTreeBytes`). */
  maxTreeBytes: 160 * 1024 * 1024,
  /**
   * The text and its tree together: the tree gets what the text leaves, the text counting twice
   * (the bytes read and the string decoded from them). A 60 MB text leaves its tree 104 MiB.
   */
  maxTotalBytes: 224 * 1024 * 1024,
  /** One string, in UTF-16 code units. */
  maxStringLength: 16 * 1024 * 1024,
} as const;

/** Budgets a caller of {@link parseConfigJson} may tighten (or, knowingly, loosen). */
export type ConfigJsonBudgets = {
  -readonly [K in keyof typeof CONFIG_JSON_BUDGETS]?: number;
};

/** Parser options for a text under {@link CONFIG_JSON_BUDGETS} and the caller's overrides. */
function configOptions(
  text: string,
  checkpoint: (() => void) | undefined,
  budgets: ConfigJsonBudgets,
): JsonParseOptions {
  const { maxTotalBytes, maxTreeBytes, ...rest } = { ...CONFIG_JSON_BUDGETS, ...budgets };
  return {
    ...rest,
    maxTreeBytes: Math.max(0, Math.min(maxTreeBytes, maxTotalBytes - 2 * text.length)),
    allowLoneSurrogates: true,
    allowNonFinite: true,
    checkpoint,
  };
}

/**
 * Parses configuration JSON the way Python's `json` accepts it (lone surrogates, NaN/Infinity),
 * with our budgets ({@link CONFIG_JSON_BUDGETS}) and duplicate-key reporting.
 * @param text - JSON text
 * @param checkpoint - abort/timeout check
 * @param budgets - budgets replacing the defaults (a second reading of a file already analysed
 * can afford less than the first)
 * @throws ModelgateError `MALFORMED` when it is not JSON, `BUDGET_EXCEEDED` (budget `jsonDepth`,
 * `jsonValues`, `jsonTreeBytes` or `jsonStringLength`) past a budget
 */
export function parseConfigJson(
  text: string,
  checkpoint?: () => void,
  budgets: ConfigJsonBudgets = {},
): JsonParseResult {
  return parseStrictJson(text, configOptions(text, checkpoint, budgets));
}

/**
 * Parses configuration JSON like {@link parseConfigJson}, with the same budgets, into plain
 * JavaScript values (as `JSON.parse` returns them, NaN and Infinity included): for code that
 * walks plain objects and would otherwise call `JSON.parse` on untrusted text without a bound.
 * @param text - JSON text
 * @param checkpoint - abort/timeout check
 * @param budgets - budgets replacing the defaults
 * @throws ModelgateError `MALFORMED` or `BUDGET_EXCEEDED`, as {@link parseConfigJson}
 */
export function parseConfigJsonPlain(text: string, checkpoint?: () => void, budgets: ConfigJsonBudgets = {}): unknown {
  return parsePlainJson(text, configOptions(text, checkpoint, budgets)).value;
}

/**
 * Parses configuration JSON like {@link parseConfigJsonPlain}, and also returns the keys that
 * appear more than once (the value is the last one's, as in Python).
 * @param text - JSON text
 * @param checkpoint - abort/timeout check
 * @param budgets - budgets replacing the defaults
 * @throws ModelgateError `MALFORMED` or `BUDGET_EXCEEDED`, as {@link parseConfigJson}
 */
export function parseConfigJsonPlainWithDuplicates(
  text: string,
  checkpoint?: () => void,
  budgets: ConfigJsonBudgets = {},
): { readonly value: unknown; readonly duplicates: readonly DuplicateKey[] } {
  return parsePlainJson(text, configOptions(text, checkpoint, budgets));
}

/**
 * Line number (1-based) of a character offset.
 * @param text - the text
 * @param offset - character offset
 */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
