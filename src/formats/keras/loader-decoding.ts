/**
 * How the Keras loaders turn config values back into Python objects before a layer sees them, so
 * that the config analysis judges what the loader builds rather than the JSON spelling of it.
 *
 * - tf-keras (Keras 2) `json_utils.decode` reads the `model_config` of a legacy `.h5`, a
 *   stand-alone `model.json` and the `keras_metadata.pb` of a SavedModel with an object hook that
 *   rebuilds `{"class_name": "__tuple__", "items": [...]}` as a tuple and `__ellipsis__` as
 *   `Ellipsis` (inner objects first). A Lambda `function` so encoded is the `[code, defaults,
 *   closure]` triple `func_load` unmarshals. `TensorShape`, `TypeSpec`, `CompositeTensor` and
 *   `__bytes__` become shapes, specs, tensors and bytes: never a `str` or a tuple holding one, so
 *   never code; they stay objects here (known classes for the walker).
 * - `func_load` (tf-keras `generic_utils`, Keras 3 `python_utils`) decodes the code string with
 *   `codecs.decode(code.encode("ascii"), "base64")`, i.e. binascii's lenient base64, which skips
 *   characters outside the alphabet and stops at the padding; when that fails (or the string is
 *   not ASCII) it takes `code.encode("raw_unicode_escape")` as the marshal bytes.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";

/** A parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Counts one visited value against the caller's budget (throws `BUDGET_EXCEEDED`). */
export type Tick = (depth: number) => void;

/**
 * What tf-keras `json_utils.decode` makes of a value, as far as the config analysis needs it:
 * `__tuple__` objects become arrays (a tuple of their `items`: an array as is, a string's
 * characters, an object's keys) and `__ellipsis__` becomes null, bottom-up as Python's object
 * hook runs. Anything else is returned with its children decoded.
 * @param value - the JSON value
 * @param tick - budget callback, called once per value visited
 * @param depth - nesting of `value` (for the budget)
 */
export function decodeLegacyJson(value: Json, tick: Tick, depth = 0): Json {
  tick(depth);
  if (Array.isArray(value)) return value.map((item) => decodeLegacyJson(item, tick, depth + 1));
  if (!isObject(value)) return value;
  const decoded: Record<string, Json> = {};
  for (const [key, child] of Object.entries(value)) decoded[key] = decodeLegacyJson(child, tick, depth + 1);
  switch (decoded.class_name) {
    case "__tuple__": {
      const items = decoded.items;
      if (Array.isArray(items)) return items;
      if (typeof items === "string") {
        // charged before the array is made (a string of megabytes becomes that many items)
        for (let i = 0; i < items.length; i++) tick(depth + 1);
        return [...items];
      }
      if (isObject(items)) return Object.keys(items);
      return decoded; // `tuple()` of a number, bool or None raises: the load fails
    }
    case "__ellipsis__":
      return null;
    default:
      return decoded;
  }
}

/** The base64 alphabet's values (binascii's table); -1 outside it. */
const BASE64_VALUES: readonly number[] = (() => {
  const table = new Array<number>(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * Python's `binascii.a2b_base64` in its default (non-strict) mode, which `codecs.decode(...,
 * "base64")` and `base64.b64decode` use: characters outside the alphabet are skipped, a complete
 * pad sequence ends the input, and a final group of one character or a missing pad is an error.
 * @param text - ASCII text
 * @returns the bytes, or undefined where Python raises `binascii.Error`
 */
export function pythonBase64Decode(text: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let length = 0;
  let quad = 0;
  let left = 0;
  let pads = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x3d) {
      // binascii counts pads only once two characters of the group are in
      if (quad >= 2) {
        pads++;
        if (quad + pads >= 4) return out.slice(0, length);
      }
      continue;
    }
    const v = ch < 128 ? (BASE64_VALUES[ch] ?? -1) : -1;
    if (v < 0) continue;
    pads = 0;
    switch (quad) {
      case 0:
        left = v;
        quad = 1;
        break;
      case 1:
        out[length++] = ((left << 2) | (v >> 4)) & 0xff;
        left = v & 0x0f;
        quad = 2;
        break;
      case 2:
        out[length++] = ((left << 4) | (v >> 2)) & 0xff;
        left = v & 0x03;
        quad = 3;
        break;
      default:
        out[length++] = ((left << 6) | v) & 0xff;
        left = 0;
        quad = 0;
    }
  }
  return quad === 0 ? out.slice(0, length) : undefined;
}

/** Python's `str.encode("raw_unicode_escape")`: Latin-1 bytes, `\uXXXX`/`\UXXXXXXXX` beyond. */
export function rawUnicodeEscape(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x100) bytes.push(cp);
    else {
      const sequence =
        cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, "0")}` : `\\U${cp.toString(16).padStart(8, "0")}`;
      for (let i = 0; i < sequence.length; i++) bytes.push(sequence.charCodeAt(i));
    }
  }
  return new Uint8Array(bytes);
}

/** Whether `str.encode("ascii")` succeeds on the text. */
export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The marshal bytes `func_load` unmarshals from a code string, and how it got them. */
export interface FuncLoadBytes {
  /** The bytes passed to `marshal.loads`. */
  readonly bytes: Uint8Array;
  /** `base64`, or `raw_unicode_escape` when the string is not ASCII base64. */
  readonly encoding: "base64" | "raw_unicode_escape";
}

/**
 * The bytes `func_load` hands to `marshal.loads` for a code string.
 * @param code - the string stored in the config
 */
export function funcLoadBytes(code: string): FuncLoadBytes {
  // `code.encode("ascii")` raises UnicodeEncodeError on anything else: the raw fallback then.
  const decoded = isAscii(code) ? pythonBase64Decode(code) : undefined;
  if (decoded !== undefined) return { bytes: decoded, encoding: "base64" };
  return { bytes: rawUnicodeEscape(code), encoding: "raw_unicode_escape" };
}

/**
 * A budget callback over a node count and a depth limit, throwing typed budget errors.
 * @param maxNodes - values allowed
 * @param maxDepth - nesting allowed
 */
export function makeTick(maxNodes: number, maxDepth: number): Tick {
  let nodes = 0;
  return (depth) => {
    if (depth > maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `Keras config nested deeper than ${maxDepth}`, {
        budget: "keras.maxDepth",
      });
    }
    if (++nodes > maxNodes) {
      throw new ModelgateError("BUDGET_EXCEEDED", `Keras config has more than ${maxNodes} values`, {
        budget: "keras.maxNodes",
      });
    }
  };
}
