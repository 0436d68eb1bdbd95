/**
 * Rules of the coreml area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const SPEC = "https://apple.github.io/coremltools/mlmodel/index.html";
const MILBLOB = "https://github.com/apple/coremltools/blob/main/mlmodel/src/MILBlob/Blob/StorageFormat.hpp";

/** coreml rules. */
export const coremlRules = [
  {
    id: "coreml/custom-model",
    title: "Core ML custom model class",
    severity: "medium",
    description:
      "The model (or a model of its pipeline) is a `customModel`: its predictions are computed by a native class (`MLCustomModel`) the app provides, named by `className`. The file carries no computation Core ML can check; the class runs with the app's rights.",
    references: [`${SPEC}/CustomModel.html`],
  },
  {
    id: "coreml/custom-layer",
    title: "Core ML neural network custom layer",
    severity: "medium",
    description:
      "A neural network layer is a `custom` layer (`CustomLayerParams.className`): Core ML runs it through a native `MLCustomLayer` class the app provides. What the layer computes is not in the file.",
    references: [`${SPEC}/NeuralNetwork.html`],
  },
  {
    id: "coreml/linked-model",
    title: "Core ML linked model file",
    severity: "medium",
    description:
      "The model is a `linkedModel`: a reference by file name (and search path) to another compiled model that Core ML loads from disk at run time. That model is not in this file and was not checked.",
    references: [`${SPEC}/LinkedModel.html`],
  },
  {
    id: "coreml/unknown-model-type",
    title: "Core ML model type not in the schema, or opaque",
    severity: "medium",
    description:
      "A model's type is a field Core ML's `Model.proto` does not define, or a `serializedModel` (an opaque protobuf of another type). modelgate cannot account for what it computes.",
    references: [`${SPEC}/Model.html`],
  },
  {
    id: "coreml/unknown-layer",
    title: "Core ML neural network layer type not in the schema",
    severity: "medium",
    description:
      "A neural network layer's type is a field `NeuralNetwork.proto` does not define: no Core ML release knows it, and modelgate cannot say what it computes.",
    references: [`${SPEC}/NeuralNetwork.html`],
  },
  {
    id: "coreml/unknown-op",
    title: "Core ML ML Program operation not in the MIL op set",
    severity: "medium",
    description:
      "An ML Program (`mlProgram`) operation has a `type` that is not one of the MIL operations of Core ML's opsets (iOS15 to iOS18). No Core ML release computes it, and modelgate cannot say what it does; op names that look like host-language callbacks (`py_func` ...) are flagged in the evidence. Custom ops (`custom_layer`) are reported as custom layers with their class name.",
    references: ["https://apple.github.io/coremltools/source/coremltools.converters.mil.mil.ops.defs.html"],
  },
  {
    id: "coreml/blob-path-traversal",
    title: "Core ML ML Program weight file outside the model package",
    severity: "high",
    description:
      "A `BlobFileValue.fileName` of an ML Program (where a `const` op's weights live; coremltools writes `@model_path/weights/weight.bin`) is absolute, has a `..` component, a home, drive or URL prefix: a loader that resolves it reads a file outside the package (device files, another app's data) as weights. A relative name not anchored at `@model_path` is reported at `medium`: it resolves against whatever directory the loader runs in.",
    references: [
      "https://apple.github.io/coremltools/docs-guides/source/comparing-ml-programs-and-neural-networks.html",
    ],
  },
  {
    id: "coreml/malformed",
    title: "Core ML model is invalid",
    severity: "medium",
    invalidates: true,
    description:
      "The `.mlmodel` protobuf is broken (truncated, invalid wire data, nesting beyond the budget, ML Program blocks nested or operations beyond their budgets) or a model has no type. Core ML rejects it; modelgate could not read all of it.",
    references: [`${SPEC}/Model.html`],
  },
  {
    id: "coreml/weights-malformed",
    title: "Core ML ML Program weight file is invalid",
    severity: "medium",
    invalidates: true,
    description:
      "A MIL blob storage file (`weights/weight.bin` of an `.mlpackage`) is broken: a version other than 2, more blobs announced than fit, a metadata record without its `0xDEADBEEF` sentinel, an unknown data type, blob data that is not 64-aligned after its record, ends past the file, or does not hold whole elements. Core ML rejects it; modelgate could not account for all of it.",
    references: [MILBLOB],
  },
  {
    id: "coreml/weights-unaccounted-bytes",
    title: "Bytes in a Core ML weight file that no blob accounts for",
    severity: "low",
    description:
      "The weight file continues past its last blob (beyond alignment padding), or leaves space between a metadata record and its data. No loader reads these bytes; trailing bytes are analysed as a member because appended archives and pickles hide there.",
    references: [MILBLOB],
  },
  {
    id: "coreml/weights-dangling-reference",
    title: "Core ML model references a weight blob the weight file does not have",
    severity: "medium",
    invalidates: true,
    description:
      "The package's ML Program (`model.mlmodel`) names an offset of this weight file (`BlobFileValue.offset`) that is not the start of one of its blob metadata records: Core ML fails to load it, or reads a record forged inside another blob's data.",
    references: [MILBLOB],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof coremlRules)[number]["id"], true> {}
}
