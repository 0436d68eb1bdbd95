/**
 * Checkpoint ops (`SaveV2`, `RestoreV2`, `MergeV2Checkpoints` ...) are the saver's: they are trusted
 * only where the SavedModel's structure puts them in the saver (the graph nodes its `SaverDef`
 * names, the functions only those call), never because a function or node is named like the saver.
 * Attack review: a `tf.function` named `helper_traced_save` (`__inference_helper_traced_save_12`)
 * that runs SaveV2 on the serving signature's path was clean while
 * `tf.saved_model.load(...).signatures["serving_default"](...)` wrote a checkpoint where it said.
 * The samples (samples/tf-onnx-bypass, samples/generate/tf_onnx_bypass.py) were each proven with
 * TensorFlow 2.21: serving writes (or reads) the file.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import type { FindingInput } from "../../../src/core/findings.js";
import { savedModelFindings } from "../../../src/formats/savedmodel/analyzer.js";
import {
  readSavedModel,
  type SavedModelSummary,
  type TfMeta,
  type TfNode,
} from "../../../src/formats/savedmodel/reader.js";
import type { ScanReport } from "../../../src/report/schema.js";
import { SAMPLES, scanSample } from "../../helpers/scan.js";

const checkpointFindings = (report: ScanReport) =>
  report.files.flatMap((f) => f.findings).filter((f) => f.ruleId === "savedmodel/checkpoint-op");

describe("checkpoint ops on the serving path, whatever their names", () => {
  it("SaveV2 in a function named like _traced_save, called by the signature: high", async () => {
    const report = await scanSample("tf-onnx-bypass/tf_save_in_traced_save_name");
    const found = checkpointFindings(report);
    expect(found.map((f) => [f.evidence?.op, f.severity])).toEqual([["SaveV2", "high"]]);
    expect(String(found[0]?.evidence?.function)).toMatch(/^__inference_helper_traced_save_\d+$/);
    expect(report.verdict).toBe("malicious");
  });

  it("SaveV2 in a function named like a _save_fn", async () => {
    const report = await scanSample("tf-onnx-bypass/tf_save_in_save_fn_name");
    const found = checkpointFindings(report);
    expect(found.map((f) => f.evidence?.op)).toEqual(["SaveV2"]);
    expect(String(found[0]?.evidence?.function)).toMatch(/^__inference_evil_save_fn_\d+$/);
  });

  it("RestoreV2 of a fixed path in a function named like _traced_restore: medium", async () => {
    const report = await scanSample("tf-onnx-bypass/tf_restore_in_traced_restore_name");
    const found = checkpointFindings(report);
    expect(found.map((f) => [f.evidence?.op, f.severity])).toEqual([["RestoreV2", "medium"]]);
    expect(report.verdict).toBe("suspicious");
  });

  it("TF1 graph: SaveV2 under a save_9/ scope that the signature's output depends on", async () => {
    const report = await scanSample("tf-onnx-bypass/tf1_save_scope_on_signature");
    const found = checkpointFindings(report);
    expect(found.map((f) => [f.evidence?.op, f.evidence?.node])).toEqual([["SaveV2", "save_9/SaveV2"]]);
  });

  it("the real savers stay trusted (TF 2.21 functions, TF1 save/ nodes)", async () => {
    for (const sample of [
      "tf-onnx-bypass/tf2_clean_with_fingerprint",
      "tf-onnx-bypass/tf1_clean",
      "savedmodel/clean",
    ]) {
      expect(checkpointFindings(await scanSample(sample)), sample).toEqual([]);
    }
  });
});

describe("what the reader takes from the meta graph", () => {
  it("saver nodes, signature and init-op nodes, object functions, graph inputs and calls", async () => {
    const bytes = readFileSync(join(SAMPLES, "tf-onnx-bypass/tf_save_in_traced_save_name/saved_model.pb"));
    const { summary, error } = await readSavedModel(new BufferSource(new Uint8Array(bytes)), "saved_model");
    expect(error).toBeUndefined();
    const meta = summary.metas[0];
    expect(meta?.saverRoots).toEqual(["StatefulPartitionedCall_1"]);
    expect(meta?.restoreRoots).toEqual(["StatefulPartitionedCall_2"]);
    expect(meta?.entryNodes).toEqual(expect.arrayContaining(["serving_default_x", "StatefulPartitionedCall", "NoOp"]));
    expect(meta?.objectFunctions.some((f) => /^__inference_helper_traced_save_\d+$/.test(f))).toBe(true);
    const saverCall = summary.nodes.find((n) => n.fn === "" && n.name === "StatefulPartitionedCall_1");
    expect(saverCall?.inputs).toEqual(["saver_filename", "Const"]);
    expect(saverCall?.calls[0]).toMatch(/^__inference__traced_save_\d+$/);
  });
});

// Synthetic summaries: the reader's view of a SavedModel, built by hand.
const node = (name: string, op: string, fn = "", more: Partial<TfNode> = {}): TfNode => ({
  name,
  op,
  fn,
  offset: 0,
  attrs: {},
  meta: 0,
  inputs: [],
  calls: [],
  ...more,
});
const call = (name: string, fn: string, f: string, inputs: string[] = []): TfNode =>
  node(name, "StatefulPartitionedCall", fn, { calls: [f], attrs: { f }, inputs });

function summary(nodes: TfNode[], meta: Partial<TfMeta>): SavedModelSummary {
  const functions = new Set(nodes.map((n) => n.fn).filter((f) => f !== ""));
  return {
    kind: "saved_model",
    metaGraphs: 1,
    tags: [],
    tensorflowVersion: "",
    nodes,
    functions,
    assets: [],
    saverPrefixes: new Set(),
    kerasMetadata: [],
    metas: [
      {
        saverRoots: [],
        restoreRoots: [],
        entryNodes: [],
        objectFunctions: [],
        gradients: [],
        ...meta,
      },
    ],
  };
}
const ckpt = (findings: FindingInput[]) =>
  findings
    .filter((f) => f.ruleId === "savedmodel/checkpoint-op")
    .map((f) => `${f.evidence?.function}:${f.evidence?.op}`);

/** A TF2 layout: a signature node calling `serve`, saver nodes calling the saver functions. */
const tf2 = (extra: TfNode[] = [], meta: Partial<TfMeta> = {}) =>
  summary(
    [
      call("StatefulPartitionedCall", "", "serve"),
      call("StatefulPartitionedCall_1", "", "__inference__traced_save_9", ["saver_filename"]),
      call("StatefulPartitionedCall_2", "", "__inference__traced_restore_10", ["saver_filename"]),
      node("x", "Identity", "serve"),
      node("SaveV2", "SaveV2", "__inference__traced_save_9"),
      node("MergeV2Checkpoints", "MergeV2Checkpoints", "__inference__traced_save_9"),
      node("RestoreV2", "RestoreV2", "__inference__traced_restore_10"),
      ...extra,
    ],
    {
      saverRoots: ["StatefulPartitionedCall_1"],
      restoreRoots: ["StatefulPartitionedCall_2"],
      entryNodes: ["StatefulPartitionedCall"],
      ...meta,
    },
  );

describe("which functions are the saver's", () => {
  it("the functions the SaverDef's nodes call are trusted", () => {
    expect(ckpt(savedModelFindings(tf2()))).toEqual([]);
  });

  it("the saver's own function, also called from the signature, is not", () => {
    const s = tf2([call("c", "serve", "__inference__traced_save_9")]);
    expect(ckpt(savedModelFindings(s))).toEqual([
      "__inference__traced_save_9:SaveV2",
      "__inference__traced_save_9:MergeV2Checkpoints",
    ]);
  });

  it("nor one an object of the object graph exposes (callable after tf.saved_model.load)", () => {
    const s = tf2([], { objectFunctions: ["__inference__traced_restore_10"] });
    expect(ckpt(savedModelFindings(s))).toEqual(["__inference__traced_restore_10:RestoreV2"]);
  });

  it("a function nothing calls is trusted by its saver-like name only (nothing in the model runs it)", () => {
    const s = tf2([node("SaveV2", "SaveV2", "__inference__traced_save_77"), node("SaveV2", "SaveV2", "leftover_9")]);
    expect(ckpt(savedModelFindings(s))).toEqual(["leftover_9:SaveV2"]);
  });

  it("a function called by op name, or through a func attribute other than f, is followed", () => {
    const s = tf2([
      node("w", "While", "serve", { calls: ["body_save_fn_3"] }),
      node("SaveV2", "SaveV2", "body_save_fn_3"),
      node("direct", "restore_fn", "serve"),
      node("RestoreV2", "RestoreV2", "restore_fn"),
    ]);
    expect(ckpt(savedModelFindings(s)).sort()).toEqual(["body_save_fn_3:SaveV2", "restore_fn:RestoreV2"]);
  });

  it("a gradient function of an exposed function is exposed", () => {
    const s = tf2([node("SaveV2", "SaveV2", "grad_save_fn_4")], { gradients: [["serve", "grad_save_fn_4"]] });
    expect(ckpt(savedModelFindings(s))).toEqual(["grad_save_fn_4:SaveV2"]);
  });

  it("the restore function (run when a TF1 SavedModel is loaded) must not write files", () => {
    const s = tf2([node("SaveV2_1", "SaveV2", "__inference__traced_restore_10")]);
    expect(ckpt(savedModelFindings(s))).toEqual(["__inference__traced_restore_10:SaveV2"]);
  });
});
