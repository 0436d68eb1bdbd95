/**
 * Rules of the tflite area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const SCHEMA = "https://github.com/tensorflow/tensorflow/blob/master/tensorflow/compiler/mlir/lite/schema/schema.fbs";
const CUSTOM_OPS = "https://ai.google.dev/edge/litert/models/ops_custom";
const SELECT_OPS = "https://ai.google.dev/edge/litert/models/ops_select";

/** tflite rules. */
export const tfliteRules = [
  {
    id: "tflite/malformed",
    title: "TFLite model is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The model's flatbuffer cannot be read safely (an offset or a length past the end of the file, an invalid vtable, a string without its terminator, budgets exceeded) or the TFLite runtime refuses it (a schema version other than 3, an operator index or a tensor's buffer index out of range, a CUSTOM operator without a name, a buffer or custom options lying past the end of the file). TFLite's `BuildFromFile` does not verify the flatbuffer: such fields are read out of bounds.",
    references: [SCHEMA],
  },
  {
    id: "tflite/custom-op",
    title: "Custom TFLite operator",
    severity: "medium",
    description:
      "An operator code is CUSTOM with a `custom_code` the loading application must register a kernel for: native code outside TFLite whose behaviour the model cannot show. Kernels well-known runtimes ship (`TFLite_Detection_PostProcess`, MediaPipe's `Convolution2DTransposeBias`, `MaxPoolingWithArgmax2D`, `MaxUnpooling2D` ...) are reported at info.",
    references: [SCHEMA, CUSTOM_OPS],
  },
  {
    id: "tflite/flex-op",
    title: "TensorFlow (Flex) operator in a TFLite model",
    severity: "medium",
    description:
      "A CUSTOM operator named `Flex<Op>` runs a TensorFlow kernel through the Flex delegate (select TF ops). The kernel the delegate builds is the one its custom options name (a FlexBuffer `[op name, NodeDef]`), which need not be `<Op>`: every name found there is judged, and the worst decides. This rule is for kernels none of the stricter Flex rules covers, and for uses whose custom options are missing or cannot be read (judged as an unknown TensorFlow op; evidence `unreadableOptions`). The set of TensorFlow kernels is large and includes stateful and I/O operations.",
    references: [SELECT_OPS],
  },
  {
    id: "tflite/flex-io-op",
    title: "Flex operator that touches files, memory regions or the network",
    severity: "high",
    description:
      "A Flex operator (by its `custom_code` or by the op name or NodeDef of its custom options) runs a TensorFlow kernel that reads or writes files (`ReadFile`, `WriteFile`, `MatchingFiles`, `Save*`, `Restore*`, dataset and summary writers, `ImmutableConst`), reaches the network (`Rpc`, data service, collectives), or prints to a `file://` stream (`PrintV2`). Running the model then has effects outside the tensors: exfiltration or file overwrite at inference time.",
    references: [SELECT_OPS, "https://www.tensorflow.org/api_docs/python/tf/io/write_file"],
  },
  {
    id: "tflite/flex-python-op",
    title: "Flex operator that calls Python",
    severity: "critical",
    description:
      "A Flex operator names `PyFunc`, `PyFuncStateless` or `EagerPyFunc` (in its `custom_code` or its custom options): TensorFlow kernels that call a Python function registered in the running process. No legitimate converted model contains them; they are the TFLite form of an embedded Python callback.",
    references: [SELECT_OPS, "https://www.tensorflow.org/api_docs/python/tf/py_function"],
  },
  {
    id: "tflite/structure-anomaly",
    title: "TFLite flatbuffer structure no writer produces",
    severity: "low",
    description:
      "The flatbuffer has misaligned tables, vectors or scalars, a field overlapping its table's vtable offset, or a union type without a value. Loaders accept them, but FlatBuffers builders (TFLite's converter included) never write them: the file was crafted or patched by hand, and readers that differ on such details see different models.",
    references: [SCHEMA, "https://flatbuffers.dev/internals/"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof tfliteRules)[number]["id"], true> {}
}
