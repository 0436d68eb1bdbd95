/**
 * Reading small text files (configs, scripts, templates) under a byte budget.
 * @module
 */
import { ModelgateError } from "../../errors.js";
import { type ByteSource, readExact } from "../../sources/byte-source.js";
import { type JsonParseResult, parseStrictJson } from "../safetensors/json.js";

/** Largest configuration or script read whole (64 MiB: big `tokenizer.json` files fit). */
export const MAX_TEXT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a whole source as UTF-8 text (invalid sequences replaced, BOM dropped).
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
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parses configuration JSON the way Python's `json` accepts it (lone surrogates, NaN/Infinity),
 * with our budgets and duplicate-key reporting.
 * @param text - JSON text
 * @param checkpoint - abort/timeout check
 */
export function parseConfigJson(text: string, checkpoint?: () => void): JsonParseResult {
  return parseStrictJson(text, {
    maxDepth: 512,
    maxValues: 20_000_000,
    allowLoneSurrogates: true,
    allowNonFinite: true,
    checkpoint,
  });
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
