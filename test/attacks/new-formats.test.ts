// biome-ignore-all lint/suspicious/noTemplateCurlyInString: OmegaConf interpolations are written ${...} in plain strings
/**
 * Attacks on the format modules that landed together (R, YAML/hydra, NeMo, MLflow, TorchServe,
 * skops, Paddle, flatbuffers, XML, Core ML, Torch7, llamafile, TensorRT, ggml, msgpack, XGBoost):
 * detectors that steal a pickle from its analyzer, payloads spelled differently than the modules'
 * own tests, budgets and truncation. Each case asserts the verdict a correct gate gives.
 */
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildTar } from "../containers/tar-builder.js";
import { buildZip } from "../containers/zip-builder.js";
import { HAS_ATTR, HAS_TAG, T, type XdrBuilder, xdr } from "../formats/r/build.js";
import { scanOne } from "../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const u32be = (n: number) => Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** Protocol 0 call of posix.system. */
const PAYLOAD0 = latin1("cposix\nsystem\n(S'echo modelgate'\ntR.");
/** Protocol 2+ call: SHORT_BINUNICODE module/name, STACK_GLOBAL, args tuple, REDUCE, STOP. */
const PAYLOAD4 = latin1("\x8c\x05posix\x8c\x06system\x93\x8c\x0eecho modelgate\x85R.");

const verdict = async (bytes: Uint8Array, name: string) => {
  const file = await scanOne(bytes, name);
  return `${file.verdict} ${file.format} ${[...new Set(file.findings.map((f) => f.ruleId))].sort().join(",")}`;
};

describe("detectors that could steal a pickle", () => {
  // "X\n" + BINUNICODE length "\n\0\0\0" swallows an R v2 header; then POP and the payload.
  const rLooking = cat(
    latin1("X\n"),
    u32be(2).subarray(0, 3),
    latin1("\x02"),
    u32be(0x040202),
    u32be(0x020300),
    latin1("0"),
    PAYLOAD4,
  );
  // PROTO 2, SHORT_BINSTRING "TFL3" (bytes 4-8), POP, payload
  const tfl3 = cat(latin1("\x80\x02U\x04TFL30"), PAYLOAD4);
  const et12 = cat(latin1("\x80\x02U\x04ET120"), PAYLOAD4);
  const cases: [string, string, Uint8Array][] = [
    ["R-looking pickle", "model.rds", rLooking],
    ["R-looking pickle", "model.pkl", rLooking],
    ["R-looking pickle", "model.bin", rLooking],
    ["TFL3 at 4..8", "model.bin", tfl3],
    ["TFL3 at 4..8", "model.tflite", tfl3],
    ["TFL3 at 4..8", "model.pt", tfl3],
    ["ET12 at 4..8", "model.pte", et12],
    ["msgpack-named pickle", "flax_model.msgpack", cat(latin1("\x80\x04"), PAYLOAD4)],
    ["msgpack-named pickle p0", "flax_model.msgpack", PAYLOAD0],
    ["t7-named pickle", "model.t7", cat(latin1("\x80\x02"), PAYLOAD4)],
    ["t7-named pickle p0", "model.t7", PAYLOAD0],
    ["rds-named pickle", "model.rds", PAYLOAD0],
    ["yaml-named pickle", "config.yaml", PAYLOAD0],
    ["yaml-named pickle p4", "config.yaml", cat(latin1("\x80\x04"), PAYLOAD4)],
    ["yaml-looking pickle", "config", cat(latin1("S'---\\na: 1'\n0"), PAYLOAD0)],
    ["xml-named pickle", "model.xml", PAYLOAD0],
    ["pmml-named pickle", "model.pmml", PAYLOAD0],
    ["mlmodel-named pickle", "model.mlmodel", PAYLOAD0],
    ["pdmodel-named pickle", "model.pdmodel", PAYLOAD0],
    ["engine-named pickle", "model.engine", PAYLOAD0],
    ["ggml-named pickle", "ggml-model.bin", PAYLOAD0],
    ["json-named pickle", "model.json", PAYLOAD0],
    ["ubj-named pickle", "model.ubj", PAYLOAD0],
    ["MLmodel-named pickle", "MLmodel", PAYLOAD0],
    ["mar-named pickle", "model.mar", PAYLOAD0],
    ["skops-named pickle", "model.skops", PAYLOAD0],
    ["llamafile-named pickle", "model.llamafile", PAYLOAD0],
  ];
  it.each(cases)("%s as %s is malicious", async (_, name, bytes) => {
    expect(await verdict(bytes, name)).toMatch(/^malicious/);
  });
});

describe("PyYAML python tags wherever yaml.load would construct them", () => {
  const tagged: [string, string][] = [
    ["bare top-level tag", '!!python/object/apply:os.system ["id"]\n'],
    ["flow sequence", '[!!python/object/apply:os.system ["id"]]\n'],
    ["flow mapping", '{a: !!python/object/apply:os.system ["id"]}\n'],
    ["after a shebang comment", '#!/bin/sh\na: !!python/object/apply:os.system ["id"]\n'],
    ["beside a Python-looking line", 'a: !!python/object/apply:os.system ["id"]\nclass Foo:\n'],
    ["beside Jinja-looking keys", '{{ x }}: 1\na: !!python/object/apply:os.system ["id"]\n'],
    ["verbatim tag with an escaped colon", 'a: !<tag%3Ayaml.org,2002:python/object/apply:os.system> ["id"]\n'],
    ["%TAG handle", '%TAG !e! tag:yaml.org,2002:pyth\n---\na: !e!on/object/apply:os.system ["id"]\n'],
    ["second document", 'a: 1\n---\n!!python/object/apply:os.system ["id"]\n'],
    ["anchored and aliased", 'a: &x !!python/object/apply:os.system ["id"]\nb: *x\n'],
  ];
  for (const name of ["config", "hparams.txt", "config.json", "params.yaml"]) {
    it.each(tagged)(`%s in ${name} is malicious`, async (_, text) => {
      expect(await verdict(enc(text), name)).toMatch(/^malicious yaml .*yaml\/python-tag/);
    });
  }

  it("JSON that mentions a tag in a string, and prose in Markdown, stay clean", async () => {
    expect(await verdict(enc('{"a": "!!python/object/apply:os.system"}\n'), "config")).toMatch(/^clean json/);
    expect(await verdict(enc("Never load `!!python/object/apply:os.system`.\n"), "README.md")).toMatch(/^clean text/);
  });

  it.each([
    ["hydra target in a list", "model:\n  - _target_: os.system\n    command: id\n"],
    ["hydra target in flow style", "model: [{_target_: os.system, command: id}]\n"],
    ["hydra target through an alias", "a: &t os.system\nmodel:\n  _target_: *t\n"],
    ["hydra target through a merge key", "base: &b\n  _target_: os.system\nmodel:\n  <<: *b\n"],
    ["hydra target quoted", 'model:\n  "_target_": os.system\n'],
  ])("%s is malicious", async (_, text) => {
    expect(await verdict(enc(text), "config.yaml")).toMatch(/^malicious/);
  });
});

describe("R code hidden in other places of the object tree", () => {
  const echo = (b: XdrBuilder) => b.str("echo pwned");
  const sys = (b: XdrBuilder) => b.call("system", echo);
  const cases: [string, Uint8Array][] = [
    ["promise in a list", xdr().int(T.VEC).int(1).promise(sys).stream()],
    [
      "promise in an attribute",
      xdr()
        .int(T.INT | HAS_ATTR)
        .int(1)
        .int(5)
        .int(T.LIST | HAS_TAG)
        .sym("x")
        .promise(sys)
        .nil()
        .stream(),
    ],
    [
      "call through a back-referenced symbol",
      xdr()
        .int(T.VEC)
        .int(2)
        .sym("system")
        .closure((b) =>
          b
            .int(T.LANG)
            .int((1 << 8) | 0xff)
            .int(T.LIST)
            .str("id")
            .nil(),
        )
        .stream(),
    ],
    [
      "match.fun by string",
      xdr()
        .closure((b) => b.call("match.fun", (x) => x.str("system")))
        .stream(),
    ],
    [
      "readLines(pipe())",
      xdr()
        .closure((b) => b.call("readLines", (x) => x.call("pipe", echo)))
        .stream(),
    ],
    ["v2 promise, gzip'ed", new Uint8Array(gzipSync(xdr().promise(sys).stream(2)))],
  ];
  it.each(cases)("%s is malicious", async (_, bytes) => {
    expect(await verdict(bytes, "model.rds")).toMatch(/^malicious/);
  });

  it("truncated and hostile counts are invalid", async () => {
    const full = xdr().int(T.VEC).int(3).str("a").str("b").closure(sys).stream();
    for (const cut of [10, 20, full.length - 3])
      expect(await verdict(full.subarray(0, cut), "m.rds")).toMatch(/^invalid/);
    expect(await verdict(xdr().int(T.VEC).int(0x7fffffff).stream(), "m.rds")).toMatch(/^invalid/);
    expect(await verdict(xdr().int(T.STR).int(-1).stream(), "m.rds")).toMatch(/^invalid/);
  });
});

describe("a zip or tar that several loaders read is judged for each of them", () => {
  const code = 'class M(Module):\n  def forward(self, x):\n    return torch.ops.load_library("/tmp/evil.so")\n';
  const torchscript = [
    { name: "archive/data.pkl", data: latin1("\x80\x02}q\x00.") },
    { name: "archive/constants.pkl", data: latin1("\x80\x02).") },
    { name: "archive/version", data: "3\n" },
    { name: "archive/code/__torch__/m.py", data: code },
  ];
  const manifest = JSON.stringify({
    runtime: "python",
    archiverVersion: "0.9.0",
    model: { modelName: "m", handler: "image_classifier", serializedFile: "archive/data.pkl" },
  });

  it.each(["model.pt", "model.bin", "model.mar"])(
    "a TorchServe manifest added to a TorchScript archive does not hide its code (%s)",
    async (name) => {
      const file = await scanOne(buildZip([...torchscript, { name: "MAR-INF/MANIFEST.json", data: manifest }]), name);
      expect(file.verdict).toBe("malicious");
      expect(file.findings.map((f) => f.ruleId)).toEqual(
        expect.arrayContaining(["pickle/torchscript-op", "torchserve/builtin-handler"]),
      );
    },
  );

  it("a Keras config beside a torch data.pkl is still judged as Keras", async () => {
    const lambda = JSON.stringify({
      class_name: "Sequential",
      config: {
        layers: [
          {
            class_name: "Lambda",
            config: { function: { class_name: "__lambda__", config: { code: "4wEAAAAAAAAA", defaults: null } } },
          },
        ],
      },
    });
    const keras = [
      { name: "config.json", data: lambda },
      { name: "metadata.json", data: '{"keras_version": "3.0.0"}' },
      { name: "model.weights.h5", data: "x" },
    ];
    const file = await scanOne(buildZip([...torchscript.slice(0, 1), ...keras]), "model.keras");
    expect(file.findings.map((f) => f.ruleId)).toContain("keras/lambda-layer");
  });

  it("a legacy torch tar with a NeMo config keeps its members' pickle claims", async () => {
    const s0 = latin1("(cposix\nsystem\nX\x02\x00\x00\x00idtR");
    const tar = buildTar([
      { name: "pickle", data: latin1("\x80\x02}.") },
      { name: "storages", data: latin1("(}.") },
      { name: "tensors", data: s0 }, // broken: a claimed pickle that does not parse
      { name: "model_config.yaml", data: "a: 1\n" },
    ]);
    const file = await scanOne(tar, "model.pt");
    expect(file.format).toBe("nemo");
    expect(file.verdict).toBe("malicious");
    expect(file.findings.some((f) => f.ruleId === "format/claim-unmet" && f.path?.endsWith("!tensors"))).toBe(true);
  });
});
