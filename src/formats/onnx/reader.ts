/**
 * Streaming reader of ONNX models: walks the whole graph tree (main graph, subgraphs in node
 * attributes, functions, training info) without reading tensor payloads, and summarises what the
 * scanner needs: operators, external data references, counts.
 * @module
 */

import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import {
  DEFAULT_WALK_BUDGETS,
  type MessageSpec,
  type WalkBudgets,
  type WireVisitor,
  WireWalker,
} from "../protobuf/walk.js";
import { modelgate } from "./generated/onnx.js";

const pb = modelgate.onnx;

/** Budgets of the ONNX reader. */
export interface OnnxBudgets extends WalkBudgets {
  /** Maximum nodes across all graphs and functions. */
  maxNodes: number;
  /** Maximum graph nesting (subgraphs of subgraphs ...). */
  maxGraphDepth: number;
  /** Maximum length of a name, op type or domain. */
  maxNameLength: number;
  /** Maximum external data references recorded. */
  maxExternalRefs: number;
}

/** Default ONNX budgets. */
export const DEFAULT_ONNX_BUDGETS: Readonly<OnnxBudgets> = Object.freeze({
  ...DEFAULT_WALK_BUDGETS,
  maxNodes: 10_000_000,
  maxGraphDepth: 32,
  maxNameLength: 64 * 1024,
  maxExternalRefs: 1_000_000,
});

/** One operator type as used in the model. */
export interface OnnxOpUse {
  /** Operator domain (`""` is the default ONNX domain). */
  readonly domain: string;
  /** Operator type. */
  readonly opType: string;
  /** Number of nodes using it. */
  count: number;
  /** Offset of the first node using it. */
  readonly offset: number;
  /** Where the first node is (graph path). */
  readonly where: string;
}

/** A tensor whose data lives in another file. */
export interface OnnxExternalRef {
  /** Tensor name. */
  readonly tensor: string;
  /** The `external_data` entries, in order. */
  readonly entries: ReadonlyArray<readonly [string, string]>;
  /** Whether `data_location` is `EXTERNAL` (ONNX only loads those). */
  readonly markedExternal: boolean;
  /** Offset of the tensor in the model file. */
  readonly offset: number;
  /** Where the tensor is (graph path). */
  readonly where: string;
}

/** A function defined in the model. */
export interface OnnxFunction {
  /** Domain. */
  readonly domain: string;
  /** Name (the op type nodes use to call it). */
  readonly name: string;
  /** Overload id. */
  readonly overload: string;
}

/** What the reader learned about a model. */
export interface OnnxSummary {
  /** IR version. */
  irVersion: number | undefined;
  /** Producer name. */
  producer: string;
  /** Producer version. */
  producerVersion: string;
  /** Model-level opset imports (domain → version). */
  readonly opsets: Map<string, number>;
  /** Metadata properties of the model. */
  readonly metadata: Array<[string, string]>;
  /** Name of the main graph. */
  graphName: string;
  /** Graphs walked (main, subgraphs, training graphs). */
  graphs: number;
  /** Deepest graph nesting seen (main graph = 1). */
  maxGraphDepth: number;
  /** Nodes in all graphs and functions. */
  nodes: number;
  /** Initializers (dense and sparse) in all graphs. */
  initializers: number;
  /** Number of elements of all initializers (from their dims). */
  parameters: number;
  /** Operators used, keyed by `domain\u0000opType`. */
  readonly ops: Map<string, OnnxOpUse>;
  /** Functions defined in the model. */
  readonly functions: OnnxFunction[];
  /** Tensors with external data. */
  readonly externalRefs: OnnxExternalRef[];
  /** Training-info entries. */
  trainingInfos: number;
  /** Tensor payload bytes skipped without reading. */
  payloadBytesSkipped: number;
  /** Bytes the reader read. */
  bytesRead: number;
}

const str = { kind: "string" } as const;
const int = { kind: "varint" } as const;
const leaf = { kind: "leaf" } as const;
const SMALL = 4 * 1024;

const TENSOR: MessageSpec = {
  name: "TensorProto",
  inlineMax: SMALL,
  fields: { 1: int, 2: int, 8: str, 13: leaf, 14: int },
};
const SPARSE: MessageSpec = {
  name: "SparseTensorProto",
  inlineMax: SMALL,
  fields: { 1: { kind: "message", spec: () => TENSOR }, 2: { kind: "message", spec: () => TENSOR }, 3: int },
};
const ATTRIBUTE: MessageSpec = {
  name: "AttributeProto",
  inlineMax: SMALL,
  fields: {
    1: str,
    5: { kind: "message", spec: () => TENSOR },
    6: { kind: "message", spec: () => GRAPH },
    10: { kind: "message", spec: () => TENSOR },
    11: { kind: "message", spec: () => GRAPH },
    20: int,
    22: { kind: "message", spec: () => SPARSE },
    23: { kind: "message", spec: () => SPARSE },
  },
};
const NODE: MessageSpec = {
  name: "NodeProto",
  inlineMax: 64 * 1024,
  fields: { 3: str, 4: str, 5: { kind: "message", spec: () => ATTRIBUTE }, 7: str, 8: str },
};
const GRAPH: MessageSpec = {
  name: "GraphProto",
  inlineMax: SMALL,
  fields: {
    1: { kind: "message", spec: () => NODE },
    2: str,
    5: { kind: "message", spec: () => TENSOR },
    15: { kind: "message", spec: () => SPARSE },
  },
};
const FUNCTION: MessageSpec = {
  name: "FunctionProto",
  inlineMax: 64 * 1024,
  fields: {
    1: str,
    7: { kind: "message", spec: () => NODE },
    9: leaf,
    10: str,
    11: { kind: "message", spec: () => ATTRIBUTE },
    13: str,
  },
};
const TRAINING: MessageSpec = {
  name: "TrainingInfoProto",
  inlineMax: SMALL,
  fields: { 1: { kind: "message", spec: () => GRAPH }, 2: { kind: "message", spec: () => GRAPH } },
};
/** The ONNX `ModelProto` walk spec. */
export const MODEL_SPEC: MessageSpec = {
  name: "ModelProto",
  inlineMax: SMALL,
  fields: {
    1: int,
    2: str,
    3: str,
    7: { kind: "message", spec: () => GRAPH },
    8: leaf,
    14: leaf,
    20: { kind: "message", spec: () => TRAINING },
    25: { kind: "message", spec: () => FUNCTION },
  },
};

interface Frame {
  readonly message: string;
  readonly field: number;
  readonly offset: number;
  name: string;
  opType: string;
  domain: string;
  overload: string;
  external: Array<[string, string]>;
  markedExternal: boolean;
  dims: number[];
}

const DATA_LOCATION_EXTERNAL = 1;

/** Builds an {@link OnnxSummary} from walker events. */
class OnnxVisitor implements WireVisitor {
  readonly summary: OnnxSummary = {
    irVersion: undefined,
    producer: "",
    producerVersion: "",
    opsets: new Map(),
    metadata: [],
    graphName: "",
    graphs: 0,
    maxGraphDepth: 0,
    nodes: 0,
    initializers: 0,
    parameters: 0,
    ops: new Map(),
    functions: [],
    externalRefs: [],
    trainingInfos: 0,
    payloadBytesSkipped: 0,
    bytesRead: 0,
  };
  readonly #stack: Frame[] = [];
  readonly #budgets: OnnxBudgets;
  #graphDepth = 0;

  constructor(budgets: OnnxBudgets) {
    this.#budgets = budgets;
  }

  enter(message: string, field: number, offset: number): void {
    this.#stack.push({
      message,
      field,
      offset,
      name: "",
      opType: "",
      domain: "",
      overload: "",
      external: [],
      markedExternal: false,
      dims: [],
    });
    const s = this.summary;
    if (message === "GraphProto") {
      s.graphs++;
      this.#graphDepth++;
      if (this.#graphDepth > this.#budgets.maxGraphDepth) {
        throw new ModelgateError("BUDGET_EXCEEDED", `graphs nested deeper than ${this.#budgets.maxGraphDepth}`, {
          offset,
          budget: "onnx.maxGraphDepth",
        });
      }
      s.maxGraphDepth = Math.max(s.maxGraphDepth, this.#graphDepth);
    } else if (message === "NodeProto") {
      s.nodes++;
      if (s.nodes > this.#budgets.maxNodes) {
        throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#budgets.maxNodes} nodes`, {
          offset,
          budget: "onnx.maxNodes",
        });
      }
    } else if (message === "TrainingInfoProto") s.trainingInfos++;
  }

  exit(message: string): void {
    const frame = this.#stack.pop();
    if (frame === undefined) return;
    if (message === "GraphProto") {
      this.#graphDepth--;
      if (this.#graphDepth === 0 && this.#parent()?.message === "ModelProto" && frame.field === 7) {
        this.summary.graphName = frame.name;
      }
    } else if (message === "NodeProto") this.#recordOp(frame);
    else if (message === "FunctionProto") {
      this.summary.functions.push({ domain: frame.domain, name: frame.name, overload: frame.overload });
    } else if (message === "TensorProto") this.#recordTensor(frame);
  }

  #parent(): Frame | undefined {
    return this.#stack[this.#stack.length - 1];
  }

  #recordOp(frame: Frame): void {
    const key = `${frame.domain}\u0000${frame.opType}`;
    const known = this.summary.ops.get(key);
    if (known) known.count++;
    else {
      this.summary.ops.set(key, {
        domain: frame.domain,
        opType: frame.opType,
        count: 1,
        offset: frame.offset,
        where: this.where(frame),
      });
    }
  }

  #recordTensor(frame: Frame): void {
    const parent = this.#parent();
    const isInitializer =
      (parent?.message === "GraphProto" && frame.field === 5) ||
      (parent?.message === "SparseTensorProto" && frame.field === 1 && this.#grandparentIsGraph());
    if (isInitializer) {
      this.summary.initializers++;
      let n = 1;
      for (const d of frame.dims) n *= Math.max(0, d);
      if (Number.isFinite(n)) this.summary.parameters += n;
    }
    if (frame.external.length > 0 || frame.markedExternal) {
      if (this.summary.externalRefs.length >= this.#budgets.maxExternalRefs) {
        throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#budgets.maxExternalRefs} external tensors`, {
          offset: frame.offset,
          budget: "onnx.maxExternalRefs",
        });
      }
      this.summary.externalRefs.push({
        tensor: frame.name,
        entries: frame.external,
        markedExternal: frame.markedExternal,
        offset: frame.offset,
        where: this.where(frame),
      });
    }
  }

  #grandparentIsGraph(): boolean {
    return this.#stack[this.#stack.length - 2]?.message === "GraphProto";
  }

  /**
   * A readable path to a frame: `graph/node:If_0(If)/attr:then_branch/node:Add_3(Add)`. Graph names
   * are serialized after their nodes, so graphs are named by the attribute that holds them.
   */
  where(frame: Frame): string {
    const parts: string[] = [];
    for (const f of [...this.#stack, frame]) {
      if (f.message === "GraphProto" && f.field === 7) parts.push("graph");
      else if (f.message === "NodeProto") parts.push(`node:${f.name || "?"}${f.opType ? `(${f.opType})` : ""}`);
      else if (f.message === "AttributeProto") parts.push(`attr:${f.name || "?"}`);
      else if (f.message === "FunctionProto") parts.push(`function:${f.domain}::${f.name}`);
      else if (f.message === "TrainingInfoProto") parts.push("training_info");
      else if (f.message === "TensorProto" && f === frame) parts.push(`tensor:${f.name || "?"}`);
    }
    return parts.join("/");
  }

  #name(value: string, offset: number): string {
    if (value.length > this.#budgets.maxNameLength) {
      throw new ModelgateError("BUDGET_EXCEEDED", `name of ${value.length} characters`, {
        offset,
        budget: "onnx.maxNameLength",
      });
    }
    return value;
  }

  string(message: string, field: number, value: string, offset: number): void {
    const frame = this.#parent();
    if (frame === undefined) return;
    const v = this.#name(value, offset);
    switch (message) {
      case "ModelProto":
        if (field === 2) this.summary.producer = v;
        else if (field === 3) this.summary.producerVersion = v;
        return;
      case "NodeProto":
        if (field === 3) frame.name = v;
        else if (field === 4) frame.opType = v;
        else if (field === 7) frame.domain = v;
        else if (field === 8) frame.overload = v;
        return;
      case "FunctionProto":
        if (field === 1) frame.name = v;
        else if (field === 10) frame.domain = v;
        else if (field === 13) frame.overload = v;
        return;
      case "GraphProto":
      case "AttributeProto":
      case "TensorProto":
        frame.name = v;
        return;
    }
  }

  varint(message: string, field: number, value: number): void {
    const frame = this.#parent();
    if (frame === undefined) return;
    if (message === "ModelProto" && field === 1) this.summary.irVersion = value;
    else if (message === "TensorProto") {
      if (field === 1) frame.dims.push(value);
      else if (field === 14) frame.markedExternal = value === DATA_LOCATION_EXTERNAL;
    } else if (message === "SparseTensorProto" && field === 3) frame.dims.push(value);
  }

  leaf(message: string, field: number, bytes: Uint8Array, offset: number): void {
    const frame = this.#parent();
    if (frame === undefined) return;
    try {
      if (message === "TensorProto" && field === 13) {
        const entry = pb.StringStringEntryProto.decode(bytes);
        frame.external.push([entry.key, entry.value]);
      } else if (message === "ModelProto" && field === 8) {
        const opset = pb.OperatorSetIdProto.decode(bytes);
        this.summary.opsets.set(opset.domain, Number(opset.version));
      } else if (message === "ModelProto" && field === 14) {
        const entry = pb.StringStringEntryProto.decode(bytes);
        if (this.summary.metadata.length < 1000) this.summary.metadata.push([entry.key, entry.value]);
      }
    } catch (error) {
      throw new ModelgateError("MALFORMED", `invalid ${message} field ${field}: ${(error as Error).message}`, {
        offset,
        cause: error,
      });
    }
  }

  blob(_message: string, _field: number, _offset: number, length: number): void {
    this.summary.payloadBytesSkipped += length;
  }
}

/** Result of {@link readOnnxPartial}: what was read, and the error that stopped the walk, if any. */
export interface OnnxReadResult {
  /** Everything learned up to the end of the walk (or up to the error). */
  readonly summary: OnnxSummary;
  /** Why the walk stopped early; undefined when the whole model was read. */
  readonly error: ModelgateError | undefined;
}

/**
 * Reads an ONNX model's structure like {@link readOnnx}, but returns what was learned before a
 * malformed field or exhausted budget together with the error, so callers can report both.
 * Abort and timeout errors are rethrown.
 * @param source - the model bytes
 * @param budgets - limits (defaults: {@link DEFAULT_ONNX_BUDGETS})
 */
export async function readOnnxPartial(source: ByteSource, budgets: Partial<OnnxBudgets> = {}): Promise<OnnxReadResult> {
  const full: OnnxBudgets = { ...DEFAULT_ONNX_BUDGETS, ...budgets };
  const visitor = new OnnxVisitor(full);
  const walker = new WireWalker(source, visitor, full);
  let error: ModelgateError | undefined;
  try {
    await walker.walk(MODEL_SPEC);
  } catch (caught) {
    const typed = toModelgateError(caught);
    if (typed.code === "ABORTED" || typed.code === "TIMEOUT" || typed.code === "INTERNAL" || typed.code === "IO") {
      throw typed;
    }
    error = typed;
  }
  visitor.summary.bytesRead = walker.bytesRead;
  return { summary: visitor.summary, error };
}

/**
 * Reads an ONNX model's structure from a source without reading tensor payloads.
 * @param source - the model bytes
 * @param budgets - limits (defaults: {@link DEFAULT_ONNX_BUDGETS})
 * @throws ModelgateError `MALFORMED`/`TRUNCATED` for broken protobuf, `BUDGET_EXCEEDED` past a budget
 */
export async function readOnnx(source: ByteSource, budgets: Partial<OnnxBudgets> = {}): Promise<OnnxSummary> {
  const { summary, error } = await readOnnxPartial(source, budgets);
  if (error) throw error;
  return summary;
}
