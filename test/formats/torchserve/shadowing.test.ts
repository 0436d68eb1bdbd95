/**
 * TorchServe puts the model directory first on the worker's Python path and imports the handler
 * with `importlib.import_module`: a sourceless `.pyc`, an extension module or a package `__init__.*`
 * of the handler's name is the handler, and any top-level module named like a standard or known
 * module replaces it (samples/pyc/torchserve/ from samples/generate/pyc_shadowing.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStrictJson } from "../../../src/core/json.js";
import { analyzeManifest } from "../../../src/formats/torchserve/manifest.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const manifest = (handler: string) =>
  parseStrictJson(JSON.stringify({ model: { modelName: "m", handler, modelVersion: "1.0" } })).value;
const ids = (handler: string, members: string[]) =>
  analyzeManifest(manifest(handler), new Set(["MAR-INF/MANIFEST.json", ...members])).findings.map((f) => f.ruleId);

describe("handler members", () => {
  it.each([
    ["image_classifier", "image_classifier.pyc"],
    ["handler", "handler.pyc"],
    ["handler", "handler.cpython-311-x86_64-linux-gnu.so"],
    ["handler:handle", "handler.so"],
    ["mypkg", "mypkg/__init__.pyc"],
    ["mypkg", "mypkg/__init__.py"],
  ])("handler %s is imported from member %s", (handler, member) => {
    const found = ids(handler, [member]);
    expect(found).toContain("torchserve/custom-handler");
    expect(found).not.toContain("torchserve/builtin-handler");
  });

  it("leaves a built-in handler built in when nothing shadows it", () => {
    expect(
      ids("image_classifier", ["model.pt", "index_to_name.json", "__pycache__/image_classifier.cpython-311.pyc"]),
    ).toEqual(["torchserve/builtin-handler"]);
  });
});

describe("shadowed modules", () => {
  it.each([
    ["platform.pyc", "platform", "stdlib"],
    ["platform.py", "platform", "stdlib"],
    ["json/__init__.py", "json", "stdlib"],
    ["_socket.cpython-311-x86_64-linux-gnu.so", "_socket", "stdlib"],
    ["torch/__init__.pyc", "torch", "package"],
    ["ts.py", "ts", "package"],
  ])("%s replaces %s", (member, module, kind) => {
    const { findings } = analyzeManifest(manifest("image_classifier"), new Set([member]));
    const shadow = findings.find((f) => f.ruleId === "torchserve/shadowed-module");
    expect(shadow?.evidence).toMatchObject({ module, member, shadows: kind });
  });

  it("does not flag the handler's own modules or nested files", () => {
    const found = ids("handler.py", ["handler.py", "utils.py", "model.py", "sub/json.py", "index_to_name.json"]);
    expect(found).not.toContain("torchserve/shadowed-module");
  });
});

describe("samples", () => {
  const mar = (name: string) => readFileSync(join(SAMPLES, "pyc", "torchserve", name));

  it("flags a .pyc that shadows a built-in handler", async () => {
    const file = await scanOne(mar("shadow_builtin_pyc.mar"), "model.mar");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("torchserve/custom-handler");
    expect(ruleIds(file)).not.toContain("torchserve/builtin-handler");
  });

  it.each(["shadow_platform_pyc.mar", "shadow_platform_py.mar"])("flags %s's stdlib module", async (name) => {
    const file = await scanOne(mar(name), "model.mar");
    expect(file.verdict).toBe("malicious");
    const shadow = file.findings.find((f) => f.ruleId === "torchserve/shadowed-module");
    expect(shadow?.severity).toBe("high");
    expect(shadow?.evidence).toMatchObject({ module: "platform" });
  });
});
