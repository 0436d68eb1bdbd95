/**
 * A strict, bounded JSON parser for headers and configuration files we do not trust.
 *
 * Unlike `JSON.parse` it reports duplicate keys (and where they are), keeps integers exact beyond
 * 2^53 (as the raw text, with a `bigint` view), accepts only RFC 8259 grammar, and enforces depth,
 * value-count and string-length budgets. Duplicate keys keep the last value, as Python's `json` and
 * Rust's serde do, so the tree seen here is the one the loaders see.
 * @module
 */
import { ModelgateError } from "./errors.js";

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

/**
 * Objects of at most this many keys keep them in one exact-sized array (`[k0, v0, k1, v1 ...]`),
 * looked up linearly; larger ones in a `Map`. A `Map` costs about 200 bytes even empty, which made
 * a config of millions of `{}` cost gigabytes.
 */
const SMALL_OBJECT_KEYS = 8;

/** A JSON object: keys in first-appearance order, the last value for each key. */
export class JsonObject {
  /** Character offset of the opening brace. */
  readonly offset: number;
  /** `undefined` (empty), `[k0, v0, k1, v1 ...]` (small, keys distinct) or a `Map`. */
  #data: (string | JsonValue)[] | Map<string, JsonValue> | undefined;

  /**
   * @param offset - character offset of `{`
   * @param pairs - @internal keys and values alternating, keys distinct (the parser's compact form)
   */
  constructor(offset: number, pairs?: (string | JsonValue)[] | Map<string, JsonValue>) {
    this.offset = offset;
    this.#data = pairs !== undefined && (pairs instanceof Map ? pairs.size : pairs.length) > 0 ? pairs : undefined;
  }

  /**
   * Values by key (the last occurrence wins, as in Python and serde), in first-appearance order.
   * Built on first use for small objects, then kept (and may be modified).
   */
  get entries(): Map<string, JsonValue> {
    const data = this.#data;
    if (data instanceof Map) return data;
    const map = new Map<string, JsonValue>();
    if (data !== undefined)
      for (let i = 0; i < data.length; i += 2) map.set(data[i] as string, data[i + 1] as JsonValue);
    this.#data = map;
    return map;
  }

  /** Keys and values in first-appearance order, without building {@link entries}. */
  *items(): IterableIterator<[string, JsonValue]> {
    const data = this.#data;
    if (data === undefined) return;
    if (data instanceof Map) {
      yield* data;
      return;
    }
    for (let i = 0; i < data.length; i += 2) yield [data[i] as string, data[i + 1] as JsonValue];
  }

  /** Number of distinct keys. */
  get size(): number {
    const data = this.#data;
    return data === undefined ? 0 : data instanceof Map ? data.size : data.length >> 1;
  }

  /**
   * Value of a key.
   * @param key - the key
   */
  get(key: string): JsonValue | undefined {
    const data = this.#data;
    if (data === undefined) return undefined;
    if (data instanceof Map) return data.get(key);
    for (let i = 0; i < data.length; i += 2) if (data[i] === key) return data[i + 1] as JsonValue;
    return undefined;
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
  /**
   * Maximum memory the parsed tree may hold, in bytes, as estimated while it is built (V8 object
   * sizes on 64-bit: an empty object ~40 bytes, a number ~40 plus its text, a string ~24 plus its
   * length, 8 per array element ...). Bounds memory whatever the shape: a file of `{}` costs
   * about 15 times its size, of long strings about its size. Default: no limit.
   */
  maxTreeBytes?: number;
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
  return new Parser(text, options, false).parseDocument();
}

/**
 * Parses one JSON text like {@link parseStrictJson}, with the same grammar and budgets, into plain
 * JavaScript values as `JSON.parse` returns them (numbers as doubles, objects as records whose
 * `__proto__` key is an own property, the last value of a repeated key): a bounded replacement
 * for `JSON.parse` on untrusted text, without an intermediate tree.
 * @param text - the JSON text
 * @param options - budgets
 * @throws ModelgateError `MALFORMED` for a syntax error, `BUDGET_EXCEEDED` for a budget
 */
export function parsePlainJson(
  text: string,
  options: JsonParseOptions = {},
): { readonly value: unknown; readonly duplicates: readonly DuplicateKey[] } {
  return new Parser(text, options, true).parseDocument();
}

/** Keys of at most this many characters are interned (one string per distinct key, not per use). */
const MAX_INTERNED_KEY_LENGTH = 32;
/** Distinct keys interned per parse. */
const MAX_INTERNED_KEYS = 4096;

// Estimated sizes for `maxTreeBytes` (V8, 64-bit, no pointer compression; rounded up).
/** A `JsonObject` or `JsonNumber` instance. */
const COST_INSTANCE = 40;
/** A JS array (header and elements store). */
const COST_ARRAY = 48;
/** One array element or reference. */
const COST_SLOT = 8;
/** A `Map`, and one of its entries. */
const COST_MAP = 96;
const COST_MAP_ENTRY = 48;
/** A string: header (strings of 0 or 1 character are shared, free). */
const COST_STRING = 24;
/** A string with escapes is built from pieces, joined every this many (no long cons-string chains). */
const STRING_PIECES = 4096;

class Parser {
  readonly #s: string;
  readonly #maxDepth: number;
  readonly #maxValues: number;
  readonly #maxString: number;
  readonly #maxTree: number;
  readonly #lone: boolean;
  readonly #nonFinite: boolean;
  readonly #checkpoint: (() => void) | undefined;
  #pos = 0;
  #values = 0;
  #tree = 0;
  readonly #duplicates: DuplicateKey[] = [];
  /**
   * Values (and keys) of the arrays and objects being parsed, innermost last: each container is
   * copied out exactly sized when it closes, so no container keeps growth slack.
   */
  readonly #scratch: (string | JsonValue)[] = [];
  /** Keys and indices from the root to the value being parsed (paths are built only for duplicates). */
  readonly #segments: (string | number)[] = [];
  readonly #keys = new Map<string, string>();
  /** Build plain values (`parsePlainJson`): JSON numbers and objects are then `number`s and records. */
  readonly #plain: boolean;

  constructor(text: string, options: JsonParseOptions, plain: boolean) {
    this.#s = text;
    this.#plain = plain;
    this.#maxDepth = options.maxDepth ?? 64;
    this.#maxValues = options.maxValues ?? 10_000_000;
    this.#maxString = options.maxStringLength ?? 64 * 1024 * 1024;
    this.#maxTree = options.maxTreeBytes ?? Number.POSITIVE_INFINITY;
    this.#lone = options.allowLoneSurrogates ?? false;
    this.#nonFinite = options.allowNonFinite ?? false;
    this.#checkpoint = options.checkpoint;
  }

  parseDocument(): JsonParseResult {
    this.#skipWs();
    const value = this.#value(0);
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

  /** Charges `bytes` of estimated tree memory. */
  #charge(bytes: number): void {
    this.#tree += bytes;
    if (this.#tree > this.#maxTree) {
      throw new ModelgateError(
        "BUDGET_EXCEEDED",
        `JSON would take more than ${Math.round(this.#maxTree / 1048576)} MiB of memory (${this.#values} values so far)`,
        { offset: this.#pos, budget: "jsonTreeBytes" },
      );
    }
  }

  /** Charges a string value or new key. */
  #chargeString(value: string): void {
    if (value.length > 1) this.#charge(COST_STRING + value.length);
  }

  /** Path of the container being parsed, as in {@link DuplicateKey.path}. */
  #path(): string {
    let path = "";
    for (const seg of this.#segments)
      path = typeof seg === "number" ? `${path}/${seg}` : path === "" ? seg : `${path}/${seg}`;
    return path;
  }

  #value(depth: number): JsonValue {
    this.#count();
    const s = this.#s;
    if (this.#pos >= s.length) this.#fail("unexpected end of input");
    const c = s.charCodeAt(this.#pos);
    switch (c) {
      case 0x7b: // {
        return this.#object(depth + 1);
      case 0x5b: // [
        return this.#array(depth + 1);
      case 0x22: {
        // "
        const value = this.#string();
        this.#chargeString(value);
        return value;
      }
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
              this.#charge(COST_INSTANCE);
              return this.#plain ? (Number(word) as unknown as JsonValue) : new JsonNumber(word, at);
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

  /** One string per distinct short key. */
  #intern(key: string): string {
    if (key.length <= MAX_INTERNED_KEY_LENGTH) {
      const known = this.#keys.get(key);
      if (known !== undefined) return known;
      if (this.#keys.size < MAX_INTERNED_KEYS) this.#keys.set(key, key);
    }
    this.#chargeString(key);
    return key;
  }

  #duplicate(key: string, offset: number): void {
    if (this.#duplicates.length < MAX_DUPLICATES_KEPT) this.#duplicates.push({ key, offset, path: this.#path() });
  }

  #object(depth: number): JsonObject {
    this.#enter(depth);
    const s = this.#s;
    const offset = this.#pos;
    this.#pos++; // {
    this.#skipWs();
    this.#charge(COST_INSTANCE);
    if (s.charCodeAt(this.#pos) === 0x7d) {
      this.#pos++;
      return this.#plain ? ({} as unknown as JsonObject) : new JsonObject(offset);
    }
    const scratch = this.#scratch;
    const segments = this.#segments;
    const start = scratch.length;
    // Small objects collect [k, v ...] on the scratch stack; past SMALL_OBJECT_KEYS, a Map.
    let map: Map<string, JsonValue> | undefined;
    try {
      for (;;) {
        this.#skipWs();
        if (s.charCodeAt(this.#pos) !== 0x22) this.#fail("expected a string key");
        const keyOffset = this.#pos;
        const key = this.#intern(this.#string());
        this.#skipWs();
        if (s.charCodeAt(this.#pos) !== 0x3a) this.#fail("expected ':'");
        this.#pos++;
        this.#skipWs();
        segments.push(key);
        const value = this.#value(depth);
        segments.pop();
        if (map !== undefined) {
          // Map.set keeps the first position and takes the last value, like a Python dict.
          if (map.has(key)) this.#duplicate(key, keyOffset);
          else this.#charge(COST_MAP_ENTRY);
          map.set(key, value);
        } else {
          let at = -1;
          for (let i = start; i < scratch.length; i += 2) {
            if (scratch[i] === key) {
              at = i;
              break;
            }
          }
          if (at >= 0) {
            this.#duplicate(key, keyOffset);
            scratch[at + 1] = value;
          } else if (scratch.length - start < 2 * SMALL_OBJECT_KEYS) {
            this.#charge(scratch.length === start ? COST_ARRAY + 2 * COST_SLOT : 2 * COST_SLOT);
            scratch.push(key, value);
          } else {
            this.#charge(COST_MAP + (SMALL_OBJECT_KEYS + 1) * COST_MAP_ENTRY);
            map = new Map();
            for (let i = start; i < scratch.length; i += 2) map.set(scratch[i] as string, scratch[i + 1] as JsonValue);
            scratch.length = start;
            map.set(key, value);
          }
        }
        this.#skipWs();
        const c = s.charCodeAt(this.#pos);
        if (c === 0x2c) {
          this.#pos++;
          continue;
        }
        if (c === 0x7d) {
          this.#pos++;
          if (this.#plain) return plainObject(map ?? scratch.slice(start)) as unknown as JsonObject;
          return new JsonObject(offset, map ?? scratch.slice(start));
        }
        this.#fail("expected ',' or '}'");
      }
    } finally {
      scratch.length = start;
    }
  }

  #array(depth: number): JsonValue[] {
    this.#enter(depth);
    const s = this.#s;
    this.#pos++; // [
    this.#skipWs();
    this.#charge(COST_ARRAY);
    if (s.charCodeAt(this.#pos) === 0x5d) {
      this.#pos++;
      return [];
    }
    const scratch = this.#scratch;
    const segments = this.#segments;
    const start = scratch.length;
    segments.push(0);
    const seg = segments.length - 1;
    try {
      for (let index = 0; ; index++) {
        this.#skipWs();
        segments[seg] = index;
        this.#charge(COST_SLOT);
        scratch.push(this.#value(depth));
        this.#skipWs();
        const c = s.charCodeAt(this.#pos);
        if (c === 0x2c) {
          this.#pos++;
          continue;
        }
        if (c === 0x5d) {
          this.#pos++;
          return scratch.slice(start) as JsonValue[];
        }
        this.#fail("expected ',' or ']'");
      }
    } finally {
      scratch.length = start;
      segments.length = seg;
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
    this.#charge(p - start > 1 ? COST_INSTANCE + COST_STRING + p - start : COST_INSTANCE);
    const raw = s.slice(start, p);
    return this.#plain ? (Number(raw) as unknown as JsonNumber) : new JsonNumber(raw, start);
  }

  #string(): string {
    const s = this.#s;
    const start = this.#pos;
    let p = start + 1;
    // Fast path: no escape.
    for (;;) {
      if (p >= s.length) this.#fail("unterminated string", start);
      const c = s.charCodeAt(p);
      if (c === 0x22) {
        if (p - start - 1 > this.#maxString) this.#tooLong(start);
        this.#pos = p + 1;
        return s.slice(start + 1, p);
      }
      if (c < 0x20) this.#fail("control character in string", p);
      if (c === 0x5c) break;
      p++;
    }
    // Escapes: pieces joined now and then, so the result never is a long chain of cons strings.
    const chunks: string[] = [];
    let pieces: string[] = [];
    let length = 0;
    let chunkStart = start + 1;
    const add = (piece: string): void => {
      length += piece.length;
      if (length > this.#maxString) this.#tooLong(start);
      pieces.push(piece);
      if (pieces.length >= STRING_PIECES) {
        chunks.push(pieces.join(""));
        pieces = [];
      }
    };
    for (;;) {
      if (p >= s.length) this.#fail("unterminated string", start);
      const c = s.charCodeAt(p);
      if (c === 0x22) {
        add(s.slice(chunkStart, p));
        this.#pos = p + 1;
        chunks.push(pieces.join(""));
        return chunks.length === 1 ? (chunks[0] as string) : chunks.join("");
      }
      if (c < 0x20) this.#fail("control character in string", p);
      if (c === 0x5c) {
        if (p > chunkStart) add(s.slice(chunkStart, p));
        p = this.#escape(p, add);
        chunkStart = p;
        continue;
      }
      p++;
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

/** A record from keys and values (every key an own property, `__proto__` too, as `JSON.parse` does). */
function plainObject(data: (string | JsonValue)[] | Map<string, JsonValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown): void => {
    if (k === "__proto__")
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  };
  if (data instanceof Map) for (const [k, v] of data) put(k, v);
  else for (let i = 0; i < data.length; i += 2) put(data[i] as string, data[i + 1]);
  return out;
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
    for (const [k, v] of value.items()) {
      Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  return value;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, `undefined` members left
 * out and `undefined` array items written `null` (as `JSON.stringify` does). Policy hashes and
 * attestation report digests are SHA-256 over it.
 * @param value - a JSON value
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
