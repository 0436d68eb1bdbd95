/**
 * The int a pickle at the start of some bytes holds, when it is only that: an optional PROTO and
 * FRAME, one int literal in any of its spellings (LONG1/LONG4 bytes, a protocol 0 `L` or `I` line,
 * BININT*), memo puts, then STOP. For detectors that recognise a format by the value of its first
 * pickle (legacy PyTorch files open with a pickled magic number, whichever opcode spells it).
 * Lines are read with the engine's grammars (`literals.ts`), as CPython's unpickler reads them.
 * @module
 */
import { decimalLineValue, intLineValue, longLineValue } from "./literals.js";

const NEWLINE = 0x0a;
/** Most opcodes looked at (PROTO, FRAME, the int, puts, STOP). */
const MAX_OPS = 16;

/**
 * The int value of a pickle that holds nothing but an int, from its first bytes.
 * @param head - the first bytes of the input
 * @returns the value, or undefined when the head does not start with such a pickle
 */
export function leadingPickleInt(head: Uint8Array): bigint | undefined {
  let pos = 0;
  let value: bigint | undefined;
  const line = (): string | undefined => {
    const end = head.indexOf(NEWLINE, pos);
    if (end < 0) return undefined;
    const text = Buffer.from(head.subarray(pos, end)).toString("latin1");
    pos = end + 1;
    return text;
  };
  const le = (n: number, signed: boolean): bigint | undefined => {
    if (pos + n > head.length) return undefined;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(head[pos + i] as number);
    if (signed && n > 0 && ((head[pos + n - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
    pos += n;
    return v;
  };
  for (let ops = 0; ops < MAX_OPS && pos < head.length; ops++) {
    const op = head[pos++] as number;
    if (op === 0x2e) return value; // STOP
    if (op === 0x80) {
      if (value !== undefined || ops > 0 || le(1, false) === undefined) return undefined;
    } else if (op === 0x95) {
      if (value !== undefined || le(8, false) === undefined) return undefined;
    } else if (op === 0x94 || op === 0x71 || op === 0x72 || op === 0x70) {
      // MEMOIZE, BINPUT, LONG_BINPUT, PUT: the int stays on the stack
      if (value === undefined) return undefined;
      if (op === 0x71 && le(1, false) === undefined) return undefined;
      if (op === 0x72 && le(4, false) === undefined) return undefined;
      if (op === 0x70) {
        const l = line();
        if (l === undefined || decimalLineValue(l) === undefined) return undefined;
      }
    } else {
      if (value !== undefined) return undefined;
      value = intOpcode(op, le, line);
      if (value === undefined) return undefined;
    }
  }
  return undefined;
}

/** The value of one int-pushing opcode whose argument follows. */
function intOpcode(
  op: number,
  le: (n: number, signed: boolean) => bigint | undefined,
  line: () => string | undefined,
): bigint | undefined {
  switch (op) {
    case 0x8a: {
      // LONG1
      const n = le(1, false);
      return n === undefined ? undefined : le(Number(n), true);
    }
    case 0x8b: {
      // LONG4 (a negative length raises)
      const n = le(4, true);
      return n === undefined || n < 0n || n > 4096n ? undefined : le(Number(n), true);
    }
    case 0x4a: // BININT
      return le(4, true);
    case 0x4b: // BININT1
      return le(1, false);
    case 0x4d: // BININT2
      return le(2, false);
    case 0x4c: {
      // LONG
      const l = line();
      return l === undefined ? undefined : longLineValue(l);
    }
    case 0x49: {
      // INT (a bool when it is 00 or 01)
      const l = line();
      const v = l === undefined ? undefined : intLineValue(l);
      return typeof v === "bigint" ? v : undefined;
    }
    default:
      return undefined;
  }
}
