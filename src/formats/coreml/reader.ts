/**
 * Reads a Core ML `.mlmodel` (a protobuf `Model`) without its weights: the model type of each
 * (nested) model, feature descriptions, neural network layer types, and the names of code a
 * loader needs (custom model and layer classes, linked model files). Pipelines and branch/loop
 * layers are followed to a nesting budget.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError, toModelgateError } from "../../core/errors.js";
import { type WireVisitor, WireWalker } from "../protobuf/walk.js";
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
}

/**
 * Reads a Core ML model, returning what was read before any error.
 * @param source - the `.mlmodel` bytes
 * @param options - checkpoint
 */
export async function readCoremlPartial(
  source: ByteSource,
  options: { checkpoint?: () => void } = {},
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
  };
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
      }
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
      } else if (message === "Metadata" && nesting === 0 && field >= 2 && field <= 4) {
        s.metadata[["", "", "versionString", "author", "license"][field] ?? ""] = value.slice(0, 300);
      }
    },
    varint(message, field, value) {
      if (message === "Model" && field === 1 && nesting === 0) s.specificationVersion = value;
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
