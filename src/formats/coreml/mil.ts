/**
 * Core ML ML Programs (`Model.mlProgram`, field 502): the MIL program protobuf as field numbers
 * (facts from coremltools' public `mlmodel/format/MIL.proto`), the MIL operation set a Core ML
 * runtime knows (the op definitions of the iOS15–iOS18 opsets), and the check of blob file paths.
 *
 * `Program{version=1, functions=2 map<string,Function>, attributes=4 map<string,Value>}`;
 * `Function{inputs=1, opset=2, block_specializations=3 map<string,Block>, attributes=4}`;
 * `Block{inputs=1, outputs=2, operations=3, attributes=4}`;
 * `Operation{type=1, inputs=2 map<string,Argument>, outputs=3, blocks=4, attributes=5}`;
 * `Argument{arguments=1 Binding{name=1, value=2 Value}}`;
 * `Value{docString=1, type=2, immediateValue=3, blobFileValue=5 {fileName=1, offset=2}}`;
 * `ImmediateValue{tensor=1, tuple=2, list=3, dictionary=4}`; `TensorValue{strings=4 {values=1}}`.
 * Map fields are repeated entries `{key=1, value=2}`. Tensor payloads and types are skipped.
 * @module
 */
import type { MessageSpec } from "../protobuf/walk.js";

/**
 * MIL operation types Core ML runs: the ops registered in coremltools' iOS15–iOS18 opsets and the
 * `coreml` dialect, plus `write_state` (what `coreml_update_state` is serialized as). `custom_layer`
 * is not here: it names an app-provided class and is reported on its own.
 */
export const MIL_OPS: ReadonlySet<string> = new Set(
  (
    "abs acos add affine argsort asin atan atanh avg_pool band_part batch_norm batch_to_space cast ceil " +
    "clamped_relu classify clip concat cond const constexpr_affine_dequantize constexpr_blockwise_shift_scale " +
    "constexpr_cast constexpr_lut_to_dense constexpr_lut_to_sparse constexpr_sparse_blockwise_shift_scale " +
    "constexpr_sparse_to_dense conv conv_quantized conv_transpose coreml_update_state cos cosh crop crop_resize " +
    "cumsum depth_to_space dequantize einsum elu equal erf exp exp2 expand_dims fill fill_like flatten2d floor " +
    "floor_div gather gather_along_axis gather_nd gelu greater greater_equal gru identity instance_norm inverse " +
    "l2_norm l2_pool layer_norm leaky_relu less less_equal linear linear_activation list_gather list_length " +
    "list_read list_scatter list_write local_response_norm log logical_and logical_not logical_or logical_xor " +
    "lstm make_list matmul max_pool maximum minimum mod mul non_maximum_suppression non_zero not_equal one_hot " +
    "pad pixel_shuffle pixel_unshuffle pow prelu quantize random_bernoulli random_categorical random_normal " +
    "random_uniform range_1d read_state real_div reduce_argmax reduce_argmin reduce_l1_norm reduce_l2_norm " +
    "reduce_log_sum reduce_log_sum_exp reduce_max reduce_mean reduce_min reduce_prod reduce_sum " +
    "reduce_sum_square relu relu6 resample reshape reshape_like resize resize_bilinear resize_nearest_neighbor " +
    "reverse reverse_sequence rnn round rsqrt scaled_dot_product_attention scaled_tanh scatter " +
    "scatter_along_axis scatter_nd select shape sigmoid sigmoid_hard sign silu sin sinh slice_by_index " +
    "slice_by_size slice_update sliding_windows softmax softplus softplus_parametric softsign space_to_batch " +
    "space_to_depth split sqrt square squeeze stack sub tan tanh threshold thresholded_relu tile topk " +
    "transpose upsample_bilinear upsample_nearest_neighbor while_loop write_state"
  ).split(" "),
);

/** The op type coremltools writes for a custom op: its class is named by the `class_name` attribute. */
export const CUSTOM_OP = "custom_layer";

/** Op type names that suggest a host-language callback (reported with the unknown op). */
export const PYTHON_LIKE_OP = /py_?func|python|lambda|eval|exec|script/i;

/** Deepest nesting of MIL blocks (control flow: `cond`, `while_loop`). */
export const MAX_MIL_BLOCK_NESTING = 16;
/** Most MIL operations read in one model. */
export const MAX_MIL_OPERATIONS = 1_000_000;

/** The prefix coremltools gives weight files: the model's own folder in its package. */
export const MODEL_PATH = "@model_path/";

/**
 * Whether a blob file name stays inside the model package. Returns why not, or undefined when it
 * does: anchored at `@model_path/` with no `..` component. `traversal` (absolute, `..`, home or
 * drive prefix) escapes the package; `unanchored` is a relative name Core ML resolves elsewhere.
 * @param fileName - `BlobFileValue.fileName`
 */
export function blobPathProblem(fileName: string): { kind: "traversal" | "unanchored"; reason: string } | undefined {
  const path = fileName.replaceAll("\\", "/");
  if (path.includes("\0")) return { kind: "traversal", reason: "contains a NUL byte" };
  const anchored = path.startsWith(MODEL_PATH);
  const rest = anchored ? path.slice(MODEL_PATH.length) : path;
  if (rest.startsWith("/")) return { kind: "traversal", reason: "absolute path" };
  if (rest.startsWith("~")) return { kind: "traversal", reason: "home-directory path" };
  if (/^[A-Za-z]:/.test(rest)) return { kind: "traversal", reason: "drive-letter path" };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) return { kind: "traversal", reason: "URL" };
  if (rest.split("/").includes("..")) return { kind: "traversal", reason: "`..` component" };
  if (!anchored) return { kind: "unanchored", reason: "not anchored at @model_path" };
  if (rest === "" || rest.endsWith("/")) return { kind: "unanchored", reason: "no file name" };
  return undefined;
}

const SMALL = 4096;
const name = { kind: "string", max: 1 << 16 } as const;

const blobFile: MessageSpec = {
  name: "MilBlobFile",
  fields: { 1: { kind: "string", max: 1 << 16 }, 2: { kind: "varint" } },
};
const strings: MessageSpec = { name: "MilStrings", fields: { 1: { kind: "string", max: 1 << 20 } }, inlineMax: SMALL };
const tensorValue: MessageSpec = { name: "MilTensorValue", fields: { 4: { kind: "message", spec: () => strings } } };
const valueList: MessageSpec = {
  name: "MilValueList",
  fields: { 1: { kind: "message", spec: () => value } },
  inlineMax: SMALL,
};
const keyValue: MessageSpec = {
  name: "MilKeyValue",
  fields: { 1: { kind: "message", spec: () => value }, 2: { kind: "message", spec: () => value } },
  inlineMax: SMALL,
};
const dictValue: MessageSpec = {
  name: "MilDictValue",
  fields: { 1: { kind: "message", spec: () => keyValue } },
  inlineMax: SMALL,
};
const immediate: MessageSpec = {
  name: "MilImmediate",
  fields: {
    1: { kind: "message", spec: () => tensorValue },
    2: { kind: "message", spec: () => valueList },
    3: { kind: "message", spec: () => valueList },
    4: { kind: "message", spec: () => dictValue },
  },
  inlineMax: SMALL,
};
const value: MessageSpec = {
  name: "MilValue",
  fields: { 3: { kind: "message", spec: () => immediate }, 5: { kind: "message", spec: () => blobFile } },
  inlineMax: SMALL,
};
const attribute: MessageSpec = {
  name: "MilAttribute",
  fields: { 1: name, 2: { kind: "message", spec: () => value } },
  inlineMax: SMALL,
};
const binding: MessageSpec = {
  name: "MilBinding",
  fields: { 2: { kind: "message", spec: () => value } },
  inlineMax: SMALL,
};
const argument: MessageSpec = {
  name: "MilArgument",
  fields: { 1: { kind: "message", spec: () => binding } },
  inlineMax: SMALL,
};
const input: MessageSpec = {
  name: "MilInput",
  fields: { 1: name, 2: { kind: "message", spec: () => argument } },
  inlineMax: SMALL,
};
const operation: MessageSpec = {
  name: "MilOperation",
  fields: {
    1: name,
    2: { kind: "message", spec: () => input },
    4: { kind: "message", spec: () => block },
    5: { kind: "message", spec: () => attribute },
  },
  inlineMax: SMALL,
};
const block: MessageSpec = {
  name: "MilBlock",
  fields: { 3: { kind: "message", spec: () => operation }, 4: { kind: "message", spec: () => attribute } },
  inlineMax: SMALL,
};
const blockEntry: MessageSpec = {
  name: "MilBlockEntry",
  fields: { 1: name, 2: { kind: "message", spec: () => block } },
  inlineMax: SMALL,
};
const fn: MessageSpec = {
  name: "MilFunction",
  fields: {
    2: name,
    3: { kind: "message", spec: () => blockEntry },
    4: { kind: "message", spec: () => attribute },
  },
  inlineMax: SMALL,
};
const functionEntry: MessageSpec = {
  name: "MilFunctionEntry",
  fields: { 1: name, 2: { kind: "message", spec: () => fn } },
  inlineMax: SMALL,
};

/** `MILSpec.Program`, the body of `Model.mlProgram`. */
export const program: MessageSpec = {
  name: "MilProgram",
  fields: {
    1: { kind: "varint" },
    2: { kind: "message", spec: () => functionEntry },
    4: { kind: "message", spec: () => attribute },
  },
  inlineMax: SMALL,
};
