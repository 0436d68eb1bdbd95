import { describe, expect, it } from "vitest";
import { JsonObject, parseStrictJson } from "../../../src/core/json.js";
import { analyzeManifest, handlerModule } from "../../../src/formats/torchserve/manifest.js";
import { zipFlavor } from "../../../src/registry/catalog.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne, scanSample } from "../../helpers/scan.js";

const manifest = (model: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ runtime: "python", archiverVersion: "0.9.0", model: { modelName: "m", ...model }, ...extra });

const judge = (text: string, members: string[]) =>
  analyzeManifest(parseStrictJson(text).value, new Set(members)).findings.map((f) => `${f.ruleId}`);

describe("handlerModule", () => {
  it("derives the module TorchServe imports", () => {
    expect(handlerModule("handler.py")).toEqual({ module: "handler" });
    expect(handlerModule("dir/custom.py:handle")).toEqual({ module: "custom", fn: "handle" });
    expect(handlerModule("image_classifier")).toEqual({ module: "image_classifier" });
  });
});

describe("analyzeManifest", () => {
  it("a built-in handler with the model present is info only", () => {
    const r = analyzeManifest(
      parseStrictJson(manifest({ handler: "image_classifier", serializedFile: "m.pt", modelVersion: "2.0" })).value,
      new Set(["m.pt", "MAR-INF/MANIFEST.json"]),
    );
    expect(r.findings.map((f) => f.ruleId)).toEqual(["torchserve/builtin-handler"]);
    expect(r.facts).toMatchObject({
      "torchserve.modelName": "m",
      "torchserve.modelVersion": "2.0",
      "torchserve.runtime": "python",
      toolVersions: { "torch-model-archiver": "0.9.0" },
    });
  });

  it("a handler shipped in the archive is code run on load", () => {
    expect(judge(manifest({ handler: "handler.py" }), ["handler.py"])).toEqual(["torchserve/custom-handler"]);
    expect(judge(manifest({ handler: "pkg:entry" }), ["pkg/__init__.py"])).toEqual(["torchserve/custom-handler"]);
    expect(judge(manifest({ handler: "custom.py:handle" }), ["custom.py"])).toEqual(["torchserve/custom-handler"]);
  });

  it("a member named like a built-in handler shadows it", () => {
    expect(judge(manifest({ handler: "image_classifier" }), ["image_classifier.py"])).toEqual([
      "torchserve/custom-handler",
    ]);
  });

  it("a handler neither built in nor shipped comes from the environment", () => {
    expect(judge(manifest({ handler: "os:system" }), [])).toEqual(["torchserve/unknown-handler"]);
    expect(judge(manifest({ handler: "image_classifier:handle" }), [])).toEqual(["torchserve/unknown-handler"]);
  });

  it("reports requirements, model code and missing members", () => {
    const found = judge(
      manifest({
        handler: "text_classifier",
        modelFile: "model.py",
        serializedFile: "gone.pth",
        requirementsFile: "req.txt",
      }),
      ["model.py", "req.txt"],
    );
    expect(found.sort()).toEqual([
      "torchserve/builtin-handler",
      "torchserve/missing-member",
      "torchserve/model-code",
      "torchserve/requirements",
    ]);
    expect(judge(manifest({ handler: "object_detector" }), ["requirements.txt"])).toContain("torchserve/requirements");
  });

  it("a manifest without a model object or handler is malformed", () => {
    expect(judge("[]", [])).toEqual(["torchserve/malformed"]);
    expect(judge(JSON.stringify({ model: "x" }), [])).toEqual(["torchserve/malformed"]);
    expect(judge(manifest({ handler: "  " }), [])).toEqual(["torchserve/malformed"]);
    expect(judge(manifest({ handler: 3 }), [])).toEqual(["torchserve/malformed"]);
  });

  it("keeps facts printable", () => {
    const r = analyzeManifest(
      parseStrictJson(manifest({ handler: "image_classifier", modelName: "a\u001bb" })).value,
      new Set(),
    );
    expect(r.facts["torchserve.modelName"]).toBe("a\\u001bb");
    expect(parseStrictJson("{}").value).toBeInstanceOf(JsonObject);
  });
});

describe("zip flavour", () => {
  it("a MAR stays a MAR when it also holds a TorchScript folder (rank 5 < 10)", () => {
    expect(zipFlavor(["MAR-INF/MANIFEST.json", "m/data.pkl", "m/constants.pkl", "m/code/__torch__.py"]).format).toBe(
      "torchserve-mar",
    );
    expect(zipFlavor(["m/data.pkl", "m/constants.pkl"]).format).toBe("torchscript");
    expect(zipFlavor(["MANIFEST.json", "model.pt"]).format).toBe("zip");
  });
});

describe("TorchServe archives", () => {
  it("the benign archive (a real torch.jit.save model, built-in handler) is clean", async () => {
    const report = await scanSample("torchserve/benign/tiny_classifier.mar");
    const file = report.files[0]!;
    expect(file.format).toBe("torchserve-mar");
    expect(file.verdict).toBe("clean");
    expect(file.facts?.["torchserve.handler"]).toBe("image_classifier");
    expect(file.findings.filter((f) => f.ruleId.startsWith("torchserve/")).map((f) => f.severity)).toEqual(["info"]);
  });

  it("a custom handler is high, and the handler's own Python findings appear on its member", async () => {
    const report = await scanSample("torchserve/malicious/custom_handler.mar");
    const file = report.files[0]!;
    expect(file.verdict).toBe("malicious");
    const handler = file.findings.find((f) => f.ruleId === "torchserve/custom-handler");
    expect(handler?.severity).toBe("high");
    expect(handler?.evidence?.handler).toBe("handler.py");
    const risky = file.findings.find((f) => f.ruleId === "repo/risky-code");
    expect(risky?.path).toBe("custom_handler.mar!handler.py");
  });

  it("a .mar without a manifest is invalid", async () => {
    const zip = buildZip([{ name: "model.pt", data: "x" }]);
    const file = await scanOne(zip, "x.mar");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("torchserve/malformed");
  });

  it("a manifest that is not JSON is invalid, whatever the name", async () => {
    const zip = buildZip([
      { name: "MAR-INF/MANIFEST.json", data: '{"model": ' },
      { name: "model.pt", data: "x" },
    ]);
    const file = await scanOne(zip, "archive.zip");
    expect(file.format).toBe("torchserve-mar");
    expect(file.verdict).toBe("invalid");
    expect(ruleIds(file)).toContain("torchserve/malformed");
  });

  it("every copy of a repeated manifest is judged", async () => {
    const zip = buildZip([
      { name: "MAR-INF/MANIFEST.json", data: manifest({ handler: "image_classifier" }) },
      { name: "MAR-INF/MANIFEST.json", data: manifest({ handler: "evil.py" }) },
      { name: "evil.py", data: "print(1)\n" },
    ]);
    const file = await scanOne(zip, "dup.mar");
    expect(ruleIds(file)).toContain("torchserve/custom-handler");
    expect(file.verdict).toBe("malicious");
  });

  it("a plain zip is not judged as a MAR", async () => {
    const file = await scanOne(buildZip([{ name: "a.txt", data: "hello" }]), "a.zip");
    expect(ruleIds(file).some((r) => r.startsWith("torchserve/"))).toBe(false);
  });
});
