/**
 * Cheap test of whether bytes start a pickle stream, for the sniffer. It walks opcodes over the
 * head with argument validation, so random binary data and ordinary text do not pass.
 * @module
 */

import { latin1 } from "../../core/sniffing.js";
import { decimalLineValue } from "./literals.js";
import { acceptsLine } from "./machine.js";

/** How an opcode's argument is laid out. */
type Arg =
  | "none"
  | "u1"
  | "u2"
  | "i4"
  | "f8"
  | "u8"
  | "len1"
  | "len4"
  | "len8"
  | "int-line"
  | "long-line"
  | "float-line"
  | "string-line"
  | "any-line"
  | "digits-line"
  | "two-lines";

const ARGS = new Map<number, Arg>();
const set = (codes: string, arg: Arg) => {
  for (const c of codes) ARGS.set(c.charCodeAt(0), arg);
};
set("(.0123NQRabdelostu}])\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98", "none");
set("Khq\x80\x82", "u1");
set("M\x83", "u2");
set("Jjr\x84", "i4");
set("G", "f8");
set("\x95", "u8");
set("UC\x8a\x8c", "len1");
set("TXB\x8b", "len4");
set("\x8d\x8e\x96", "len8");
set("I", "int-line");
set("L", "long-line");
set("F", "float-line");
set("S", "string-line");
set("VP", "any-line");
set("gp", "digits-line");
set("ci", "two-lines");

/** Line grammars: numbers exactly as CPython's unpickler parses them (`strtol`, `int(x, 0)`). */
const LINE_TESTS: Partial<Record<Arg, (line: string) => boolean>> = {
  "int-line": (line) => acceptsLine("I", line),
  "long-line": (line) => acceptsLine("L", line),
  "float-line": (line) => acceptsLine("F", line),
  "string-line": (line) => /^(?:'.*'|".*")$/s.test(line),
  "digits-line": (line) => decimalLineValue(line) !== undefined,
};

const IDENT_LINE = /^[A-Za-z_][\w.]*$/;
/**
 * Opcodes a real stream can begin with (after PROTO/FRAME): they push onto an empty stack. APPEND,
 * SETITEM, BUILD, REDUCE, STOP and friends need something there first, so text such as a tar
 * member named `a.txt` ("a" APPEND, "." STOP) is not a pickle.
 */
const STARTERS = new Set([
  ..."(}])NIJKLMFGSTUVXBCcighjP".split("").map((c) => c.charCodeAt(0)),
  0x82,
  0x83,
  0x84,
  0x88,
  0x89,
  0x8a,
  0x8b,
  0x8c,
  0x8d,
  0x8e,
  0x8f,
  0x96,
  0x97,
]);
const STOP = 0x2e;
const NEWLINE = 0x0a;
const BINARY_FROM_PROTOCOL_1 = new Set([..."JKMGTUXhqjr}])(".split("").map((c) => c.charCodeAt(0))]);

/**
 * Whether `head` plausibly starts a pickle.
 * @param head - the first bytes of the input
 * @param size - the input's total size (tells whether `head` is complete)
 * @returns the protocol the stream appears to use, or undefined when it is not a pickle
 */
export function looksLikePickle(head: Uint8Array, size: number): number | undefined {
  const complete = head.length >= size;
  const limit = Math.min(head.length, 16_384);
  let protocol = 0;
  let ops = 0;
  let pos = 0;
  let sawGlobal = false;
  // A stream that starts like a pickle and breaks later (truncated, garbage, raw array data) is
  // still a pickle: CPython runs everything before the break.
  const broken = (): number | undefined =>
    (head[0] === 0x80 && ops >= 3) || (sawGlobal && ops >= 3) ? protocol : undefined;
  if (head[0] === 0x80) {
    if (head.length < 3 || head[1]! > 5) return undefined;
    protocol = head[1]!;
  }
  // Lines have no length limit in CPython. A line running past the head is left undecided here:
  // the claims (src/registry/claims.ts) still hand such a stream to the engine.
  const readLine = (): string | undefined => {
    const end = head.indexOf(NEWLINE, pos);
    if (end < 0) return undefined;
    const line = latin1(head.subarray(pos, end));
    pos = end + 1;
    return line;
  };
  let started = false;
  while (pos < limit) {
    const op = head[pos]!;
    const arg = ARGS.get(op);
    if (arg === undefined) return broken();
    if (!started && op !== 0x80 && op !== 0x95) {
      if (!STARTERS.has(op)) return undefined;
      started = true;
    }
    if (protocol === 0 && BINARY_FROM_PROTOCOL_1.has(op) && op !== 0x28 && op !== 0x29) protocol = 1;
    pos++;
    ops++;
    let need = 0;
    switch (arg) {
      case "none":
        break;
      case "u1":
        need = 1;
        break;
      case "u2":
        need = 2;
        break;
      case "i4":
        need = 4;
        break;
      case "f8":
      case "u8":
        need = 8;
        break;
      case "len1":
        need = pos < head.length ? 1 + head[pos]! : 1;
        break;
      case "len4": {
        if (pos + 4 > head.length) return complete ? broken() : ops >= 4 ? protocol : broken();
        const n = (head[pos]! | (head[pos + 1]! << 8) | (head[pos + 2]! << 16) | (head[pos + 3]! << 24)) >>> 0;
        if (n > size) return broken();
        need = 4 + n;
        break;
      }
      case "len8": {
        if (pos + 8 > head.length) return complete ? broken() : ops >= 4 ? protocol : broken();
        const view = new DataView(head.buffer, head.byteOffset + pos, 8);
        const n = view.getBigUint64(0, true);
        if (n > BigInt(size)) return broken();
        need = 8 + Number(n);
        break;
      }
      case "two-lines": {
        const module = readLine();
        const name = module === undefined ? undefined : readLine();
        if (module === undefined || name === undefined) return broken();
        if (!IDENT_LINE.test(module) || !IDENT_LINE.test(name)) return broken();
        sawGlobal = true;
        break;
      }
      default: {
        const line = readLine();
        if (line === undefined) return broken();
        const test = LINE_TESTS[arg];
        if (test !== undefined && !test(line)) return broken();
      }
    }
    if (pos + need > head.length) {
      // The argument runs past what we have: fine for a large stream, fatal for a complete one
      // unless the stream started like a pickle (then it is a truncated one).
      return complete || ops < 4 ? broken() : protocol;
    }
    pos += need;
    if (op === 0x93) sawGlobal = true;
    if (op === STOP) return ops >= 2 ? protocol : undefined;
  }
  return ops >= 16 ? protocol : undefined;
}
