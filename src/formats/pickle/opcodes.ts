/**
 * The pickle opcode table, as data: every opcode CPython's unpickler (`Modules/_pickle.c`) knows,
 * protocols 0–5, with every fact the engine needs about it: byte, name, argument (as
 * `pickletools` describes it), stack effect (`pickletools`' stack_before/stack_after) and the
 * protocol that introduced it. The decoder, the fast path, the io.BytesIO re-reading and the
 * disassembler derive their dispatch data from it (see the lookup tables at the end), and
 * `test/formats/pickle/opcodes.test.ts` checks it against CPython's `pickletools.opcodes`.
 * @module
 */

/**
 * How an opcode's inline argument is encoded in the stream.
 *
 * - `none`: no inline argument.
 * - `u1`, `u2`, `u4`, `u8`: unsigned little-endian integer of 1/2/4/8 bytes.
 * - `i4`: signed little-endian 32-bit integer.
 * - `f8`: big-endian IEEE-754 double.
 * - `line`: bytes up to and including the next `\n`.
 * - `line2`: two such lines (module and name).
 * - `counted1`, `counted4`, `counted8`: a 1/4/8-byte little-endian length, then that many bytes.
 * - `long1`, `long4`: a 1/4-byte length (the 4-byte one signed), then a little-endian
 *   two's-complement integer of that many bytes.
 */
export type ArgKind =
  | "none"
  | "u1"
  | "u2"
  | "u4"
  | "u8"
  | "i4"
  | "f8"
  | "line"
  | "line2"
  | "counted1"
  | "counted4"
  | "counted8"
  | "long1"
  | "long4";

/** The shape of each argument kind. */
export interface ArgShape {
  /** Bytes of a fixed-width argument (the integer or double itself); 0 for the others. */
  readonly width: number;
  /** Bytes of the length prefix of a counted argument (`counted*`, `long*`); 0 for the others. */
  readonly lengthBytes: number;
  /** Newline-terminated lines read (`line`: 1, `line2`: 2); 0 for the others. */
  readonly lines: number;
  /** The fixed-width integer (`i4`) or the length prefix (`long4`) is signed. */
  readonly signed: boolean;
}

/**
 * Argument kinds in the order of their numbers in {@link KIND_OF} (the decoder switches on those
 * numbers; `test/formats/pickle/opcodes.test.ts` checks its `case N: // KIND` comments).
 */
export const ARG_KINDS: readonly ArgKind[] = [
  "none",
  "u1",
  "u2",
  "u4",
  "u8",
  "i4",
  "f8",
  "line",
  "line2",
  "counted1",
  "counted4",
  "counted8",
  "long1",
  "long4",
];

const shape = (width: number, lengthBytes: number, lines: number, signed = false): ArgShape => ({
  width,
  lengthBytes,
  lines,
  signed,
});

/** {@link ArgShape} of every argument kind. */
export const ARG_SHAPES: Readonly<Record<ArgKind, ArgShape>> = Object.freeze({
  none: shape(0, 0, 0),
  u1: shape(1, 0, 0),
  u2: shape(2, 0, 0),
  u4: shape(4, 0, 0),
  u8: shape(8, 0, 0),
  i4: shape(4, 0, 0, true),
  f8: shape(8, 0, 0),
  line: shape(0, 0, 1),
  line2: shape(0, 0, 2),
  counted1: shape(0, 1, 0),
  counted4: shape(0, 4, 0),
  counted8: shape(0, 8, 0),
  long1: shape(0, 1, 0),
  long4: shape(0, 4, 0, true),
});

/**
 * `pickletools`' argument descriptors (`ArgumentDescriptor.name`), with the kind of argument each
 * is and its `n` (bytes when fixed; -1 up to a newline; -2, -3, -4, -5: a 1-byte, signed 4-byte,
 * unsigned 4-byte or 8-byte length first). The line descriptors also say how the line is parsed.
 */
export const ARG_DESCRIPTORS = Object.freeze({
  none: { kind: "none", n: 0 },
  uint1: { kind: "u1", n: 1 },
  uint2: { kind: "u2", n: 2 },
  uint4: { kind: "u4", n: 4 },
  uint8: { kind: "u8", n: 8 },
  int4: { kind: "i4", n: 4 },
  float8: { kind: "f8", n: 8 },
  decimalnl_short: { kind: "line", n: -1 },
  decimalnl_long: { kind: "line", n: -1 },
  floatnl: { kind: "line", n: -1 },
  stringnl: { kind: "line", n: -1 },
  stringnl_noescape: { kind: "line", n: -1 },
  unicodestringnl: { kind: "line", n: -1 },
  stringnl_noescape_pair: { kind: "line2", n: -1 },
  string1: { kind: "counted1", n: -2 },
  bytes1: { kind: "counted1", n: -2 },
  unicodestring1: { kind: "counted1", n: -2 },
  // pickle.py reads string4's length signed; the C unpickler reads it unsigned
  string4: { kind: "counted4", n: -3 },
  bytes4: { kind: "counted4", n: -4 },
  unicodestring4: { kind: "counted4", n: -4 },
  bytes8: { kind: "counted8", n: -5 },
  unicodestring8: { kind: "counted8", n: -5 },
  bytearray8: { kind: "counted8", n: -5 },
  long1: { kind: "long1", n: -2 },
  long4: { kind: "long4", n: -3 },
} as const satisfies Record<string, { kind: ArgKind; n: number }>);

/** A `pickletools` argument descriptor name (`none` when the opcode has no argument). */
export type ArgName = keyof typeof ARG_DESCRIPTORS;

/** What an opcode takes from or leaves on the stack, by `pickletools`' StackObject names. */
export type StackKind =
  | "any"
  | "mark"
  | "stackslice"
  | "None"
  | "bool"
  | "int"
  | "int_or_bool"
  | "float"
  | "str"
  | "bytes"
  | "bytes_or_str"
  | "bytearray"
  | "buffer"
  | "tuple"
  | "list"
  | "dict"
  | "set"
  | "frozenset";

/** One opcode of the pickle virtual machine. */
export interface OpcodeInfo {
  /** Byte value. */
  readonly code: number;
  /** Name used by `pickletools` and `pickle.py`. */
  readonly name: string;
  /** Inline argument encoding (derived from {@link OpcodeInfo.argName}). */
  readonly arg: ArgKind;
  /** `pickletools`' descriptor of the argument (it also says how a line is parsed). */
  readonly argName: ArgName;
  /** First protocol that emits it (the unpickler accepts every opcode whatever the protocol). */
  readonly proto: 0 | 1 | 2 | 3 | 4 | 5;
  /** What it takes from the stack, bottom first (`mark`, `stackslice`: everything above the mark). */
  readonly before: readonly StackKind[];
  /** What it leaves on the stack in their place, bottom first. */
  readonly after: readonly StackKind[];
  /** What it does, in a few words. */
  readonly doc: string;
}

function op(
  code: number,
  name: string,
  argName: ArgName,
  proto: OpcodeInfo["proto"],
  before: readonly StackKind[],
  after: readonly StackKind[],
  doc: string,
): OpcodeInfo {
  return Object.freeze({ code, name, arg: ARG_DESCRIPTORS[argName].kind, argName, proto, before, after, doc });
}

/** Every opcode, in CPython's dispatch order. */
// biome-ignore format: one opcode a line
export const OPCODES: readonly OpcodeInfo[] = Object.freeze([
  op(0x28, "MARK", "none", 0, [], ["mark"], "push a mark onto the mark stack"),
  op(0x2e, "STOP", "none", 0, ["any"], [], "end of pickle; the top of stack is the result"),
  op(0x30, "POP", "none", 0, ["any"], [], "discard the top item (or the topmost mark)"),
  op(0x31, "POP_MARK", "none", 1, ["mark", "stackslice"], [], "discard everything down to the topmost mark"),
  op(0x32, "DUP", "none", 0, ["any"], ["any", "any"], "push a copy of the top item"),
  op(0x46, "FLOAT", "floatnl", 0, [], ["float"], "float from a decimal line"),
  op(0x49, "INT", "decimalnl_short", 0, [], ["int_or_bool"], "int (or bool for 00/01) from a decimal line"),
  op(0x4a, "BININT", "int4", 1, [], ["int"], "signed 4-byte int"),
  op(0x4b, "BININT1", "uint1", 1, [], ["int"], "unsigned 1-byte int"),
  op(0x4c, "LONG", "decimalnl_long", 0, [], ["int"], "int from a decimal line, optional trailing L"),
  op(0x4d, "BININT2", "uint2", 1, [], ["int"], "unsigned 2-byte int"),
  op(0x4e, "NONE", "none", 0, [], ["None"], "push None"),
  op(0x50, "PERSID", "stringnl_noescape", 0, [], ["any"], "persistent_load(ascii line)"),
  op(0x51, "BINPERSID", "none", 1, ["any"], ["any"], "persistent_load(pop())"),
  op(0x52, "REDUCE", "none", 0, ["any", "any"], ["any"], "call: args = pop(), f = pop(), push f(*args)"),
  op(0x53, "STRING", "stringnl", 0, [], ["bytes_or_str"], "quoted, escaped Python 2 str"),
  op(0x54, "BINSTRING", "string4", 1, [], ["bytes_or_str"], "Python 2 str, 4-byte length"),
  op(0x55, "SHORT_BINSTRING", "string1", 1, [], ["bytes_or_str"], "Python 2 str, 1-byte length"),
  op(0x56, "UNICODE", "unicodestringnl", 0, [], ["str"], "raw-unicode-escape str line"),
  op(0x58, "BINUNICODE", "unicodestring4", 1, [], ["str"], "UTF-8 str, 4-byte length"),
  op(0x61, "APPEND", "none", 0, ["list", "any"], ["list"], "list.append(pop())"),
  op(0x62, "BUILD", "none", 0, ["any", "any"], ["any"], "__setstate__(state) or __dict__/slot update"),
  op(0x63, "GLOBAL", "stringnl_noescape_pair", 0, [], ["any"], "find_class(module line, name line)"),
  op(0x64, "DICT", "none", 0, ["mark", "stackslice"], ["dict"], "dict from the key/value pairs above the mark"),
  op(0x7d, "EMPTY_DICT", "none", 1, [], ["dict"], "push {}"),
  op(0x65, "APPENDS", "none", 1, ["list", "mark", "stackslice"], ["list"], "list.extend(items above the mark)"),
  op(0x67, "GET", "decimalnl_short", 0, [], ["any"], "push memo[decimal line]"),
  op(0x68, "BINGET", "uint1", 1, [], ["any"], "push memo[1-byte index]"),
  op(0x69, "INST", "stringnl_noescape_pair", 0, ["mark", "stackslice"], ["any"], "find_class(lines)(*items above the mark)"),
  op(0x6a, "LONG_BINGET", "uint4", 1, [], ["any"], "push memo[4-byte index]"),
  op(0x6c, "LIST", "none", 0, ["mark", "stackslice"], ["list"], "list from the items above the mark"),
  op(0x5d, "EMPTY_LIST", "none", 1, [], ["list"], "push []"),
  op(0x6f, "OBJ", "none", 1, ["mark", "any", "stackslice"], ["any"], "first item above the mark called with the rest"),
  op(0x70, "PUT", "decimalnl_short", 0, [], [], "memo[decimal line] = top"),
  op(0x71, "BINPUT", "uint1", 1, [], [], "memo[1-byte index] = top"),
  op(0x72, "LONG_BINPUT", "uint4", 1, [], [], "memo[4-byte index] = top"),
  op(0x73, "SETITEM", "none", 0, ["dict", "any", "any"], ["dict"], "obj[key] = value"),
  op(0x74, "TUPLE", "none", 0, ["mark", "stackslice"], ["tuple"], "tuple from the items above the mark"),
  op(0x29, "EMPTY_TUPLE", "none", 1, [], ["tuple"], "push ()"),
  op(0x75, "SETITEMS", "none", 1, ["dict", "mark", "stackslice"], ["dict"], "obj[k] = v for the pairs above the mark"),
  op(0x47, "BINFLOAT", "float8", 1, [], ["float"], "big-endian double"),
  op(0x80, "PROTO", "uint1", 2, [], [], "protocol version (changes name resolution)"),
  op(0x81, "NEWOBJ", "none", 2, ["any", "any"], ["any"], "cls.__new__(cls, *args)"),
  op(0x82, "EXT1", "uint1", 2, [], ["any"], "copyreg extension registry lookup, 1-byte code"),
  op(0x83, "EXT2", "uint2", 2, [], ["any"], "copyreg extension registry lookup, 2-byte code"),
  op(0x84, "EXT4", "int4", 2, [], ["any"], "copyreg extension registry lookup, 4-byte code"),
  op(0x85, "TUPLE1", "none", 2, ["any"], ["tuple"], "1-tuple from the top item"),
  op(0x86, "TUPLE2", "none", 2, ["any", "any"], ["tuple"], "2-tuple from the top items"),
  op(0x87, "TUPLE3", "none", 2, ["any", "any", "any"], ["tuple"], "3-tuple from the top items"),
  op(0x88, "NEWTRUE", "none", 2, [], ["bool"], "push True"),
  op(0x89, "NEWFALSE", "none", 2, [], ["bool"], "push False"),
  op(0x8a, "LONG1", "long1", 2, [], ["int"], "int, 1-byte length two's complement"),
  op(0x8b, "LONG4", "long4", 2, [], ["int"], "int, 4-byte length two's complement"),
  op(0x42, "BINBYTES", "bytes4", 3, [], ["bytes"], "bytes, 4-byte length"),
  op(0x43, "SHORT_BINBYTES", "bytes1", 3, [], ["bytes"], "bytes, 1-byte length"),
  op(0x8c, "SHORT_BINUNICODE", "unicodestring1", 4, [], ["str"], "UTF-8 str, 1-byte length"),
  op(0x8d, "BINUNICODE8", "unicodestring8", 4, [], ["str"], "UTF-8 str, 8-byte length"),
  op(0x8e, "BINBYTES8", "bytes8", 4, [], ["bytes"], "bytes, 8-byte length"),
  op(0x8f, "EMPTY_SET", "none", 4, [], ["set"], "push set()"),
  op(0x90, "ADDITEMS", "none", 4, ["set", "mark", "stackslice"], ["set"], "set.add for the items above the mark"),
  op(0x91, "FROZENSET", "none", 4, ["mark", "stackslice"], ["frozenset"], "frozenset from the items above the mark"),
  op(0x92, "NEWOBJ_EX", "none", 4, ["any", "any", "any"], ["any"], "cls.__new__(cls, *args, **kwargs)"),
  op(0x93, "STACK_GLOBAL", "none", 4, ["str", "str"], ["any"], "find_class(module, name) from two str on the stack"),
  op(0x94, "MEMOIZE", "none", 4, ["any"], ["any"], "memo[len(memo)] = top"),
  op(0x95, "FRAME", "uint8", 4, [], [], "announces the length of the next frame"),
  op(0x96, "BYTEARRAY8", "bytearray8", 5, [], ["bytearray"], "bytearray, 8-byte length"),
  op(0x97, "NEXT_BUFFER", "none", 5, [], ["buffer"], "push the next out-of-band buffer"),
  op(0x98, "READONLY_BUFFER", "none", 5, ["buffer"], ["buffer"], "make the top buffer read-only"),
]);

/** Highest protocol CPython understands; `PROTO` above it is an error. */
export const HIGHEST_PROTOCOL = 5;

const TABLE: (OpcodeInfo | undefined)[] = new Array<OpcodeInfo | undefined>(256).fill(undefined);
for (const o of OPCODES) TABLE[o.code] = o;

/**
 * The opcode with this byte value, or undefined when CPython rejects it (`invalid load key`).
 * @param code - byte value
 */
export function opcodeInfo(code: number): OpcodeInfo | undefined {
  return TABLE[code];
}

/**
 * The name of an opcode byte (`0x..` when it is not an opcode).
 * @param code - byte value
 */
export function opcodeName(code: number): string {
  return TABLE[code]?.name ?? `0x${code.toString(16).padStart(2, "0")}`;
}

/** Opcode byte values by name, for code that builds or matches streams. */
export const OP: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(OPCODES.map((o) => [o.name, o.code])),
);

// ---------------------------------------------------------------- derived lookup tables
//
// Dispatch data for the hot loops, by byte value, derived once from OPCODES (as fflate derives its
// Huffman tables): nothing below is written by hand.

/** {@link KIND_OF} of a byte that is not an opcode. */
export const K_INVALID = 255;

/** Argument kind of each byte, as an index into {@link ARG_KINDS} ({@link K_INVALID}: not an opcode). */
export const KIND_OF: Uint8Array = new Uint8Array(256).fill(K_INVALID);
/** Whole width (opcode byte included) of each opcode whose argument has a fixed width; 0 for the others. */
export const FIXED_WIDTH: Uint8Array = new Uint8Array(256);
/** Bytes of the length prefix of each counted opcode (`counted*`, `long*`); 0 for the others. */
export const LENGTH_BYTES: Uint8Array = new Uint8Array(256);
/** 1 for each opcode whose 4-byte length pickle.py reads signed and the C unpickler unsigned (BINSTRING). */
export const PY_SIGNED_LENGTH: Uint8Array = new Uint8Array(256);
/** 1 for each opcode whose counted payload is UTF-8 text (what a skipped payload is decoded as). */
export const TEXT_PAYLOAD: Uint8Array = new Uint8Array(256);
/**
 * Items each opcode pops when its stack effect is a fixed number of items (no mark involved), +1;
 * 0 for opcodes that pop down to a mark.
 */
export const POPS: Uint8Array = new Uint8Array(256);
/**
 * 1 for each opcode that pushes one int, float, bool or None from a fixed-width argument and
 * takes nothing: the literals the fast path executes straight from the buffer.
 */
export const FIXED_LITERAL: Uint8Array = new Uint8Array(256);

const LITERAL_KINDS: ReadonlySet<StackKind> = new Set(["int", "float", "bool", "None"]);
for (const o of OPCODES) {
  const s = ARG_SHAPES[o.arg];
  KIND_OF[o.code] = ARG_KINDS.indexOf(o.arg);
  if (s.lines === 0 && s.lengthBytes === 0) FIXED_WIDTH[o.code] = 1 + s.width;
  LENGTH_BYTES[o.code] = s.lengthBytes;
  if (ARG_DESCRIPTORS[o.argName].n === -3 && o.arg === "counted4") PY_SIGNED_LENGTH[o.code] = 1;
  if (s.lengthBytes > 0 && o.after.length === 1 && o.after[0] === "str") TEXT_PAYLOAD[o.code] = 1;
  if (!o.before.includes("mark")) POPS[o.code] = o.before.length + 1;
  const pushesLiteral = o.after.length === 1 && LITERAL_KINDS.has(o.after[0] as StackKind);
  if (o.before.length === 0 && pushesLiteral && FIXED_WIDTH[o.code] !== 0) FIXED_LITERAL[o.code] = 1;
}
