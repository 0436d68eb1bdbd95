/**
 * A strict, budgeted reader of the protobuf TEXT format (`text_format.Parse`/`Merge` in Python,
 * `TextFormat::Parse` in C++): how TensorFlow reads `saved_model.pbtxt`, a `.meta` written with
 * `as_text=True` (`import_meta_graph` falls back to it) and the `graph.pbtxt` of `write_graph`.
 *
 * It walks a message against a {@link TextSchema} (field names → numbers and types) and drives the
 * same {@link WireVisitor} and {@link MessageSpec} as the binary {@link WireWalker}, so a text file
 * yields exactly the structures its binary twin does. Syntax: `name: value`, `name { ... }`,
 * `name < ... >`, optional `:` before a message, repeated fields, lists `[a, b]`, `,`/`;`
 * separators, adjacent strings concatenated, C escapes (octal, `\x`, `\u`, `\U`), `#` comments,
 * enums by name, `[type.googleapis.com/...]` expansions inside `Any` (kept opaque, their type URLs
 * reported). A field the schema does not know is an error, as it is to TensorFlow's parser.
 * Messages the analysis does not read are declared opaque (`*`): their syntax is checked, not
 * their field names.
 *
 * Hand-written on purpose: protobufjs has no text-format parser, and no well-kept JavaScript
 * library parses text format against hand-declared descriptors with budgets and offsets.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { ModelgateError } from "../../core/errors.js";
import type { MessageSpec, WireVisitor } from "../protobuf/walk.js";
import { textSpace } from "./index.js";

/**
 * A field's type: `string`, `bytes`, `scalar` (numbers, booleans, enums by name or number), a
 * message name of the schema, or `*` for a message read as opaque.
 */
export type TextFieldType = string;
/** Per message: field name → [number, type]. */
export type TextSchema = Readonly<Record<string, Readonly<Record<string, readonly [number, TextFieldType]>>>>;

/** Budgets of one text walk. */
export interface TextBudgets {
  /** Maximum message nesting (TensorFlow's C++ parser stops at 100). */
  readonly maxDepth: number;
  /** Maximum fields in total. */
  readonly maxFields: number;
  /** Maximum length of one string value handed to the visitor. */
  readonly maxString: number;
  /** Called every few thousand fields; may throw to stop. */
  readonly checkpoint?: () => void;
}

const CHECK_EVERY = 4096;
const utf8 = new TextDecoder("utf-8", { fatal: false });

const C = {
  space: 0x20,
  quote: 0x22,
  apostrophe: 0x27,
  hash: 0x23,
  colon: 0x3a,
  comma: 0x2c,
  semicolon: 0x3b,
  open: 0x7b,
  close: 0x7d,
  lt: 0x3c,
  gt: 0x3e,
  lbracket: 0x5b,
  rbracket: 0x5d,
  backslash: 0x5c,
  minus: 0x2d,
  newline: 0x0a,
} as const;

const isIdentStart = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** Characters of identifiers and numbers (`1.5e-3`, `0x1F`, `-inf`, `DT_FLOAT`, `1.0f`). */
const isWordChar = (c: number): boolean => isIdentStart(c) || isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e;
const hexValue = (c: number): number =>
  isDigit(c) ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;

/** Thrown when the text ends inside a message, a list or a string: the input may be a cut head. */
export class TextEnd extends ModelgateError {
  constructor(offset: number) {
    super("TRUNCATED", `protobuf text ends at offset ${offset} inside a message`, { offset });
  }
}

function malformed(message: string, offset: number): ModelgateError {
  return new ModelgateError("MALFORMED", `invalid protobuf text at offset ${offset}: ${message}`, { offset });
}

/** UTF-8 bytes of a code point (what C++'s parser writes for `\u`/`\U`). */
function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

const SIMPLE_ESCAPES: Readonly<Record<number, number>> = {
  97: 7, // \a
  98: 8, // \b
  102: 12, // \f
  110: 10, // \n
  114: 13, // \r
  116: 9, // \t
  118: 11, // \v
  92: 0x5c,
  39: 0x27,
  34: 0x22,
  63: 0x3f,
};

/** A cursor over the text's bytes: whitespace, comments and tokens. */
class Lexer {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  /** The next significant byte (whitespace and `#` comments skipped), or undefined at the end. */
  peek(): number | undefined {
    const b = this.bytes;
    while (this.pos < b.length) {
      const c = b[this.pos] as number;
      const space = textSpace(b, this.pos);
      if (space > 0) this.pos += space;
      else if (c === C.hash) {
        while (this.pos < b.length && b[this.pos] !== C.newline) this.pos++;
      } else return c;
    }
    return undefined;
  }

  tryChar(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  expectChar(c: number, what: string): void {
    const next = this.peek();
    if (next === undefined) throw new TextEnd(this.pos);
    if (next !== c) throw malformed(`expected ${what}`, this.pos);
    this.pos++;
  }

  /** A field name: `[A-Za-z_][A-Za-z0-9_]*`. */
  ident(): string {
    const c = this.peek();
    if (c === undefined) throw new TextEnd(this.pos);
    if (!isIdentStart(c)) throw malformed("expected a field name", this.pos);
    const start = this.pos;
    while (
      this.pos < this.bytes.length &&
      (isIdentStart(this.bytes[this.pos] as number) || isDigit(this.bytes[this.pos] as number))
    ) {
      this.pos++;
    }
    return charCodes(this.bytes.subarray(start, Math.min(this.pos, start + 256)));
  }

  /** A scalar that is no string: a number, a boolean or an enum name, maybe after a `-`. */
  scalar(): void {
    let c = this.peek();
    if (c === C.minus) {
      this.pos++;
      c = this.peek();
    }
    if (c === undefined) throw new TextEnd(this.pos);
    if (!isWordChar(c)) throw malformed("expected a number or an identifier", this.pos);
    while (this.pos < this.bytes.length && isWordChar(this.bytes[this.pos] as number)) this.pos++;
  }

  /** Whether a string literal comes next. */
  atString(): boolean {
    const c = this.peek();
    return c === C.quote || c === C.apostrophe;
  }

  /**
   * One or more adjacent quoted strings, unescaped and concatenated; `max` undefined: checked and
   * skipped, not kept (a tensor's content).
   */
  strings(max: number | undefined): Uint8Array {
    if (!this.atString()) {
      if (this.peek() === undefined) throw new TextEnd(this.pos);
      throw malformed("expected a string", this.pos);
    }
    const out: number[] = [];
    while (this.atString()) {
      this.#one(out, max);
    }
    return Uint8Array.from(out);
  }

  #one(out: number[], max: number | undefined): void {
    const b = this.bytes;
    const quote = b[this.pos] as number;
    const start = this.pos;
    this.pos++;
    for (;;) {
      if (this.pos >= b.length) throw new TextEnd(this.pos);
      const c = b[this.pos++] as number;
      if (c === quote) return;
      if (c === C.newline) throw malformed("string missing its closing quote", start);
      if (max === undefined) out.length = 0;
      else if (out.length >= max) {
        throw new ModelgateError("BUDGET_EXCEEDED", `protobuf text string longer than ${max} bytes`, {
          offset: start,
          budget: "protobuf.maxString",
        });
      }
      if (c !== C.backslash) {
        out.push(c);
        continue;
      }
      if (this.pos >= b.length) throw new TextEnd(this.pos);
      const e = b[this.pos++] as number;
      if (e >= 0x30 && e <= 0x37) {
        let v = e - 0x30;
        for (
          let i = 0;
          i < 2 && this.pos < b.length && (b[this.pos] as number) >= 0x30 && (b[this.pos] as number) <= 0x37;
          i++
        ) {
          v = v * 8 + ((b[this.pos++] as number) - 0x30);
        }
        out.push(v & 0xff);
      } else if (e === 0x78 || e === 0x58) {
        let v = -1;
        for (let i = 0; i < 2 && this.pos < b.length && hexValue(b[this.pos] as number) >= 0; i++) {
          v = (v < 0 ? 0 : v * 16) + hexValue(b[this.pos++] as number);
        }
        if (v < 0) throw malformed("\\x without hex digits", this.pos);
        out.push(v);
      } else if (e === 0x75 || e === 0x55) {
        const n = e === 0x75 ? 4 : 8;
        let v = 0;
        for (let i = 0; i < n; i++) {
          const h = this.pos < b.length ? hexValue(b[this.pos] as number) : -1;
          if (h < 0) throw malformed(`\\${String.fromCharCode(e)} needs ${n} hex digits`, this.pos);
          v = v * 16 + h;
          this.pos++;
        }
        if (v > 0x10ffff) throw malformed("code point out of range", this.pos);
        pushUtf8(out, v);
      } else if (SIMPLE_ESCAPES[e] !== undefined) out.push(SIMPLE_ESCAPES[e] as number);
      else if (e === C.newline) throw malformed("string missing its closing quote", start);
      else out.push(C.backslash, e); // Python keeps an unknown escape as it is (C++ refuses it)
    }
  }

  /** `[domain/type.Name]` of an `Any` expansion: its type URL. */
  typeUrl(): string {
    this.expectChar(C.lbracket, "[");
    const start = this.pos;
    while (this.pos < this.bytes.length && this.bytes[this.pos] !== C.rbracket && this.bytes[this.pos] !== C.newline) {
      this.pos++;
    }
    if (this.pos >= this.bytes.length) throw new TextEnd(this.pos);
    const url = charCodes(this.bytes.subarray(start, Math.min(this.pos, start + 256))).trim();
    this.expectChar(C.rbracket, "]");
    if (!/^[A-Za-z0-9_.\-/]+$/.test(url)) throw malformed(`invalid type URL ${JSON.stringify(url)}`, start);
    return url;
  }
}

/** Encodes string fields as protobuf wire bytes (a leaf message handed to the visitor). */
function encodeStrings(fields: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  const out: number[] = [];
  const varint = (n: number) => {
    let v = n;
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
  };
  for (const [number, bytes] of fields) {
    varint(number * 8 + 2);
    varint(bytes.length);
    for (const b of bytes) out.push(b);
  }
  return Uint8Array.from(out);
}

/** Where a message's string fields go when it is a leaf of the visitor (collected, then encoded). */
type Collector = Array<readonly [number, Uint8Array]>;

/**
 * Walks one text-format message tree, driving a {@link WireVisitor} as {@link WireWalker} does.
 * Throws `MALFORMED` (syntax, unknown field), `TRUNCATED` ({@link TextEnd}: the text ends inside a
 * message) and `BUDGET_EXCEEDED`.
 */
export class TextWalker {
  readonly #lex: Lexer;
  #fields = 0;
  /** Type URLs of the `Any` expansions met (kept opaque). */
  readonly anyTypes: string[] = [];

  constructor(
    bytes: Uint8Array,
    readonly visitor: WireVisitor,
    readonly schema: TextSchema,
    readonly budgets: TextBudgets,
  ) {
    this.#lex = new Lexer(bytes);
  }

  /** Fields read so far. */
  get fieldsVisited(): number {
    return this.#fields;
  }

  /**
   * Walks the whole text as a message of schema type `type`, the visitor seeing it as `spec`.
   * @param type - schema message name
   * @param spec - the wire walker's spec of the same message
   */
  walk(type: string, spec: MessageSpec): void {
    this.visitor.enter(spec.name, 0, 0, this.#lex.bytes.length, 0);
    this.#message(type, spec, 1, undefined, undefined);
    this.visitor.exit(spec.name);
  }

  #count(offset: number): void {
    this.#fields++;
    if (this.#fields > this.budgets.maxFields) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.budgets.maxFields} protobuf text fields`, {
        offset,
        budget: "protobuf.maxFields",
      });
    }
    if (this.#fields % CHECK_EVERY === 0) this.budgets.checkpoint?.();
  }

  /** The fields of a message up to `closer` (the end of the text for the root). */
  #message(
    type: string,
    spec: MessageSpec | undefined,
    depth: number,
    closer: number | undefined,
    collect: Collector | undefined,
  ): void {
    const lex = this.#lex;
    if (depth > this.budgets.maxDepth) {
      throw new ModelgateError("BUDGET_EXCEEDED", `protobuf text nested deeper than ${this.budgets.maxDepth}`, {
        offset: lex.pos,
        budget: "protobuf.maxDepth",
      });
    }
    const fields = type === "*" ? undefined : this.schema[type];
    if (type !== "*" && fields === undefined) throw malformed(`no schema for ${type}`, lex.pos);
    for (;;) {
      const c = lex.peek();
      if (c === undefined) {
        if (closer === undefined) return;
        throw new TextEnd(lex.pos);
      }
      if (c === closer) {
        lex.pos++;
        return;
      }
      const at = lex.pos;
      this.#count(at);
      if (c === C.lbracket) {
        // an expansion `[type.googleapis.com/pkg.Type] { ... }`: only inside Any or opaque messages
        if (type !== "*" && type !== "Any") throw malformed(`extensions are not fields of ${type}`, at);
        this.anyTypes.push(lex.typeUrl());
        lex.tryChar(C.colon);
        this.#messageValue("*", undefined, depth);
      } else {
        const name = lex.ident();
        const field = fields === undefined ? undefined : Object.hasOwn(fields, name) ? fields[name] : undefined;
        if (fields !== undefined && field === undefined) throw malformed(`${type} has no field ${name}`, at);
        if (field === undefined) this.#opaqueValue(depth, at);
        else this.#typedValue(spec, field[0], field[1], depth, collect);
      }
      if (!lex.tryChar(C.comma)) lex.tryChar(C.semicolon);
    }
  }

  /** `{ ... }` or `< ... >`: a message value of schema type `type`. */
  #messageValue(type: string, spec: MessageSpec | undefined, depth: number, collect?: Collector): void {
    const lex = this.#lex;
    const c = lex.peek();
    if (c === undefined) throw new TextEnd(lex.pos);
    if (c !== C.open && c !== C.lt) throw malformed("expected { or <", lex.pos);
    lex.pos++;
    this.#message(type, spec, depth + 1, c === C.open ? C.close : C.gt, collect);
  }

  /** A value, or a `[...]` list of values, each read by `one`. */
  #values(one: () => void): void {
    const lex = this.#lex;
    if (!lex.tryChar(C.lbracket)) {
      one();
      return;
    }
    if (lex.tryChar(C.rbracket)) return;
    for (;;) {
      one();
      if (lex.tryChar(C.rbracket)) return;
      lex.expectChar(C.comma, ", or ]");
    }
  }

  /** A field of an opaque message: syntax only. */
  #opaqueValue(depth: number, at: number): void {
    const lex = this.#lex;
    const colon = lex.tryChar(C.colon);
    const c = lex.peek();
    if (c === undefined) throw new TextEnd(lex.pos);
    if (c === C.open || c === C.lt) {
      this.#messageValue("*", undefined, depth);
      return;
    }
    if (!colon && c !== C.lbracket) throw malformed("expected : after a field name", at);
    this.#values(() => {
      const v = lex.peek();
      if (v === C.open || v === C.lt) this.#messageValue("*", undefined, depth);
      else if (!colon) throw malformed("expected : after a field name", at);
      else if (lex.atString()) lex.strings(undefined);
      else lex.scalar();
    });
  }

  /** A field the schema types: handed to the visitor as the spec says. */
  #typedValue(
    spec: MessageSpec | undefined,
    number: number,
    type: TextFieldType,
    depth: number,
    collect: Collector | undefined,
  ): void {
    const lex = this.#lex;
    const fs = spec?.fields[number];
    if (type !== "string" && type !== "bytes" && type !== "scalar") {
      lex.tryChar(C.colon);
      this.#values(() => {
        const offset = lex.pos;
        if (fs?.kind === "message") {
          const child = fs.spec();
          this.visitor.enter(child.name, number, offset, 0, depth);
          this.#messageValue(type, child, depth);
          this.visitor.exit(child.name);
        } else if (fs?.kind === "leaf" && spec !== undefined) {
          const strings: Collector = [];
          this.#messageValue(type, undefined, depth, strings);
          this.visitor.leaf(spec.name, number, encodeStrings(strings), offset);
        } else this.#messageValue(type, undefined, depth);
      });
      return;
    }
    lex.expectChar(C.colon, ":");
    this.#values(() => {
      const offset = lex.pos;
      if (type === "scalar") {
        lex.scalar();
        return;
      }
      const kept = fs?.kind === "string" || fs?.kind === "leaf" || collect !== undefined;
      const max =
        fs?.kind === "string" || fs?.kind === "leaf" ? (fs.max ?? this.budgets.maxString) : this.budgets.maxString;
      const bytes = lex.strings(kept ? max : undefined);
      collect?.push([number, bytes]);
      if (spec === undefined) return;
      if (fs?.kind === "string") this.visitor.string(spec.name, number, utf8.decode(bytes), offset);
      else if (fs?.kind === "leaf") this.visitor.leaf(spec.name, number, bytes, offset);
    });
  }
}
