/**
 * Reads a TFLite model's structure (never its tensor data) with the strict flatbuffer reader.
 *
 * Field indices are those of TFLite's public `schema.fbs` (root `Model`, identifier `TFL3`):
 * Model { version 0, operator_codes 1, subgraphs 2, description 3, buffers 4, metadata_buffer 5,
 * metadata 6, signature_defs 7 }; OperatorCode { deprecated_builtin_code 0, custom_code 1,
 * version 2, builtin_code 3 }; SubGraph { tensors 0, inputs 1, outputs 2, operators 3, name 4 };
 * Tensor { shape 0, type 1, buffer 2, name 3 }; Operator { opcode_index 0, inputs 1, outputs 2,
 * builtin_options 3/4 (union), custom_options 5, custom_options_format 6,
 * mutating_variable_inputs 7, intermediates 8, large_custom_options_offset 9,
 * large_custom_options_size 10 }; Buffer { data 0, offset 1, size 2 }; Metadata { name 0,
 * buffer 1 }; SignatureDef { inputs 0, outputs 1, signature_key 2, subgraph_index 4 }.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { walkFlatbuffer } from "../flatbuffer/paged.js";
import {
  type FlatBytes,
  type FlatbufferAnomaly,
  type FlatbufferBudgets,
  FlatbufferReader,
} from "../flatbuffer/reader.js";
import { type FlexBudget, MAX_MODEL_NODEDEF_FIELDS, readFlexKernel } from "./flex.js";
import {
  builtinName,
  CUSTOM,
  FLEX_IO_OPS,
  FLEX_PYTHON_OPS,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  tensorTypeName,
} from "./ops.js";

/** The file identifier at bytes 4–8. */
export const TFLITE_IDENTIFIER = "TFL3";
/** The schema version the TFLite runtime accepts. */
export const TFLITE_SCHEMA_VERSION = 3;

/** One `OperatorCode`. */
export interface TfliteOpCode {
  /** Effective builtin code: the larger of `builtin_code` and `deprecated_builtin_code`. */
  readonly builtin: number;
  /** `custom_code`, when present. */
  readonly custom: string | undefined;
  /** `version`. */
  readonly version: number;
  /** Table offset. */
  readonly offset: number;
  /** Operators using it (all subgraphs). */
  uses: number;
  /** Some use's `custom_options` contain `file://` (a `PrintV2` to a file, a path attribute). */
  fileUrl: boolean;
  /** For a `Flex` code: the TensorFlow kernels its uses' custom options name (see {@link FlexUses}). */
  flex?: FlexUses;
}

/**
 * What the uses of a `Flex` operator code run, from their custom options: the op names (element 0)
 * and NodeDef ops (element 1) read, and the uses whose options could not be read.
 */
export interface FlexUses {
  /** Names read, with their uses (at most {@link MAX_FLEX_NAMES} entries plus every name the rules single out). */
  readonly kernels: Map<string, number>;
  /** Uses whose custom options are missing or unreadable. */
  unreadable: number;
  /** Why the first unreadable one was. */
  reason?: string;
}

/** A problem the TFLite runtime refuses the model for (it reports an error and does not load). */
export interface TfliteIssue {
  readonly message: string;
  readonly offset: number;
}

/** An input or output tensor of the main subgraph. */
export interface TfliteTensorInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: number[];
}

/** A metadata entry. */
export interface TfliteMetadata {
  readonly name: string;
  readonly buffer: number;
  /** Where its bytes are (inline data or an external range), when the buffer holds any. */
  location?: { readonly offset: number; readonly length: number };
}

/** What the reader found. */
export interface TfliteSummary {
  identifier: string;
  version: number;
  description: string | undefined;
  opCodes: TfliteOpCode[];
  subgraphs: number;
  subgraphNames: string[];
  tensors: number;
  operators: number;
  dtypes: Set<string>;
  inputs: TfliteTensorInfo[];
  outputs: TfliteTensorInfo[];
  buffers: number;
  bufferBytes: number;
  externalBuffers: number;
  metadata: TfliteMetadata[];
  signatures: string[];
  minRuntimeVersion: string | undefined;
  issues: TfliteIssue[];
  anomalies: FlatbufferAnomaly[];
  anomalyCount: number;
}

/** Entries of each kind kept (the rest counted): metadata, signatures, issues. */
const MAX_LISTED = 100;
/** Bytes of `custom_options` searched for `file://` per operator. */
const CUSTOM_OPTIONS_PEEK = 4096;
/** Distinct Flex kernel names kept per operator code (the ones the rules single out are always kept). */
const MAX_FLEX_NAMES = 64;
/** Dimensions kept per input/output shape. */
const MAX_DIMS = 16;

/** Options of {@link readTflite}. */
export interface TfliteReadOptions {
  readonly budgets?: Partial<FlatbufferBudgets>;
  readonly checkpoint?: () => void;
  /** Flatbuffers up to this size are read whole (default 64 MiB); larger ones are paged. */
  readonly wholeBytes?: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
const FILE_URL = [...new TextEncoder().encode("file://")];

function containsFileUrl(bytes: Uint8Array): boolean {
  outer: for (let i = 0; i + FILE_URL.length <= bytes.length; i++) {
    for (let j = 0; j < FILE_URL.length; j++) if (bytes[i + j] !== FILE_URL[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * Walks the model. Structural violations throw `MALFORMED`/`BUDGET_EXCEEDED`; semantic problems
 * the runtime refuses (an operator index out of range, a CUSTOM code without a name, a buffer
 * past the end of the file) are collected in `issues`.
 * @param bytes - the file (the flatbuffer and any data after it)
 * @param options - budgets
 */
export function walkTflite(bytes: FlatBytes, options: TfliteReadOptions = {}): TfliteReading {
  const r = new FlatbufferReader(bytes, options.budgets, options.checkpoint);
  const issues: TfliteIssue[] = [];
  const s: TfliteSummary = {
    identifier: r.identifier(),
    version: 0,
    description: undefined,
    opCodes: [],
    subgraphs: 0,
    subgraphNames: [],
    tensors: 0,
    operators: 0,
    dtypes: new Set(),
    inputs: [],
    outputs: [],
    buffers: 0,
    bufferBytes: 0,
    externalBuffers: 0,
    metadata: [],
    signatures: [],
    minRuntimeVersion: undefined,
    issues,
    anomalies: r.anomalies,
    anomalyCount: 0,
  };
  try {
    walkModel(r, s);
    return { summary: s };
  } catch (error) {
    if (error instanceof ModelgateError) return { summary: s, error };
    throw error;
  } finally {
    s.anomalyCount = r.anomalyCount;
  }
}

/** A reading: what was found, and the error that stopped it early, if any. */
export interface TfliteReading {
  readonly summary: TfliteSummary;
  readonly error?: ModelgateError;
}

function walkModel(r: FlatbufferReader, s: TfliteSummary): void {
  const fileSize = r.size;
  const flexBudget: FlexBudget = { fields: MAX_MODEL_NODEDEF_FIELDS };
  const issue = (message: string, offset: number) => {
    if (s.issues.length < MAX_LISTED) s.issues.push({ message, offset });
  };
  if (fileSize < 8) throw new ModelgateError("TRUNCATED", `a TFLite model needs at least 8 bytes, got ${fileSize}`);
  const model = r.root();
  s.version = model.u32(0);
  if (s.version !== TFLITE_SCHEMA_VERSION) {
    issue(`schema version ${s.version}: the TFLite runtime loads version ${TFLITE_SCHEMA_VERSION} only`, model.pos);
  }
  s.description = model.string(3, "Model.description");

  model.tables(
    1,
    (oc) => {
      const deprecated = oc.i8(0);
      const extended = oc.i32(3);
      // the runtime takes the larger of the two (old writers fill only the byte field)
      const builtin = Math.max(deprecated, extended);
      const custom = oc.string(1, "OperatorCode.custom_code");
      if (builtin < 0) issue(`operator code ${builtin} is negative`, oc.pos);
      if (deprecated === PLACEHOLDER_FOR_GREATER_OP_CODES && extended <= PLACEHOLDER_FOR_GREATER_OP_CODES) {
        issue("operator code saturates deprecated_builtin_code without an extended builtin_code", oc.pos);
      }
      if (builtin === CUSTOM && (custom === undefined || custom === "")) {
        issue("a CUSTOM operator code has no custom_code", oc.pos);
      }
      s.opCodes.push({ builtin, custom, version: oc.i32(2, 1), offset: oc.pos, uses: 0, fileUrl: false });
    },
    "Model.operator_codes",
  );

  const buffersVector = model.vector(4, 4, "Model.buffers");
  const bufferCount = buffersVector?.length ?? 0;
  s.buffers = bufferCount;

  s.subgraphs = model.tables(
    2,
    (sg, g) => {
      const name = sg.string(4, "SubGraph.name");
      if (s.subgraphNames.length < MAX_LISTED) s.subgraphNames.push(name ?? "");
      const tensors: { name: string; dtype: string; shape: number[] }[] = [];
      const wanted = new Set<number>();
      const ins = g === 0 ? sg.i32s(1, 256, "SubGraph.inputs").values : [];
      const outs = g === 0 ? sg.i32s(2, 256, "SubGraph.outputs").values : [];
      for (const i of [...ins, ...outs]) wanted.add(i);
      const tensorCount = sg.tables(
        0,
        (t, i) => {
          const type = t.i8(1);
          s.dtypes.add(tensorTypeName(type));
          const buffer = t.u32(2);
          if (buffer >= bufferCount && buffer !== 0) {
            issue(`tensor ${i} of subgraph ${g} refers to buffer ${buffer}, but the model has ${bufferCount}`, t.pos);
          }
          if (wanted.has(i)) {
            tensors[i] = {
              name: t.string(3, "Tensor.name") ?? "",
              dtype: tensorTypeName(type),
              shape: t.i32s(0, MAX_DIMS, "Tensor.shape").values,
            };
          }
        },
        "SubGraph.tensors",
      );
      s.tensors += tensorCount;
      const checkIndex = (list: number[], what: string) => {
        for (const i of list) {
          if (i < -1 || i >= tensorCount) issue(`${what} tensor index ${i} is out of range (${tensorCount})`, sg.pos);
        }
      };
      checkIndex(ins, "subgraph input");
      checkIndex(outs, "subgraph output");
      if (g === 0) {
        for (const i of ins) if (tensors[i] !== undefined) s.inputs.push(tensors[i]);
        for (const i of outs) if (tensors[i] !== undefined) s.outputs.push(tensors[i]);
      }
      s.operators += sg.tables(
        3,
        (op, k) => {
          const index = op.u32(0);
          const code = s.opCodes[index];
          if (code === undefined) {
            issue(
              `operator ${k} of subgraph ${g} uses opcode_index ${index}, but the model has ${s.opCodes.length}`,
              op.pos,
            );
            return;
          }
          code.uses++;
          const options = op.vector(5, 1, "Operator.custom_options");
          if (options !== undefined && code.builtin === CUSTOM && !code.fileUrl) {
            code.fileUrl = containsFileUrl(r.bytes.bytes(options.start, Math.min(options.length, CUSTOM_OPTIONS_PEEK)));
          }
          const largeOffset = op.u64(9);
          const largeSize = op.u64(10);
          const largeOk = largeOffset + largeSize <= fileSize;
          if (largeOffset > 1 && !largeOk) {
            issue(
              `operator ${k} of subgraph ${g} has large custom options at ${largeOffset} (+${largeSize}) past the end of the ${fileSize}-byte file`,
              op.pos,
            );
          }
          if (code.builtin === CUSTOM && code.custom?.startsWith("Flex") === true) {
            // The interpreter hands the kernel the large custom options when their offset is set, else the vector.
            const where =
              largeOffset > 1
                ? largeOk
                  ? { start: largeOffset, length: largeSize }
                  : undefined
                : options === undefined
                  ? undefined
                  : { start: options.start, length: options.length };
            recordFlexUse(r, code, where, flexBudget);
            if (largeOffset > 1 && where !== undefined && !code.fileUrl) {
              code.fileUrl = containsFileUrl(r.bytes.bytes(where.start, Math.min(where.length, CUSTOM_OPTIONS_PEEK)));
            }
          }
        },
        "SubGraph.operators",
      );
    },
    "Model.subgraphs",
  );

  // metadata first: which buffers to locate
  model.tables(
    6,
    (m) => {
      if (s.metadata.length >= MAX_LISTED) return;
      const buffer = m.u32(1);
      const name = m.string(0, "Metadata.name") ?? "";
      if (buffer >= bufferCount)
        issue(`metadata ${JSON.stringify(name)} refers to buffer ${buffer} (of ${bufferCount})`, m.pos);
      s.metadata.push({ name, buffer });
    },
    "Model.metadata",
  );
  for (const b of model.i32s(5, MAX_LISTED, "Model.metadata_buffer").values) {
    if (b < 0 || b >= bufferCount) issue(`metadata_buffer entry ${b} is out of range (${bufferCount})`, model.pos);
    else if (!s.metadata.some((m) => m.buffer === b)) s.metadata.push({ name: `metadata_buffer:${b}`, buffer: b });
  }
  const byBuffer = new Map<number, TfliteMetadata[]>();
  for (const m of s.metadata) byBuffer.set(m.buffer, [...(byBuffer.get(m.buffer) ?? []), m]);

  model.tables(
    4,
    (b, i) => {
      const data = b.vector(0, 1, "Buffer.data");
      const offset = b.u64(1);
      const size = b.u64(2);
      let location: { offset: number; length: number } | undefined;
      if (data !== undefined && data.length > 0) {
        s.bufferBytes += data.length;
        location = { offset: data.start, length: data.length };
      }
      if (offset > 1) {
        s.externalBuffers++;
        if (!(offset + size <= fileSize)) {
          issue(`buffer ${i} lies at ${offset} (+${size}), past the end of the ${fileSize}-byte file`, b.pos);
        } else {
          s.bufferBytes += size;
          location ??= { offset, length: size };
        }
      }
      const meta = byBuffer.get(i);
      if (meta !== undefined && location !== undefined) for (const m of meta) m.location = location;
    },
    "Model.buffers",
  );

  model.tables(
    7,
    (sd) => {
      const key = sd.string(2, "SignatureDef.signature_key") ?? "";
      const index = sd.u32(4);
      if (index >= s.subgraphs)
        issue(`signature ${JSON.stringify(key)} refers to subgraph ${index} (of ${s.subgraphs})`, sd.pos);
      if (s.signatures.length < MAX_LISTED) s.signatures.push(key);
    },
    "Model.signature_defs",
  );

  const minVersion = s.metadata.find((m) => m.name === "min_runtime_version");
  if (minVersion?.location !== undefined) {
    const raw = r.bytes.bytes(minVersion.location.offset, Math.min(minVersion.location.length, 32));
    const end = raw.indexOf(0);
    s.minRuntimeVersion = utf8.decode(raw.subarray(0, end < 0 ? raw.length : end));
  }
}

/**
 * Records what one use of a Flex operator code runs: the names its custom options give, or that
 * they are missing or unreadable (the delegate then fails to build the kernel, or builds one this
 * reading cannot name: the rules judge it as an unknown TensorFlow op).
 */
function recordFlexUse(
  r: FlatbufferReader,
  code: TfliteOpCode,
  where: { start: number; length: number } | undefined,
  budget: FlexBudget,
): void {
  code.flex ??= { kernels: new Map(), unreadable: 0 };
  const uses = code.flex;
  const kernel =
    where === undefined
      ? { ok: false as const, reason: "the operator has no custom options" }
      : readFlexKernel(r.bytes, where.start, where.length, budget);
  if (!kernel.ok) {
    uses.unreadable++;
    uses.reason ??= kernel.reason;
    return;
  }
  for (const name of new Set([kernel.name, kernel.nodeOp])) {
    const seen = uses.kernels.get(name);
    if (seen !== undefined) uses.kernels.set(name, seen + 1);
    else if (uses.kernels.size < MAX_FLEX_NAMES || FLEX_IO_OPS.has(name) || FLEX_PYTHON_OPS.has(name)) {
      uses.kernels.set(name, 1);
    }
  }
}

/**
 * Reads a TFLite model from a source (whole up to 64 MiB, paged above).
 * @param source - the file
 * @param options - budgets
 */
export function readTflite(source: ByteSource, options: TfliteReadOptions = {}): Promise<TfliteReading> {
  return walkFlatbuffer(source, source.size, (bytes) => walkTflite(bytes, options), {
    ...(options.wholeBytes === undefined ? {} : { wholeBytes: options.wholeBytes }),
    ...(options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint }),
  });
}

/** The operator's display name: its builtin name, or `CUSTOM:<custom_code>`. */
export function opName(code: TfliteOpCode): string {
  return code.builtin === CUSTOM ? (code.custom ?? "CUSTOM") : builtinName(code.builtin);
}
