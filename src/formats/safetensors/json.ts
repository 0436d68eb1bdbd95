/**
 * A strict, bounded JSON parser for headers and configuration files we do not trust.
 *
 * Unlike `JSON.parse` it reports duplicate keys (and where they are), keeps integers exact beyond
 * 2^53 (as the raw text, with a `bigint` view), accepts only RFC 8259 grammar, and enforces depth,
 * value-count and string-length budgets. Duplicate keys keep the last value, as Python's `json` and
 * Rust's serde do, so the tree seen here is the one the loaders see.
 * @module
 */
import { ModelgateError } from "../../errors.js";

/** A JSON number, kept as written. */
export class JsonNumber {
  /** The literal as it appears in the input. */
  readonly raw: string;
  /** Character offset of the literal in the input. */
  readonly offset: number;

  /**
   * @param raw - the literal text (already validated against the JSON grammar)
   * @param offset - character offset in the input
   */
  constructor(raw: string, offset: number) {
    this.raw = raw;
    this.offset = offset;
  }

  /** True when the literal has no fraction and no exponent (`12`, `-3`, not `1.0` or `1e0`). */
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.raw);
  }

  /** The exact value of an integer literal, or `undefined` for fractions and exponents. */
  get bigint(): bigint | undefined {
    return this.isInteger ? BigInt(this.raw) : undefined;
  }

  /** The nearest double (inexact beyond 2^53). */
  get value(): number {
    return Number(this.raw);
  }
}

/** A JSON object: keys in first-appearance order, the last value for each key. */
export class JsonObject {
  /** Values by key (the last occurrence wins, as in Python and serde). */
  readonly entries = new Map<string, JsonValue>();
  /** Character offset of the opening brace. */
  readonly offset: number;

  /** @param offset - character offset of `{` */
  constructor(offset: number) {
    this.offset = offset;
  }

  /**
   * Value of a key.
   * @param key - the key
   */
  get(key: string): JsonValue | undefined {
    return this.entries.get(key);
  }
}

/** Any JSON value. */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

/** A key that appeared more than once in the same object. */
export interface DuplicateKey {
  /** The repeated key. */
  readonly key: string;
  /** Character offset of the repeated occurrence. */
  readonly offset: number;
  /** Path of the object holding it, as `/`-joined keys and indices (`""` for the root). */
  readonly path: string;
}

/** Budgets and options of {@link parseStrictJson}. */
export interface JsonParseOptions {
  /** Maximum nesting of arrays and objects (default 64). */
  maxDepth?: number;
  /** Maximum number of values, all levels together (default 10,000,000). */
  maxValues?: number;
  /** Maximum length of one string, in UTF-16 code units (default 64 Mi). */
  maxStringLength?: number;
  /** Accept `\ud800` escapes without their pair (Python does, serde does not). Default false. */
  allowLoneSurrogates?: boolean;
  /** Accept `NaN`, `Infinity` and `-Infinity`, as Python's `json` does. Default false. */
  allowNonFinite?: boolean;
  /** Called every 65,536 values; may throw to stop (abort, timeout). */
  checkpoint?: (() => void) | undefined;
}

/** Result of {@link parseStrictJson}. */
export interface JsonParseResult {
  /** The root value. */
  readonly value: JsonValue;
  /** Every repeated key, in input order. */
  readonly duplicates: readonly DuplicateKey[];
}

const WS = new Uint8Array(128);
WS[0x20] = 1;
WS[0x09] = 1;
WS[0x0a] = 1;
WS[0x0d] = 1;

const MAX_DUPLICATES_KEPT = 1000;

/**
 * Decodes bytes as UTF-8, rejecting invalid sequences (no replacement characters, BOM kept).
 * @param bytes - the bytes
 * @param baseOffset - byte offset of `bytes` in the file, for the error
 * @throws ModelgateError `MALFORMED` when the bytes are not valid UTF-8
 */
export function decodeUtf8Strict(bytes: Uint8Array, baseOffset = 0): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new ModelgateError("MALFORMED", "invalid UTF-8", { offset: baseOffset, cause: error });
  }
}

/**
 * Whether a character code is JSON whitespace (space, tab, LF, CR).
 * @param code - UTF-16 code unit
 */
export function isJsonWhitespace(code: number): boolean {
  return code < 128 && WS[code] === 1;
}

/**
 * Parses one JSON text strictly (leading/trailing JSON whitespace allowed, nothing else).
 * @param text - the JSON text
 * @param options - budgets
 * @throws ModelgateError `MALFORMED` for a syntax error, `BUDGET_EXCEEDED` for a budget
 */
export function parseStrictJson(text: string, options: JsonParseOptions = {}): JsonParseResult {
  return new Parser(text, options).parseDocument();
}

class Parser {
  readonly #s: string;
  readonly #maxDepth: number;
  readonly #maxValues: number;
  readonly #maxString: number;
  readonly #lone: boolean;
  readonly #nonFinite: boolean;
  readonly #checkpoint: (() => void) | undefined;
  #pos = 0;
  #values = 0;
  readonly #duplicates: DuplicateKey[] = [];

  constructor(text: string, options: JsonParseOptions) {
    this.#s = text;
    this.#maxDepth = options.maxDepth ?? 64;
    this.#maxValues = options.maxValues ?? 10_000_000;
    this.#maxString = options.maxStringLength ?? 64 * 1024 * 1024;
    this.#lone = options.allowLoneSurrogates ?? false;
    this.#nonFinite = options.allowNonFinite ?? false;
    this.#checkpoint = options.checkpoint;
  }

  parseDocument(): JsonParseResult {
    this.#skipWs();
    const value = this.#value(0, "");
    this.#skipWs();
    if (this.#pos !== this.#s.length) this.#fail("unexpected data after the JSON value");
    return { value, duplicates: this.#duplicates };
  }

  #fail(message: string, at = this.#pos): never {
    throw new ModelgateError("MALFORMED", `JSON: ${message} at character ${at}`, { offset: at });
  }

  #skipWs(): void {
    const s = this.#s;
    let p = this.#pos;
    while (p < s.length && isJsonWhitespace(s.charCodeAt(p))) p++;
    this.#pos = p;
  }

  #count(): void {
    this.#values++;
    if (this.#values > this.#maxValues) {
      throw new ModelgateError("BUDGET_EXCEEDED", `JSON has more than ${this.#maxValues} values`, {
        offset: this.#pos,
        budget: "jsonValues",
      });
    }
    if ((this.#values & 0xffff) === 0) this.#checkpoint?.();
  }

  #value(depth: number, path: string): JsonValue {
    this.#count();
    const s = this.#s;
    if (this.#pos >= s.length) this.#fail("unexpected end of input");
    const c = s.charCodeAt(this.#pos);
    switch (c) {
      case 0x7b: // {
        return this.#object(depth + 1, path);
      case 0x5b: // [
        return this.#array(depth + 1, path);
      case 0x22: // "
        return this.#string();
      case 0x74: // t
        return this.#literal("true", true);
      case 0x66: // f
        return this.#literal("false", false);
      case 0x6e: // n
        return this.#literal("null", null);
      default:
        if (this.#nonFinite) {
          for (const word of ["NaN", "Infinity", "-Infinity"]) {
            if (s.startsWith(word, this.#pos)) {
              const at = this.#pos;
              this.#pos += word.length;
              return new JsonNumber(word, at);
            }
          }
        }
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.#number();
        return this.#fail(`unexpected character ${JSON.stringify(s[this.#pos])}`);
    }
  }

  #literal<T extends boolean | null>(word: string, value: T): T {
    if (!this.#s.startsWith(word, this.#pos)) this.#fail("invalid literal");
    this.#pos += word.length;
    return value;
  }

  #enter(depth: number): void {
    if (depth > this.#maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `JSON nesting deeper than ${this.#maxDepth}`, {
        offset: this.#pos,
        budget: "jsonDepth",
      });
    }
  }

  #object(depth: number, path: string): JsonObject {
    this.#enter(depth);
    const s = this.#s;
    const obj = new JsonObject(this.#pos);
    this.#pos++; // {
    this.#skipWs();
    if (s.charCodeAt(this.#pos) === 0x7d) {
      this.#pos++;
      return obj;
    }
    for (;;) {
      this.#skipWs();
      if (s.charCodeAt(this.#pos) !== 0x22) this.#fail("expected a string key");
      const keyOffset = this.#pos;
      const key = this.#string();
      this.#skipWs();
      if (s.charCodeAt(this.#pos) !== 0x3a) this.#fail("expected ':'");
      this.#pos++;
      this.#skipWs();
      const value = this.#value(depth, path === "" ? key : `${path}/${key}`);
      if (obj.entries.has(key)) {
        // Map.set keeps the first position and takes the last value, like a Python dict.
        if (this.#duplicates.length < MAX_DUPLICATES_KEPT) this.#duplicates.push({ key, offset: keyOffset, path });
      }
      obj.entries.set(key, value);
      this.#skipWs();
      const c = s.charCodeAt(this.#pos);
      if (c === 0x2c) {
        this.#pos++;
        continue;
      }
      if (c === 0x7d) {
        this.#pos++;
        return obj;
      }
      this.#fail("expected ',' or '}'");
    }
  }

  #array(depth: number, path: string): JsonValue[] {
    this.#enter(depth);
    const s = this.#s;
    const out: JsonValue[] = [];
    this.#pos++; // [
    this.#skipWs();
    if (s.charCodeAt(this.#pos) === 0x5d) {
      this.#pos++;
      return out;
    }
    for (;;) {
      this.#skipWs();
      out.push(this.#value(depth, `${path}/${out.length}`));
      this.#skipWs();
      const c = s.charCodeAt(this.#pos);
      if (c === 0x2c) {
        this.#pos++;
        continue;
      }
      if (c === 0x5d) {
        this.#pos++;
        return out;
      }
      this.#fail("expected ',' or ']'");
    }
  }

  #number(): JsonNumber {
    const s = this.#s;
    const start = this.#pos;
    let p = start;
    if (s.charCodeAt(p) === 0x2d) p++;
    const d0 = s.charCodeAt(p);
    if (d0 === 0x30) {
      p++;
    } else if (d0 >= 0x31 && d0 <= 0x39) {
      while (isDigit(s.charCodeAt(p))) p++;
    } else {
      this.#fail("invalid number", start);
    }
    if (s.charCodeAt(p) === 0x2e) {
      p++;
      if (!isDigit(s.charCodeAt(p))) this.#fail("invalid number fraction", start);
      while (isDigit(s.charCodeAt(p))) p++;
    }
    const e = s.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      p++;
      const sign = s.charCodeAt(p);
      if (sign === 0x2b || sign === 0x2d) p++;
      if (!isDigit(s.charCodeAt(p))) this.#fail("invalid number exponent", start);
      while (isDigit(s.charCodeAt(p))) p++;
    }
    if (p - start > 4096) this.#fail("number literal too long", start);
    this.#pos = p;
    return new JsonNumber(s.slice(start, p), start);
  }

  #string(): string {
    const s = this.#s;
    const start = this.#pos;
    let p = start + 1;
    let chunkStart = p;
    let out = "";
    for (;;) {
      if (p >= s.length) this.#fail("unterminated string", start);
      const c = s.charCodeAt(p);
      if (c === 0x22) {
        out += s.slice(chunkStart, p);
        this.#pos = p + 1;
        if (out.length > this.#maxString) this.#tooLong(start);
        return out;
      }
      if (c < 0x20) this.#fail("control character in string", p);
      if (c === 0x5c) {
        out += s.slice(chunkStart, p);
        if (out.length > this.#maxString) this.#tooLong(start);
        p = this.#escape(p, (piece) => {
          out += piece;
        });
        chunkStart = p;
        continue;
      }
      p++;
      if (p - chunkStart > this.#maxString) this.#tooLong(start);
    }
  }

  #tooLong(start: number): never {
    throw new ModelgateError("BUDGET_EXCEEDED", `JSON string longer than ${this.#maxString} characters`, {
      offset: start,
      budget: "jsonStringLength",
    });
  }

  /** Decodes the escape at `p` (the backslash); returns the position after it. */
  #escape(p: number, emit: (piece: string) => void): number {
    const s = this.#s;
    const e = s.charCodeAt(p + 1);
    switch (e) {
      case 0x22:
        emit('"');
        return p + 2;
      case 0x5c:
        emit("\\");
        return p + 2;
      case 0x2f:
        emit("/");
        return p + 2;
      case 0x62:
        emit("\b");
        return p + 2;
      case 0x66:
        emit("\f");
        return p + 2;
      case 0x6e:
        emit("\n");
        return p + 2;
      case 0x72:
        emit("\r");
        return p + 2;
      case 0x74:
        emit("\t");
        return p + 2;
      case 0x75: {
        const hi = this.#hex4(p + 2);
        if (hi >= 0xd800 && hi <= 0xdbff) {
          if (s.charCodeAt(p + 6) === 0x5c && s.charCodeAt(p + 7) === 0x75) {
            const lo = this.#hex4(p + 8);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              emit(String.fromCharCode(hi, lo));
              return p + 12;
            }
          }
          if (!this.#lone) this.#fail("unpaired surrogate escape", p);
        } else if (hi >= 0xdc00 && hi <= 0xdfff && !this.#lone) {
          this.#fail("unpaired surrogate escape", p);
        }
        emit(String.fromCharCode(hi));
        return p + 6;
      }
      default:
        return this.#fail("invalid escape", p);
    }
  }

  #hex4(p: number): number {
    const s = this.#s;
    if (p + 4 > s.length) this.#fail("truncated \\u escape", p);
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = s.charCodeAt(p + i);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return this.#fail("invalid \\u escape", p);
      v = v * 16 + d;
    }
    return v;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Converts a parsed value to plain JavaScript (numbers as doubles, objects as records), for
 * evidence and facts. Depth is bounded by the parse.
 * @param value - a parsed value
 */
export function toPlain(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return value.value;
  if (value instanceof JsonObject) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value.entries) {
      Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  return value;
}
