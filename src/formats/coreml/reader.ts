/**
 * Reads a Core ML `.mlmodel` (a protobuf `Model`) without its weights: the model type of each
 * (nested) model, feature descriptions, neural network layer types, and the names of code a
 * loader needs (custom model and layer classes, linked model files). Pipelines and branch/loop
 * layers are followed to a nesting budget. ML Programs (`mlProgram`) are walked function by
 * function, block by block (nested control-flow blocks to a budget), operation by operation: their
 * op types, custom ops and the weight files their values reference; tensor payloads are skipped.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import { type WireVisitor, WireWalker } from "../protobuf/walk.js";
import { blobPathProblem, CUSTOM_OP, MAX_MIL_BLOCK_NESTING, MAX_MIL_OPERATIONS, MIL_OPS } from "./mil.js";
import {
  ARRAY_DATA_TYPES,
  FEATURE_TYPES,
  LAYER_FIELDS,
  LAYER_TYPES,
  MODEL_FIELDS,
  MODEL_TYPES,
  model as modelSpec,
} from "./schema.js";

/** Deepest nesting of models in pipelines. */
export const MAX_MODEL_NESTING = 16;
/** Deepest protobuf message nesting (branch/loop layers nest networks). */
const MAX_MESSAGE_DEPTH = 64;
/** Most items of each list kept (the rest are counted). */
const MAX_KEPT = 1000;
/** Most blob references kept (file name and offset) for checks against the weight file. */
export const MAX_BLOB_REFS = 100_000;

/** A feature (input or output) of the outermost model. */
export interface CoremlFeature {
  name: string;
  dtype: string;
  shape: number[];
}

/** A class or file a loader needs beside the model. */
export interface CoremlReference {
  /** `customModel`, `customLayer` or `linkedModel`. */
  readonly kind: "customModel" | "customLayer" | "linkedModel";
  /** Class name (custom) or file name (linked). */
  readonly name: string;
  /** Search path (linked models) or layer name (custom layers). */
  readonly detail: string;
  /** Offset of the message. */
  readonly offset: number;
  /** Nesting of the model it belongs to (0 = outermost). */
  readonly nesting: number;
}

/** A function of an ML Program. */
export interface MilFunctionInfo {
  name: string;
  /** The opset of its active block specialization (`CoreML5` ... `CoreML8`). */
  opset: string;
  /** Operations in its blocks, nested blocks included. */
  operations: number;
}

/** A weight file reference of an ML Program that leaves the model package. */
export interface MilBlobProblem {
  readonly file: string;
  readonly kind: "traversal" | "unanchored";
  readonly reason: string;
  readonly offset: number;
  /** Type and name of the operation whose value references it ("" outside operations). */
  opType: string;
  opName: string;
}

/** What the reader found. */
export interface CoremlSummary {
  specificationVersion?: number;
  /** Model type of the outermost model. */
  modelType?: string;
  /** Model types of every (nested) model, counted. */
  modelTypes: Map<string, number>;
  /** Model-type fields that are not in Core ML's schema (field number → offset). */
  unknownTypes: Array<{ field: number; offset: number; nesting: number }>;
  /** Models that have no model type. */
  untyped: number;
  models: number;
  inputs: CoremlFeature[];
  outputs: CoremlFeature[];
  layers: number;
  layerTypes: Map<string, number>;
  unknownLayers: Array<{ field: number; offset: number; layer: string }>;
  references: CoremlReference[];
  metadata: Record<string, string>;
  /** ML Programs read (0 when the model has none). */
  milPrograms: number;
  /** `Program.version` of the outermost program. */
  milVersion?: number;
  /** Functions (the first 64) and how many there are. */
  milFunctions: MilFunctionInfo[];
  milFunctionCount: number;
  /** Operations, nested blocks included. */
  milOperations: number;
  milOpTypes: Map<string, number>;
  /** Op types outside the MIL op set: count, first offset and operation name. */
  milUnknownOps: Map<string, { count: number; offset: number; name: string }>;
  /** Weight files referenced by `BlobFileValue`s, with their reference counts. */
  milBlobFiles: Map<string, number>;
  /** Weight file references that leave the package. */
  milBlobProblems: MilBlobProblem[];
  /** `BlobFileValue`s (file name and metadata record offset), the first {@link MAX_BLOB_REFS}. */
  milBlobRefs: Array<{ file: string; offset: number }>;
}

interface Frame {
  readonly name: string;
  readonly field: number;
  readonly offset: number;
  /** Model: whether a type was seen; Layer: its name and whether a type was seen. */
  typed?: boolean;
  layerName?: string;
  feature?: CoremlFeature;
  strings?: string[];
  /** MIL map entries: their key; operations: type, `name` and `class_name` attributes. */
  key?: string;
  opType?: string;
  opName?: string;
  className?: string;
  fileName?: string;
  blobOffset?: number;
  /** Blob problems of an operation's values, completed with its type and name on exit. */
  blobs?: MilBlobProblem[];
}

/**
 * Reads a Core ML model, returning what was read before any error.
 * @param source - the `.mlmodel` bytes
 * @param options - checkpoint; `maxMilOperations` (default {@link MAX_MIL_OPERATIONS})
 */
export async function readCoremlPartial(
  source: ByteSource,
  options: { checkpoint?: () => void; maxMilOperations?: number } = {},
): Promise<{ summary: CoremlSummary; error?: ModelgateError }> {
  const s: CoremlSummary = {
    modelTypes: new Map(),
    unknownTypes: [],
    untyped: 0,
    models: 0,
    inputs: [],
    outputs: [],
    layers: 0,
    layerTypes: new Map(),
    unknownLayers: [],
    references: [],
    metadata: {},
    milPrograms: 0,
    milFunctions: [],
    milFunctionCount: 0,
    milOperations: 0,
    milOpTypes: new Map(),
    milUnknownOps: new Map(),
    milBlobFiles: new Map(),
    milBlobProblems: [],
    milBlobRefs: [],
  };
  let milBlocks = 0;
  const maxOps = options.maxMilOperations ?? MAX_MIL_OPERATIONS;
  let fn: MilFunctionInfo | undefined;
  const stack: Frame[] = [];
  let nesting = -1;
  const parent = () => stack.at(-1);
  const count = (map: Map<string, number>, key: string) => {
    if (map.size < MAX_KEPT || map.has(key)) map.set(key, (map.get(key) ?? 0) + 1);
  };
  const modelType = (field: number, offset: number) => {
    const model = parent();
    if (model === undefined) return;
    model.typed = true;
    const name = MODEL_TYPES.get(field);
    if (name === undefined) {
      if (s.unknownTypes.length < MAX_KEPT) s.unknownTypes.push({ field, offset, nesting });
      return;
    }
    count(s.modelTypes, name);
    if (nesting === 0 && s.modelType === undefined) s.modelType = name;
  };
  const layerType = (field: number, offset: number) => {
    const layer = parent();
    if (layer === undefined) return;
    layer.typed = true;
    const name = LAYER_TYPES.get(field);
    if (name === undefined) {
      if (s.unknownLayers.length < MAX_KEPT) s.unknownLayers.push({ field, offset, layer: layer.layerName ?? "" });
      return;
    }
    count(s.layerTypes, name);
  };
  const exitMil = (frame: Frame, up: Frame | undefined) => {
    switch (frame.name) {
      case "MilBlock":
        milBlocks--;
        break;
      case "MilFunctionEntry":
        if (fn !== undefined) fn.name = (frame.key ?? "").slice(0, 200);
        fn = undefined;
        break;
      case "MilAttribute":
        if (up?.name === "MilOperation" && frame.strings?.[0] !== undefined) {
          if (frame.key === "name") up.opName = frame.strings[0];
          else if (frame.key === "class_name") up.className = frame.strings[0];
        }
        break;
      case "MilBlobFile": {
        const file = frame.fileName ?? "";
        count(s.milBlobFiles, file.slice(0, 300));
        if (s.milBlobRefs.length < MAX_BLOB_REFS) s.milBlobRefs.push({ file, offset: frame.blobOffset ?? 0 });
        const problem = blobPathProblem(file);
        if (problem === undefined) break;
        const found: MilBlobProblem = { file, ...problem, offset: frame.offset, opType: "", opName: "" };
        // the operation whose value this is, if any (its type and name may come later in the wire)
        const op = stack.findLast((f) => f.name === "MilOperation");
        if (op?.blobs !== undefined && op.blobs.length < MAX_KEPT) op.blobs.push(found);
        else if (op === undefined && s.milBlobProblems.length < MAX_KEPT) s.milBlobProblems.push(found);
        break;
      }
      case "MilOperation": {
        const type = frame.opType ?? "";
        const name = frame.opName ?? "";
        count(s.milOpTypes, type);
        if (type === CUSTOM_OP) {
          if (s.references.length < MAX_KEPT) {
            s.references.push({
              kind: "customLayer",
              name: frame.className ?? "",
              detail: name,
              offset: frame.offset,
              nesting,
            });
          }
        } else if (!MIL_OPS.has(type)) {
          const known = s.milUnknownOps.get(type);
          if (known !== undefined) known.count++;
          else if (s.milUnknownOps.size < MAX_KEPT) {
            s.milUnknownOps.set(type, { count: 1, offset: frame.offset, name: name.slice(0, 200) });
          }
        }
        for (const b of frame.blobs ?? []) {
          if (s.milBlobProblems.length >= MAX_KEPT) break;
          b.opType = type.slice(0, 200);
          b.opName = name.slice(0, 200);
          s.milBlobProblems.push(b);
        }
        break;
      }
    }
  };
  const visitor: WireVisitor = {
    enter(message, field, offset) {
      const up = parent();
      if (up?.name === "Model" && !MODEL_FIELDS.has(field)) modelType(field, offset);
      if (up?.name === "NeuralNetworkLayer" && !LAYER_FIELDS.has(field)) layerType(field, offset);
      const frame: Frame = { name: message, field, offset };
      if (message === "Model") {
        nesting++;
        s.models++;
        if (nesting > MAX_MODEL_NESTING) {
          throw new ModelgateError("BUDGET_EXCEEDED", `Core ML models nested deeper than ${MAX_MODEL_NESTING}`, {
            offset,
            budget: "coreml.maxModelNesting",
          });
        }
      }
      if (message === "NeuralNetworkLayer") s.layers++;
      else if (message === "MilProgram") s.milPrograms++;
      else if (message === "MilFunctionEntry") {
        fn = { name: "", opset: "", operations: 0 };
        s.milFunctionCount++;
        if (s.milFunctions.length < 64) s.milFunctions.push(fn);
      } else if (message === "MilBlock") {
        if (++milBlocks > MAX_MIL_BLOCK_NESTING) {
          throw new ModelgateError("BUDGET_EXCEEDED", `ML Program blocks nested deeper than ${MAX_MIL_BLOCK_NESTING}`, {
            offset,
            budget: "coreml.maxMilBlockNesting",
          });
        }
      } else if (message === "MilOperation") {
        if (++s.milOperations > maxOps) {
          throw new ModelgateError("BUDGET_EXCEEDED", `more than ${maxOps} ML Program operations`, {
            offset,
            budget: "coreml.maxMilOperations",
          });
        }
        if (fn !== undefined) fn.operations++;
        frame.blobs = [];
      }
      if (message === "FeatureDescription" && nesting === 0 && up?.name === "ModelDescription" && stack.length === 2) {
        frame.feature = { name: "", dtype: "", shape: [] };
      }
      if (message === "StringParameter" || message === "MetadataEntry") frame.strings = [];
      const feature = stack.at(-2)?.feature;
      if (message === "ArrayFeatureType" && feature !== undefined) feature.dtype = "multiArray";
      stack.push(frame);
    },
    exit(message) {
      const frame = stack.pop();
      if (frame === undefined) return;
      const up = parent();
      if (message === "Model") {
        if (frame.typed !== true) s.untyped++;
        nesting--;
      } else if (message === "FeatureDescription" && frame.feature !== undefined) {
        const list = frame.field === 1 ? s.inputs : frame.field === 10 ? s.outputs : undefined;
        if (list !== undefined && list.length < 64) list.push(frame.feature);
      } else if (message === "StringParameter" && up !== undefined) {
        up.strings = [...(up.strings ?? []), frame.strings?.[0] ?? ""];
      } else if (message === "LinkedModelFile") {
        const [file = "", path = ""] = frame.strings ?? [];
        if (s.references.length < MAX_KEPT) {
          s.references.push({ kind: "linkedModel", name: file, detail: path, offset: frame.offset, nesting });
        }
      } else if (message === "MetadataEntry") {
        const [key = "", value = ""] = frame.strings ?? [];
        if (Object.keys(s.metadata).length < 50) s.metadata[key.slice(0, 100)] = value.slice(0, 300);
      } else if (message.startsWith("Mil")) exitMil(frame, up);
    },
    string(message, field, value, offset) {
      const frame = parent();
      if (frame === undefined) return;
      if (message === "NeuralNetworkLayer" && field === 1) frame.layerName = value;
      else if (message === "FeatureDescription" && field === 1 && frame.feature !== undefined) {
        frame.feature.name = value.slice(0, 200);
      } else if (message === "StringParameter" || message === "MetadataEntry") {
        frame.strings?.push(value);
      } else if ((message === "CustomModel" || message === "CustomLayerParams") && field === 10) {
        const layer = stack.at(-2);
        if (s.references.length < MAX_KEPT) {
          s.references.push({
            kind: message === "CustomModel" ? "customModel" : "customLayer",
            name: value,
            detail: message === "CustomLayerParams" ? (layer?.layerName ?? "") : "",
            offset,
            nesting,
          });
        }
      } else if (message.startsWith("Mil")) {
        if (field === 1 && message === "MilOperation") frame.opType = value;
        else if (field === 1 && (message === "MilAttribute" || message === "MilFunctionEntry")) frame.key = value;
        else if (field === 1 && message === "MilBlobFile") frame.fileName = value;
        else if (field === 2 && message === "MilFunction" && fn !== undefined) fn.opset = value.slice(0, 100);
        else if (field === 1 && message === "MilStrings") {
          // a string-valued attribute of an operation: Attribute → Value → Immediate → Tensor → Strings
          const attribute = stack.at(-5);
          if (attribute?.name === "MilAttribute" && attribute.strings === undefined) attribute.strings = [value];
        }
      } else if (message === "Metadata" && nesting === 0 && field >= 2 && field <= 4) {
        s.metadata[["", "", "versionString", "author", "license"][field] ?? ""] = value.slice(0, 300);
      }
    },
    varint(message, field, value) {
      if (message === "Model" && field === 1 && nesting === 0) s.specificationVersion = value;
      if (message === "MilProgram" && field === 1 && s.milVersion === undefined) s.milVersion = value;
      if (message === "MilBlobFile" && field === 2) {
        const frame = parent();
        if (frame !== undefined) frame.blobOffset = value;
      }
      const feature = stack.at(-3)?.feature;
      if (message === "ArrayFeatureType" && feature !== undefined) {
        if (field === 1 && feature.shape.length < 16) feature.shape.push(value);
        if (field === 2) feature.dtype = ARRAY_DATA_TYPES.get(value) ?? `arrayType ${value}`;
      }
    },
    leaf(message, field) {
      const feature = stack.at(-2)?.feature;
      if (message === "FeatureType" && feature !== undefined) feature.dtype = FEATURE_TYPES.get(field) ?? "";
    },
    blob(message, field, offset) {
      if (message === "Model" && !MODEL_FIELDS.has(field)) modelType(field, offset);
      else if (message === "NeuralNetworkLayer" && !LAYER_FIELDS.has(field)) layerType(field, offset);
    },
  };
  const walker = new WireWalker(source, visitor, {
    maxDepth: MAX_MESSAGE_DEPTH,
    ...(options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint }),
  });
  try {
    await walker.walk(modelSpec);
  } catch (error) {
    const e = toModelgateError(error);
    if (e.code === "MALFORMED" || e.code === "TRUNCATED" || e.code === "BUDGET_EXCEEDED")
      return { summary: s, error: e };
    throw e;
  }
  return { summary: s };
}
