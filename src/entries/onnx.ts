/**
 * `modelgate/onnx`: the structure of an ONNX model (producer, opsets, operators, functions,
 * external data references, counts), read from the protobuf wire format without decoding tensor
 * payloads or running anything.
 *
 * ```ts
 * import { readOnnx } from "modelgate/onnx";
 * const model = await readOnnx("model.onnx");
 * for (const op of model.operators) console.log(op.domain || "ai.onnx", op.opType, op.count);
 * ```
 * @module
 */
import type { ErrorCode } from "../core/errors.js";
import { readOnnxPartial } from "../formats/onnx/reader.js";
import { type ReaderInput, type ReaderOptions, withInput } from "./input.js";

export type { ByteSource } from "../core/byte-source.js";
export type { ErrorCode } from "../core/errors.js";
export type { ReaderInput, ReaderOptions } from "./input.js";

/** An operator type and how the model uses it. */
export interface OnnxOperatorView {
  /** Operator domain (`""` is the default ONNX domain, `ai.onnx`). */
  readonly domain: string;
  /** Operator type (`Conv`, `MatMul` ...). */
  readonly opType: string;
  /** Nodes using it, in all graphs and functions. */
  readonly count: number;
  /** File offset of the first node using it. */
  readonly offset: number;
  /** Graph path of the first node using it. */
  readonly where: string;
}

/** A function the model defines. */
export interface OnnxFunctionView {
  /** Domain. */
  readonly domain: string;
  /** Name (the op type nodes use to call it). */
  readonly name: string;
  /** Overload id. */
  readonly overload: string;
}

/** A tensor whose data lives in another file. */
export interface OnnxExternalDataView {
  /** Tensor name. */
  readonly tensor: string;
  /** The `external_data` entries (`location`, `offset`, `length` ...), in order. */
  readonly entries: readonly { readonly key: string; readonly value: string }[];
  /** Whether `data_location` is `EXTERNAL` (ONNX loads only those). */
  readonly markedExternal: boolean;
  /** File offset of the tensor. */
  readonly offset: number;
  /** Graph path of the tensor. */
  readonly where: string;
}

/** Why a read stopped before the end of the model. */
export interface OnnxReadError {
  /** `MALFORMED`, `TRUNCATED`, `BUDGET_EXCEEDED` ... */
  readonly code: ErrorCode;
  /** What went wrong. */
  readonly message: string;
  /** File offset, when known. */
  readonly offset?: number | undefined;
}

/** What {@link readOnnx} found. */
export interface OnnxView {
  /** True when the whole model was read; otherwise {@link OnnxView.error} says why not, and the rest is what was read before. */
  readonly complete: boolean;
  /** Why the read stopped early. */
  readonly error?: OnnxReadError | undefined;
  /** IR version. */
  readonly irVersion?: number | undefined;
  /** Producer name. */
  readonly producer: string;
  /** Producer version. */
  readonly producerVersion: string;
  /** Name of the main graph. */
  readonly graphName: string;
  /** Model-level opset imports. */
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  /** Metadata properties. */
  readonly metadata: readonly { readonly key: string; readonly value: string }[];
  /** Graphs (main graph, subgraphs, training graphs). */
  readonly graphs: number;
  /** Deepest graph nesting (main graph = 1). */
  readonly maxGraphDepth: number;
  /** Nodes in all graphs and functions. */
  readonly nodes: number;
  /** Initializers (dense and sparse) in all graphs. */
  readonly initializers: number;
  /** Elements of all initializers (from their dims). */
  readonly parameters: number;
  /** Operators used. */
  readonly operators: readonly OnnxOperatorView[];
  /** Functions defined in the model. */
  readonly functions: readonly OnnxFunctionView[];
  /** Tensors with external data. */
  readonly externalData: readonly OnnxExternalDataView[];
  /** Training-info entries. */
  readonly trainingInfos: number;
  /** Bytes read (tensor payloads are skipped). */
  readonly bytesRead: number;
}

/**
 * Reads an ONNX model's structure. A malformed model or an exceeded reader budget does not reject:
 * the view holds what was read before it, with {@link OnnxView.error}. It rejects (with a
 * `ModelgateError`) when the input cannot be read, on abort, or past `maxReadBytes`.
 * @param input - the model file
 * @param options - signal and read budget
 */
export async function readOnnx(input: ReaderInput, options: ReaderOptions = {}): Promise<OnnxView> {
  const { summary: s, error } = await withInput(input, options, (source) => readOnnxPartial(source));
  if (error?.code === "BUDGET_EXCEEDED" && error.budget === "maxReadBytes") throw error;
  return {
    complete: error === undefined,
    ...(error === undefined
      ? {}
      : {
          error: {
            code: error.code,
            message: error.message,
            ...(error.offset === undefined ? {} : { offset: error.offset }),
          },
        }),
    ...(s.irVersion === undefined ? {} : { irVersion: s.irVersion }),
    producer: s.producer,
    producerVersion: s.producerVersion,
    graphName: s.graphName,
    opsets: [...s.opsets].map(([domain, version]) => ({ domain, version })),
    metadata: s.metadata.map(([key, value]) => ({ key, value })),
    graphs: s.graphs,
    maxGraphDepth: s.maxGraphDepth,
    nodes: s.nodes,
    initializers: s.initializers,
    parameters: s.parameters,
    operators: [...s.ops.values()].map((op) => ({
      domain: op.domain,
      opType: op.opType,
      count: op.count,
      offset: op.offset,
      where: op.where,
    })),
    functions: s.functions.map((f) => ({ domain: f.domain, name: f.name, overload: f.overload })),
    externalData: s.externalRefs.map((r) => ({
      tensor: r.tensor,
      entries: r.entries.map(([key, value]) => ({ key, value })),
      markedExternal: r.markedExternal,
      offset: r.offset,
      where: r.where,
    })),
    trainingInfos: s.trainingInfos,
    bytesRead: s.bytesRead,
  };
}

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
