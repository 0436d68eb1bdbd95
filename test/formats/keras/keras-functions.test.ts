/**
 * Keras configs naming Keras or TensorFlow functions and classes that do more than compute
 * (TFSMLayer, file I/O, func_load, safe-mode global state): the full name an object resolves to is
 * judged wherever it appears, allowlist first under the keras/tensorflow roots. The samples in
 * samples/keras-functions/ (samples/generate/keras_functions.py) go through the whole engine.
 */
import { describe, expect, it } from "vitest";
import { analyzeKerasConfig } from "../../../src/formats/keras/config.js";
import { judgeKerasName } from "../../../src/formats/keras/names.js";
import { ruleIds, scanSample } from "../../helpers/scan.js";

type Obj = Record<string, unknown>;
const k3 = (module: string | undefined, cls: string, config: unknown, registered: unknown = null): Obj => ({
  ...(module === undefined ? {} : { module }),
  class_name: cls,
  config,
  registered_name: registered,
});
const fn = (module: string, name: string) => k3(module, "function", name, name);
const lambda = (function_: Obj, args: Obj = {}) =>
  k3("keras.layers", "Lambda", { name: "l", function: function_, arguments: args });
const model = (layers: Obj[]) =>
  k3("keras", "Sequential", { name: "s", layers: [k3("keras.layers", "InputLayer", { name: "i" }), ...layers] }, null);

/** rule id and severity of each finding */
function findings(config: unknown): string[] {
  return analyzeKerasConfig(config, "config.json").findings.map((f) => `${f.severity ?? "default"}:${f.ruleId}`);
}

describe("TFSMLayer (an outside SavedModel, CVE-2026-1462)", () => {
  it.each([
    ["keras.layers", "keras.layers"],
    ["keras.export", "keras.export"],
    ["the source module", "keras.src.export.tfsm_layer"],
  ])("is high as a layer from %s, with its path", (_label, module) => {
    const result = analyzeKerasConfig(
      model([k3(module, "TFSMLayer", { name: "t", filepath: "/tmp/evil", call_endpoint: "serve" })]),
      "config.json",
    );
    const finding = result.findings.find((f) => f.ruleId === "keras/external-savedmodel");
    expect(finding?.severity ?? "high").toBe("high");
    expect(finding?.evidence?.filepath).toBe('"/tmp/evil"');
  });

  it("is high in a legacy .h5 config (no module), as a registered name and as a Lambda function", () => {
    expect(
      findings({ class_name: "Sequential", config: { layers: [{ class_name: "TFSMLayer", config: {} }] } }),
    ).toContain("default:keras/external-savedmodel");
    expect(findings(model([k3("keras.layers", "Dense", { name: "d" }, "TFSMLayer")]))).toContain(
      "default:keras/external-savedmodel",
    );
    expect(findings(model([lambda(fn("keras.layers", "TFSMLayer"))]))).toContain("default:keras/external-savedmodel");
  });
});

describe("dangerous Keras/TensorFlow names (CVE-2025-1550 class)", () => {
  it.each([
    ["tensorflow.io", "write_file", "high"],
    ["tensorflow.io.gfile", "rmtree", "high"],
    ["tensorflow.compat.v1.gfile", "GFile", "high"],
    ["tensorflow.raw_ops", "DeleteFile", "high"],
    ["keras.src.utils.file_utils", "rmtree", "high"],
    ["keras.saving", "load_model", "high"],
    ["keras.src.saving.saving_lib", "load_model", "high"],
    ["keras.src.utils.python_utils", "func_load", "critical"],
    ["tensorflow", "py_function", "critical"],
    ["tensorflow", "load_op_library", "critical"],
  ])("a function %s.%s is %s", (module, name, severity) => {
    expect(findings(model([lambda(fn(module, name))]))).toContain(`${severity}:keras/dangerous-function`);
  });

  it.each([
    ["tensorflow.python.ops.gen_io_ops", "WriteFile"],
    ["tensorflow.python.platform.gfile", "GFile"],
    ["tensorflow.python.lib.io.file_io", "FileIO"],
  ])("a class %s.%s is high", (module, cls) => {
    expect(findings(model([k3(module, cls, { filename: "/tmp/x" })]))).toContain("high:keras/dangerous-function");
  });

  it("set_global_attribute is a safe-mode bypass, reported once (CVE-2025-9906)", () => {
    const result = findings(
      model([lambda(fn("keras.src.backend.common.global_state", "set_global_attribute"), { value: false })]),
    );
    expect(result.filter((r) => r === "critical:keras/safe-mode-bypass")).toHaveLength(1);
  });

  it("is found anywhere: Lambda arguments, activations, initializers, losses, optimizer, training config", () => {
    const bad = fn("keras.src.utils.file_utils", "rmtree");
    const places: Obj[] = [
      model([lambda(fn("keras.ops", "add"), { y: bad })]),
      model([k3("keras.layers", "Dense", { name: "d", activation: bad })]),
      model([k3("keras.layers", "Dense", { name: "d", kernel_initializer: bad })]),
      {
        ...model([]),
        compile_config: { loss: bad, optimizer: k3("keras.optimizers", "Adam", { learning_rate: bad }) },
      },
      { loss: bad, metrics: [[bad]], optimizer_config: { class_name: "Adam", config: {} } },
    ];
    for (const config of places) expect(findings(config)).toContain("high:keras/dangerous-function");
  });

  it("a Keras 2 Lambda naming a function in its module is judged by the full name", () => {
    const layer = {
      class_name: "Lambda",
      config: { name: "l", function: "write_file", function_type: "function", module: "tensorflow.io" },
    };
    expect(findings({ class_name: "Sequential", config: { layers: [layer] } })).toContain(
      "high:keras/dangerous-function",
    );
  });

  it("a TFOpLambda calling any tf.raw_ops function is high", () => {
    const layer = { class_name: "TFOpLambda", config: { name: "t", function: "raw_ops.Save" } };
    expect(findings({ class_name: "Functional", config: { layers: [layer] } })).toContain("high:keras/tfoplambda");
  });
});

describe("allowlist first under keras/tf_keras/tensorflow", () => {
  it.each([
    ["keras.activations", "gelu"],
    ["keras.losses", "mean_squared_error"],
    ["keras.metrics", "binary_accuracy"],
    ["keras.src.metrics.accuracy_metrics", "sparse_categorical_accuracy"],
    ["keras.src.activations.activations", "relu"],
    ["keras.ops", "add"],
    ["keras.ops.numpy", "square"],
    ["keras.src.backend.tensorflow.nn", "relu6"],
    ["tensorflow.math", "reduce_sum"],
    ["tensorflow.python.ops.math_ops", "reduce_mean"],
    ["tensorflow.nn", "relu"],
    ["tf_keras.src.activations", "swish"],
    ["keras.applications.mobilenet_v2", "preprocess_input"],
  ])("a function %s.%s is accepted", (module, name) => {
    expect(judgeKerasName(module, "function", name)).toEqual({ kind: "ok" });
    expect(findings(model([lambda(fn(module, name))]))).toEqual([]);
  });

  it.each([
    ["keras.backend", "clear_session"],
    ["keras.config", "set_floatx"],
    ["keras.utils", "plot_model"],
    ["keras.applications", "ResNet50"],
    ["keras.src.backend.common.global_state", "get_global_attribute"],
    ["tensorflow", "add"],
    ["tensorflow.data", "Dataset"],
  ])("a function %s.%s is medium", (module, name) => {
    expect(findings(model([lambda(fn(module, name))]))).toContain("default:keras/unlisted-object");
  });

  it("an unlisted class under keras/tensorflow is medium, a listed one and other Keras packages' are not", () => {
    expect(findings(model([k3("tensorflow.data", "TFRecordDataset", {})]))).toContain("default:keras/unlisted-object");
    expect(findings(model([k3("keras.src.something", "NotAKerasLayer", {})]))).toContain(
      "default:keras/unlisted-object",
    );
    expect(findings(model([k3("keras.layers", "Dense", { name: "d" })]))).toEqual([]);
    expect(
      findings(
        model([k3("keras_hub.src.models.gemma.gemma_backbone", "GemmaBackbone", {}, "keras_hub>GemmaBackbone")]),
      ),
    ).toEqual([]);
  });
});

describe("samples/keras-functions", () => {
  it("flags the TFSMLayer archive and keeps the benign functions clean", async () => {
    const bad = (await scanSample("keras-functions/tfsm-layer.keras")).files[0];
    expect(bad?.verdict).toBe("malicious");
    expect(bad && ruleIds(bad)).toContain("keras/external-savedmodel");
    const good = (await scanSample("keras-functions/benign-functions.keras")).files[0];
    expect(good?.verdict).toBe("clean");
  });
});
