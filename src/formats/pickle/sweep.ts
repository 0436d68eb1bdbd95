/**
 * A sweep of bytes no format accounts for (`format/unknown`) for pickle imports of dangerous names
 * at any offset: the GLOBAL/INST opcodes of protocols 0–3 (`c`/`i` + `module\nname\n`) and the
 * STACK_GLOBAL form of protocols 4–5 (two short unicode strings, each optionally memoised, then
 * `\x93`). A custom checkpoint that unpickles from an offset behind its own header, or a loader
 * modelgate does not know, runs such a stream; an unknown file is only `format/unknown` (low), so
 * a dangerous import found in it is reported at the denylist's severity.
 *
 * Only names the pickle denylist denies are reported: an unknown module name in random bytes is
 * noise, `os.system` spelled as a pickle import is not. Hand-written (a scan over latin-1 text of
 * bounded chunks) because no library searches binary for pickle opcodes.
 * @module
 */
import { type ByteSource, readChunks } from "../../core/byte-source.js";
import type { Severity } from "../../core/severity.js";
import { picklePolicy } from "./policy/index.js";

/** One dangerous import found. */
export interface EmbeddedImport {
  /** Byte offset of the opcode. */
  readonly offset: number;
  /** `module.name`. */
  readonly name: string;
  /** The denylist's severity for it. */
  readonly severity: Severity;
  /** The denylist category. */
  readonly category: string;
}

/** Bytes swept at most (the rest of a larger file is not looked at). */
export const MAX_SWEEP_BYTES = 64 * 1024 * 1024;
/** Overlap between chunks: longer than any pattern below. */
const OVERLAP = 600;
/** Hits kept per severity (a severity not met yet is always kept: padding cannot hide a worse one). */
const MAX_HITS = 8;

const IDENT = "[A-Za-z_][A-Za-z0-9_]{0,63}";
const DOTTED = `${IDENT}(?:\\.${IDENT}){0,7}`;
/** `c`/`i` + module + `\n` + name + `\n` (GLOBAL, INST). */
const TEXT_GLOBAL = new RegExp(`[ci](${DOTTED})\\n(${DOTTED})\\n`, "g");
/** SHORT_BINUNICODE module, optional MEMOIZE, SHORT_BINUNICODE name, optional MEMOIZE, STACK_GLOBAL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the pattern matches opcode and length bytes
const STACK_GLOBAL = /\x8c([\x01-\x80])([\x21-\x7e]{1,128})\x94?\x8c([\x01-\x80])([\x21-\x7e]{1,128})\x94?\x93/g;

/**
 * Dangerous pickle imports in the first {@link MAX_SWEEP_BYTES} of a source.
 * @param source - the bytes
 * @param checkpoint - called between chunks (deadline, abort)
 */
export async function sweepPickleImports(source: ByteSource, checkpoint: () => void): Promise<EmbeddedImport[]> {
  const policy = picklePolicy("pickle");
  const hits: EmbeddedImport[] = [];
  const seen = new Set<string>();
  const kept = new Map<Severity, number>();
  const judge = (offset: number, module: string, name: string): void => {
    const full = `${module}.${name}`;
    if (seen.has(full)) return;
    const c = policy.classify(full);
    if (c.status !== "denied") return;
    const n = kept.get(c.severity) ?? 0;
    if (n >= MAX_HITS) return;
    kept.set(c.severity, n + 1);
    seen.add(full);
    hits.push({ offset, name: full, severity: c.severity, category: c.category ?? "denied" });
  };
  let carry = "";
  let carryStart = 0;
  let read = 0;
  for await (const chunk of readChunks(source, { end: Math.min(source.size, MAX_SWEEP_BYTES) })) {
    checkpoint();
    // Byte for byte (ISO-8859-1; TextDecoder's "latin1" is windows-1252, which maps 0x80-0x9f away).
    const text = carry + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString("latin1");
    const base = carryStart;
    for (const m of text.matchAll(TEXT_GLOBAL)) judge(base + m.index, m[1] ?? "", m[2] ?? "");
    for (const m of text.matchAll(STACK_GLOBAL)) {
      const [, l1, module = "", l2, name = ""] = m;
      // The length bytes must be the strings' lengths, as SHORT_BINUNICODE reads them.
      if (l1?.charCodeAt(0) === module.length && l2?.charCodeAt(0) === name.length) judge(base + m.index, module, name);
    }
    read += chunk.length;
    carry = text.slice(Math.max(0, text.length - OVERLAP));
    carryStart = read - carry.length;
  }
  return hits;
}
