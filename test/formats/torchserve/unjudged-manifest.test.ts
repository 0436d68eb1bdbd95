/**
 * A TorchServe manifest modelgate cannot judge fails closed: Python's `json.load` reads manifests
 * past our parser's budgets (and TorchServe then imports the handler they name), so an unreadable,
 * oversized, malformed, handler-less or twice-read manifest reports every code file of the model
 * directory as `torchserve/custom-handler` (high), in a zip `.mar`, a tgz and a model folder alike.
 * The budgets also read everything Python reads within the byte budget (depth 70, long strings,
 * many values), and handler names Python imports without being identifiers are matched.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { parseStrictJson } from "../../../src/core/json.js";
import { MAX_MANIFEST_BYTES } from "../../../src/formats/torchserve/analyzer.js";
import { analyzeManifest } from "../../../src/formats/torchserve/manifest.js";
import { rawHandlers, unjudgedFindings } from "../../../src/formats/torchserve/unjudged.js";
import type { FileReport } from "../../../src/report/schema.js";
import { scan } from "../../../src/scan/engine.js";
import { buildTar } from "../../containers/tar-builder.js";
import { buildZip } from "../../containers/zip-builder.js";
import { ruleIds, scanOne, scanSample } from "../../helpers/scan.js";

const NAME = "MAR-INF/MANIFEST.json";
const HANDLER = 'import os\nclass H:\n    def initialize(self, ctx):\n        os.system("id")\n';
const model = (handler: unknown, extra: Record<string, unknown> = {}) => ({
  modelName: "m",
  serializedFile: "model.pt",
  handler,
  modelVersion: "1.0",
  ...extra,
});
const manifest = (handler: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ runtime: "python", archiverVersion: "0.12.0", model: model(handler, extra) });

/** Manifests Python's json.load reads (a few are past the old budgets), each naming handler.py. */
const READABLE: Record<string, string> = {
  // depth 70 > the old 64
  deep: `{"x": ${"[".repeat(70)}${"]".repeat(70)}, "model": ${JSON.stringify(model("handler.py"))}}`,
  // a string of 100 KiB > the old 64 KiB
  longString: manifest("handler.py", { pad: "x".repeat(100 << 10) }),
  // 150,000 values > the old 100,000
  manyValues: manifest("handler.py", { pad: Array.from({ length: 150_000 }, () => 0) }),
  // 1.5 MiB of whitespace > the old 1 MiB
  bigWhitespace: `${manifest("handler.py")}${" ".repeat(3 << 19)}`,
};

/** Manifests Python reads but this parser does not judge (past the new budgets, or off its grammar). */
const UNJUDGED: Record<string, string> = {
  // deeper than the parser's 512 (Python reads up to about 1000)
  tooDeep: `{"x": ${"[".repeat(600)}${"]".repeat(600)}, "model": ${JSON.stringify(model("handler.py"))}}`,
  // larger than the byte budget (Python reads any size)
  tooBig: `${manifest("handler.py")}${" ".repeat(MAX_MANIFEST_BYTES)}`,
  // a trailing comma (Gson, TorchServe's frontend reader, is lenient)
  trailingComma: manifest("handler.py").replace(/}$/, ",}"),
};

const mar = (manifestText: string | undefined, extra: { name: string; data: string }[] = []) =>
  buildZip([
    { name: "model.pt", data: "x" },
    { name: "handler.py", data: HANDLER },
    ...extra,
    ...(manifestText === undefined ? [] : [{ name: NAME, data: manifestText }]),
  ]);

const handlerFindings = (file: FileReport) => file.findings.filter((f) => f.ruleId === "torchserve/custom-handler");

function expectHandlerReported(file: FileReport, member = "handler.py"): void {
  expect(file.verdict).toBe("malicious");
  const found = handlerFindings(file).find((f) => f.evidence?.member === member);
  expect(found?.severity).toBe("high");
}

describe("manifests Python reads are judged", () => {
  for (const [name, text] of Object.entries(READABLE)) {
    it(`zip .mar: ${name}`, async () => {
      const file = await scanOne(mar(text), `${name}.mar`);
      expectHandlerReported(file);
      expect(ruleIds(file)).not.toContain("torchserve/malformed");
      expect(handlerFindings(file)[0]?.evidence?.handler).toBe("handler.py");
    });
  }
});

describe("a manifest that cannot be judged fails closed", () => {
  for (const [name, text] of Object.entries(UNJUDGED)) {
    it(`zip .mar: ${name}`, async () => {
      const file = await scanOne(mar(text), `${name}.mar`);
      expect(ruleIds(file)).toContain("torchserve/malformed");
      expectHandlerReported(file);
    });

    it(`tgz: ${name}`, async () => {
      const tar = buildTar([
        { name: "m/model.pt", data: "x" },
        { name: "m/handler.py", data: HANDLER },
        { name: `m/${NAME}`, data: text },
      ]);
      const file = await scanOne(gzipSync(tar), `${name}.tar.gz`);
      expect(ruleIds(file)).toContain("torchserve/malformed");
      expectHandlerReported(file);
    });
  }

  it("names the handler the manifest's text gives, when it has one", async () => {
    const file = await scanOne(mar(UNJUDGED.trailingComma), "m.mar");
    expect(handlerFindings(file)[0]?.evidence?.handler).toBe("handler.py");
    expect(rawHandlers(new TextEncoder().encode('{"model": {"handler" : "a\\u002fb.py"},}'))).toEqual(["a/b.py"]);
  });

  it("a .mar without a manifest reports its code files", async () => {
    expectHandlerReported(await scanOne(mar(undefined), "m.mar"));
  });

  it("a manifest without a model object or a string handler reports the code files", async () => {
    expectHandlerReported(await scanOne(mar(JSON.stringify({ model: "handler.py" })), "m.mar"));
    expectHandlerReported(await scanOne(mar(manifest(5)), "m.mar"));
    expectHandlerReported(await scanOne(mar(JSON.stringify({ modelName: "m" })), "m.mar"));
  });

  it("a BOM and invalid UTF-8 fail closed", async () => {
    expectHandlerReported(await scanOne(mar(`\ufeff${manifest("handler.py")}`), "m.mar"));
    const latin = new Uint8Array([...new TextEncoder().encode(manifest("handler.py")).slice(0, -2), 0xe9, 0x7d, 0x7d]);
    const zip = buildZip([
      { name: "handler.py", data: HANDLER },
      { name: NAME, data: latin },
    ]);
    expectHandlerReported(await scanOne(zip, "m.mar"));
  });

  it("code at any depth and of any importable kind is reported", async () => {
    const file = await scanOne(
      mar(UNJUDGED.tooDeep, [
        { name: "lib/deep/helper.py", data: "x = 1\n" },
        { name: "native.cpython-311-x86_64-linux-gnu.so", data: "\x7fELF" },
        { name: "win.pyd", data: "MZ" },
        { name: "cached.pyc", data: "\x00" },
      ]),
      "m.mar",
    );
    for (const member of ["handler.py", "lib/deep/helper.py", "native.cpython-311-x86_64-linux-gnu.so", "win.pyd"]) {
      expectHandlerReported(file, member);
    }
    expectHandlerReported(file, "cached.pyc");
  });

  it("a repeated handler key (readers take either copy) reports the code the last copy hides", async () => {
    const text = `{"model": {"modelName": "m", "handler": "evil.py", "handler": "image_classifier"}}`;
    const file = await scanOne(mar(text, [{ name: "evil.py", data: HANDLER }]), "m.mar");
    expectHandlerReported(file, "evil.py");
  });

  it("an unreadable manifest without code files is invalid, not malicious", async () => {
    const zip = buildZip([
      { name: "model.pt", data: "x" },
      { name: NAME, data: UNJUDGED.tooDeep ?? "" },
    ]);
    const file = await scanOne(zip, "m.mar");
    expect(file.verdict).toBe("invalid");
    expect(handlerFindings(file)).toEqual([]);
  });

  it("many code files: the first ones by name, then a count", () => {
    const members = new Set(Array.from({ length: 40 }, (_, i) => `m${String(i).padStart(2, "0")}.py`));
    const findings = unjudgedFindings(members, "test", "archive");
    expect(findings).toHaveLength(17);
    expect(findings[0]?.evidence?.member).toBe("m00.py");
    expect(findings[16]?.evidence?.count).toBe(24);
  });
});

describe("model folders (no-archive) fail closed too", () => {
  const dir = mkdtempSync(join(tmpdir(), "mg-ts-unjudged-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (rel: string, data: string) => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), data);
  };

  it("a manifest deeper than the parser goes", async () => {
    write("deep/model.pt", "x");
    write("deep/handler.py", HANDLER);
    write(`deep/${NAME}`, UNJUDGED.tooDeep ?? "");
    const report = await scan(join(dir, "deep"));
    const file = report.files.find((f) => f.path.endsWith(NAME));
    expect(file).toBeDefined();
    if (file === undefined) return;
    expect(ruleIds(file)).toContain("torchserve/malformed");
    expectHandlerReported(file);
    expect(report.verdict).toBe("malicious");
  });
});

describe("handler names Python imports that are not identifiers", () => {
  const judge = (handler: string, members: string[]) =>
    analyzeManifest(parseStrictJson(manifest(handler)).value, new Set(["model.pt", ...members])).findings.map(
      (f) => f.ruleId,
    );

  it("imports the file whatever its name", () => {
    expect(judge("my-handler.py", ["my-handler.py"])).toEqual(["torchserve/custom-handler"]);
    expect(judge("5", ["5.py"])).toEqual(["torchserve/custom-handler"]);
  });

  it("imports the first dotted part first", () => {
    // import_module("handler.pyc") runs handler.py before it fails on the submodule
    expect(judge("handler.pyc", ["handler.py"])).toEqual(["torchserve/custom-handler"]);
    // a namespace package: pkg/mod.py runs without pkg/__init__.py
    expect(judge("pkg.mod:handle", ["pkg/mod.py"])).toEqual(["torchserve/custom-handler"]);
  });

  it("a built-in handler stays built in", () => {
    expect(judge("image_classifier", ["index_to_name.json"])).toEqual(["torchserve/builtin-handler"]);
  });
});

describe("real benign archives stay as they were", () => {
  it("the built-in handler sample with its readable manifest is clean, with no handler finding", async () => {
    const report = await scanSample("torchserve/benign/tiny_classifier.mar");
    const file = report.files[0];
    expect(file?.verdict).toBe("clean");
    expect(file === undefined ? [] : ruleIds(file)).not.toContain("torchserve/custom-handler");
  });
});
