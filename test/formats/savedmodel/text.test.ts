/**
 * TensorFlow graphs TensorFlow loads that are not binary SavedModels:
 * - the protobuf TEXT format: `saved_model.pbtxt` (the SavedModel loader parses it with
 *   `text_format.Parse` when there is no `saved_model.pb`), a `.meta` exported with `as_text=True`
 *   (`import_meta_graph` falls back to text), `graph.pbtxt` of `write_graph`. They were text, so
 *   clean: a PyFunc or WriteFile graph in `saved_model.pbtxt` was a bypass;
 * - what a TF1 user runs without naming it: variable initializers, queue runners, savers of the
 *   `savers` collection, any node a session fetches: a `save/` SaveV2 wired there was trusted;
 * - frozen binary GraphDefs (`frozen_inference_graph.pb`, `tf.import_graph_def`): inert protobuf.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectGraphDef, textKind } from "../../../src/formats/savedmodel/index.js";
import { lfield } from "../../helpers/protobuf.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const enc = new TextEncoder();
const text = (s: string) => enc.encode(s);
const sample = (path: string) => new Uint8Array(readFileSync(join(SAMPLES, path)));

const ld = (field: number, payload: Uint8Array | string): Uint8Array => Uint8Array.from(lfield(field, payload));
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const nodeDef = (name: string, op: string, ...more: Uint8Array[]) => ld(1, cat(ld(1, name), ld(2, op), ...more));

/** A SavedModel in text format around one graph (`nodes`: text of `node { ... }` entries). */
const savedModelText = (nodes: string, more = "") => `saved_model_schema_version: 1
meta_graphs {
  meta_info_def {
    stripped_op_list { op { name: "Placeholder" } op { name: "Identity" } }
    tags: "serve"
    tensorflow_version: "1.15.5"
  }
  graph_def {
    node {
      name: "x"
      op: "Placeholder"
      attr { key: "dtype" value { type: DT_FLOAT } }
      attr { key: "shape" value { shape { dim { size: -1 } dim { size: 4 } } } }
    }
${nodes}
    versions { producer: 134 }
  }
  signature_def {
    key: "serving_default"
    value {
      inputs { key: "x" value { name: "x:0" dtype: DT_FLOAT tensor_shape { unknown_rank: true } } }
      outputs { key: "y" value { name: "y:0" dtype: DT_FLOAT } }
      method_name: "tensorflow/serving/predict"
    }
  }
${more}
}
`;

describe("saved_model.pbtxt is read as TensorFlow's loader reads it", () => {
  it("PyFunc on the serving path: malicious (was: text, clean)", async () => {
    const body = `    node { name: "p" op: "PyFunc" attr { key: "token" value { s: "pyfunc_0" } } }
    node { name: "y" op: "Identity" input: "x" input: "^p" }`;
    const file = await scanOne(text(savedModelText(body)), "export/1/saved_model.pbtxt");
    expect(file.format).toBe("tf-savedmodel");
    expect(file.facts?.["savedmodel.encoding"]).toBe("text");
    expect(file.facts?.["savedmodel.nodes"]).toBe(3);
    expect(ruleIds(file)).toEqual(["savedmodel/py-func"]);
    expect(file.verdict).toBe("malicious");
  });

  it("what export_meta_graph(as_text=True) writes (op list, enum names, empty shapes, escaped VariableDefs): clean", async () => {
    const meta = String.raw`meta_info_def {
  stripped_op_list {
    op {
      name: "Add"
      input_arg { name: "x" type_attr: "T" }
      output_arg { name: "z" type_attr: "T" }
      attr { name: "T" type: "type" allowed_values { list { type: DT_HALF type: DT_FLOAT type: DT_STRING } } }
    }
    op {
      name: "Assign"
      input_arg { name: "ref" type_attr: "T" is_ref: true }
      attr { name: "use_locking" type: "bool" default_value { b: true } }
      allows_uninitialized_input: true
    }
    op { name: "SaveV2" attr { name: "dtypes" type: "list(type)" has_minimum: true minimum: 1 } is_stateful: true }
  }
  tensorflow_version: "1.3.0"
  tensorflow_git_version: "v1.3.0-rc2-20-g0787eee"
}
graph_def {
  node {
    name: "save/Const"
    op: "Const"
    attr { key: "_output_shapes" value { list { shape { } } } }
    attr { key: "value" value { tensor { dtype: DT_STRING tensor_shape { } string_val: "model" } } }
  }
  node { name: "v1" op: "VariableV2" attr { key: "shape" value { shape { dim { size: 1 } } } } }
  node { name: "v1/Assign" op: "Assign" input: "v1" attr { key: "value" value { f: 1.0 } } }
  node { name: "v1/read" op: "Identity" input: "v1" }
  node { name: "save/SaveV2" op: "SaveV2" input: "save/Const" input: "v1" attr { key: "dtypes" value { list { type: DT_FLOAT } } } }
  node { name: "save/control_dependency" op: "Identity" input: "save/Const" input: "^save/SaveV2" }
  node { name: "save/RestoreV2" op: "RestoreV2" input: "save/Const" attr { key: "_output_shapes" value { list { shape { unknown_rank: true } } } } }
  node { name: "save/Assign" op: "Assign" input: "v1" input: "save/RestoreV2" }
  node { name: "save/restore_all" op: "NoOp" input: "^save/Assign" }
  versions { producer: 24 }
}
saver_def {
  filename_tensor_name: "save/Const:0"
  save_tensor_name: "save/control_dependency:0"
  restore_op_name: "save/restore_all"
  max_to_keep: 5
  keep_checkpoint_every_n_hours: 10000.0
  version: V2
}
collection_def {
  key: "variables"
  value { bytes_list { value: "\n\004v1:0\022\tv1/Assign\032\tv1/read:0" } }
}
`;
    const file = await scanOne(text(meta), "model.ckpt.meta");
    expect(file.format).toBe("tf-savedmodel");
    expect(file.facts?.["savedmodel.nodes"]).toBe(9);
    expect(file.findings).toEqual([]);
    expect(file.verdict).toBe("clean");
  });

  it.each([
    ["adjacent strings", `op: "Py" 'Func'`],
    ["octal escape", `op: "\\120yFunc"`],
    ["hex escape", `op: "\\x50yFunc"`],
    ["\\u escape", `op: "\\u0050yFunc"`],
    ["the last of two ops (proto3 scalars: the last wins)", `op: "Const" op: "PyFunc"`],
    [
      "comments, <> and ; separators",
      `# a comment { not a brace\n op : "PyFunc" ; attr < key: "T" value < type: DT_FLOAT > >`,
    ],
  ])("op spelled with %s", async (_what, op) => {
    const file = await scanOne(text(savedModelText(`    node { name: "p" ${op} }`)), "saved_model.pbtxt");
    expect(ruleIds(file)).toEqual(["savedmodel/py-func"]);
  });

  it("WriteFile in a library function, lists and message lists", async () => {
    const library = `    library {
      function {
        signature { name: "__inference_hook_7" is_stateful: true control_output: ["w"] }
        node_def: [{ name: "path" op: "Const" attr { key: "value" value { tensor { dtype: DT_STRING string_val: "/etc/cron.d/x" } } } },
                   { name: "w" op: "WriteFile" input: ["path:output:0", "path:output:0"] }]
        control_ret { key: "w" value: "w" }
        attr { key: "_input_shapes" value { list { shape: [] } } }
      }
    }
    node { name: "call" op: "StatefulPartitionedCall" attr { key: "f" value { func { name: "__inference_hook_7" } } } }`;
    const file = await scanOne(text(savedModelText(library)), "saved_model.pbtxt");
    expect(ruleIds(file)).toEqual(["savedmodel/file-io-op"]);
    expect(file.findings[0]?.evidence?.function).toBe("__inference_hook_7");
  });

  it("an Any expansion is read as opaque and reported as a fact", async () => {
    const more = `  collection_def { key: "extras" value { any_list { value { [type.googleapis.com/tensorflow.AssetFileDef] { filename: "vocab.txt" } } } } }`;
    const file = await scanOne(text(savedModelText("", more)), "saved_model.pbtxt");
    expect(file.findings).toEqual([]);
    expect(file.facts?.["savedmodel.textAnyTypes"]).toEqual(["type.googleapis.com/tensorflow.AssetFileDef"]);
  });

  const broken: Array<[string, string]> = [
    ["a field TensorFlow does not know", savedModelText("").replace("tags:", "layers: 3\n    tags:")],
    ["an extension outside Any", savedModelText("").replace("tags:", "[pkg.ext]: 1\n    tags:")],
    ["a string that does not end", savedModelText(`    node { name: "p" op: "PyFunc }`)],
    ["a message that does not end", savedModelText("").slice(0, -3)],
    ["a scalar given as a message", savedModelText("").replace('tags: "serve"', "tags { }")],
    ["binary bytes", "\u0008\u0001\u0012\u0004\u0012\u0002\u000a\u0000"],
    ["a YAML file", "saved_model:\n  graph: x\n"],
  ];
  it.each(broken)("%s: invalid, never clean", async (_what, body) => {
    const file = await scanOne(text(body), "saved_model.pbtxt");
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toContain("savedmodel/malformed");
    expect(file.verdict).toBe("invalid");
  });

  it("nesting past the budget is not clean", async () => {
    const deep = `${"shape { ".repeat(300)}${"} ".repeat(300)}`;
    const body = `    node { name: "c" op: "Const" attr { key: "v" value { ${deep} } } }`;
    const file = await scanOne(text(savedModelText(body)), "saved_model.pbtxt");
    expect(file.verdict).not.toBe("clean");
  });
});

describe("text MetaGraphDefs and GraphDefs, recognised by their fields", () => {
  it("an as_text=True .meta holds the findings of its binary twin", async () => {
    const asText = await scanOne(sample("tf-text/text_meta/model.ckpt.meta"), "model.ckpt.meta");
    const binary = await scanOne(sample("tf-metagraph/py_func/model.ckpt.meta"), "model.ckpt.meta");
    expect(asText.format).toBe("tf-savedmodel");
    expect(asText.facts?.["savedmodel.encoding"]).toBe("text");
    expect(asText.facts?.["savedmodel.opTypes"]).toEqual(binary.facts?.["savedmodel.opTypes"]);
    expect(ruleIds(asText)).toEqual(ruleIds(binary));
    expect(asText.verdict).toBe("malicious");
  });

  it("a graph.pbtxt with a PyFunc past a 100 KB head", async () => {
    const pad = `# ${"x".repeat(100)}\n`.repeat(1000);
    const body = `${pad}node { name: "p" op: "PyFunc" }\nnode { name: "c" op: "Const" }\nversions { producer: 27 }\n`;
    const file = await scanOne(text(body), "graph.pbtxt");
    expect(file.format).toBe("tf-savedmodel");
    expect(file.facts?.["savedmodel.kind"]).toBe("graph_def");
    expect(ruleIds(file)).toEqual(["savedmodel/py-func"]);
  });

  it("a text GraphDef under any name", async () => {
    const body = 'node {\n  name: "p"\n  op: "EagerPyFunc"\n}\nversions {\n  producer: 27\n}\n';
    expect((await scanOne(text(body), "model.txt")).verdict).toBe("malicious");
  });

  it("separators Python's tokenizer takes for whitespace (0x1F, NBSP, ideographic space)", async () => {
    const body = 'node\u001f{\u00a0name:\u3000"p"\u2028op: "PyFunc" }\nversions { producer: 27 }\n';
    const file = await scanOne(text(body), "graph.pbtxt");
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toEqual(["savedmodel/py-func"]);
  });

  const notGraphs: Array<[string, string, string]> = [
    [
      "the checkpoint state file",
      "checkpoint",
      'model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n',
    ],
    ["a node without an op", "graph.pbtxt", 'node {\n  name: "x"\n}\n'],
    ["a YAML list named node", "config.yaml", "node: 3\nversions: [1, 2]\n"],
    ["a label map (another text proto)", "label_map.pbtxt", 'item {\n  name: "cat"\n  id: 1\n}\n'],
    ["prose", "notes.txt", "node: the first one\n"],
  ];
  it.each(notGraphs)("%s stays what it is", async (_what, name, body) => {
    const bytes = text(body);
    expect(textKind({ head: bytes, tail: bytes, size: bytes.length, name })).toBeUndefined();
    const file = await scanOne(bytes, name);
    expect(file.format).not.toBe("tf-savedmodel");
    expect(file.verdict).toBe("clean");
  });
});

describe("what a TF1 user runs without naming it counts as run", () => {
  /** A saver (save/ scope) whose SaveV2 is also wired `how`. */
  const saverGraph = (...more: Uint8Array[]) => {
    const graph = ld(
      2,
      cat(
        nodeDef("w", "VariableV2"),
        nodeDef("save/Const", "Const"),
        nodeDef("save/SaveV2", "SaveV2", ld(3, "save/Const"), ld(3, "w")),
        nodeDef("save/control_dependency", "Identity", ld(3, "save/Const"), ld(3, "^save/SaveV2")),
        nodeDef("save/RestoreV2", "RestoreV2", ld(3, "save/Const")),
        nodeDef("save/Assign", "Assign", ld(3, "w"), ld(3, "save/RestoreV2")),
        nodeDef("save/restore_all", "NoOp", ld(3, "^save/Assign")),
        nodeDef("w/read", "Identity", ld(3, "w")),
        nodeDef("w/Assign", "Assign", ld(3, "w")),
      ),
    );
    const saver = ld(3, cat(ld(1, "save/Const:0"), ld(2, "save/control_dependency:0"), ld(3, "save/restore_all")));
    const info = ld(1, ld(5, "1.15.5"));
    return cat(info, graph, saver, ...more);
  };
  const collection = (key: string, ...values: Uint8Array[]) =>
    ld(4, cat(ld(1, key), ld(2, ld(2, cat(...values.map((v) => ld(1, v)))))));
  const variableDef = (initializer: string) => cat(ld(1, "w:0"), ld(2, initializer), ld(3, "w/read:0"));

  it("the plain saver stays trusted", async () => {
    const file = await scanOne(saverGraph(collection("variables", variableDef("w/Assign"))), "model.ckpt.meta");
    expect(file.findings).toEqual([]);
  });

  it.each([
    ["a variable's initializer", collection("variables", variableDef("save/SaveV2"))],
    ["a local variable's snapshot", collection("local_variables", cat(ld(1, "v:0"), ld(3, "save/SaveV2:0")))],
    ["a queue runner's enqueue op", collection("queue_runners", cat(ld(1, "q"), ld(2, "save/SaveV2")))],
    ["a queue runner's close op", collection("queue_runners", cat(ld(1, "q"), ld(3, "save/control_dependency")))],
    ["a saver of the savers collection, restoring", collection("savers", cat(ld(3, "save/control_dependency")))],
  ])("SaveV2 run by %s: reported high", async (_what, more) => {
    const file = await scanOne(saverGraph(more), "model.ckpt.meta");
    expect(ruleIds(file)).toEqual(["savedmodel/checkpoint-op"]);
    expect(file.findings[0]?.severity).toBe("high");
  });

  it("SaveV2 needed by a node outside the saver (a session fetches it by name): reported", async () => {
    const bytes = saverGraph();
    const withOutput = cat(bytes, ld(2, nodeDef("y", "Identity", ld(3, "w/read"), ld(3, "^save/SaveV2"))));
    const file = await scanOne(withOutput, "model.ckpt.meta");
    expect(ruleIds(file)).toEqual(["savedmodel/checkpoint-op"]);
  });

  it("the same collections in text format", async () => {
    const more = `  collection_def { key: "queue_runners" value { bytes_list { value: "\\n\\001q\\022\\013save/SaveV2" } } }
  saver_def { filename_tensor_name: "save/Const:0" save_tensor_name: "save/control_dependency:0" restore_op_name: "save/restore_all" }`;
    const nodes = `    node { name: "save/Const" op: "Const" }
    node { name: "save/SaveV2" op: "SaveV2" input: "save/Const" }
    node { name: "save/control_dependency" op: "Identity" input: "save/Const" input: "^save/SaveV2" }`;
    const file = await scanOne(text(savedModelText(nodes, more)), "saved_model.pbtxt");
    expect(ruleIds(file)).toEqual(["savedmodel/checkpoint-op"]);
  });
});

describe("frozen GraphDefs (.pb)", () => {
  it("a frozen inference graph (Const/Conv2D/Relu/MatMul/Softmax) is read and clean", async () => {
    const file = await scanOne(sample("tf-text/frozen/frozen_inference_graph.pb"), "frozen_inference_graph.pb");
    expect(file.format).toBe("tf-savedmodel");
    expect(file.facts?.["savedmodel.kind"]).toBe("graph_def");
    const ops = file.facts?.["savedmodel.opTypes"] as Record<string, number>;
    for (const op of ["Const", "Conv2D", "Relu", "MatMul", "Softmax"]) expect(ops[op], op).toBeGreaterThan(0);
    expect(file.verdict).toBe("clean");
  });

  it("PyFunc and ReadFile in a frozen graph: malicious (was: inert protobuf)", async () => {
    const graph = cat(nodeDef("p", "PyFunc"), nodeDef("r", "ReadFile"), ld(4, Uint8Array.of(8, 27)));
    const file = await scanOne(graph, "frozen_inference_graph.pb");
    expect(ruleIds(file)).toEqual(["savedmodel/file-io-op", "savedmodel/py-func"]);
  });

  it("a first constant larger than the sniffed head, the PyFunc after it", async () => {
    const big = nodeDef("big", "Const", ld(5, cat(ld(1, "value"), ld(2, ld(8, new Uint8Array(200_000))))));
    const file = await scanOne(
      cat(big, nodeDef("p", "PyFunc"), ld(4, Uint8Array.of(8, 27))),
      "frozen_inference_graph.pb",
    );
    expect(file.format).toBe("tf-savedmodel");
    expect(ruleIds(file)).toEqual(["savedmodel/py-func"]);
  });

  it("PyFunc in the function library of a GraphDef without versions", async () => {
    const fn = ld(1, cat(ld(1, ld(1, "f")), ld(3, cat(ld(1, "p"), ld(2, "PyFunc")))));
    const graph = cat(nodeDef("call", "f"), ld(2, fn));
    expect(ruleIds(await scanOne(graph, "model.pb"))).toEqual(["savedmodel/py-func"]);
  });

  const others: Array<[string, Uint8Array]> = [
    ["ONNX", cat(Uint8Array.of(0x08, 0x07), ld(2, "pytorch"), ld(7, nodeDef("n", "Relu")))],
    [
      "SentencePiece",
      cat(
        ld(1, cat(ld(1, "▁the"), Uint8Array.of(0x15, 0, 0, 0x80, 0xbf))),
        ld(1, cat(ld(1, "a"), Uint8Array.of(0x15, 0, 0, 0, 0))),
      ),
    ],
    ["a node without its op", cat(ld(1, ld(1, "x")), ld(4, Uint8Array.of(8, 1)))],
    ["a node name TensorFlow refuses", cat(nodeDef("bad name", "PyFunc"), ld(4, Uint8Array.of(8, 1)))],
    ["a field a GraphDef does not have", cat(nodeDef("p", "PyFunc"), ld(9, "x"))],
  ];
  it.each(others)("%s .pb is no GraphDef", (_what, bytes) => {
    expect(detectGraphDef({ head: bytes, tail: bytes, size: bytes.length, name: "model.pb" })).toBeUndefined();
  });

  it("saved_model.pb, keras_metadata.pb and fingerprint.pb keep their schemas", () => {
    const graph = cat(nodeDef("p", "PyFunc"), ld(4, Uint8Array.of(8, 27)));
    for (const name of ["saved_model.pb", "keras_metadata.pb", "fingerprint.pb", "graph.bin"]) {
      expect(detectGraphDef({ head: graph, tail: graph, size: graph.length, name }), name).toBeUndefined();
    }
  });
});
