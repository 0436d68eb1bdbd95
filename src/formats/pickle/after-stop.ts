/**
 * What a pickle stream imports after the point where its analysis stopped. The machine stops at
 * the first budget it exceeds (stack, marks, memo, distinct globals, opcodes, line length, retained
 * values) and at the first opcode it reads as malformed; CPython's unpickler has no such budgets
 * (and a loader that reads on past an error, or models it otherwise, runs what follows), so a
 * stream of 4 million `None`s followed by `posix.system` stopped the analysis before the import
 * and hid it. The rest of the stream, from shortly before the stop to its end, is swept for
 * imports (GLOBAL, INST, the strings of STACK_GLOBAL: `sweep.ts`) under the pickle's own policy,
 * and every denied or unknown name is reported at its own severity.
 * @module
 */
import { isModelgateError } from "../../core/errors.js";
import type { FindingInput } from "../../core/findings.js";
import { importsResumed } from "./after-stop-names.js";
import { fixImports } from "./compat.js";
import type { PickleError } from "./errors.js";
import type { PickleInput } from "./input.js";
import { SourceInput } from "./input.js";
import type { PicklePolicy } from "./policy/index.js";
import { isPayloadSink } from "./pymodel.js";
import { sweepPickleChunks } from "./sweep.js";

/** Bytes after a stop swept at most (a longer rest is reported as not swept). */
export const MAX_AFTER_STOP_BYTES = 256 * 1024 * 1024;
/**
 * Bytes before the stop swept too: an import whose first string was read before the stop (the
 * stack was full at its second one) is found whole. Longer than any import the sweep matches.
 */
const BACK = 2048;
/**
 * Bytes after a budget stop read on opcode by opcode (`after-stop-names.ts`, a few MB/s): a 64 MiB
 * run of one opcode past a stack budget took 13 s to read through.
 */
const RESUME_BYTES = 2 * 1024 * 1024;
/** Chunk size of the sweep over a random-access input. */
const CHUNK = 1 << 20;

/** Settings of {@link importsAfterStop}. */
export interface AfterStopOptions {
  /** The pickle's policy (its context's profiles). */
  readonly policy: PicklePolicy;
  /** Names already reported by the analysis (not reported again). */
  readonly seen: (name: string) => boolean;
  /** Also report names outside the allowlist (default true; false for data after the pickles). */
  readonly unknown?: boolean | undefined;
  /** Called between chunks (deadline, abort). */
  readonly checkpoint?: (() => void) | undefined;
  /** Bytes swept at most after the stop (default {@link MAX_AFTER_STOP_BYTES}). */
  readonly maxBytes?: number | undefined;
  /** An offset the sweep never reads past (the bytes a speculative reading holds); not reported. */
  readonly end?: number | undefined;
  /** The stopped machine's memo strings by index (imports whose strings come from the memo). */
  readonly memo?: ((index: number) => string | undefined) | undefined;
  /** The same memo and its size (where MEMOIZE goes on), for reading on after a budget stop. */
  readonly machineMemo?: { readonly get: (index: number) => string | undefined; readonly size: number } | undefined;
}

/**
 * Findings for the imports in the rest of a stream whose analysis stopped with `error`.
 * @param input - the stream (random-access or not; a stream is read on from where it is)
 * @param start - offset of the pickle's first byte (the sweep never starts before it)
 * @param error - what stopped the analysis
 * @param options - policy, names already reported, budget
 */
export async function importsAfterStop(
  input: PickleInput,
  start: number,
  error: PickleError,
  options: AfterStopOptions,
): Promise<FindingInput[]> {
  const max = options.maxBytes ?? MAX_AFTER_STOP_BYTES;
  const bounded = options.end !== undefined && options.end < error.offset + max;
  const end = bounded ? Math.max(error.offset, options.end ?? 0) : error.offset + max;
  const rest = restOf(input, Math.max(start, error.offset - BACK), end);
  const from = rest.origin;
  const hits = await sweepPickleChunks(rest.chunks, options.checkpoint ?? (() => {}), {
    policy: options.policy,
    unknown: options.unknown ?? true,
    // an allowed nested loader (torch's `_load_from_bytes`, `pickle.loads` under a profile) after
    // the stop is handed bytes the analysis never read
    memo: options.memo,
    flag: (full) => {
      const fixed = fixImports(...splitName(full), 2);
      return isPayloadSink(full) || isPayloadSink(`${fixed.module}.${fixed.name}`);
    },
    // before the stop the analysis saw every import: only a denied one cut by the stop is new
    unknownFrom: error.offset - from,
    // the analysis keys what it saw by the name after Python 2 renames (`__builtin__` is `builtins`)
    skip: (full, module, name) => {
      if (options.seen(full)) return true;
      const fixed = fixImports(module, name, 2);
      return fixed.renamed && options.seen(`${fixed.module}.${fixed.name}`);
    },
  });
  // After a budget stop the bytes still decode as opcodes: read on as the unpickler does, so that
  // imports the byte sweep cannot resolve (memoised strings, opcodes between them) are found too.
  const memo = options.machineMemo;
  // (opcode by opcode it reads a few MB/s: at most RESUME_BYTES; the byte sweep covers the rest)
  const slice =
    error.kind === "budget" && memo !== undefined && input.size !== undefined
      ? input.slice(error.offset, Math.max(0, Math.min(input.size, end, error.offset + RESUME_BYTES) - error.offset))
      : undefined;
  if (slice !== undefined && memo !== undefined) {
    const swept = new Set(hits.map((h) => `${h.offset}|${h.name}`));
    const policy = options.policy;
    for (const r of await importsResumed(new SourceInput(slice, 0), memo, options.checkpoint ?? (() => {}))) {
      const full = `${r.module}.${r.name}`;
      const fixed = fixImports(r.module, r.name, 2);
      const canonical = `${fixed.module}.${fixed.name}`;
      if (options.seen(full) || options.seen(canonical)) continue;
      const offset = error.offset + r.offset - from;
      if (swept.has(`${offset}|${full}`)) continue;
      swept.add(`${offset}|${full}`);
      const c = policy.classify(canonical);
      if (c.status === "denied") {
        hits.push({ offset, name: canonical, severity: c.severity, category: c.category ?? "denied", denied: true });
      } else if (c.status === "unknown") {
        if (options.unknown ?? true)
          hits.push({ offset, name: canonical, severity: "medium", category: "unknown", denied: false });
      } else if (isPayloadSink(canonical)) {
        hits.push({ offset, name: canonical, severity: "high", category: "payload-sink", denied: false });
      }
    }
  }
  const stop = `${error.kind === "budget" ? "a budget" : error.kind === "truncated" ? "the end of the data" : "a malformed opcode"} at offset ${error.offset} (${error.message})`;
  const out: FindingInput[] = hits.map((h) => {
    const offset = from + h.offset;
    const evidence = {
      callee: h.name,
      importOffset: offset,
      found: "sweep after stop",
      stoppedAt: error.offset,
      category: h.category,
    };
    if (h.category === "payload-sink") {
      return {
        ruleId: "pickle/dangerous-global",
        severity: "high",
        message: `pickle imports ${h.name} at offset ${offset}, a loader of nested payloads, after its analysis stopped at ${stop}: what it is handed was never analysed (found by a sweep of the rest of the stream)`,
        offset,
        evidence,
      };
    }
    return h.denied
      ? {
          ruleId: "pickle/dangerous-global",
          severity: h.severity,
          message: `pickle imports ${h.name} at offset ${offset}, after its analysis stopped at ${stop}: found by a sweep of the rest of the stream; ${error.kind === "budget" ? "the unpickler has no such budget and runs it" : "a loader that reads on runs it"}`,
          offset,
          evidence,
        }
      : {
          ruleId: "pickle/unknown-global",
          message: `pickle imports ${h.name} at offset ${offset}, which is not allowlisted, after its analysis stopped at ${stop}: found by a sweep of the rest of the stream`,
          offset,
          evidence,
        };
  });
  if (!bounded && rest.cut()) {
    out.push({
      ruleId: "scan/budget-exceeded",
      message: `pickle analysis stopped at offset ${error.offset} and only the next ${max} bytes were swept for imports`,
      offset: error.offset + max,
      evidence: { budget: "pickle.afterStopBytes", limit: max },
    });
  }
  return out;
}

/** `module.name` split at its last dot, as the sweep reads imports. */
function splitName(full: string): [string, string] {
  const dot = full.lastIndexOf(".");
  return [full.slice(0, dot), full.slice(dot + 1)];
}

/**
 * The bytes of `input` from `from` to `end` (or its end), in chunks, and the offset of their first
 * byte (`origin`); `cut()` says afterwards whether bytes past `end` were left. A random-access
 * input is read through a slice; a stream from its buffer (the part from `from` on it still
 * holds: `origin` may be later than `from`) and on, consuming it.
 */
function restOf(
  input: PickleInput,
  from: number,
  end: number,
): { chunks: AsyncIterable<Uint8Array>; origin: number; cut: () => boolean } {
  const size = input.size;
  const source = size === undefined ? undefined : input.slice(from, Math.max(0, Math.min(size, end) - from));
  if (size !== undefined && source !== undefined) {
    async function* read(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < (source?.size ?? 0); at += CHUNK) {
        let chunk: Uint8Array | undefined;
        try {
          chunk = await source?.read(at, Math.min(CHUNK, (source?.size ?? 0) - at));
        } catch (error) {
          // the file's read budget ends the sweep where it ends the analysis (already reported)
          if (isModelgateError(error, "BUDGET_EXCEEDED")) return;
          throw error;
        }
        if (chunk === undefined || chunk.length === 0) return;
        yield chunk;
      }
    }
    return { chunks: read(), origin: from, cut: () => size > end };
  }
  let cut = false;
  // bytes before the input's buffer are gone: the sweep starts where the buffer does
  const origin = Math.max(from, input.base);
  async function* stream(): AsyncGenerator<Uint8Array> {
    let at = origin;
    if (at > input.offset && !(await input.skip(at - input.offset))) return;
    // each pass consumes at least one byte, so the input's length bounds the loop
    for (;;) {
      if (at >= end) {
        cut = !(await input.atEnd());
        return;
      }
      if (at >= input.base + input.end && !(await input.fill(1))) return;
      const lo = Math.max(0, at - input.base);
      const hi = Math.min(input.end, lo + (end - at));
      if (hi <= lo) return;
      const chunk = input.buf.slice(lo, hi);
      input.pos = Math.max(input.pos, hi);
      at = input.base + hi;
      yield chunk;
    }
  }
  return { chunks: stream(), origin, cut: () => cut };
}
