/**
 * Rules of the coreml area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const SPEC = "https://apple.github.io/coremltools/mlmodel/index.html";

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
    id: "coreml/malformed",
    title: "Core ML model is invalid",
    severity: "medium",
    invalidates: true,
    description:
      "The `.mlmodel` protobuf is broken (truncated, invalid wire data, nesting beyond the budget) or a model has no type. Core ML rejects it; modelgate could not read all of it.",
    references: [`${SPEC}/Model.html`],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof coremlRules)[number]["id"], true> {}
}
