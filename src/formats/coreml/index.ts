/**
 * The Core ML module: `.mlmodel` protobufs (also `Data/com.apple.CoreML/model.mlmodel` inside an
 * `.mlpackage` directory, recognised by the same name and content) and the ML Program weight files
 * beside them (`weights/weight.bin`, MIL blob storage, recognised by content).
 *
 * Detection: recognises Core ML `.mlmodel` files: a protobuf `Model` whose top-level fields are only
 * `specificationVersion` (1, varint), `description` (2), `isUpdatable` (10) and model-type fields
 * (200 and above, which no ONNX or TensorFlow top-level message uses), with at least one model
 * type in the sniffed bytes; and ML Program weight files (MIL blob storage, see `./weights.ts`)
 * by their header. The tables both need live here so that the registry loads no reader.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf, varint } from "../../core/sniffing.js";

/** `Model` oneof Type: field number → name. */
export const MODEL_TYPES: ReadonlyMap<number, string> = new Map([
  [200, "pipelineClassifier"],
  [201, "pipelineRegressor"],
  [202, "pipeline"],
  [300, "glmRegressor"],
  [301, "supportVectorRegressor"],
  [302, "treeEnsembleRegressor"],
  [303, "neuralNetworkRegressor"],
  [304, "bayesianProbitRegressor"],
  [400, "glmClassifier"],
  [401, "supportVectorClassifier"],
  [402, "treeEnsembleClassifier"],
  [403, "neuralNetworkClassifier"],
  [404, "kNearestNeighborsClassifier"],
  [500, "neuralNetwork"],
  [501, "itemSimilarityRecommender"],
  [502, "mlProgram"],
  [555, "customModel"],
  [556, "linkedModel"],
  [560, "classConfidenceThresholding"],
  [600, "oneHotEncoder"],
  [601, "imputer"],
  [602, "featureVectorizer"],
  [603, "dictVectorizer"],
  [604, "scaler"],
  [606, "categoricalMapping"],
  [607, "normalizer"],
  [609, "arrayFeatureExtractor"],
  [610, "nonMaximumSuppression"],
  [900, "identity"],
  [2000, "textClassifier"],
  [2001, "wordTagger"],
  [2002, "visionFeaturePrint"],
  [2003, "soundAnalysisPreprocessing"],
  [2004, "gazetteer"],
  [2005, "wordEmbedding"],
  [2006, "audioFeaturePrint"],
  [3000, "serializedModel"],
]);

/** Model types whose content modelgate cannot account for (an opaque protobuf of another type). */
export const OPAQUE_MODEL_TYPES: ReadonlySet<number> = new Set([3000]);

/** `Model` fields that are not a model type. */
export const MODEL_FIELDS: ReadonlySet<number> = new Set([1, 2, 10]);

/** Size of the header and of each metadata record; alignment of records and data. */
export const BLOB_ALIGN = 64;
/** `blob_metadata.sentinel`. */
export const BLOB_SENTINEL = 0xdeadbeef;
/** The storage format version this reader knows (version 1 is an older Espresso format). */
export const BLOB_STORAGE_VERSION = 2;

const u32 = (b: Uint8Array, at: number): number =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

/**
 * Recognises a MIL blob storage file by content: version 2, a zero reserved header and, when it
 * holds blobs, the first record's sentinel at byte 64 (an empty store is exactly its header).
 */
export const detectMilWeights: Detector = ({ head, size }) => {
  if (head.length < BLOB_ALIGN || u32(head, 4) !== BLOB_STORAGE_VERSION) return undefined;
  for (let i = 8; i < BLOB_ALIGN; i++) if (head[i] !== 0) return undefined;
  const count = u32(head, 0);
  if (count === 0) {
    if (size !== BLOB_ALIGN) return undefined;
  } else if (head.length < BLOB_ALIGN + 8 || u32(head, BLOB_ALIGN) !== BLOB_SENTINEL) return undefined;
  return {
    format: "coreml-weights",
    offset: 0,
    reason: `Core ML MIL blob storage v${BLOB_STORAGE_VERSION} (${count} blob${count === 1 ? "" : "s"})`,
  };
};

export const detectCoreml: Detector = ({ head, size, name }) => {
  let at = 0;
  let version: number | undefined;
  let type: string | undefined;
  for (let n = 0; n < 16 && at < head.length; n++) {
    const key = varint(head, at);
    if (key === undefined) break;
    const field = Math.floor(key[0] / 8);
    const wire = key[0] % 8;
    if (!MODEL_FIELDS.has(field) && !MODEL_TYPES.has(field)) return undefined;
    if (field === 1 || field === 10) {
      if (wire !== 0) return undefined;
      const v = varint(head, key[1]);
      if (v === undefined) return undefined;
      if (field === 1) version = v[0];
      at = v[1];
      continue;
    }
    if (wire !== 2) return undefined;
    const len = varint(head, key[1]);
    if (len === undefined || len[1] + len[0] > size) return undefined;
    if (MODEL_TYPES.has(field)) {
      type = MODEL_TYPES.get(field);
      break;
    }
    at = len[1] + len[0];
  }
  if (version === undefined || version < 1 || version > 32) return undefined;
  // a description larger than the sniffed bytes hides the type: the name decides then
  if (type === undefined && !(at >= head.length && extensionOf(name) === "mlmodel")) return undefined;
  return {
    format: "coreml",
    offset: 0,
    reason: `Core ML Model (specification ${version}, ${type ?? "type beyond the sniffed bytes"})`,
  };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    coreml: true;
    "coreml-weights": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "coremlRules");

/** Core ML models. */
export const coremlModule = {
  name: "coreml",
  formats: [
    { id: "coreml", description: "Core ML model (.mlmodel protobuf)", claimExtensions: ["mlmodel"] },
    { id: "coreml-weights", description: "Core ML ML Program weight file (MIL blob storage v2)" },
  ],
  // before the generic protobuf detector (180): only Core ML's own top-level field numbers match
  // weights: a binary header (version 2, zero reserved bytes) and the first record's sentinel
  detectors: [
    { rank: 175, detect: detectCoreml },
    { rank: 32, detect: detectMilWeights },
  ],
  analyzers: [
    lazyAnalyzer("coreml", ["coreml"], async () => (await import("./analyzer.js")).coremlAnalyzer),
    lazyAnalyzer(
      "coreml-weights",
      ["coreml-weights"],
      async () => (await import("./weights-analyzer.js")).coremlWeightsAnalyzer,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
