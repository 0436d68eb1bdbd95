/**
 * `modelgate/pickle`: what a pickle stream would import and call if it were loaded, read by
 * modelgate's symbolic unpickler (nothing is executed), and a pickletools-style listing.
 *
 * These read one stream as it is. For a file's verdict (containers, claims, nested payloads,
 * policy) scan it: `scan({ bytes, name })` from `modelgate`.
 *
 * ```ts
 * import { readPickle } from "modelgate/pickle";
 * const pickle = await readPickle("model.pkl");
 * for (const g of pickle.globals) console.log(g.name, g.callCount);
 * for (const f of pickle.findings) console.log(f.severity, f.ruleId, f.message);
 * ```
 * @module
 */
import { maxOf } from "../core/arrays.js";
import { analyzePickleStream } from "../formats/pickle/analyze.js";
import { disassemble } from "../formats/pickle/disassemble.js";
import { SourceInput } from "../formats/pickle/input.js";
import type { PickleContext, PicklePolicyOptions } from "../formats/pickle/policy/index.js";
import { issueView, type ReaderInput, type ReaderIssue, type ReaderOptions, withInput } from "./input.js";

export type { ByteSource } from "../core/byte-source.js";
export type { RuleId } from "../core/findings.js";
export type { PickleContext, PicklePolicyOptions } from "../formats/pickle/policy/index.js";
export type { ReaderInput, ReaderIssue, ReaderOptions } from "./input.js";

/** Options of {@link readPickle}. */
export interface PickleReadOptions extends ReaderOptions {
  /**
   * What loads the stream, which selects the allowlist profiles and loader behaviour: `pickle`
   * (default), `pytorch` (`data.pkl` of a checkpoint), `torchscript`, `numpy`, `joblib`.
   */
  readonly context?: PickleContext | undefined;
  /** Extra allowed and denied globals and the profiles in force, as in a policy's `pickle` section. */
  readonly policy?: PicklePolicyOptions | undefined;
  /** Byte offset of the first opcode (default 0). */
  readonly offset?: number | undefined;
}

/** One call or instantiation of a global. */
export interface PickleCallView {
  /** Opcode that made it (`REDUCE`, `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`, `BUILD`). */
  readonly opcode: string;
  /** Offset of that opcode. */
  readonly offset: number;
  /** Python-like preview of the arguments. */
  readonly args: string;
  /** How the call was reached (`functools.partial`, `copyreg._reconstructor` ...). */
  readonly via?: string | undefined;
  /** `call` runs the callable; `new` only allocates (`cls.__new__`). */
  readonly use: "call" | "new";
}

/** A name the stream imports (a global), or reaches from one. */
export interface PickleGlobalView {
  /** Which of the concatenated pickles references it (0 for the first). */
  readonly pickle: number;
  /** Canonical dotted name (`os.system`), after `_compat_pickle` renames. */
  readonly name: string;
  /** Module part. */
  readonly module: string;
  /** Attribute path within the module. */
  readonly qualname: string;
  /** The name as written in the stream, when a rename changed it. */
  readonly rawName?: string | undefined;
  /** How it was first produced: `GLOBAL`, `STACK_GLOBAL`, `INST`, `EXT`, `resolver`, `patched`. */
  readonly origin: string;
  /** Offset of that opcode. */
  readonly offset: number;
  /** How it was derived (resolver chain), if not imported directly. */
  readonly via?: string | undefined;
  /** The first calls and instantiations. */
  readonly calls: readonly PickleCallView[];
  /** Total calls and instantiations. */
  readonly callCount: number;
  /** Times it was referenced. */
  readonly refCount: number;
}

/** What {@link readPickle} found. */
export interface PickleView {
  /** Highest protocol (PROTO) seen. */
  readonly protocol: number;
  /** Concatenated pickles read. */
  readonly pickles: number;
  /** Names the stream imports or reaches, per pickle in first-use order. */
  readonly globals: readonly PickleGlobalView[];
  /** Findings, with severities under the default policy and `options.policy`. */
  readonly findings: readonly ReaderIssue[];
  /** Offset just after the last byte read. */
  readonly end: number;
  /** Offset of data after the last pickle that is not another pickle, if any. */
  readonly trailingOffset?: number | undefined;
  /** The stream could not be read to its end as a loader would. */
  readonly invalid: boolean;
}

/**
 * Reads a pickle stream (and the pickles concatenated after it) symbolically: what it imports and
 * calls, and the findings a scan would report for it. It rejects (with a `ModelgateError`) when
 * the input cannot be opened or read, or on abort; a malformed stream or an exceeded budget
 * (`maxReadBytes` included) is a finding, and the view is then `invalid`.
 * @param input - the stream
 * @param options - context, pickle policy, offset, signal and read budget
 */
export async function readPickle(input: ReaderInput, options: PickleReadOptions = {}): Promise<PickleView> {
  const { signal } = options;
  const analysis = await withInput(input, options, (source) =>
    analyzePickleStream(new SourceInput(source, options.offset ?? 0), {
      context: options.context ?? "pickle",
      policy: options.policy,
      checkpoint: signal === undefined ? undefined : () => signal.throwIfAborted(),
    }),
  );
  const globals: PickleGlobalView[] = [];
  for (const [pickle, run] of analysis.runs.entries()) {
    for (const ref of run.machine.refs.values()) {
      globals.push({
        pickle,
        name: ref.name,
        module: ref.module,
        qualname: ref.qualname,
        ...(ref.rawName === undefined ? {} : { rawName: ref.rawName }),
        origin: ref.origin,
        offset: ref.offset,
        ...(ref.via === undefined ? {} : { via: ref.via }),
        calls: ref.calls.map((c) => ({
          opcode: c.opcode,
          offset: c.offset,
          args: c.args,
          ...(c.via === undefined ? {} : { via: c.via }),
          use: c.use,
        })),
        callCount: ref.callCount,
        refCount: ref.refCount,
      });
    }
  }
  return {
    protocol: Math.max(0, maxOf(analysis.runs.map((r) => r.machine.maxProto))),
    pickles: analysis.runs.length,
    globals,
    findings: analysis.findings.map(issueView),
    end: analysis.end,
    ...(analysis.trailingOffset === undefined ? {} : { trailingOffset: analysis.trailingOffset }),
    invalid: analysis.invalid,
  };
}

/** Options of {@link disassemblePickle}. */
export interface DisassembleOptions extends ReaderOptions {
  /** Byte offset of the first opcode (default 0). */
  readonly offset?: number | undefined;
  /** Most opcodes listed (default 10,000). */
  readonly maxOps?: number | undefined;
}

/** One opcode of a listing. */
export interface PickleOpView {
  /** Offset of the opcode byte. */
  readonly offset: number;
  /** Opcode name (`GLOBAL`, `REDUCE` ...). */
  readonly name: string;
  /** The argument as text (`'os'`, `42`, `os system`), empty when there is none. */
  readonly arg: string;
}

/** What {@link disassemblePickle} listed. */
export interface PickleDisassembly {
  /** The opcodes, up to STOP or the limit. */
  readonly ops: readonly PickleOpView[];
  /** The listing stopped at `maxOps`. */
  readonly truncated: boolean;
  /** Where and why the stream stopped being a pickle, if it did. */
  readonly error?: { readonly offset: number; readonly message: string } | undefined;
}

/**
 * Lists the opcodes of one pickle, as `pickletools.dis` would, up to STOP or `maxOps`.
 * @param input - the stream
 * @param options - offset, opcode limit, signal and read budget
 */
export async function disassemblePickle(
  input: ReaderInput,
  options: DisassembleOptions = {},
): Promise<PickleDisassembly> {
  const listing = await withInput(input, options, (source) =>
    disassemble(new SourceInput(source, options.offset ?? 0), options.maxOps),
  );
  return {
    ops: listing.ops.map((op) => ({ offset: op.offset, name: op.name, arg: op.arg })),
    truncated: listing.truncated,
    ...(listing.error === undefined ? {} : { error: { offset: listing.error.offset, message: listing.error.message } }),
  };
}

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
