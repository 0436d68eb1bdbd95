/**
 * Keras configs naming objects that load a model from outside the file: TensorFlow Hub's
 * `KerasLayer` (legacy `.h5` with no module, `tensorflow_hub.keras_layer` module, `tensorflow_hub>`
 * registered names) and every other `tensorflow_hub` name, keras_hub/keras_nlp preset loaders, and
 * tokenizers whose files are named by path. The samples in samples/keras-external/
 * (samples/generate/keras_external.py) go through the whole engine.
 */
import { describe, expect, it } from "vitest";
import { analyzeKerasConfig } from "../../../src/formats/keras/config.js";
import { ruleIds, scanSample } from "../../helpers/scan.js";

type Obj = Record<string, unknown>;
const k3 = (module: string | undefined, cls: string, config: unknown, registered: unknown = null): Obj => ({
  ...(module === undefined ? {} : { module }),
  class_name: cls,
  config,
  registered_name: registered,
});
const model = (layers: Obj[]) =>
  k3("keras", "Sequential", { name: "s", layers: [k3("keras.layers", "InputLayer", { name: "i" }), ...layers] }, null);
const legacy = (layers: Obj[]) => ({ class_name: "Sequential", config: { name: "s", layers } });
const HANDLE = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5";

function external(config: unknown, ruleId = "keras/external-savedmodel") {
  return analyzeKerasConfig(config, "config.json").findings.filter((f) => f.ruleId === ruleId);
}

describe("hub.KerasLayer (an outside SavedModel by handle)", () => {
  it("is high in a legacy .h5 config (class_name KerasLayer, no module), with the handle", () => {
    const found = external(
      legacy([{ class_name: "KerasLayer", config: { name: "kl", trainable: false, handle: HANDLE } }]),
    );
    expect(found).toHaveLength(1);
    expect(found[0]?.severity ?? "high").toBe("high");
    expect(found[0]?.evidence?.handle).toBe(JSON.stringify(HANDLE));
  });

  it.each([
    ["the tensorflow_hub.keras_layer module", k3("tensorflow_hub.keras_layer", "KerasLayer", { handle: "/tmp/x" })],
    ["the tensorflow_hub module", k3("tensorflow_hub", "KerasLayer", { handle: "/tmp/x" }, "KerasLayer")],
    ["a registered name", k3("keras.layers", "Dense", { handle: "/tmp/x" }, "tensorflow_hub>KerasLayer")],
    ["a Keras 2 registered class name", { class_name: "tensorflow_hub>KerasLayer", config: { handle: "/tmp/x" } }],
  ])("is high from %s", (_label, layer) => {
    const found = external(model([layer]));
    expect(found).toHaveLength(1);
    expect(found[0]?.evidence?.handle).toBe('"/tmp/x"');
  });

  it("is high for hub.load called by a Lambda (Keras 3 function object and Keras 2 function name)", () => {
    const fn = k3("tensorflow_hub", "function", "load", "load");
    expect(external(model([k3("keras.layers", "Lambda", { name: "l", function: fn })]))).toHaveLength(1);
    const k2 = {
      class_name: "Lambda",
      config: { name: "l", function: "load", function_type: "function", module: "tensorflow_hub" },
    };
    expect(external(legacy([k2]))).toHaveLength(1);
  });

  it("leaves a module-less custom class named KerasLayer without a handle to keras/custom-object", () => {
    const findings = analyzeKerasConfig(legacy([{ class_name: "KerasLayer", config: { units: 3 } }]), "c").findings;
    expect(findings.map((f) => f.ruleId)).toEqual(["keras/custom-object"]);
  });
});

describe("keras_hub / keras_nlp preset loaders", () => {
  it.each([
    ["keras_hub.src.utils.preset_utils", "load_serialized_object"],
    ["keras_hub.src.utils.preset_utils", "get_preset_loader"],
    ["keras_nlp.src.utils.preset_utils", "load_json"],
    ["keras_hub.src.utils.transformers.preset_loader", "convert_backbone_config"],
  ])("is high for %s.%s called by a Lambda", (module, name) => {
    const fn = k3(module, "function", name, name);
    const found = external(
      model([k3("keras.layers", "Lambda", { name: "l", function: fn, arguments: {} })]),
      "keras/external-preset",
    );
    expect(found).toHaveLength(1);
    expect(found[0]?.severity ?? "high").toBe("high");
  });

  it("reports the preset a loader class's config names", () => {
    const loader = k3("keras_hub.src.utils.preset_utils", "KerasPresetLoader", { preset: "kaggle://evil/model" });
    const found = external(model([loader]), "keras/external-preset");
    expect(found[0]?.evidence?.preset).toBe('"kaggle://evil/model"');
  });

  it("keeps ordinary keras_hub backbones, tokenizers and preprocessors silent", () => {
    const bert = k3(
      "keras_hub.src.models.bert.bert_backbone",
      "BertBackbone",
      { name: "bert_backbone", vocabulary_size: 30522, num_layers: 2 },
      "keras_hub>BertBackbone",
    );
    const tok = k3(
      "keras_hub.src.models.bert.bert_tokenizer",
      "BertTokenizer",
      { name: "bert_tokenizer", vocabulary: null, lowercase: true },
      "keras_hub>BertTokenizer",
    );
    expect(analyzeKerasConfig(model([bert, tok]), "config.json").findings).toEqual([]);
  });
});

describe("keras_hub / keras_nlp tokenizer files named by path", () => {
  it.each([
    ["vocabulary", "/etc/passwd", "high"],
    ["merges", "https://attacker.example/merges.txt", "high"],
    ["proto", "spm.model", "default"],
  ])("reports %s %s as keras/vocabulary-file (%s)", (key, value, severity) => {
    const tok = k3(
      "keras_nlp.src.tokenizers.byte_pair_tokenizer",
      "BytePairTokenizer",
      { name: "t", [key]: value },
      "keras_nlp>BytePairTokenizer",
    );
    const found = analyzeKerasConfig(model([tok]), "config.json").findings.filter(
      (f) => f.ruleId === "keras/vocabulary-file",
    );
    expect(found.map((f) => f.severity ?? "default")).toEqual([severity]);
  });

  it("ignores tokenizers of other packages (their own rules apply)", () => {
    const tok = k3("keras.layers", "Dense", { name: "t", vocabulary: "/etc/passwd" });
    expect(analyzeKerasConfig(model([tok]), "c").findings.map((f) => f.ruleId)).not.toContain("keras/vocabulary-file");
  });
});

describe("samples/keras-external through the engine", () => {
  it("flags the hub KerasLayer .h5 and keeps the plain model clean", async () => {
    const report = await scanSample("keras-external");
    const bad = report.files.find((f) => f.path.endsWith("hub-keras-layer.h5"));
    expect(bad && ruleIds(bad)).toContain("keras/external-savedmodel");
    expect(bad?.verdict).toBe("malicious");
    const clean = report.files.find((f) => f.path.endsWith("plain-dense.h5"));
    expect(clean?.verdict).toBe("clean");
  });
});
