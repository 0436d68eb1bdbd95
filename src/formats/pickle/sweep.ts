/**
 * A sweep of bytes no format accounts for (`format/unknown`) for pickle imports of dangerous names
 * at any offset: the GLOBAL/INST opcodes of protocols 0–3 (`c`/`i` + `module\nname\n`) and the
 * STACK_GLOBAL form of protocols 4–5 (two strings, in any string opcode's form, each optionally
 * memoised, then `\x93`). A custom checkpoint that unpickles from an offset behind its own header, or a loader
 * modelgate does not know, runs such a stream; an unknown file is only `format/unknown` (low), so
 * a dangerous import found in it is reported at the denylist's severity.
 *
 * Only names the pickle denylist denies are reported: an unknown module name in random bytes is
 * noise, `os.system` spelled as a pickle import is not. The rest of a pickle stream whose analysis
 * stopped (a budget, a malformed opcode: `after-stop.ts`) is swept too, and there names outside
 * the allowlist count as well (`SweepOptions.unknown`). Hand-written (a scan over latin-1 text of
 * bounded chunks) because no library searches binary for pickle opcodes.
 * @module
 */
import { type ByteSource, readChunks } from "../../core/byte-source.js";
import type { Severity } from "../../core/severity.js";
import { latin1 } from "../../core/sniffing.js";
import { type PicklePolicy, picklePolicy } from "./policy/index.js";

/** One dangerous import found. */
export interface EmbeddedImport {
  /** Byte offset of the opcode. */
  readonly offset: number;
  /** `module.name`. */
  readonly name: string;
  /** The denylist's severity for it. */
  readonly severity: Severity;
  /** The denylist category (`unknown` for a name outside the allowlist, see {@link SweepOptions.unknown}). */
  readonly category: string;
  /** The policy denies it (otherwise it is a name the allowlist does not list). */
  readonly denied: boolean;
}

/** What {@link sweepPickleImports} reports and how far it reads. */
export interface SweepOptions {
  /** The policy names are judged by (default: the plain pickle context's). */
  readonly policy?: PicklePolicy | undefined;
  /**
   * Also report names the policy neither allows nor denies (bytes known to be a pickle stream,
   * where an import is one; in bytes of unknown content they are noise). Default false.
   */
  readonly unknown?: boolean | undefined;
  /** Names outside the allowlist are reported from this offset of the bytes on (default 0). */
  readonly unknownFrom?: number | undefined;
  /** Bytes swept at most (default {@link MAX_SWEEP_BYTES}). */
  readonly maxBytes?: number | undefined;
  /** Names not to report (already reported otherwise): `module.name`, then its two parts. */
  readonly skip?: ((full: string, module: string, name: string) => boolean) | undefined;
  /**
   * Allowed names that are reported all the same from `unknownFrom` on (category `payload-sink`,
   * not denied): a nested loader whose payload the analysis never saw.
   */
  readonly flag?: ((full: string) => boolean) | undefined;
  /**
   * The memo's strings by index, where the sweep follows a stream whose start the machine read
   * (after a stop): a STACK_GLOBAL's strings fetched with BINGET/LONG_BINGET are looked up there.
   */
  readonly memo?: ((index: number) => string | undefined) | undefined;
}

/** Bytes swept at most (the rest of a larger file is not looked at). */
export const MAX_SWEEP_BYTES = 64 * 1024 * 1024;
/** Hits kept per severity (a severity not met yet is always kept: padding cannot hide a worse one). */
const MAX_HITS = 8;

const IDENT = "[A-Za-z_][A-Za-z0-9_]{0,63}";
/** A whole dotted name (a module or a global's name as GLOBAL/INST write them). */
const DOTTED = new RegExp(`^${IDENT}(?:\\.${IDENT}){0,7}$`);
/** Longest dotted name: 8 identifiers of 64 characters and their dots. */
const MAX_DOTTED = 8 * 65;
/** Overlap between chunks: longer than any pattern below (a GLOBAL line: opcode, two dotted names, newlines). */
const OVERLAP = 2 * MAX_DOTTED + 3;
/** Opcode positions tried per line end: a module holds at most this many `c`/`i` letters. */
const MAX_OPCODE_STARTS = 16;
/** A character of a dotted name. */
const dottedChar = (c: number): boolean =>
  c === 0x2e || c === 0x5f || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/**
 * GLOBAL and INST (`c`/`i` + module + `\n` + name + `\n`) ending a module at each line end (the
 * readings of one line handed over together): read
 * backwards from the `\n` over the run of name characters, each `c`/`i` in it (nearest first) a
 * possible opcode, and forwards over the name. Linear in the text: a regular expression tried at
 * every `c` re-read whole runs of name characters from each (8 MiB of `ccc…c.` took 12 s).
 */
function textGlobals(text: string, found: (line: Candidate[]) => void): void {
  for (let p = text.indexOf("\n"); p >= 0; p = text.indexOf("\n", p + 1)) {
    let q = p + 1;
    while (q < text.length && q - p <= MAX_DOTTED && dottedChar(text.charCodeAt(q))) q++;
    if (q === p + 1 || text.charCodeAt(q) !== 0x0a) continue;
    const name = text.slice(p + 1, q);
    if (!DOTTED.test(name)) continue;
    let starts = 0;
    const line: Candidate[] = [];
    for (let j = p - 1; j >= 0 && p - j <= MAX_DOTTED + 1 && starts < MAX_OPCODE_STARTS; j--) {
      const c = text.charCodeAt(j);
      if (c === 0x63 || c === 0x69) {
        starts++;
        const module = text.slice(j + 1, p);
        if (DOTTED.test(module)) line.push({ index: j, module, name, end: q + 1 });
      }
      if (!dottedChar(c)) break;
    }
    if (line.length > 0) found(line);
  }
}

/** One reading of bytes as an import: where its opcode (or first string) starts, module and name. */
interface Candidate {
  readonly index: number;
  readonly module: string;
  readonly name: string;
  /** Where it ends (after the name's newline), for GLOBAL and INST readings. */
  readonly end?: number;
}

/** Longest module or name a STACK_GLOBAL candidate is read with. */
const MAX_NAME = 128;
/** Strings read before one position at most (crafted bytes cannot make the sweep quadratic). */
const MAX_CANDIDATES = 8;
/** A name character (printable ASCII but space). */
const nameChar = (c: number): boolean => c >= 0x21 && c <= 0x7e;

/**
 * Where a string opcode's value could end before `end` (optionally memoised: MEMOIZE, BINPUT,
 * LONG_BINPUT), and the values of every string opcode ending there: SHORT_BINUNICODE (`\x8c` +
 * length byte), BINUNICODE (`X` + 4-byte little-endian length), SHORT_BINSTRING (`U` + length
 * byte), BINSTRING (`T` + 4-byte length), UNICODE (`V` ... `\n`) and STRING (`S'...'\n`). Read
 * backwards from the STACK_GLOBAL, each length checked against the value's. A heuristic: memo GET
 * forms (a module or name fetched from the memo) are not followed.
 */
function stringsBefore(
  text: string,
  end: number,
  memo?: (index: number) => string | undefined,
): { readonly value: string; readonly start: number }[] {
  const found: { value: string; start: number }[] = [];
  const at = (i: number): number => (i >= 0 && i < text.length ? text.charCodeAt(i) : -1);
  if (memo !== undefined) {
    // BINGET h + 1 byte, LONG_BINGET j + 4 bytes (little-endian): a string the machine memoised
    if (at(end - 2) === 0x68) {
      const value = memo(at(end - 1));
      if (value !== undefined) found.push({ value, start: end - 2 });
    }
    if (at(end - 5) === 0x6a) {
      const index = at(end - 4) + at(end - 3) * 0x100 + at(end - 2) * 0x10000 + at(end - 1) * 0x1000000;
      const value = index >= 0 ? memo(index) : undefined;
      if (value !== undefined) found.push({ value, start: end - 5 });
    }
  }
  const ends = [end];
  if (at(end - 1) === 0x94) ends.push(end - 1);
  if (at(end - 2) === 0x71) ends.push(end - 2); // BINPUT q + 1 byte
  if (at(end - 5) === 0x72) ends.push(end - 5); // LONG_BINPUT r + 4 bytes
  for (const e of ends) {
    if (found.length >= MAX_CANDIDATES) break;
    let run = 0;
    while (run < MAX_NAME && nameChar(at(e - 1 - run))) run++;
    for (let length = 1; length <= run; length++) {
      const s = e - length;
      const op1 = at(s - 2);
      if ((op1 === 0x8c || op1 === 0x55) && at(s - 1) === length) found.push({ value: text.slice(s, e), start: s - 2 });
      const op4 = at(s - 5);
      if (
        (op4 === 0x58 || op4 === 0x54) &&
        at(s - 4) === length &&
        at(s - 3) === 0 &&
        at(s - 2) === 0 &&
        at(s - 1) === 0
      )
        found.push({ value: text.slice(s, e), start: s - 5 });
    }
    if (at(e - 1) !== 0x0a) continue;
    // UNICODE `V` value `\n`; STRING `S'` value `'\n` (or double quotes).
    let n = 0;
    while (n < MAX_NAME + 2 && nameChar(at(e - 2 - n))) {
      n++;
      const s = e - 1 - n;
      if (at(s - 1) === 0x56) found.push({ value: text.slice(s, e - 1), start: s - 1 });
      const q = at(s);
      if (n >= 3 && (q === 0x27 || q === 0x22) && at(e - 2) === q && at(s - 1) === 0x53)
        found.push({ value: text.slice(s + 1, e - 2), start: s - 1 });
    }
  }
  return found.slice(0, MAX_CANDIDATES);
}

/**
 * Dangerous pickle imports in the first {@link MAX_SWEEP_BYTES} (or `options.maxBytes`) bytes of a source.
 * @param source - the bytes
 * @param checkpoint - called between chunks (deadline, abort)
 * @param options - policy, unknown names, bytes swept
 */
export function sweepPickleImports(
  source: ByteSource,
  checkpoint: () => void,
  options: SweepOptions = {},
): Promise<EmbeddedImport[]> {
  const end = Math.min(source.size, options.maxBytes ?? MAX_SWEEP_BYTES);
  return sweepPickleChunks(readChunks(source, { end }), checkpoint, options);
}

/**
 * Dangerous pickle imports in consecutive chunks of bytes (offsets count from the first chunk's
 * first byte); the caller bounds how many it yields (`options.maxBytes` is not applied here).
 * @param chunks - the bytes, in order
 * @param checkpoint - called between chunks (deadline, abort)
 * @param options - policy, unknown names
 */
export async function sweepPickleChunks(
  chunks: AsyncIterable<Uint8Array>,
  checkpoint: () => void,
  options: SweepOptions = {},
): Promise<EmbeddedImport[]> {
  const policy = options.policy ?? picklePolicy("pickle");
  const unknown = options.unknown === true;
  const hits: EmbeddedImport[] = [];
  const seen = new Set<string>();
  const kept = new Map<Severity, number>();
  const report = (offset: number, full: string, severity: Severity, category: string, denied: boolean): void => {
    if (seen.has(full)) return;
    const n = kept.get(severity) ?? 0;
    if (n >= MAX_HITS) return;
    kept.set(severity, n + 1);
    seen.add(full);
    hits.push({ offset, name: full, severity, category, denied });
  };
  const unknownFrom = options.unknownFrom ?? 0;
  /** End of the last GLOBAL/INST reading taken as one: a `c`/`i` inside it starts no other. */
  let covered = -1;
  // The readings of one import (each `c`/`i` letter of a module a possible opcode, each length
  // byte a possible string opcode): every denied one is reported; an unknown name only when no
  // reading is known to the policy (`posix` holds an `i`: `x.system` is not another import), and
  // then only the longest, when it starts past `unknownFrom` and outside the GLOBAL before it
  // (`cbuiltins\nslice\np1\n` is not also INST `ce.p1`).
  const judge = (base: number, readings: readonly Candidate[]): void => {
    let longest: Candidate | undefined;
    let known = false;
    let end = -1;
    for (const r of readings) if (r.end !== undefined) end = Math.max(end, base + r.end);
    const inside = readings.every((r) => base + r.index < covered);
    // a reading inside another is none: it does not cover what follows
    if (end >= 0 && !inside) covered = Math.max(covered, end);
    for (const r of readings) {
      const full = `${r.module}.${r.name}`;
      if (options.skip?.(full, r.module, r.name) === true) {
        known = true; // the caller reported it (the analysis saw it)
        continue;
      }
      const c = policy.classify(full);
      if (c.status === "denied") report(base + r.index, full, c.severity, c.category ?? "denied", true);
      else if (c.status !== "unknown" && base + r.index >= unknownFrom && options.flag?.(full) === true)
        report(base + r.index, full, "high", "payload-sink", false);
      if (c.status !== "unknown") known = true;
      else if (longest === undefined || r.module.length + r.name.length > longest.module.length + longest.name.length)
        longest = r;
    }
    if (unknown && !known && !inside && longest !== undefined && base + longest.index >= unknownFrom)
      report(base + longest.index, `${longest.module}.${longest.name}`, "medium", "unknown", false);
  };
  let carry = "";
  let carryStart = 0;
  let read = 0;
  for await (const chunk of chunks) {
    checkpoint();
    const text = carry + latin1(chunk);
    const base = carryStart;
    textGlobals(text, (line) => judge(base, line));
    // STACK_GLOBAL (0x93) after two strings, each in any of the string opcodes' forms.
    for (let p = text.indexOf("\x93"); p >= 0; p = text.indexOf("\x93", p + 1)) {
      const readings: Candidate[] = [];
      for (const name of stringsBefore(text, p, options.memo))
        for (const module of stringsBefore(text, name.start, options.memo))
          readings.push({ index: module.start, module: module.value, name: name.value });
      if (readings.length > 0) judge(base, readings);
    }
    read += chunk.length;
    carry = text.slice(Math.max(0, text.length - OVERLAP));
    carryStart = read - carry.length;
  }
  return hits;
}
