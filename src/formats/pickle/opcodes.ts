/**
 * The pickle opcode table, as data: every opcode CPython's unpickler (`Modules/_pickle.c`) knows,
 * protocols 0–5, with the shape of its inline argument. The decoder is generic over this table.
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

/** One opcode of the pickle virtual machine. */
export interface OpcodeInfo {
  /** Byte value. */
  readonly code: number;
  /** Name used by `pickletools` and `pickle.py`. */
  readonly name: string;
  /** Inline argument encoding. */
  readonly arg: ArgKind;
  /** First protocol that emits it (the unpickler accepts every opcode whatever the protocol). */
  readonly proto: 0 | 1 | 2 | 3 | 4 | 5;
  /** What it does, in a few words. */
  readonly doc: string;
}

/** Every opcode, in CPython's dispatch order. */
export const OPCODES: readonly OpcodeInfo[] = [
  { code: 0x28, name: "MARK", arg: "none", proto: 0, doc: "push a mark onto the mark stack" },
  { code: 0x2e, name: "STOP", arg: "none", proto: 0, doc: "end of pickle; the top of stack is the result" },
  { code: 0x30, name: "POP", arg: "none", proto: 0, doc: "discard the top item (or the topmost mark)" },
  { code: 0x31, name: "POP_MARK", arg: "none", proto: 1, doc: "discard everything down to the topmost mark" },
  { code: 0x32, name: "DUP", arg: "none", proto: 0, doc: "push a copy of the top item" },
  { code: 0x46, name: "FLOAT", arg: "line", proto: 0, doc: "float from a decimal line" },
  { code: 0x49, name: "INT", arg: "line", proto: 0, doc: "int (or bool for 00/01) from a decimal line" },
  { code: 0x4a, name: "BININT", arg: "i4", proto: 1, doc: "signed 4-byte int" },
  { code: 0x4b, name: "BININT1", arg: "u1", proto: 1, doc: "unsigned 1-byte int" },
  { code: 0x4c, name: "LONG", arg: "line", proto: 0, doc: "int from a decimal line, optional trailing L" },
  { code: 0x4d, name: "BININT2", arg: "u2", proto: 1, doc: "unsigned 2-byte int" },
  { code: 0x4e, name: "NONE", arg: "none", proto: 0, doc: "push None" },
  { code: 0x50, name: "PERSID", arg: "line", proto: 0, doc: "persistent_load(ascii line)" },
  { code: 0x51, name: "BINPERSID", arg: "none", proto: 1, doc: "persistent_load(pop())" },
  { code: 0x52, name: "REDUCE", arg: "none", proto: 0, doc: "call: args = pop(), f = pop(), push f(*args)" },
  { code: 0x53, name: "STRING", arg: "line", proto: 0, doc: "quoted, escaped Python 2 str" },
  { code: 0x54, name: "BINSTRING", arg: "counted4", proto: 1, doc: "Python 2 str, 4-byte length" },
  { code: 0x55, name: "SHORT_BINSTRING", arg: "counted1", proto: 1, doc: "Python 2 str, 1-byte length" },
  { code: 0x56, name: "UNICODE", arg: "line", proto: 0, doc: "raw-unicode-escape str line" },
  { code: 0x58, name: "BINUNICODE", arg: "counted4", proto: 1, doc: "UTF-8 str, 4-byte length" },
  { code: 0x61, name: "APPEND", arg: "none", proto: 0, doc: "list.append(pop())" },
  { code: 0x62, name: "BUILD", arg: "none", proto: 0, doc: "__setstate__(state) or __dict__/slot update" },
  { code: 0x63, name: "GLOBAL", arg: "line2", proto: 0, doc: "find_class(module line, name line)" },
  { code: 0x64, name: "DICT", arg: "none", proto: 0, doc: "dict from the key/value pairs above the mark" },
  { code: 0x7d, name: "EMPTY_DICT", arg: "none", proto: 1, doc: "push {}" },
  { code: 0x65, name: "APPENDS", arg: "none", proto: 1, doc: "list.extend(items above the mark)" },
  { code: 0x67, name: "GET", arg: "line", proto: 0, doc: "push memo[decimal line]" },
  { code: 0x68, name: "BINGET", arg: "u1", proto: 1, doc: "push memo[1-byte index]" },
  { code: 0x69, name: "INST", arg: "line2", proto: 0, doc: "find_class(lines)(*items above the mark)" },
  { code: 0x6a, name: "LONG_BINGET", arg: "u4", proto: 1, doc: "push memo[4-byte index]" },
  { code: 0x6c, name: "LIST", arg: "none", proto: 0, doc: "list from the items above the mark" },
  { code: 0x5d, name: "EMPTY_LIST", arg: "none", proto: 1, doc: "push []" },
  { code: 0x6f, name: "OBJ", arg: "none", proto: 1, doc: "first item above the mark called with the rest" },
  { code: 0x70, name: "PUT", arg: "line", proto: 0, doc: "memo[decimal line] = top" },
  { code: 0x71, name: "BINPUT", arg: "u1", proto: 1, doc: "memo[1-byte index] = top" },
  { code: 0x72, name: "LONG_BINPUT", arg: "u4", proto: 1, doc: "memo[4-byte index] = top" },
  { code: 0x73, name: "SETITEM", arg: "none", proto: 0, doc: "obj[key] = value" },
  { code: 0x74, name: "TUPLE", arg: "none", proto: 0, doc: "tuple from the items above the mark" },
  { code: 0x29, name: "EMPTY_TUPLE", arg: "none", proto: 1, doc: "push ()" },
  { code: 0x75, name: "SETITEMS", arg: "none", proto: 1, doc: "obj[k] = v for the pairs above the mark" },
  { code: 0x47, name: "BINFLOAT", arg: "f8", proto: 1, doc: "big-endian double" },
  { code: 0x80, name: "PROTO", arg: "u1", proto: 2, doc: "protocol version (changes name resolution)" },
  { code: 0x81, name: "NEWOBJ", arg: "none", proto: 2, doc: "cls.__new__(cls, *args)" },
  { code: 0x82, name: "EXT1", arg: "u1", proto: 2, doc: "copyreg extension registry lookup, 1-byte code" },
  { code: 0x83, name: "EXT2", arg: "u2", proto: 2, doc: "copyreg extension registry lookup, 2-byte code" },
  { code: 0x84, name: "EXT4", arg: "i4", proto: 2, doc: "copyreg extension registry lookup, 4-byte code" },
  { code: 0x85, name: "TUPLE1", arg: "none", proto: 2, doc: "1-tuple from the top item" },
  { code: 0x86, name: "TUPLE2", arg: "none", proto: 2, doc: "2-tuple from the top items" },
  { code: 0x87, name: "TUPLE3", arg: "none", proto: 2, doc: "3-tuple from the top items" },
  { code: 0x88, name: "NEWTRUE", arg: "none", proto: 2, doc: "push True" },
  { code: 0x89, name: "NEWFALSE", arg: "none", proto: 2, doc: "push False" },
  { code: 0x8a, name: "LONG1", arg: "long1", proto: 2, doc: "int, 1-byte length two's complement" },
  { code: 0x8b, name: "LONG4", arg: "long4", proto: 2, doc: "int, 4-byte length two's complement" },
  { code: 0x42, name: "BINBYTES", arg: "counted4", proto: 3, doc: "bytes, 4-byte length" },
  { code: 0x43, name: "SHORT_BINBYTES", arg: "counted1", proto: 3, doc: "bytes, 1-byte length" },
  { code: 0x8c, name: "SHORT_BINUNICODE", arg: "counted1", proto: 4, doc: "UTF-8 str, 1-byte length" },
  { code: 0x8d, name: "BINUNICODE8", arg: "counted8", proto: 4, doc: "UTF-8 str, 8-byte length" },
  { code: 0x8e, name: "BINBYTES8", arg: "counted8", proto: 4, doc: "bytes, 8-byte length" },
  { code: 0x8f, name: "EMPTY_SET", arg: "none", proto: 4, doc: "push set()" },
  { code: 0x90, name: "ADDITEMS", arg: "none", proto: 4, doc: "set.add for the items above the mark" },
  { code: 0x91, name: "FROZENSET", arg: "none", proto: 4, doc: "frozenset from the items above the mark" },
  { code: 0x92, name: "NEWOBJ_EX", arg: "none", proto: 4, doc: "cls.__new__(cls, *args, **kwargs)" },
  {
    code: 0x93,
    name: "STACK_GLOBAL",
    arg: "none",
    proto: 4,
    doc: "find_class(module, name) from two str on the stack",
  },
  { code: 0x94, name: "MEMOIZE", arg: "none", proto: 4, doc: "memo[len(memo)] = top" },
  { code: 0x95, name: "FRAME", arg: "u8", proto: 4, doc: "announces the length of the next frame" },
  { code: 0x96, name: "BYTEARRAY8", arg: "counted8", proto: 5, doc: "bytearray, 8-byte length" },
  { code: 0x97, name: "NEXT_BUFFER", arg: "none", proto: 5, doc: "push the next out-of-band buffer" },
  { code: 0x98, name: "READONLY_BUFFER", arg: "none", proto: 5, doc: "make the top buffer read-only" },
];

/** Highest protocol CPython understands; `PROTO` above it is an error. */
export const HIGHEST_PROTOCOL = 5;

const TABLE: (OpcodeInfo | undefined)[] = new Array<OpcodeInfo | undefined>(256).fill(undefined);
for (const op of OPCODES) TABLE[op.code] = op;

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
  Object.fromEntries(OPCODES.map((op) => [op.name, op.code])),
);
