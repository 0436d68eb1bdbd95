/**
 * Keras config values judged as the loaders decode them: tf-keras `json_utils.decode` rebuilds
 * `{"class_name": "__tuple__", "items": [...]}` as a tuple before Lambda.from_config hands the
 * function to `func_load`, Keras 3's `__lambda__` object carries its code under `code` or
 * `value`, and `func_load` reads code strings with lenient base64 or raw_unicode_escape. Also:
 * real tf-keras configs full of tuples, TensorShapes and InputSpecs stay clean.
 */
import { describe, expect, it } from "vitest";
import { analyzeKerasConfig } from "../../../src/formats/keras/config.js";
import {
  decodeLegacyJson,
  funcLoadBytes,
  makeTick,
  pythonBase64Decode,
  rawUnicodeEscape,
} from "../../../src/formats/keras/loader-decoding.js";
import { ruleIds, scanOne } from "../../helpers/scan.js";

// Python 3.11 marshal of `lambda x: __import__("os").system("id") or x`, as func_dump stores it.
const EVIL =
  "4wEAAAAAAAAAAAAAAAMAAAADAAAA80oAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACg\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAHABfABTACkDTtoCb3PaAmlkKQLa\nCl9faW1wb3J0X1/aBnN5c3RlbakB2gF4cwEAAAAg+gc8c3RkaW4++gg8bGFtYmRhPnIJAAAAAwAA\nAHMhAAAAgACVGphE0REh1BEh1xEo0hEoqBTRES7UES7QETOwIYAA8wAAAAA=\n";

const tuple = (...items: unknown[]) => ({ class_name: "__tuple__", items });

/** A tf-keras Functional model (as json_utils.Encoder writes it) around one extra layer. */
function model(layer: Record<string, unknown>) {
  return {
    class_name: "Functional",
    config: {
      name: "model",
      layers: [
        {
          class_name: "InputLayer",
          config: { batch_input_shape: tuple(null, 32), dtype: "float32", name: "input_1" },
          name: "input_1",
          inbound_nodes: [],
        },
        { ...layer, name: "lambda", inbound_nodes: [[["input_1", 0, 0, {}]]] },
      ],
      input_layers: [["input_1", 0, 0]],
      output_layers: [["lambda", 0, 0]],
    },
    keras_version: "2.15.0",
    backend: "tensorflow",
  };
}

function k2Lambda(fields: Record<string, unknown>) {
  return {
    class_name: "Lambda",
    config: {
      name: "lambda",
      trainable: true,
      dtype: "float32",
      function: null,
      function_type: "lambda",
      module: "__main__",
      output_shape: null,
      output_shape_type: "raw",
      output_shape_module: null,
      arguments: {},
      ...fields,
    },
  };
}

const analyse = (config: unknown) => analyzeKerasConfig(config, "model_config").findings;
const lambdaFindings = (config: unknown) => analyse(config).filter((f) => f.ruleId === "keras/lambda-layer");

describe("tf-keras __tuple__ encoding", () => {
  it("reads a Lambda function stored as a __tuple__ as the code func_load runs", () => {
    const findings = analyse(model(k2Lambda({ function: tuple(EVIL, null, null) })));
    expect(findings).toEqual([
      expect.objectContaining({
        ruleId: "keras/lambda-layer",
        severity: "critical",
        evidence: expect.objectContaining({ decoded: true, encoding: "base64" }),
      }),
    ]);
  });

  it("decodes nested tuples inside out, as the object hook does", () => {
    const findings = lambdaFindings(model(k2Lambda({ function: tuple(tuple(EVIL, null, null)) })));
    // tuple((code, None, None)) is a 1-tuple: func_load cannot unpack it, but the code is still reported
    expect(findings.length).toBeGreaterThan(0);
    const same = lambdaFindings(
      model(k2Lambda({ function: { class_name: "__tuple__", items: tuple(EVIL, null, null) } })),
    );
    expect(same).toEqual([expect.objectContaining({ severity: "critical" })]);
  });

  it("reads output_shape and mask slots too", () => {
    const findings = lambdaFindings(
      model(
        k2Lambda({
          function: [EVIL, null, null],
          output_shape: tuple(EVIL, null, null),
          output_shape_type: "lambda",
          mask: tuple(EVIL, null, null),
          mask_type: "lambda",
        }),
      ),
    );
    expect(findings.map((f) => f.evidence?.path)).toEqual([
      "$.config.layers[1].config.function",
      "$.config.layers[1].config.output_shape",
      "$.config.layers[1].config.mask",
    ]);
    expect(findings.every((f) => f.severity === "critical")).toBe(true);
  });

  it("reports a function slot it cannot decode instead of ignoring it", () => {
    const bytesFn = lambdaFindings(model(k2Lambda({ function: { class_name: "__bytes__", value: "x" } })));
    expect(bytesFn).toEqual([
      expect.objectContaining({ severity: "medium", evidence: expect.objectContaining({ decoded: false }) }),
    ]);
    const numberCode = lambdaFindings(model(k2Lambda({ function: tuple(42, null, null) })));
    expect(numberCode).toEqual([expect.objectContaining({ severity: "medium" })]);
    const byName = lambdaFindings(
      model(k2Lambda({ function: { class_name: "Dense", config: {} }, function_type: "function" })),
    );
    expect(byName).toEqual([expect.objectContaining({ severity: "medium" })]);
  });

  it("reports a TFOpLambda whose function is not a name", () => {
    const findings = analyse({ class_name: "TFOpLambda", config: { name: "op", function: tuple("math", "add") } });
    expect(findings).toEqual([expect.objectContaining({ ruleId: "keras/tfoplambda", severity: "medium" })]);
  });

  it("keeps a real tf-keras conv model with tuples, TensorShapes and InputSpecs clean", () => {
    const conv = {
      name: "conv2d",
      trainable: true,
      expects_training_arg: false,
      dtype: "float32",
      batch_input_shape: null,
      stateful: false,
      must_restore_from_config: false,
      class_name: "Conv2D",
      config: {
        name: "conv2d",
        trainable: true,
        dtype: "float32",
        filters: 32,
        kernel_size: tuple(3, 3),
        strides: tuple(1, 1),
        padding: "valid",
        data_format: "channels_last",
        dilation_rate: tuple(1, 1),
        groups: 1,
        activation: "relu",
        use_bias: true,
        kernel_initializer: { class_name: "GlorotUniform", config: { seed: null } },
        bias_initializer: { class_name: "Zeros", config: {} },
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
      },
      input_spec: {
        class_name: "InputSpec",
        config: { dtype: null, shape: null, ndim: null, max_ndim: null, min_ndim: 4, axes: { "-1": 3 } },
      },
      build_input_shape: { class_name: "TensorShape", items: [null, 32, 32, 3] },
    };
    const pool = { class_name: "MaxPooling2D", config: { name: "pool", pool_size: tuple(2, 2), strides: tuple(2, 2) } };
    const spec = { class_name: "TypeSpec", type_spec: "tf.TensorSpec", serialized: [tuple(null, 4), "float32", "x"] };
    expect(analyse(conv)).toEqual([]);
    expect(analyse({ class_name: "Sequential", config: { name: "s", layers: [conv, pool] }, spec })).toEqual([]);
    // an output shape given as a raw tuple is data, not code
    expect(analyse(model(k2Lambda({ function: [EVIL, null, null], output_shape: tuple(null, 4) })))).toHaveLength(1);
  });

  it("flags the Lambda of a model.json through the whole engine", async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(model(k2Lambda({ function: tuple(EVIL, null, null) }))));
    const file = await scanOne(bytes, "model.json");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("keras/lambda-layer");
    expect(ruleIds(file)).not.toContain("keras/custom-object");
  });
});

describe("Keras 3 __lambda__ objects", () => {
  const lam = (config: unknown) => ({ class_name: "__lambda__", config });

  it("reads the code under value (deserialize_keras_object) as a string or a list", () => {
    expect(lambdaFindings(lam({ value: EVIL }))).toEqual([expect.objectContaining({ severity: "critical" })]);
    expect(lambdaFindings(lam({ value: [EVIL, null, null] }))).toEqual([
      expect.objectContaining({ severity: "critical" }),
    ]);
  });

  it("reads the code under code (Lambda.from_config), a list included", () => {
    expect(lambdaFindings(lam({ code: [EVIL, null, null], defaults: null, closure: null }))).toEqual([
      expect.objectContaining({ severity: "critical" }),
    ]);
  });

  it("reports a __lambda__ without code it can read", () => {
    expect(lambdaFindings(lam({ value: { x: 1 } }))).toEqual([expect.objectContaining({ severity: "medium" })]);
    expect(lambdaFindings(lam("nope"))).toEqual([expect.objectContaining({ severity: "medium" })]);
  });
});

describe("func_load's reading of code strings", () => {
  it("decodes base64 as binascii does (junk skipped, padding ends the input)", () => {
    const hex = (s: string) => {
      const b = pythonBase64Decode(s);
      return b === undefined ? "ERR" : Buffer.from(b).toString("hex");
    };
    // expected values from /usr/bin/python3: binascii.a2b_base64(s.encode()).hex()
    expect(hex("YQ")).toBe("ERR");
    expect(hex("YQ==")).toBe("61");
    expect(hex("YQ=junk")).toBe("ERR");
    expect(hex("Y!Q=")).toBe("ERR");
    expect(hex("YQ=A=")).toBe("6100");
    expect(hex("Y")).toBe("ERR");
    expect(hex("YW=Jj")).toBe("616263");
    expect(hex("=YWJj")).toBe("616263");
    expect(hex("YWJjZA==ZZZZ")).toBe("61626364");
    expect(hex("YW Jj\n")).toBe("616263");
    expect(hex("YWJjZA=")).toBe("ERR");
  });

  it("finds the code in base64 interleaved with characters Python skips", () => {
    const noisy = [...EVIL.replace(/\n/g, "")].map((c, i) => (i % 7 === 0 ? `${c}!#` : c)).join("");
    const findings = lambdaFindings(lam2(noisy));
    expect(findings).toEqual([
      expect.objectContaining({ severity: "critical", evidence: expect.objectContaining({ decoded: true }) }),
    ]);
  });

  it("falls back to raw_unicode_escape for strings that are not ASCII base64", () => {
    const raw = Buffer.from(EVIL, "base64").toString("latin1");
    expect(funcLoadBytes(raw).encoding).toBe("raw_unicode_escape");
    const findings = lambdaFindings(lam2(raw));
    expect(findings).toEqual([
      expect.objectContaining({
        severity: "critical",
        evidence: expect.objectContaining({ decoded: true, encoding: "raw_unicode_escape" }),
      }),
    ]);
    expect([...rawUnicodeEscape("a\u00ff\u0100\u{1f600}")]).toEqual([
      0x61,
      0xff,
      ...Buffer.from("\\u0100\\U0001f600", "latin1"),
    ]);
  });

  it("decodes a TorchModuleWrapper module as base64.b64decode does (junk characters skipped)", () => {
    const module = Buffer.from("PK\x03\x04 pickled torch module", "latin1").toString("base64");
    const noisy = `${module.slice(0, 8)}!*\u0000${module.slice(8)}`;
    const result = analyzeKerasConfig({ class_name: "TorchModuleWrapper", config: { name: "t", module: noisy } }, "c");
    expect(result.payloads).toHaveLength(1);
    expect(Buffer.from(result.payloads[0]?.bytes ?? []).toString("latin1")).toBe("PK\x03\x04 pickled torch module");
  });

  it("keeps the walk's budgets while decoding", () => {
    let deep: unknown = EVIL;
    for (let i = 0; i < 600; i++) deep = tuple(deep);
    expect(() => decodeLegacyJson(deep as never, makeTick(1000, 512))).toThrow(
      expect.objectContaining({ budget: "keras.maxDepth" }),
    );
    expect(() => analyse(model(k2Lambda({ function: deep })))).toThrow(
      expect.objectContaining({ budget: "keras.maxDepth" }),
    );
  });
});

function lam2(code: string) {
  return model(k2Lambda({ function: [code, null, null] }));
}
