/**
 * Rules of the keras area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** keras rules. */
export const kerasRules = [
  {
    id: "keras/lambda-layer",
    title: "Keras Lambda layer with marshalled Python bytecode",
    severity: "high",
    description:
      "A `Lambda` layer (or another `__lambda__` object) carries base64-encoded `marshal` bytecode. Keras rebuilds and runs that function when the model loads with `safe_mode=False`, and legacy `.h5` loading ignored `safe_mode` altogether. The code is read as the loaders read it: tf-keras `__tuple__` values decoded (json_utils), Keras 3 `__lambda__` code under `code` or `value`, base64 decoded leniently as Python does, or taken as `raw_unicode_escape` bytes. The evidence lists the names and constants the code uses; severity is `critical` when it reaches imports, `eval`/`exec`, the OS or the file system, and `medium` for a function slot holding something `func_load` cannot read or a function resolved by name.",
    cve: ["CVE-2024-3660", "CVE-2025-9905"],
  },
  {
    id: "keras/foreign-module",
    title: "Keras config imports a module outside Keras/TensorFlow",
    severity: "high",
    description:
      "A serialized object names a `module` (or `registered_name` package) outside the Keras and TensorFlow namespaces. Keras imports that module and calls what the config names, which is how arbitrary functions (`os.system`, `builtins.exec`) were reached even in safe mode. Severity is `critical` for modules that run commands or code.",
    cve: ["CVE-2025-1550"],
  },
  {
    id: "keras/custom-object",
    title: "Keras config uses a class Keras does not define",
    severity: "low",
    description:
      "A layer, initializer, loss or other object has a `class_name` that is not a built-in Keras class (a custom or registered object). Loading needs code outside the file; a loader that resolves names loosely may pick up an attacker-chosen callable.",
  },
  {
    id: "keras/tfoplambda",
    title: "TFOpLambda layer calls a TensorFlow function by name",
    severity: "medium",
    description:
      "A `TFOpLambda`/`SlicingOpLambda` layer stores the name of a `tf.*` function that Keras looks up and calls at load. Arithmetic is common in exported functional models (`low`); file I/O (`tf.io.write_file`), `py_function`/`numpy_function` and library loading are `high`; a function that is not a name (a list, an object) is `medium`.",
  },
  {
    id: "keras/dangerous-function",
    title: "Keras config calls a Keras/TensorFlow function that touches files or code",
    severity: "high",
    description:
      'A serialized object (a `class_name: "function"`, a class, a Keras 2 Lambda function name, a TFOpLambda call) resolves to a Keras or TensorFlow name that does more than compute: file I/O (`tf.io.write_file`, `tf.io.gfile.*`, `gen_io_ops.WriteFile`, `GFile`, `keras.src.utils.file_utils.*`), model loading or saving (`load_model`, `saving_lib`), `tf.raw_ops.*`. Keras imports the module and calls the name while loading, safe mode or not (CVE-2025-1550 class). Severity is `critical` for names that run Python code or load native code (`python_utils.func_load`, which unmarshals bytecode without a safe-mode check, `py_function`, `numpy_function`, `load_op_library`). The full name is in the evidence.',
    cve: ["CVE-2025-1550"],
  },
  {
    id: "keras/external-savedmodel",
    title: "Keras config loads an outside TensorFlow SavedModel (TFSMLayer, hub.KerasLayer)",
    severity: "high",
    description:
      'A `TFSMLayer` (as a layer, a registered name, or a function a Lambda calls) loads the SavedModel at the path or URL its config gives and runs its graph, whose ops can read and write files; Keras builds it even in safe mode (CVE-2026-1462). TensorFlow Hub\'s `KerasLayer` does the same with its `handle` (a local path, a `tfhub.dev`/Kaggle URL or a `gs://` bucket): it is written by `tf.keras`/`tf_keras` as `class_name: "KerasLayer"` (legacy `.h5`, no module), with `module: "tensorflow_hub.keras_layer"`, or under a `tensorflow_hub>` registered name, and every other `tensorflow_hub` name (`load`, `resolve`, `Module`) loads or downloads a module too. The model is not self-contained: what runs is whatever the path holds when the model loads. The path or handle is in the evidence.',
    cve: ["CVE-2026-1462"],
  },
  {
    id: "keras/external-preset",
    title: "Keras config loads a keras_hub/keras_nlp preset or outside checkpoint",
    severity: "high",
    description:
      "A function or class under `keras_hub`, `keras_nlp` or `keras_cv` that loads a preset (`from_preset`, `preset_utils.*`, `load_serialized_object`, preset loaders) or converts an outside checkpoint (`utils.transformers`, `utils.timm`) is named in the config. Called while the model loads, it reads another model's config, weights and assets from the path or URL given (a local folder, `kaggle://`, `hf://`, `gs://`), so what loads is not in the file. The path, when the config gives one, is in the evidence.",
  },
  {
    id: "keras/unlisted-object",
    title: "Keras config names an unlisted Keras/TensorFlow function or class",
    severity: "medium",
    description:
      'A `class_name: "function"` under the `keras`, `tf_keras` or `tensorflow` packages names a function outside the namespaces that only compute on tensors (activations, losses, metrics, initializers, regularizers, constraints, ops, math, nn ...), or a class there is not a known Keras class. Keras and TensorFlow also hold file, model-loading and global-state functions that a vulnerable Keras imports and calls by name, so such a name is not trusted for its root.',
  },
  {
    id: "keras/torch-module-wrapper",
    title: "TorchModuleWrapper embeds a pickled PyTorch module",
    severity: "high",
    description:
      "A `TorchModuleWrapper` layer stores a `torch.save` pickle of a module in its config; loading calls `torch.load` on it, which runs any pickled callable. The decoded payload is scanned as a member.",
  },
  {
    id: "keras/get-file",
    title: "Keras config reaches keras.utils.get_file",
    severity: "high",
    description:
      "The config references `get_file`, a Keras utility that downloads a URL and writes it to a chosen path. Invoked through deserialization it fetches attacker content and can overwrite files, bypassing safe mode.",
    cve: ["CVE-2025-8747"],
  },
  {
    id: "keras/safe-mode-bypass",
    title: "Keras config tries to disable safe mode",
    severity: "critical",
    description:
      "The config references `enable_unsafe_deserialization` or sets `safe_mode`, so that a later object (typically a Lambda layer) deserializes code while the caller believes safe mode protects them.",
    cve: ["CVE-2025-9906"],
  },
  {
    id: "keras/vocabulary-file",
    title: "Lookup layer vocabulary read from a path or URL",
    severity: "medium",
    description:
      "A `StringLookup`/`IntegerLookup`/`TextVectorization` layer gives its vocabulary as a file path or URL, or a keras_hub/keras_nlp tokenizer (WordPiece, BytePair, SentencePiece and the model tokenizers built on them) gives its `vocabulary`, `merges` or `proto` as one. Loading reads that file through `tf.io.gfile`, disclosing local files into the model or fetching remote content. Severity is `high` when the path leaves the model by the check DVC outputs share: a URL or URI scheme (`gs://`, `file:`), a Windows drive (`C:\\x`, `C:/x`), an absolute, UNC or home (`~`) path, or `..` climbing out.",
    cve: ["CVE-2025-12058"],
  },
  {
    id: "keras/unexpected-member",
    title: "Code or executable inside a Keras archive",
    severity: "high",
    description:
      "A `.keras` archive holds a Python file, notebook, shell script or executable. Keras archives hold `config.json`, `metadata.json`, weights and assets only; code shipped alongside a model is meant to be run.",
  },
  {
    id: "keras/hdf5-base-address",
    title: "HDF5 superblock stores a base address other than its own location",
    severity: "medium",
    description:
      "The superblock's base address is not where its signature lies. The HDF5 library (h5py, Keras) ignores the stored value and reads every address relative to the signature; a reader that adds the stored base instead lands elsewhere, which is how a decoy root group can hide the real `model_config`. modelgate reads the file as the library does and reports the mismatch: h5py-written files (user blocks included) never have one, a user block prepended with `cat` does.",
  },
  {
    id: "keras/malformed",
    title: "Malformed Keras model configuration",
    severity: "medium",
    invalidates: true,
    description:
      "The model configuration (`config.json`, the HDF5 `model_config` attribute or `keras_metadata.pb`) could not be read or decoded: invalid JSON, an HDF5 structure the bounded reader rejects, or Lambda bytecode that does not unmarshal. The model was not fully analysed.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof kerasRules)[number]["id"], true> {}
}
