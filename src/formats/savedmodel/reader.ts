/**
 * Streaming reader of TensorFlow `saved_model.pb`, TF1 `MetaGraphDef` files (`model.ckpt.meta`:
 * one meta graph, no SavedModel around it), frozen `GraphDef`s (`frozen_inference_graph.pb`) and
 * Keras `keras_metadata.pb`: every node of every graph and function, the function library, assets,
 * the saver, what TF1 users run without naming it (variable initializers, queue runners, savers of
 * the `savers` collection), and the Keras layer metadata JSON, without reading constant tensors.
 * The same structures come from the text format (`saved_model.pbtxt`, text `.meta`, `graph.pbtxt`)
 * through {@link readSavedModelText}.
 * @module
 */

import { pushAll } from "../../core/arrays.js";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import { DEFAULT_WALK_BUDGETS, type MessageSpec, type WireVisitor, WireWalker } from "../protobuf/walk.js";
import { modelgate } from "./generated/savedmodel.js";
import { eachField } from "./index.js";
import { TEXT_ROOTS, TF_TEXT_SCHEMA } from "./text-schema.js";
import { TextWalker } from "./textproto.js";

const pb = modelgate.tf;

/** One node as the analyzer needs it. */
export interface TfNode {
  /** Node name. */
  readonly name: string;
  /** Op type. */
  readonly op: string;
  /** Enclosing function name, or `""` for the graph itself. */
  readonly fn: string;
  /** Offset of the node in the file. */
  readonly offset: number;
  /** String attributes the checks use (`output_stream`, `descriptor_source`, `f`). */
  readonly attrs: Readonly<Record<string, string>>;
  /** Index of the meta graph the node belongs to. */
  readonly meta: number;
  /** Inputs (`name:0`, `^name`) of a graph node; empty for function nodes (not kept). */
  readonly inputs: readonly string[];
  /** Every function the node's attributes name (`f`, `body`, `then_branch`, `branches` ...). */
  readonly calls: readonly string[];
}

/** What one meta graph says about who runs which nodes. */
export interface TfMeta {
  /** Graph nodes the `SaverDef` runs to save (`save_tensor_name`). */
  readonly saverRoots: string[];
  /** Graph nodes the `SaverDef` runs to restore (`restore_op_name`: the TF1 loader runs it at load). */
  readonly restoreRoots: string[];
  /** Graph nodes a loader or caller runs: signature tensors, `node_list` collections (init/main ops). */
  readonly entryNodes: string[];
  /** Functions the object graph exposes (callable after `tf.saved_model.load`), and aliased ones. */
  readonly objectFunctions: string[];
  /** The library's gradients: `[function, its gradient function]` (run when differentiating it). */
  readonly gradients: Array<[string, string]>;
}

/** What the reader found. */
export interface SavedModelSummary {
  /**
   * `saved_model`, `meta_graph` (a TF1 `.meta`: one MetaGraphDef), `graph_def` (a frozen or
   * exported GraphDef: `tf.import_graph_def`) or `keras_metadata`.
   */
  kind: "saved_model" | "meta_graph" | "graph_def" | "keras_metadata";
  /** Meta graphs. */
  metaGraphs: number;
  /** Tags of the meta graphs. */
  readonly tags: string[];
  /** TensorFlow version recorded by the writer. */
  tensorflowVersion: string;
  /** Every node of every graph and function (up to the node budget). */
  readonly nodes: TfNode[];
  /** Names of the functions in the library. */
  readonly functions: Set<string>;
  /** Asset file names. */
  readonly assets: Array<{ filename: string; offset: number }>;
  /** Saver node-name prefixes (from `saver_def`). */
  readonly saverPrefixes: Set<string>;
  /** Keras layer metadata JSON strings, with where they came from. */
  readonly kerasMetadata: Array<{ path: string; json: string; offset: number }>;
  /** Per meta graph: savers, entry points, exposed functions. */
  readonly metas: TfMeta[];
}

/** The node a tensor name (`node:0`) or control input (`^node`) refers to. */
export function tensorNode(name: string): string {
  const bare = name.startsWith("^") ? name.slice(1) : name;
  const colon = bare.indexOf(":");
  return colon < 0 ? bare : bare.slice(0, colon);
}

const str = { kind: "string" } as const;
const msg = (spec: () => MessageSpec) => ({ kind: "message", spec }) as const;

const NAME_ATTR_LIST: MessageSpec = { name: "NameAttrList", fields: { 1: str } };
const LIST_VALUE: MessageSpec = { name: "ListValue", fields: { 9: msg(() => NAME_ATTR_LIST) } };
const ATTR_VALUE: MessageSpec = {
  name: "AttrValue",
  inlineMax: 4096,
  fields: { 1: msg(() => LIST_VALUE), 2: { kind: "string", max: 16 << 20 }, 10: msg(() => NAME_ATTR_LIST) },
};
const ATTR_ENTRY: MessageSpec = { name: "AttrEntry", inlineMax: 4096, fields: { 1: str, 2: msg(() => ATTR_VALUE) } };
const NODE_DEF: MessageSpec = {
  name: "NodeDef",
  inlineMax: 4096,
  fields: { 1: str, 2: str, 3: str, 5: msg(() => ATTR_ENTRY) },
};
const OP_DEF: MessageSpec = { name: "OpDef", fields: { 1: str } };
const FUNCTION_DEF: MessageSpec = {
  name: "FunctionDef",
  inlineMax: 4096,
  fields: { 1: msg(() => OP_DEF), 3: msg(() => NODE_DEF) },
};
const GRADIENT_DEF: MessageSpec = { name: "GradientDef", fields: { 1: str, 2: str } };
const LIBRARY: MessageSpec = {
  name: "FunctionDefLibrary",
  inlineMax: 4096,
  fields: { 1: msg(() => FUNCTION_DEF), 2: msg(() => GRADIENT_DEF) },
};
const GRAPH_DEF: MessageSpec = {
  name: "GraphDef",
  inlineMax: 4096,
  fields: { 1: msg(() => NODE_DEF), 2: msg(() => LIBRARY) },
};
const FUNCTION_ALIAS: MessageSpec = { name: "FunctionAliasEntry", fields: { 1: str } };
const META_INFO: MessageSpec = { name: "MetaInfoDef", fields: { 4: str, 5: str, 8: msg(() => FUNCTION_ALIAS) } };
const USER_OBJECT: MessageSpec = { name: "SavedUserObject", fields: { 1: str, 3: { kind: "string", max: 64 << 20 } } };
const SAVED_FUNCTION: MessageSpec = { name: "SavedFunction", fields: { 1: str } };
const SAVED_BARE_FUNCTION: MessageSpec = { name: "SavedBareConcreteFunction", fields: { 1: str } };
const SAVED_OBJECT: MessageSpec = {
  name: "SavedObject",
  fields: { 4: msg(() => USER_OBJECT), 6: msg(() => SAVED_FUNCTION), 8: msg(() => SAVED_BARE_FUNCTION) },
};
const CONCRETE_FUNCTION_ENTRY: MessageSpec = { name: "ConcreteFunctionEntry", fields: { 1: str } };
const OBJECT_GRAPH: MessageSpec = {
  name: "SavedObjectGraph",
  inlineMax: 4096,
  fields: { 1: msg(() => SAVED_OBJECT), 2: msg(() => CONCRETE_FUNCTION_ENTRY) },
};
const NODE_LIST: MessageSpec = { name: "NodeList", fields: { 1: str } };
/** Serialized protos of a collection (`VariableDef`, `QueueRunnerDef`, `SaverDef` ...). */
const BYTES_LIST: MessageSpec = { name: "BytesList", fields: { 1: { kind: "leaf", max: 16 << 20 } } };
const COLLECTION_DEF: MessageSpec = {
  name: "CollectionDef",
  fields: { 1: msg(() => NODE_LIST), 2: msg(() => BYTES_LIST) },
};
const COLLECTION_ENTRY: MessageSpec = { name: "CollectionEntry", fields: { 1: str, 2: msg(() => COLLECTION_DEF) } };
const COO_SPARSE: MessageSpec = { name: "CooSparse", fields: { 1: str, 2: str, 3: str } };
const COMPOSITE_TENSOR: MessageSpec = { name: "CompositeTensor", fields: { 2: msg(() => TENSOR_INFO) } };
const TENSOR_INFO: MessageSpec = {
  name: "TensorInfo",
  fields: { 1: str, 4: msg(() => COO_SPARSE), 5: msg(() => COMPOSITE_TENSOR) },
};
const TENSOR_INFO_ENTRY: MessageSpec = { name: "TensorInfoEntry", fields: { 2: msg(() => TENSOR_INFO) } };
const SIGNATURE_DEF: MessageSpec = {
  name: "SignatureDef",
  fields: { 1: msg(() => TENSOR_INFO_ENTRY), 2: msg(() => TENSOR_INFO_ENTRY) },
};
const SIGNATURE_ENTRY: MessageSpec = { name: "SignatureEntry", fields: { 2: msg(() => SIGNATURE_DEF) } };
/** Walk spec of a `MetaGraphDef` (a SavedModel's meta graph, or a TF1 `.meta` file). */
export const META_GRAPH_SPEC: MessageSpec = {
  name: "MetaGraphDef",
  inlineMax: 4096,
  fields: {
    1: msg(() => META_INFO),
    2: msg(() => GRAPH_DEF),
    3: { kind: "leaf" },
    4: msg(() => COLLECTION_ENTRY),
    5: msg(() => SIGNATURE_ENTRY),
    6: { kind: "leaf" },
    7: msg(() => OBJECT_GRAPH),
  },
};
/** Walk spec of `saved_model.pb`. */
export const SAVED_MODEL_SPEC: MessageSpec = {
  name: "SavedModel",
  inlineMax: 4096,
  fields: { 2: msg(() => META_GRAPH_SPEC) },
};
const KERAS_OBJECT: MessageSpec = {
  name: "KerasSavedObject",
  fields: { 3: str, 4: str, 5: { kind: "string", max: 64 << 20 } },
};
/** Walk spec of `keras_metadata.pb`. */
export const KERAS_METADATA_SPEC: MessageSpec = {
  name: "SavedMetadata",
  inlineMax: 4096,
  fields: { 1: msg(() => KERAS_OBJECT) },
};

/** The message each kind of file holds. */
const SPECS: Readonly<Record<SavedModelSummary["kind"], MessageSpec>> = {
  saved_model: SAVED_MODEL_SPEC,
  meta_graph: META_GRAPH_SPEC,
  graph_def: GRAPH_DEF,
  keras_metadata: KERAS_METADATA_SPEC,
};

const INTERESTING_ATTRS = new Set(["output_stream", "descriptor_source", "f", "file_pattern", "filename"]);

interface Frame {
  readonly message: string;
  readonly offset: number;
  a: string;
  b: string;
  attrs: Record<string, string>;
  inputs: string[] | undefined;
  calls: string[] | undefined;
  /** Values of a collection's `bytes_list`, judged when its key is known (the entry's end). */
  blobs?: Uint8Array[];
}

const NONE: readonly string[] = Object.freeze([]);

class Visitor implements WireVisitor {
  readonly #stack: Frame[] = [];
  #fn = "";
  readonly #maxNodes: number;

  constructor(
    readonly summary: SavedModelSummary,
    maxNodes: number,
  ) {
    this.#maxNodes = maxNodes;
  }

  get #meta(): number {
    return Math.max(0, this.summary.metaGraphs - 1);
  }

  get #currentMeta(): TfMeta | undefined {
    return this.summary.metas[this.summary.metas.length - 1];
  }

  #top(): Frame | undefined {
    return this.#stack[this.#stack.length - 1];
  }

  #find(message: string): Frame | undefined {
    for (let i = this.#stack.length - 1; i >= 0; i--) if (this.#stack[i]?.message === message) return this.#stack[i];
    return undefined;
  }

  enter(message: string, _field: number, offset: number): void {
    this.#stack.push({ message, offset, a: "", b: "", attrs: {}, inputs: undefined, calls: undefined });
    if (message === "MetaGraphDef") {
      this.summary.metaGraphs++;
      this.summary.metas.push({ saverRoots: [], restoreRoots: [], entryNodes: [], objectFunctions: [], gradients: [] });
    }
  }

  exit(message: string): void {
    const f = this.#stack.pop();
    if (f === undefined) return;
    if (message === "NodeDef") {
      if (this.summary.nodes.length >= this.#maxNodes) {
        throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#maxNodes} graph nodes`, {
          offset: f.offset,
          budget: "savedmodel.maxNodes",
        });
      }
      this.summary.nodes.push({
        name: f.a,
        op: f.b,
        fn: this.#fn,
        offset: f.offset,
        attrs: f.attrs,
        meta: this.#meta,
        inputs: f.inputs ?? NONE,
        calls: f.calls ?? NONE,
      });
    } else if (message === "AttrEntry") {
      const node = this.#find("NodeDef");
      if (node && INTERESTING_ATTRS.has(f.a) && f.b) node.attrs[f.a] = f.b;
    } else if (message === "FunctionDef") this.#fn = "";
    else if (message === "GradientDef" && f.a && f.b) this.#currentMeta?.gradients.push([f.a, f.b]);
    else if (message === "CollectionEntry" && f.blobs !== undefined) this.#collection(f.a, f.blobs);
    else if (message === "SavedUserObject" && f.b) {
      this.summary.kerasMetadata.push({ path: `object_graph:${f.a}`, json: f.b, offset: f.offset });
    } else if (message === "KerasSavedObject" && f.b) {
      this.summary.kerasMetadata.push({ path: f.a || "root", json: f.b, offset: f.offset });
    }
  }

  string(message: string, field: number, value: string): void {
    const f = this.#top();
    if (f === undefined) return;
    switch (message) {
      case "NodeDef":
        if (field === 1) f.a = value;
        else if (field === 2) f.b = value;
        else if (field === 3 && this.#fn === "") {
          f.inputs ??= [];
          f.inputs.push(value);
        }
        return;
      case "AttrEntry":
        f.a = value;
        return;
      case "AttrValue": {
        const entry = this.#find("AttrEntry");
        if (entry) entry.b = value;
        return;
      }
      case "NameAttrList": {
        const entry = this.#find("AttrEntry");
        if (entry && !entry.b) entry.b = value;
        const node = this.#find("NodeDef");
        if (node) {
          node.calls ??= [];
          node.calls.push(value);
        }
        return;
      }
      case "TensorInfo":
      case "CooSparse":
        this.#currentMeta?.entryNodes.push(tensorNode(value));
        return;
      case "NodeList":
        this.#currentMeta?.entryNodes.push(tensorNode(value));
        return;
      case "CollectionEntry":
        f.a = value;
        return;
      case "GradientDef":
        if (field === 1) f.a = value;
        else f.b = value;
        return;
      case "SavedFunction":
      case "SavedBareConcreteFunction":
      case "ConcreteFunctionEntry":
      case "FunctionAliasEntry":
        this.#currentMeta?.objectFunctions.push(value);
        return;
      case "OpDef":
        if (this.#stack[this.#stack.length - 2]?.message === "FunctionDef") {
          this.#fn = value;
          this.summary.functions.add(value);
        }
        return;
      case "MetaInfoDef":
        if (field === 4) this.summary.tags.push(value);
        else this.summary.tensorflowVersion = value;
        return;
      case "SavedUserObject":
        if (field === 1) f.a = value;
        else f.b = value;
        return;
      case "KerasSavedObject":
        if (field === 3) f.a = value;
        else if (field === 5) f.b = value;
        return;
    }
  }

  varint(): void {}

  /**
   * A collection of serialized protos: what a TF1 user runs without naming it. Variables'
   * initializers (`tf.global_variables_initializer()`) and snapshots (reading the variable),
   * queue runners' enqueue/close/cancel ops (`tf.train.start_queue_runners()`), savers of the
   * `savers` collection (their save and restore ops, as the SaverDef's).
   */
  #collection(key: string, blobs: readonly Uint8Array[]): void {
    const meta = this.#currentMeta;
    if (meta === undefined) return;
    for (const blob of blobs) {
      const fields = stringFields(blob);
      if (fields === undefined) continue;
      const names = (...numbers: number[]) => numbers.flatMap((n) => fields.get(n) ?? []).map(tensorNode);
      if (key === "queue_runners") pushAll(meta.entryNodes, names(2, 3, 4));
      else if (key === "savers") {
        pushAll(meta.saverRoots, names(2));
        pushAll(meta.restoreRoots, names(3));
      } else if (VARIABLE_COLLECTIONS.test(key)) pushAll(meta.entryNodes, names(2, 3));
    }
  }

  leaf(message: string, field: number, bytes: Uint8Array, offset: number): void {
    if (message === "BytesList") {
      const entry = this.#find("CollectionEntry");
      if (entry === undefined) return;
      entry.blobs ??= [];
      if (entry.blobs.length < 1_000_000) entry.blobs.push(bytes);
      return;
    }
    try {
      if (message === "MetaGraphDef" && field === 3) {
        const saver = pb.SaverDef.decode(bytes);
        for (const name of [saver.save_tensor_name, saver.restore_op_name, saver.filename_tensor_name]) {
          const slash = name.indexOf("/");
          if (slash > 0) this.summary.saverPrefixes.add(name.slice(0, slash + 1));
        }
        const meta = this.#currentMeta;
        if (meta !== undefined) {
          if (saver.save_tensor_name) meta.saverRoots.push(tensorNode(saver.save_tensor_name));
          if (saver.restore_op_name) meta.restoreRoots.push(tensorNode(saver.restore_op_name));
        }
      } else if (message === "MetaGraphDef" && field === 6) {
        const asset = pb.AssetFileDef.decode(bytes);
        this.summary.assets.push({ filename: asset.filename, offset });
      }
    } catch (error) {
      throw new ModelgateError("MALFORMED", `invalid ${message} field ${field}: ${(error as Error).message}`, {
        offset,
        cause: error,
      });
    }
  }

  blob(): void {}
}

/** Collections of `VariableDef`s (`variables`, `trainable_variables`, `local_variables`, `global_step` ...). */
const VARIABLE_COLLECTIONS = /variables$|^global_step$/;

/**
 * The length-delimited fields of a serialized message, decoded as strings, by field number;
 * undefined when the bytes are no protobuf message. Other fields, groups included, are skipped as
 * protobuf's parser skips them ({@link eachField}).
 */
function stringFields(bytes: Uint8Array): Map<number, string[]> | undefined {
  const out = new Map<number, string[]>();
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let fields = 0;
  const ok = eachField(bytes, true, (f) => {
    if (++fields > 10_000) return false;
    if (f.payload === undefined) return true;
    const list = out.get(f.field) ?? [];
    list.push(decoder.decode(f.payload));
    out.set(f.field, list);
    return true;
  });
  return ok ? out : undefined;
}

/** Result of {@link readSavedModel}. */
export interface SavedModelReadResult {
  /** What was read (up to the error, if any). */
  readonly summary: SavedModelSummary;
  /** Why reading stopped early. */
  readonly error: ModelgateError | undefined;
  /** Type URLs of `Any` expansions of a text-format file (kept opaque). */
  readonly anyTypes?: readonly string[];
}

function emptySummary(kind: SavedModelSummary["kind"]): SavedModelSummary {
  const summary: SavedModelSummary = {
    kind,
    metaGraphs: 0,
    tags: [],
    tensorflowVersion: "",
    nodes: [],
    functions: new Set(),
    assets: [],
    saverPrefixes: new Set(),
    kerasMetadata: [],
    metas: [],
  };
  // a GraphDef has no meta graph around it: one without saver nor declared entry points
  if (kind === "graph_def")
    summary.metas.push({ saverRoots: [], restoreRoots: [], entryNodes: [], objectFunctions: [], gradients: [] });
  return summary;
}

const READ_ERRORS = ["MALFORMED", "TRUNCATED", "BUDGET_EXCEEDED"];

/** Largest text-format file read (the whole file is parsed in memory). */
export const MAX_TEXT_BYTES = 256 << 20;

/**
 * Reads a text-format `saved_model.pbtxt`, MetaGraphDef or GraphDef into the structures the binary
 * reader gives (the same visitor, driven by the text walker).
 * @param source - the file
 * @param kind - which message it holds
 * @param options - budgets and a checkpoint callback
 */
export async function readSavedModelText(
  source: ByteSource,
  kind: Exclude<SavedModelSummary["kind"], "keras_metadata">,
  options: { maxNodes?: number; checkpoint?: () => void } = {},
): Promise<SavedModelReadResult> {
  const summary = emptySummary(kind);
  if (source.size > MAX_TEXT_BYTES) {
    const error = new ModelgateError("BUDGET_EXCEEDED", `protobuf text file larger than ${MAX_TEXT_BYTES} bytes`, {
      offset: 0,
      budget: "savedmodel.maxTextBytes",
    });
    return { summary, error };
  }
  const bytes = await source.read(0, source.size);
  const visitor = new Visitor(summary, options.maxNodes ?? 5_000_000);
  const walker = new TextWalker(bytes, visitor, TF_TEXT_SCHEMA, {
    maxDepth: DEFAULT_WALK_BUDGETS.maxDepth,
    maxFields: DEFAULT_WALK_BUDGETS.maxFields,
    maxString: DEFAULT_WALK_BUDGETS.maxString,
    ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
  });
  let error: ModelgateError | undefined;
  try {
    walker.walk(TEXT_ROOTS[kind], SPECS[kind]);
  } catch (caught) {
    const typed = toModelgateError(caught);
    if (!READ_ERRORS.includes(typed.code)) throw typed;
    error = typed;
  }
  return { summary, error, anyTypes: walker.anyTypes };
}

/**
 * Reads a `saved_model.pb`, a MetaGraphDef (`.meta`), a GraphDef or a `keras_metadata.pb`.
 * @param source - the file
 * @param kind - which of them it is
 * @param options - budgets and a checkpoint callback
 */
export async function readSavedModel(
  source: ByteSource,
  kind: SavedModelSummary["kind"],
  options: { maxNodes?: number; checkpoint?: () => void } = {},
): Promise<SavedModelReadResult> {
  const summary = emptySummary(kind);
  const visitor = new Visitor(summary, options.maxNodes ?? 5_000_000);
  const walker = new WireWalker(source, visitor, {
    ...DEFAULT_WALK_BUDGETS,
    ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
  });
  let error: ModelgateError | undefined;
  try {
    await walker.walk(SPECS[kind]);
  } catch (caught) {
    const typed = toModelgateError(caught);
    if (!READ_ERRORS.includes(typed.code)) throw typed;
    error = typed;
  }
  return { summary, error };
}
