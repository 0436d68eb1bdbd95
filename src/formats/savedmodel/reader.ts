/**
 * Streaming reader of TensorFlow `saved_model.pb`, TF1 `MetaGraphDef` files (`model.ckpt.meta`:
 * one meta graph, no SavedModel around it) and Keras `keras_metadata.pb`: every node of every
 * graph and function, the function library, assets, the saver, and the Keras layer metadata JSON,
 * without reading constant tensors.
 * @module
 */

import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import { DEFAULT_WALK_BUDGETS, type MessageSpec, type WireVisitor, WireWalker } from "../protobuf/walk.js";
import { modelgate } from "./generated/savedmodel.js";

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
  /** `saved_model`, `meta_graph` (a TF1 `.meta`: one MetaGraphDef) or `keras_metadata`. */
  kind: "saved_model" | "meta_graph" | "keras_metadata";
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
const COLLECTION_DEF: MessageSpec = { name: "CollectionDef", fields: { 1: msg(() => NODE_LIST) } };
const COLLECTION_ENTRY: MessageSpec = { name: "CollectionEntry", fields: { 2: msg(() => COLLECTION_DEF) } };
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

  leaf(message: string, field: number, bytes: Uint8Array, offset: number): void {
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

/** Result of {@link readSavedModel}. */
export interface SavedModelReadResult {
  /** What was read (up to the error, if any). */
  readonly summary: SavedModelSummary;
  /** Why reading stopped early. */
  readonly error: ModelgateError | undefined;
}

/**
 * Reads a `saved_model.pb`, a MetaGraphDef (`.meta`) or a `keras_metadata.pb`.
 * @param source - the file
 * @param kind - which of the three it is
 * @param options - budgets and a checkpoint callback
 */
export async function readSavedModel(
  source: ByteSource,
  kind: SavedModelSummary["kind"],
  options: { maxNodes?: number; checkpoint?: () => void } = {},
): Promise<SavedModelReadResult> {
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
    if (!["MALFORMED", "TRUNCATED", "BUDGET_EXCEEDED"].includes(typed.code)) throw typed;
    error = typed;
  }
  return { summary, error };
}
