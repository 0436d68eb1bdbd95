/**
 * The declaration files that complete the registries of `src/core/` (format ids, rule ids, policy
 * sections), which each format module fills by declaration merging. `RuleId`, `Format` and
 * `PolicyOptions` are only complete in a program that includes all of them, so every entry point
 * has `export type * from "./registries.js"`: it adds nothing to the entry's exports and is erased
 * from its JavaScript, but keeps this file, and through it these declaration files, in the `.d.ts`
 * a consumer compiles against. `test/api/registries.test.ts` checks that the list is complete.
 * @module
 */
import "../containers/compressed/index.js";
import "../containers/sevenzip/index.js";
import "../containers/sevenzip/rules.js";
import "../containers/tar/index.js";
import "../containers/tar/rules.js";
import "../containers/zip/index.js";
import "../containers/zip/rules.js";
import "../formats/executable/index.js";
import "../formats/gguf/index.js";
import "../formats/gguf/rules.js";
import "../formats/hf/configs.js";
import "../formats/hf/rules.js";
import "../formats/joblib/index.js";
import "../formats/keras/index.js";
import "../formats/keras/rules.js";
import "../formats/numpy/index.js";
import "../formats/onnx/index.js";
import "../formats/onnx/rules.js";
import "../formats/pickle/index.js";
import "../formats/pickle/rules.js";
import "../formats/protobuf/index.js";
import "../formats/pytorch/index.js";
import "../formats/safetensors/index.js";
import "../formats/safetensors/rules.js";
import "../formats/savedmodel/index.js";
import "../formats/savedmodel/rules.js";
import "../formats/template/index.js";
import "../formats/template/rules.js";
import "../formats/text/index.js";
import "../integrity/oms/index.js";
import "../integrity/oms/requirement.js";
import "../integrity/oms/rules.js";
import "../integrity/pins/index.js";
import "../integrity/pins/rules.js";
import "../registry/engine-rules.js";
import "../sources/hub/rules.js";
