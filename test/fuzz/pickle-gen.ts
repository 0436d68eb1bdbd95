/**
 * Random but well-formed pickle streams for differential testing against CPython: every protocol
 * (0–5) and every opcode CPython's unpickler accepts, with the tricks scanners get wrong — memo
 * reuse and overwrite, FRAME, dotted names, mid-stream PROTO changes (which switch CPython's
 * Python 2 name mapping on or off), EXT codes registered by the stream itself through
 * `copyreg.add_extension`, BUILD, INST/OBJ/NEWOBJ/NEWOBJ_EX, appends and setitems on objects,
 * popped imports, persistent ids. Deterministic for a seed.
 */
import { Rng } from "./rng.js";

/** Opcode bytes (names as in CPython's pickletools). */
export const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  FLOAT: 0x46,
  INT: 0x49,
  BININT: 0x4a,
  BININT1: 0x4b,
  LONG: 0x4c,
  BININT2: 0x4d,
  NONE: 0x4e,
  PERSID: 0x50,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  BINUNICODE: 0x58,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  EMPTY_DICT: 0x7d,
  APPENDS: 0x65,
  GET: 0x67,
  BINGET: 0x68,
  INST: 0x69,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  EMPTY_LIST: 0x5d,
  OBJ: 0x6f,
  PUT: 0x70,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  EMPTY_TUPLE: 0x29,
  SETITEMS: 0x75,
  BINFLOAT: 0x47,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;

/** Globals the generator imports: dangerous, benign, Python 2 names CPython remaps, dotted, unknown. */
export const GLOBALS: ReadonlyArray<readonly [string, string]> = [
  ["os", "system"],
  ["posix", "system"],
  ["nt", "system"],
  ["builtins", "eval"],
  ["builtins", "exec"],
  ["builtins", "getattr"],
  ["builtins", "__import__"],
  ["builtins", "set"],
  ["builtins", "list"],
  ["builtins", "dict"],
  ["__builtin__", "eval"],
  ["__builtin__", "set"],
  ["copy_reg", "_reconstructor"],
  ["copyreg", "_reconstructor"],
  ["UserDict", "UserDict"],
  ["exceptions", "Exception"],
  ["subprocess", "Popen"],
  ["subprocess", "check_output"],
  ["collections", "OrderedDict"],
  ["collections", "defaultdict"],
  ["functools", "partial"],
  ["functools", "reduce"],
  ["operator", "attrgetter"],
  ["operator", "methodcaller"],
  ["_codecs", "encode"],
  ["codecs", "decode"],
  ["torch._utils", "_rebuild_tensor_v2"],
  ["torch", "FloatStorage"],
  ["numpy.core.multiarray", "_reconstruct"],
  ["numpy", "ndarray"],
  ["numpy", "dtype"],
  ["sys", "modules"],
  ["pickle", "loads"],
  ["marshal", "loads"],
  ["types", "FunctionType"],
  ["runpy", "_run_code"],
  ["webbrowser", "open"],
  ["shutil", "rmtree"],
  ["importlib", "import_module"],
  ["os", "path.join"],
  ["builtins", "object.__subclasses__"],
  ["torch.nn.modules.linear", "Linear"],
  ["sklearn.linear_model._base", "LinearRegression"],
  ["mypkg.sub", "Thing"],
  ["x", "y.z.w"],
];

/** A generated stream. */
export interface GeneratedPickle {
  /** The protocol it declares (the first PROTO, or 0/1 without one). */
  readonly protocol: number;
  /** The bytes. */
  readonly bytes: Uint8Array;
}

const enc = new TextEncoder();
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

function le(value: bigint, width: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(width * 8, value);
  for (let i = 0; i < width; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** Two's-complement little-endian bytes of a bigint, as LONG1/LONG4 encode it (0 is empty). */
function longBytes(v: bigint): number[] {
  if (v === 0n) return [];
  let n = 1;
  while (true) {
    const min = -(1n << BigInt(8 * n - 1));
    const max = (1n << BigInt(8 * n - 1)) - 1n;
    if (v >= min && v <= max) break;
    n++;
  }
  return le(v, n);
}

/** A Python-2-style quoted string literal for STRING (ASCII, escapes for the rest). */
function pyRepr(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === "\\" || ch === "'") out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else out += `\\x${(c & 0xff).toString(16).padStart(2, "0")}`;
  }
  return `${out}'`;
}

/** raw-unicode-escape, as the UNICODE opcode expects. */
function rawUnicodeEscape(s: string): Uint8Array {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c > 0xffff) out += `\\U${c.toString(16).padStart(8, "0")}`;
    else if (c > 0xff || ch === "\\" || ch === "\n" || ch === "\r" || ch === "\0") {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return latin1(out);
}

type Slot = "global" | "value";

class Writer {
  readonly ops: number[][] = [];
  readonly memo = new Map<number, Slot>();
  nextMemo = 0;
  proto: number;
  readonly rng: Rng;
  budget: number;
  readonly ext: Array<number> = [];

  constructor(rng: Rng, proto: number, budget: number) {
    this.rng = rng;
    this.proto = proto;
    this.budget = budget;
  }

  op(code: number, ...payload: (number | number[] | Uint8Array)[]): void {
    const bytes: number[] = [code];
    for (const p of payload) {
      if (typeof p === "number") bytes.push(p);
      else for (const b of p) bytes.push(b);
    }
    this.ops.push(bytes);
  }

  line(code: number, text: string | Uint8Array): void {
    this.op(code, typeof text === "string" ? latin1(text) : text, 0x0a);
  }

  // --- scalars --------------------------------------------------------------------------------

  int(v: bigint): void {
    const rng = this.rng;
    if (this.proto === 0 || rng.chance(0.1)) {
      if (rng.chance(0.5)) this.line(OP.INT, v.toString());
      else this.line(OP.LONG, `${v}L`);
      return;
    }
    if (v >= 0n && v < 256n && rng.chance(0.7)) this.op(OP.BININT1, Number(v));
    else if (v >= 0n && v < 65536n && rng.chance(0.7)) this.op(OP.BININT2, le(v, 2));
    else if (v >= -(1n << 31n) && v < 1n << 31n && rng.chance(0.7)) this.op(OP.BININT, le(v, 4));
    else if (this.proto >= 2) {
      const b = longBytes(v);
      if (b.length < 256 && rng.chance(0.7)) this.op(OP.LONG1, b.length, b);
      else this.op(OP.LONG4, le(BigInt(b.length), 4), b);
    } else this.line(OP.LONG, `${v}L`);
  }

  str(s: string): void {
    const rng = this.rng;
    const ascii = /^[\x20-\x7e]*$/.test(s);
    if (this.proto === 0) {
      if (ascii && rng.chance(0.4)) this.line(OP.STRING, pyRepr(s));
      else this.line(OP.UNICODE, rawUnicodeEscape(s));
      return;
    }
    const utf8 = enc.encode(s);
    const r = rng.below(10);
    if (ascii && r === 0) {
      const b = latin1(s);
      if (b.length < 256 && rng.chance(0.5)) this.op(OP.SHORT_BINSTRING, b.length, b);
      else this.op(OP.BINSTRING, le(BigInt(b.length), 4), b);
    } else if (this.proto >= 4 && utf8.length < 256 && r < 6) this.op(OP.SHORT_BINUNICODE, utf8.length, utf8);
    else if (this.proto >= 4 && r === 6) this.op(OP.BINUNICODE8, le(BigInt(utf8.length), 8), utf8);
    else this.op(OP.BINUNICODE, le(BigInt(utf8.length), 4), utf8);
  }

  bytes(b: Uint8Array): void {
    const r = this.rng.below(4);
    if (this.proto >= 5 && r === 0) {
      this.op(OP.BYTEARRAY8, le(BigInt(b.length), 8), b);
      if (this.rng.chance(0.3)) this.op(OP.READONLY_BUFFER);
    } else if (this.proto >= 4 && r === 1) this.op(OP.BINBYTES8, le(BigInt(b.length), 8), b);
    else if (b.length < 256 && r !== 3) this.op(OP.SHORT_BINBYTES, b.length, b);
    else this.op(OP.BINBYTES, le(BigInt(b.length), 4), b);
  }

  // --- memo -----------------------------------------------------------------------------------

  /** Memoizes the top of the stack (sometimes overwriting an existing slot). */
  put(kind: Slot): void {
    const rng = this.rng;
    if (this.proto >= 4 && rng.chance(0.5)) {
      this.op(OP.MEMOIZE);
      this.memo.set(this.memo.size, kind);
      this.nextMemo = Math.max(this.nextMemo, this.memo.size);
      return;
    }
    const overwrite = this.memo.size > 0 && rng.chance(0.15);
    const index = overwrite ? rng.pick([...this.memo.keys()]) : this.nextMemo++;
    if (this.proto === 0) this.line(OP.PUT, String(index));
    else if (index < 256 && rng.chance(0.8)) this.op(OP.BINPUT, index);
    else this.op(OP.LONG_BINPUT, le(BigInt(index), 4));
    this.memo.set(index, kind);
  }

  get(index: number): void {
    if (this.proto === 0) this.line(OP.GET, String(index));
    else if (index < 256 && this.rng.chance(0.8)) this.op(OP.BINGET, index);
    else this.op(OP.LONG_BINGET, le(BigInt(index), 4));
  }
}

/** Random scalar values. */
function randomString(rng: Rng): string {
  return rng.pick(["", "a", "id", "echo hi", "weights", "é", "日本", "x".repeat(rng.int(1, 300)), "\\n'", "__class__"]);
}
function randomInt(rng: Rng): bigint {
  return rng.pick([
    0n,
    1n,
    -1n,
    255n,
    256n,
    65535n,
    65536n,
    2147483647n,
    -2147483648n,
    1n << 40n,
    -(1n << 70n),
    1n << 200n,
  ]);
}

/** Emits one value (pushes exactly one stack item). */
function value(w: Writer, depth: number): void {
  const rng = w.rng;
  w.budget--;
  const leaf = depth > 5 || w.budget <= 0;
  const r = rng.below(leaf ? 8 : 26);
  switch (r) {
    case 0:
      w.op(OP.NONE);
      break;
    case 1:
      if (w.proto >= 2) w.op(rng.chance(0.5) ? OP.NEWTRUE : OP.NEWFALSE);
      else w.line(OP.INT, rng.chance(0.5) ? "01" : "00");
      break;
    case 2:
      w.int(randomInt(rng));
      break;
    case 3: {
      const f = rng.pick([0, 1.5, -2.25, 1e300, Math.PI]);
      if (w.proto === 0) w.line(OP.FLOAT, String(f));
      else {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(f);
        w.op(OP.BINFLOAT, b);
      }
      break;
    }
    case 4:
      w.str(randomString(rng));
      break;
    case 5:
      if (w.proto >= 3) w.bytes(Uint8Array.from({ length: rng.int(0, 40) }, () => rng.below(256)));
      else w.str(randomString(rng));
      break;
    case 6:
    case 7:
      global(w);
      break;
    case 8:
    case 9:
      tuple(w, depth);
      break;
    case 10:
      list(w, depth);
      break;
    case 11:
      dict(w, depth);
      break;
    case 12:
      set(w, depth);
      break;
    case 13:
    case 14:
    case 15:
      reduce(w, depth);
      break;
    case 16:
      build(w, depth);
      break;
    case 17:
      inst(w, depth);
      break;
    case 18:
      obj(w, depth);
      break;
    case 19:
      newobj(w, depth);
      break;
    case 20:
      memoRef(w, depth);
      break;
    case 21:
      // an import pushed and popped: CPython still imports it
      global(w);
      w.op(OP.POP);
      value(w, depth + 1);
      break;
    case 22:
      if (w.ext.length > 0) ext(w, rng.pick(w.ext));
      else global(w);
      break;
    case 23:
      if (w.proto >= 5 && rng.chance(0.1))
        w.op(OP.NEXT_BUFFER); // CPython: no buffers were given
      else persid(w, depth);
      break;
    case 24:
      // calls on an object: appends / setitems on the result of a call
      callThenAppend(w, depth);
      break;
    default:
      // MARK … POP_MARK around junk, then a value
      w.op(OP.MARK);
      for (let i = rng.int(0, 2); i > 0; i--) value(w, depth + 1);
      w.op(OP.POP_MARK);
      value(w, depth + 1);
  }
  if (rng.chance(0.15)) w.put("value");
}

function global(w: Writer): void {
  const rng = w.rng;
  const [module, name] = rng.pick(GLOBALS);
  if (w.proto >= 1 && w.proto < 4 && rng.chance(0.03)) {
    // a PROTO in the middle of the stream changes CPython's name mapping for what follows
    const p = rng.int(0, 3);
    w.op(OP.PROTO, p);
    w.proto = Math.max(p, 1);
  }
  if (w.proto >= 4 && rng.chance(0.6)) {
    w.str(module);
    w.str(name);
    w.op(OP.STACK_GLOBAL);
  } else w.line(OP.GLOBAL, `${module}\n${name}`);
  if (rng.chance(0.3)) w.put("global");
}

/** A callable: a fresh global, or one reused from the memo. */
function callable(w: Writer): void {
  const globals = [...w.memo.entries()].filter(([, k]) => k === "global").map(([i]) => i);
  if (globals.length > 0 && w.rng.chance(0.3)) w.get(w.rng.pick(globals));
  else global(w);
}

function items(w: Writer, depth: number, max: number): number {
  const n = w.rng.int(0, max);
  for (let i = 0; i < n; i++) value(w, depth + 1);
  return n;
}

function tuple(w: Writer, depth: number): void {
  const rng = w.rng;
  if (w.proto >= 2 && rng.chance(0.5)) {
    const n = rng.int(0, 3);
    for (let i = 0; i < n; i++) value(w, depth + 1);
    w.op([OP.EMPTY_TUPLE, OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][n] as number);
  } else if (w.proto >= 1 && rng.chance(0.2)) w.op(OP.EMPTY_TUPLE);
  else {
    w.op(OP.MARK);
    items(w, depth, 4);
    w.op(OP.TUPLE);
  }
}

function list(w: Writer, depth: number): void {
  const rng = w.rng;
  if (w.proto === 0 || rng.chance(0.3)) {
    w.op(OP.MARK);
    items(w, depth, 4);
    w.op(OP.LIST);
    return;
  }
  w.op(OP.EMPTY_LIST);
  if (rng.chance(0.3)) w.put("value");
  if (rng.chance(0.5)) {
    value(w, depth + 1);
    w.op(OP.APPEND);
  } else {
    w.op(OP.MARK);
    items(w, depth, 4);
    w.op(OP.APPENDS);
  }
}

function dict(w: Writer, depth: number): void {
  const rng = w.rng;
  const pairs = rng.int(0, 3);
  const pair = () => {
    if (rng.chance(0.7)) w.str(randomString(rng));
    else w.int(randomInt(rng));
    value(w, depth + 1);
  };
  if (w.proto === 0 || rng.chance(0.3)) {
    w.op(OP.MARK);
    for (let i = 0; i < pairs; i++) pair();
    w.op(OP.DICT);
    return;
  }
  w.op(OP.EMPTY_DICT);
  if (rng.chance(0.5)) {
    pair();
    w.op(OP.SETITEM);
  } else {
    w.op(OP.MARK);
    for (let i = 0; i < pairs; i++) pair();
    w.op(OP.SETITEMS);
  }
}

function set(w: Writer, depth: number): void {
  const rng = w.rng;
  const member = () => {
    if (rng.chance(0.5)) w.str(randomString(rng));
    else w.int(randomInt(rng));
  };
  if (w.proto >= 4) {
    if (rng.chance(0.5)) {
      w.op(OP.EMPTY_SET);
      w.op(OP.MARK);
      for (let i = rng.int(0, 3); i > 0; i--) member();
      w.op(OP.ADDITEMS);
    } else {
      w.op(OP.MARK);
      for (let i = rng.int(0, 3); i > 0; i--) member();
      w.op(OP.FROZENSET);
    }
    return;
  }
  // protocols < 4 pickle sets as builtins.set([...]) (or __builtin__.set under protocol 0–2)
  w.line(OP.GLOBAL, `${w.proto < 3 ? "__builtin__" : "builtins"}\nset`);
  w.op(OP.MARK);
  w.op(OP.MARK);
  for (let i = rng.int(0, 3); i > 0; i--) member();
  w.op(OP.LIST);
  w.op(OP.TUPLE);
  w.op(OP.REDUCE);
  void depth;
}

function argsTuple(w: Writer, depth: number, max = 3): void {
  w.op(OP.MARK);
  items(w, depth, max);
  w.op(OP.TUPLE);
}

function reduce(w: Writer, depth: number): void {
  callable(w);
  argsTuple(w, depth);
  w.op(OP.REDUCE);
}

function build(w: Writer, depth: number): void {
  const rng = w.rng;
  if (rng.chance(0.5)) reduce(w, depth);
  else newobj(w, depth);
  if (rng.chance(0.5)) dict(w, depth);
  else value(w, depth + 1);
  w.op(OP.BUILD);
}

function inst(w: Writer, depth: number): void {
  const [module, name] = w.rng.pick(GLOBALS);
  w.op(OP.MARK);
  items(w, depth, 2);
  w.line(OP.INST, `${module}\n${name}`);
}

function obj(w: Writer, depth: number): void {
  if (w.proto < 1) {
    inst(w, depth);
    return;
  }
  w.op(OP.MARK);
  callable(w);
  items(w, depth, 2);
  w.op(OP.OBJ);
}

function newobj(w: Writer, depth: number): void {
  if (w.proto < 2) {
    reduce(w, depth);
    return;
  }
  callable(w);
  if (w.proto >= 4 && w.rng.chance(0.4)) {
    argsTuple(w, depth, 2);
    w.op(OP.EMPTY_DICT);
    if (w.rng.chance(0.5)) {
      w.str("k");
      value(w, depth + 1);
      w.op(OP.SETITEM);
    }
    w.op(OP.NEWOBJ_EX);
  } else {
    argsTuple(w, depth, 2);
    w.op(OP.NEWOBJ);
  }
}

function memoRef(w: Writer, depth: number): void {
  if (w.memo.size === 0) {
    value(w, depth + 1);
    return;
  }
  w.get(w.rng.pick([...w.memo.keys()]));
  if (w.rng.chance(0.2)) {
    // DUP then drop the copy
    w.op(OP.DUP);
    w.op(OP.POP);
  }
}

function ext(w: Writer, code: number): void {
  if (code < 256) w.op(OP.EXT1, code);
  else if (code < 65536) w.op(OP.EXT2, le(BigInt(code), 2));
  else w.op(OP.EXT4, le(BigInt(code), 4));
}

function persid(w: Writer, depth: number): void {
  if (w.proto === 0 || w.rng.chance(0.3)) w.line(OP.PERSID, w.rng.pick(["0", "storage", "x"]));
  else {
    tuple(w, depth);
    w.op(OP.BINPERSID);
  }
}

function callThenAppend(w: Writer, depth: number): void {
  reduce(w, depth);
  const r = w.rng.below(3);
  if (r === 0) {
    value(w, depth + 1);
    w.op(OP.APPEND);
  } else if (r === 1) {
    w.op(OP.MARK);
    items(w, depth, 2);
    w.op(OP.APPENDS);
  } else {
    w.str("key");
    value(w, depth + 1);
    w.op(OP.SETITEM);
  }
}

/** Registers an extension code the way a stream can: `copyreg.add_extension(module, name, code)`, popped. */
function registerExtension(w: Writer): void {
  const rng = w.rng;
  const [module, name] = rng.pick(GLOBALS.filter(([, n]) => !n.includes(".")));
  const code = rng.pick([1, 7, 200, 255, 256, 4000, 65535, 65536, 1 << 20]);
  w.line(OP.GLOBAL, "copyreg\nadd_extension");
  w.op(OP.MARK);
  w.str(module);
  w.str(name);
  w.int(BigInt(code));
  w.op(OP.TUPLE);
  w.op(OP.REDUCE);
  w.op(OP.POP);
  w.ext.push(code);
}

/** Splits the opcodes after PROTO into FRAMEs (protocol 4+), never inside an opcode. */
function frame(ops: number[][], rng: Rng): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < ops.length) {
    const n = rng.int(1, 12);
    const chunk = ops.slice(i, i + n).flat();
    i += n;
    if (rng.chance(0.85)) out.push(OP.FRAME, ...le(BigInt(chunk.length), 8));
    out.push(...chunk);
  }
  return out;
}

/**
 * One random well-formed stream.
 * @param rng - the random source
 * @param protocol - 0–5, or undefined for a random one
 */
export function generatePickle(rng: Rng, protocol?: number): GeneratedPickle {
  const proto = protocol ?? rng.int(0, 5);
  const w = new Writer(rng, proto, rng.int(3, 40));
  if (proto >= 2 && rng.chance(0.5)) for (let i = rng.int(1, 2); i > 0; i--) registerExtension(w);
  const top = rng.int(1, 3);
  for (let i = 0; i < top; i++) {
    value(w, 0);
    if (i < top - 1) w.op(OP.POP);
  }
  w.op(OP.STOP);
  const head = proto >= 2 || (proto === 1 && rng.chance(0.2)) ? [OP.PROTO, proto] : [];
  const body = proto >= 4 ? frame(w.ops, rng) : w.ops.flat();
  return { protocol: proto, bytes: Uint8Array.from([...head, ...body]) };
}

/** `count` streams from a seed, cycling through the protocols. */
export function generatePickles(seed: number, count: number): GeneratedPickle[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => generatePickle(rng, i % 6));
}
