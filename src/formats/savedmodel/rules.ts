/**
 * Rules of the savedmodel area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** savedmodel rules. */
export const savedmodelRules = [
  {
    id: "savedmodel/py-func",
    title: "TensorFlow graph calls back into Python",
    severity: "critical",
    description:
      "The graph contains `PyFunc`, `PyFuncStateless` or `EagerPyFunc`: ops that run a Python callable registered in the loading process. A model should never need them; they are how `tf.py_function` payloads reach the host interpreter.",
  },
  {
    id: "savedmodel/load-library",
    title: "TensorFlow graph loads a native library",
    severity: "high",
    description:
      "The graph references `LoadLibrary`-style ops that load shared objects into the process, which runs their initialisers.",
  },
  {
    id: "savedmodel/file-io-op",
    title: "TensorFlow graph reads or writes files",
    severity: "high",
    description:
      "The graph uses ops that touch the file system or other paths: `ReadFile`, `WriteFile`, `MatchingFiles`, `ImmutableConst`, file-writing datasets, summary writers, `PrintV2` to a file, and similar. Running the model can read secrets into tensors or write files anywhere the process may.",
  },
  {
    id: "savedmodel/checkpoint-op",
    title: "Save/Restore op outside the checkpoint saver",
    severity: "medium",
    description:
      "`Save`, `SaveV2`, `Restore`, `RestoreV2`, `MergeV2Checkpoints` and friends write or read arbitrary paths. They are expected in the saver: the graph nodes the `SaverDef` names and the functions only they call. Anywhere a signature, an init op, an object-graph function, a TF1 variable's initializer or snapshot (`variables` collections), a queue runner's enqueue/close/cancel op, or any graph node outside the saver (a TF1 session runs whatever it fetches, by name, and all it needs) reaches (graph inputs followed backwards, functions through every function attribute, calls by op name and gradients) they are flagged whatever the function or node is named, as are writes in what the restore op runs (loading a TF1 SavedModel runs it, with `tf.compat.v1.saved_model.load` and `tf.saved_model.load` alike, and so does `Saver.restore` after `import_meta_graph` of a TF1 `.meta`). A saver-like name (`save/` scope, `__inference__traced_save_*`) only counts for code nothing in the model runs. Writes (`Save`, `SaveV2`, `SaveSlices`, `MergeV2Checkpoints`) are reported `high`, like `WriteFile`.",
  },
  {
    id: "savedmodel/unknown-op",
    title: "Op unknown to TensorFlow",
    severity: "medium",
    description:
      "A node uses an op that TensorFlow does not define and that the model's function library does not provide. Loading needs a custom op library (`tf.load_op_library`), which is native code outside the model's review.",
  },
  {
    id: "savedmodel/asset-path-traversal",
    title: "SavedModel asset path escapes the assets directory",
    severity: "high",
    description:
      "An `asset_file_def` filename is absolute or contains `..`, so loading resolves an asset outside the SavedModel directory (local file disclosure into the graph).",
  },
  {
    id: "savedmodel/malformed",
    title: "Malformed TensorFlow SavedModel",
    severity: "medium",
    invalidates: true,
    description:
      "The `saved_model.pb` / `saved_model.pbtxt` / TF1 MetaGraphDef (`.meta`, binary or text) / GraphDef / `keras_metadata.pb` protobuf is truncated or structurally invalid (in text format: a syntax error, or a field TensorFlow's parser does not know), so its graph could not be fully analysed.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof savedmodelRules)[number]["id"], true> {}
}
