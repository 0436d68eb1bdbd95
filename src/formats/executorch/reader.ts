/**
 * Reads an ExecuTorch program (`.pte`) with the strict flatbuffer reader: the headers, execution
 * plans (operators, delegates, values, instructions), constant buffers' and segments' sizes. Never
 * reads tensor data or delegate blobs (the analyzer hands blobs to the engine as opaque members).
 *
 * Facts from ExecuTorch's public `program.fbs` and `pte-file-format.md`: file identifier `ET12`
 * at bytes 4–8 (`ET` and two digits in general; the runtime accepts only the one it was built
 * with), an optional extended header at byte 8 (`eh00`, a `u32` header length of at least 24, a
 * `u64` program size and a `u64` segment base offset); Program { version 0, execution_plan 1,
 * constant_buffer 2, backend_delegate_data 3, segments 4, constant_segment 5,
 * mutable_data_segments 6 }; ExecutionPlan { name 0, container_meta_type 1, values 2, inputs 3,
 * outputs 4, chains 5, operators 6, delegates 7, non_const_buffer_sizes 8 }; Operator { name 0,
 * overload 1 }; BackendDelegate { id 0, processed 1, compile_specs 2 };
 * BackendDelegateDataReference { location 0 (INLINE 0, SEGMENT 1), index 1 }; CompileSpec { key 0,
 * value 1 }; EValue { val 0/1 (union KernelTypes, Tensor = 5) }; Chain { inputs 0, outputs 1,
 * instructions 2 }; Instruction { instr_args 0/1 (union: KernelCall 1, DelegateCall 2) };
 * KernelCall { op_index 0 }; DelegateCall { delegate_index 0 }; Buffer { storage 0 };
 * BackendDelegateInlineData { data 0 }; DataSegment { offset 0, size 1 }.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import type { ByteSource } from "../../core/byte-source.js";
import { readClamped } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { walkFlatbuffer } from "../flatbuffer/paged.js";
import {
  type FlatBytes,
  type FlatbufferAnomaly,
  type FlatbufferBudgets,
  FlatbufferReader,
} from "../flatbuffer/reader.js";

/** The file identifier the current runtime accepts. */
export const EXECUTORCH_IDENTIFIER = "ET12";
/** The extended header magic the runtime accepts. */
export const EXTENDED_HEADER_MAGIC = "eh00";

/** The extended header. */
export interface ExtendedHeader {
  readonly magic: string;
  readonly length: number;
  readonly programSize: number;
  readonly segmentBase: number;
}

/** An operator of an execution plan. */
export interface EtOperator {
  readonly name: string;
  readonly overload: string;
  readonly plan: string;
  readonly offset: number;
}

/** A backend delegate of an execution plan. */
export interface EtDelegate {
  readonly id: string;
  readonly plan: string;
  readonly location: "inline" | "segment" | "unknown";
  readonly index: number;
  readonly compileSpecs: string[];
  readonly offset: number;
  /** Where its processed blob lies in the file, when resolvable. */
  blob?: { readonly offset: number; readonly length: number };
}

/** A problem the runtime refuses the program for. */
export interface EtIssue {
  readonly message: string;
  readonly offset: number;
}

/** What the reader found. */
export interface ExecutorchSummary {
  identifier: string;
  header: ExtendedHeader | undefined;
  version: number;
  plans: { name: string; values: number; operators: number; delegates: number; instructions: number }[];
  operators: EtOperator[];
  delegates: EtDelegate[];
  tensors: number;
  constantBuffers: number;
  constantBytes: number;
  segments: number;
  segmentBytes: number;
  issues: EtIssue[];
  anomalies: FlatbufferAnomaly[];
  anomalyCount: number;
}

/** A reading: what was found, and the error that stopped it early, if any. */
export interface ExecutorchReading {
  readonly summary: ExecutorchSummary;
  readonly error?: ModelgateError;
}

/** Options of {@link readExecutorch}. */
export interface ExecutorchReadOptions {
  readonly budgets?: Partial<FlatbufferBudgets>;
  readonly checkpoint?: () => void;
  /** Flatbuffers up to this size are read whole (default 64 MiB); larger ones are paged. */
  readonly wholeBytes?: number;
}

/** Operators, delegates and issues kept (the rest are counted by the plans). */
const MAX_LISTED = 2000;

/** The namespace of an operator name (`aten::add` → `aten`), which its judgement looks at. */
function namespaceOf(name: string): string {
  const sep = name.indexOf("::");
  return sep < 0 ? "" : name.slice(0, sep);
}

/**
 * Whether an operator or delegate is kept: the first {@link MAX_LISTED}, then one per namespace
 * (operators) or backend (delegates) not met past the cap, up to {@link MAX_LISTED} more. What
 * the judgement looks at is never dropped silently: a later entry of a new namespace or backend
 * is kept, and past both caps most of those kept are of unknown ones (already reported).
 */
function keepPast(listed: number, past: Set<string>, key: string): boolean {
  if (listed < MAX_LISTED) return true;
  if (past.has(key) || past.size >= MAX_LISTED) return false;
  past.add(key);
  return true;
}
const MAX_ISSUES = 100;

const KERNEL_CALL = 1;
const DELEGATE_CALL = 2;
const TENSOR = 5;

const le32 = (b: Uint8Array, at: number) =>
  ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>> 0;
const le64 = (b: Uint8Array, at: number) => {
  const hi = le32(b, at + 4);
  return hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 0x1_0000_0000 + le32(b, at);
};

/**
 * Parses the extended header from the first 32 bytes (undefined when there is none: no `eh` and
 * two digits at byte 8).
 */
export function parseExtendedHeader(head: Uint8Array): ExtendedHeader | undefined {
  if (head.length < 12) return undefined;
  const magic = charCodes(head.subarray(8, 12));
  if (!/^eh\d\d$/.test(magic)) return undefined;
  if (head.length < 32) throw new ModelgateError("TRUNCATED", "the extended header is cut short", { offset: 8 });
  return { magic, length: le32(head, 12), programSize: le64(head, 16), segmentBase: le64(head, 24) };
}

/**
 * Walks the program in `bytes` (the flatbuffer region) of a file of `fileSize` bytes.
 * @param bytes - the flatbuffer region (the whole file without an extended header)
 * @param fileSize - size of the whole file (segments lie after the region)
 * @param header - the extended header, if any
 * @param options - budgets
 */
export function walkExecutorch(
  bytes: FlatBytes,
  fileSize: number,
  header: ExtendedHeader | undefined,
  options: ExecutorchReadOptions = {},
): ExecutorchReading {
  const r = new FlatbufferReader(bytes, options.budgets, options.checkpoint);
  const s: ExecutorchSummary = {
    identifier: r.identifier(),
    header,
    version: 0,
    plans: [],
    operators: [],
    delegates: [],
    tensors: 0,
    constantBuffers: 0,
    constantBytes: 0,
    segments: 0,
    segmentBytes: 0,
    issues: [],
    anomalies: r.anomalies,
    anomalyCount: 0,
  };
  try {
    walkProgram(r, s, fileSize);
    return { summary: s };
  } catch (error) {
    if (error instanceof ModelgateError) return { summary: s, error };
    throw error;
  } finally {
    s.anomalyCount = r.anomalyCount;
  }
}

function walkProgram(r: FlatbufferReader, s: ExecutorchSummary, fileSize: number): void {
  const issue = (message: string, offset: number) => {
    if (s.issues.length < MAX_ISSUES) s.issues.push({ message, offset });
  };
  // namespaces and backends met past the lists' cap (see keepPast)
  const pastNamespaces = new Set<string>();
  const pastBackends = new Set<string>();
  if (r.size < 8) throw new ModelgateError("TRUNCATED", `an ExecuTorch program needs at least 8 bytes, got ${r.size}`);
  const program = r.root();
  s.version = program.u32(0);

  // data the delegates point to: inline blobs and segments
  const inline: { offset: number; length: number }[] = [];
  program.tables(
    3,
    (d) => {
      const v = d.vector(0, 1, "BackendDelegateInlineData.data");
      inline.push({ offset: v?.start ?? 0, length: v?.length ?? 0 });
    },
    "Program.backend_delegate_data",
  );
  const segments: { offset: number; length: number }[] = [];
  const base = s.header?.segmentBase ?? 0;
  program.tables(
    4,
    (seg, i) => {
      const offset = seg.u64(0);
      const size = seg.u64(1);
      const start = base + offset;
      if (!(start + size <= fileSize)) {
        issue(`segment ${i} lies at ${start} (+${size}), past the end of the ${fileSize}-byte file`, seg.pos);
      } else {
        s.segmentBytes += size;
      }
      segments.push({ offset: start, length: size });
    },
    "Program.segments",
  );
  s.segments = segments.length;
  if (segments.length > 0 && s.header === undefined) {
    issue("the program lists data segments but has no extended header to locate them", program.pos);
  }
  s.constantBuffers = program.tables(
    2,
    (b) => {
      s.constantBytes += b.vector(0, 1, "Buffer.storage")?.length ?? 0;
    },
    "Program.constant_buffer",
  );
  const constantSegment = program.table(5, "Program.constant_segment");
  if (constantSegment !== undefined) {
    const index = constantSegment.u32(0);
    const offsets = constantSegment.vector(1, 8, "SubsegmentOffsets.offsets");
    if (offsets !== undefined && offsets.length > 0 && index >= segments.length) {
      issue(`the constant segment is segment ${index}, but the program has ${segments.length}`, constantSegment.pos);
    }
  }

  program.tables(
    1,
    (plan) => {
      const name = plan.string(0, "ExecutionPlan.name") ?? "";
      let tensors = 0;
      const values = plan.tables(
        2,
        (ev) => {
          if (ev.u8(0) === TENSOR) tensors++;
        },
        "ExecutionPlan.values",
      );
      s.tensors += tensors;
      const operators = plan.tables(
        6,
        (op) => {
          const entry = {
            name: op.string(0, "Operator.name") ?? "",
            overload: op.string(1, "Operator.overload") ?? "",
            plan: name,
            offset: op.pos,
          };
          if (keepPast(s.operators.length, pastNamespaces, namespaceOf(entry.name))) s.operators.push(entry);
        },
        "ExecutionPlan.operators",
      );
      const delegates = plan.tables(
        7,
        (d, i) => {
          const id = d.string(0, "BackendDelegate.id") ?? "";
          const ref = d.table(1, "BackendDelegate.processed");
          const compileSpecs: string[] = [];
          d.tables(
            2,
            (cs) => {
              if (compileSpecs.length < 32) compileSpecs.push((cs.string(0, "CompileSpec.key") ?? "").slice(0, 100));
            },
            "BackendDelegate.compile_specs",
          );
          const loc = ref?.u8(0) ?? 0;
          const index = ref?.u32(1) ?? 0;
          const location = loc === 0 ? "inline" : loc === 1 ? "segment" : "unknown";
          const entry: EtDelegate = { id, plan: name, location, index, compileSpecs, offset: d.pos };
          if (ref === undefined)
            issue(`delegate ${i} (${JSON.stringify(id)}) of plan ${JSON.stringify(name)} has no processed data`, d.pos);
          else if (location === "unknown")
            issue(`delegate ${JSON.stringify(id)} has an unknown data location ${loc}`, ref.pos);
          else {
            const blob = (location === "inline" ? inline : segments)[index];
            if (blob === undefined) {
              issue(
                `delegate ${JSON.stringify(id)} refers to ${location} data ${index}, which does not exist`,
                ref.pos,
              );
            } else if (blob.offset + blob.length <= fileSize) {
              entry.blob = blob;
            }
          }
          if (keepPast(s.delegates.length, pastBackends, id)) s.delegates.push(entry);
        },
        "ExecutionPlan.delegates",
      );
      let instructions = 0;
      plan.tables(
        5,
        (chain) => {
          instructions += chain.tables(
            2,
            (ins) => {
              const args = ins.union(0, "Instruction.instr_args");
              if (args?.value === undefined) return;
              if (args.type === KERNEL_CALL) {
                const op = args.value.i32(0);
                if (op < 0 || op >= operators)
                  issue(`a kernel call uses operator ${op} of ${operators}`, args.value.pos);
              } else if (args.type === DELEGATE_CALL) {
                const d = args.value.i32(0);
                if (d < 0 || d >= delegates)
                  issue(`a delegate call uses delegate ${d} of ${delegates}`, args.value.pos);
              }
            },
            "Chain.instructions",
          );
        },
        "ExecutionPlan.chains",
      );
      s.plans.push({ name, values, operators, delegates, instructions });
    },
    "Program.execution_plan",
  );
}

/**
 * Reads an ExecuTorch program from a source.
 * @param source - the `.pte` file
 * @param options - budgets
 */
export async function readExecutorch(
  source: ByteSource,
  options: ExecutorchReadOptions = {},
): Promise<ExecutorchReading> {
  const head = await readClamped(source, 0, 32);
  const header = parseExtendedHeader(head);
  let region = source.size;
  if (header !== undefined) {
    if (header.length < 24) {
      throw new ModelgateError("MALFORMED", `extended header length ${header.length} is below 24`, { offset: 12 });
    }
    if (!(header.programSize >= 32 && header.programSize <= source.size)) {
      throw new ModelgateError(
        "MALFORMED",
        `extended header program size ${header.programSize} does not fit the ${source.size}-byte file`,
        { offset: 16 },
      );
    }
    if (header.segmentBase !== 0 && !(header.segmentBase >= header.programSize && header.segmentBase <= source.size)) {
      throw new ModelgateError(
        "MALFORMED",
        `extended header segment base ${header.segmentBase} lies outside [${header.programSize}, ${source.size}]`,
        { offset: 24 },
      );
    }
    region = header.programSize;
  }
  return walkFlatbuffer(source, region, (bytes) => walkExecutorch(bytes, source.size, header, options), {
    ...(options.wholeBytes === undefined ? {} : { wholeBytes: options.wholeBytes }),
    ...(options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint }),
  });
}
