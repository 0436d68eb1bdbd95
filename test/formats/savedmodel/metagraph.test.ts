/**
 * TF1 MetaGraphDef files (`model.ckpt.meta`, what `tf.compat.v1.train.Saver` and `export_meta_graph`
 * write, what `import_meta_graph` loads and a session runs) are analysed as a SavedModel's meta graph.
 * Found by a held-out run of another scanner's tests: a `.meta` holding PyFunc, WriteFile or a
 * PyFunc in the function library was routed as text or unknown bytes and reported clean, while the
 * same graph inside a `saved_model.pb` was `malicious`.
 *
 * Recognition is by structure, the `.meta` name being a hint only: a `.meta` that is no
 * MetaGraphDef (a Unity asset's YAML, broken protobuf) stays what it is; a MetaGraphDef under
 * another name is recognised when its fields are exactly a MetaGraphDef's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectMetaGraph } from "../../../src/formats/savedmodel/index.js";
import { lfield } from "../../helpers/protobuf.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

// --- a few protobuf encoders for hand-made messages ---
const enc = new TextEncoder();
const ld = (field: number, payload: Uint8Array | string): Uint8Array => Uint8Array.from(lfield(field, payload));
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const nodeDef = (name: string, op: string, ...more: Uint8Array[]) => ld(1, cat(ld(1, name), ld(2, op), ...more));
const metaInfo = ld(1, cat(ld(2, ld(1, ld(1, "Const"))), ld(5, "1.15.5")));
const metaGraph = (...nodes: Uint8Array[]) => cat(metaInfo, ld(2, cat(...nodes)));

/** The first `meta_graphs` entry (field 2) of a SavedModel: what `export_meta_graph` would write. */
function metaGraphOf(savedModel: Uint8Array): Uint8Array {
  let at = 0;
  const read = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = savedModel[at++] as number;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value;
    }
  };
  while (at < savedModel.length) {
    const key = read();
    if (key % 8 === 0) read();
    else {
      const length = read();
      if (key === 0x12) return savedModel.subarray(at, at + length);
      at += length;
    }
  }
  throw new Error("no meta graph");
}
const sample = (path: string) => new Uint8Array(readFileSync(join(SAMPLES, path)));

describe("TF1 MetaGraphDef files are analysed", () => {
  it("a .meta with PyFunc and WriteFile beside a checkpoint: malicious", async () => {
    const file = await scanOne(metaGraph(nodeDef("w", "WriteFile"), nodeDef("p", "PyFunc")), "model.ckpt.meta");
    expect(file.format).toBe("tf-savedmodel");
    expect(file.facts?.["savedmodel.kind"]).toBe("meta_graph");
    expect(ruleIds(file)).toEqual(["savedmodel/file-io-op", "savedmodel/py-func"]);
    expect(file.verdict).toBe("malicious");
  });

  it("PyFunc in a library function, and an op no TensorFlow defines", async () => {
    const fn = ld(
      1,
      cat(ld(1, ld(1, "f")), ld(3, cat(ld(1, "p"), ld(2, "PyFunc"))), ld(3, cat(ld(1, "c"), ld(2, "PyCall")))),
    );
    const bytes = cat(metaInfo, ld(2, cat(nodeDef("x", "Placeholder"), ld(2, fn))));
    const file = await scanOne(bytes, "graph.meta");
    expect(ruleIds(file)).toEqual(["savedmodel/py-func", "savedmodel/unknown-op"]);
  });

  it("past the sniffed head: a 100 KB constant before the PyFunc", async () => {
    const big = nodeDef("big", "Const", ld(5, cat(ld(1, "value"), ld(2, ld(8, new Uint8Array(100_000))))));
    const file = await scanOne(metaGraph(big, nodeDef("p", "PyFunc")), "model.ckpt.meta");
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toContain("savedmodel/py-func");
  });

  it("meta_info_def larger than the head (a long op list): still recognised", async () => {
    const ops = cat(...Array.from({ length: 6000 }, (_, i) => ld(1, ld(1, `Op${i}Name`))));
    const bytes = cat(ld(1, cat(ld(2, ops), ld(5, "1.15.5"))), ld(2, nodeDef("p", "PyFunc")));
    expect(bytes.length).toBeGreaterThan(64 * 1024);
    const file = await scanOne(bytes, "model.ckpt.meta");
    expect(ruleIds(file)).toContain("savedmodel/py-func");
  });

  it("named .meta, padding pushing every node past the sniffed head (a 70 KB any_info)", async () => {
    const padded = cat(ld(1, ld(3, ld(2, new Uint8Array(70_000).fill(0x20)))), ld(2, nodeDef("p", "PyFunc")));
    const file = await scanOne(padded, "model.ckpt.meta");
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toContain("savedmodel/py-func");
    // under another name, nothing in the head is a MetaGraphDef's own: left to the other detectors
    expect(detectMetaGraph({ head: padded.subarray(0, 65536), tail: padded, size: padded.length, name: "g.pb" })).toBe(
      undefined,
    );
  });

  it("strings TensorFlow ignores (versions, tags, devices) and ops named by a library function", async () => {
    const info = ld(1, cat(ld(1, "\u0001"), ld(4, "\u0002tag"), ld(6, "\u0000")));
    const fn = ld(1, cat(ld(1, ld(1, "my fn\u0001")), ld(3, cat(ld(1, "p"), ld(2, "PyFunc")))));
    const graph = ld(2, cat(nodeDef("call", "my fn\u0001", ld(4, "\u0003")), ld(2, fn)));
    const file = await scanOne(cat(info, graph), "graph.pb");
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toEqual(["savedmodel/py-func"]);
  });

  it("a MetaGraphDef under another name when its structure is exact", async () => {
    const file = await scanOne(metaGraph(nodeDef("p", "PyFunc")), "exported_graph.bin");
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toContain("savedmodel/py-func");
  });

  it("named .meta, unknown fields are tolerated as TensorFlow's parser tolerates them", async () => {
    const odd = cat(Uint8Array.of(0xf8, 0x01, 0x07), metaGraph(nodeDef("p", "PyFunc", Uint8Array.of(0x48, 0x01))));
    expect((await scanOne(odd, "model.ckpt.meta")).format).toBe("tf-savedmodel");
    expect(ruleIds(await scanOne(odd, "model.ckpt.meta"))).toContain("savedmodel/py-func");
    // under another name too (import_meta_graph takes any), when a complete node is there
    expect(detectMetaGraph({ head: odd, tail: odd, size: odd.length, name: "graph.pb" })?.format).toBe("tf-savedmodel");
    // without one, fields a MetaGraphDef does not have make it something else
    const bare = cat(Uint8Array.of(0xf8, 0x01, 0x07), metaGraph(Uint8Array.of()));
    expect(detectMetaGraph({ head: bare, tail: bare, size: bare.length, name: "graph.pb" })).toBeUndefined();
  });
});

describe("real meta graphs (TensorFlow 2.21's TF1 SavedModel Builder), cut out as .meta", () => {
  const cases: Array<[string, string[]]> = [
    ["tf-onnx-bypass/tf1_clean", []],
    ["tf-onnx-bypass/tf1_restore_op_writes", ["savedmodel/checkpoint-op"]],
    ["tf-onnx-bypass/tf1_save_scope_on_signature", ["savedmodel/checkpoint-op"]],
  ];
  it.each(cases)("%s: the findings of the SavedModel", async (dir, rules) => {
    const savedModel = sample(join(dir, "saved_model.pb"));
    const asSavedModel = await scanOne(savedModel, "saved_model.pb");
    const file = await scanOne(metaGraphOf(savedModel), "model.ckpt.meta");
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toEqual(rules);
    expect(ruleIds(file)).toEqual(ruleIds(asSavedModel));
    expect(file.verdict).toBe(asSavedModel.verdict);
  });

  it("a TF1 Saver graph (VariableV2, Assign, SaveV2, RestoreV2 in save/) stays clean", async () => {
    const file = await scanOne(sample("tf-metagraph/tf1_saver/model.ckpt.meta"), "model.ckpt.meta");
    expect(file.format).toBe("tf-savedmodel");
    const ops = file.facts?.["savedmodel.opTypes"] as Record<string, number>;
    for (const op of ["VariableV2", "Assign", "Identity", "SaveV2", "RestoreV2", "Const", "MatMul"]) {
      expect(ops[op], op).toBeGreaterThan(0);
    }
    expect(file.findings).toEqual([]);
    expect(file.verdict).toBe("clean");
  });
});

describe("what is no MetaGraphDef stays what it is", () => {
  const notMeta: Array<[string, Uint8Array]> = [
    ["a Unity asset .meta (YAML)", enc.encode("fileFormatVersion: 2\nguid: 0123456789abcdef0123456789abcdef\n")],
    ["text", enc.encode("this is not protobuf")],
    ["a length past the end", Uint8Array.of(0x0a, 0x08, ...enc.encode("broken"))],
    ["meta info without anything only a MetaGraphDef holds", ld(1, ld(1, "v1"))],
    ["a node without its op", cat(metaInfo, ld(2, ld(1, ld(1, "x"))))],
    ["a node whose name TensorFlow refuses", metaGraph(nodeDef("bad name", "PyFunc"))],
    ["a SavedModel (schema version first)", cat(Uint8Array.of(0x08, 0x01), ld(2, metaGraph(nodeDef("p", "Const"))))],
  ];
  it.each(notMeta)("%s named .meta", async (_what, bytes) => {
    expect(detectMetaGraph({ head: bytes, tail: bytes, size: bytes.length, name: "x.meta" })).toBeUndefined();
    const file = await scanOne(bytes, "x.meta");
    expect(file.format).not.toBe("tf-savedmodel");
  });

  it("a frozen GraphDef (.pb) is not taken for a MetaGraphDef", () => {
    const graphDef = cat(nodeDef("x", "Placeholder"), nodeDef("y", "Identity", ld(3, "x")), ld(4, Uint8Array.of(8, 1)));
    for (const name of ["frozen.pb", "frozen.meta"]) {
      expect(detectMetaGraph({ head: graphDef, tail: graphDef, size: graphDef.length, name }), name).toBeUndefined();
    }
  });

  it("saved_model.pb, keras_metadata.pb and fingerprint.pb keep their own schemas", async () => {
    const bytes = metaGraph(nodeDef("p", "PyFunc"));
    for (const name of ["saved_model.pb", "keras_metadata.pb", "fingerprint.pb"]) {
      expect(detectMetaGraph({ head: bytes, tail: bytes, size: bytes.length, name }), name).toBeUndefined();
    }
    // read as a SavedModel, the graph is the meta graph's field 2: no PyFunc node there
    expect((await scanOne(bytes, "saved_model.pb")).facts?.["savedmodel.kind"]).toBeUndefined();
  });
});
