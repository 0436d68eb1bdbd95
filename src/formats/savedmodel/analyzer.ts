/**
 * The TensorFlow SavedModel analyzer: flags graph ops that run Python, touch files or need custom
 * native ops, asset paths that escape the SavedModel, and Keras layer metadata (Lambda layers ...),
 * in `saved_model.pb`, in TF1 MetaGraphDef files (`model.ckpt.meta`, analysed as the SavedModel's
 * one meta graph), in frozen GraphDefs, in the text format of the three (`saved_model.pbtxt`, text
 * `.meta`, `graph.pbtxt`) and in `keras_metadata.pb`.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { pushAll } from "../../core/arrays.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { parsePlainJson } from "../../core/json.js";
import { reportDuplicateKeys } from "../hf/json-analyzer.js";
import { reportKerasConfig } from "../keras/analyzer.js";
import { analyzeKerasConfig } from "../keras/config.js";
import { lexicalProblem } from "../onnx/external.js";
import { detectGraphDef, detectMetaGraph, paddedTextGraph, textKind, textKindByField } from "./index.js";
import {
  MAX_TEXT_BYTES,
  readSavedModel,
  readSavedModelText,
  type SavedModelReadResult,
  type SavedModelSummary,
  type TfMeta,
  type TfNode,
  tensorNode,
} from "./reader.js";
import { TF_OPS } from "./tf-ops.js";

/** Ops that call back into the Python interpreter. */
export const PY_FUNC_OPS: ReadonlySet<string> = new Set(["PyFunc", "PyFuncStateless", "EagerPyFunc"]);
/** Op names that load native libraries (none is a registered op; any appearance is hostile). */
export const LOAD_LIBRARY_OPS: ReadonlySet<string> = new Set([
  "LoadLibrary",
  "LoadOpLibrary",
  "TF_LoadLibrary",
  "LoadPluggableDeviceLibrary",
]);
/** Ops that read or write files or other paths. */
export const FILE_IO_OPS: ReadonlySet<string> = new Set(
  `ReadFile WriteFile MatchingFiles ImmutableConst WholeFileReader WholeFileReaderV2 TextLineReader TextLineReaderV2
  FixedLengthRecordReader FixedLengthRecordReaderV2 TFRecordReader TFRecordReaderV2 LMDBReader TextLineDataset
  TFRecordDataset TFRecordDatasetV2 FixedLengthRecordDataset FixedLengthRecordDatasetV2 LMDBDataset ExperimentalLMDBDataset
  CSVDataset CSVDatasetV2 ExperimentalCSVDataset SqlDataset ExperimentalSqlDataset MatchingFilesDataset
  ExperimentalMatchingFilesDataset DatasetToTFRecord ExperimentalDatasetToTFRecord SnapshotDataset SnapshotDatasetV2
  SaveDataset SaveDatasetV2 LoadDataset CreateSummaryFileWriter CreateSummaryDbWriter DebugIdentity DebugIdentityV2
  DebugIdentityV3 DebugNanCount DebugNumericSummary DebugNumericSummaryV2 InitializeTableFromTextFile
  InitializeTableFromTextFileV2`
    .split(/\s+/)
    .filter(Boolean),
);
/** File ops that legitimately read assets (vocabularies): reported at `low`. */
const ASSET_READERS: ReadonlySet<string> = new Set(["InitializeTableFromTextFile", "InitializeTableFromTextFileV2"]);
/** Checkpoint ops: expected in the saver, flagged elsewhere. */
export const CHECKPOINT_OPS: ReadonlySet<string> = new Set([
  "Save",
  "SaveV2",
  "SaveSlices",
  "Restore",
  "RestoreV2",
  "RestoreSlice",
  "MergeV2Checkpoints",
  "LoadAndRemapMatrix",
  "GenerateVocabRemapping",
]);
/** Ops that call functions of the library by attribute. */
const CALL_OPS: ReadonlySet<string> = new Set(["PartitionedCall", "StatefulPartitionedCall"]);

/** Checkpoint ops that write files: `high` outside the saver, as `WriteFile` is. */
const CHECKPOINT_WRITES: ReadonlySet<string> = new Set(["Save", "SaveV2", "SaveSlices", "MergeV2Checkpoints"]);

/** Node names of TF1 savers (`save/`, `save_1/` ...), trusted only where nothing runs them. */
const SAVER_SCOPE = /^save(_\d+)?\//;
/** Names of TF2 saver functions, trusted only where nothing runs them. */
const SAVER_FUNCTION = /_traced_(save|restore)_\d+$|_(save|restore)_fn_\d+$|^(save|restore)_fn$/;

/** Where the checkpoint machinery is, and what loaders and callers run, in one meta graph. */
interface Reach {
  /** Graph nodes a signature, an init/main op collection runs (inputs followed backwards). */
  readonly exposedNodes: ReadonlySet<string>;
  /**
   * Graph nodes any node outside the saver runs (a TF1 session runs what it is asked to fetch, by
   * any name, and everything that node needs).
   */
  readonly fetchedNodes: ReadonlySet<string>;
  /** Functions those nodes call, the object graph exposes, and everything they call. */
  readonly exposedFunctions: ReadonlySet<string>;
  /** Graph nodes the SaverDef's save and restore nodes run. */
  readonly saverNodes: ReadonlySet<string>;
  /** Functions those call. */
  readonly saverFunctions: ReadonlySet<string>;
  /** Graph nodes and functions the restore op runs (the TF1 loader runs it at load). */
  readonly restoreNodes: ReadonlySet<string>;
  readonly restoreFunctions: ReadonlySet<string>;
}

const EMPTY_META: TfMeta = { saverRoots: [], restoreRoots: [], entryNodes: [], objectFunctions: [], gradients: [] };

/**
 * Reachability in each meta graph: graph nodes backwards through their inputs (data and control),
 * functions through every function-valued attribute and calls by op name. The saver is what the
 * SaverDef names, never what is named like it.
 */
function reachability(summary: SavedModelSummary): Map<number, Reach> {
  const byMeta = new Map<number, { graph: Map<string, TfNode>; fns: Map<string, TfNode[]> }>();
  for (const n of summary.nodes) {
    let m = byMeta.get(n.meta);
    if (m === undefined) {
      m = { graph: new Map(), fns: new Map() };
      byMeta.set(n.meta, m);
    }
    if (n.fn === "") m.graph.set(n.name, n);
    else {
      const list = m.fns.get(n.fn);
      if (list === undefined) m.fns.set(n.fn, [n]);
      else list.push(n);
    }
  }
  const result = new Map<number, Reach>();
  for (const [index, { graph, fns }] of byMeta) {
    const meta = summary.metas[index] ?? EMPTY_META;
    const callees = (n: TfNode): string[] => (fns.has(n.op) ? [...n.calls, n.op] : [...n.calls]);
    const gradients = new Map<string, string[]>();
    for (const [f, g] of meta.gradients) gradients.set(f, [...(gradients.get(f) ?? []), g]);
    const functionsFrom = (start: Iterable<string>): Set<string> => {
      const seen = new Set<string>();
      const todo = [...start];
      for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
        if (seen.has(f)) continue;
        seen.add(f);
        for (const n of fns.get(f) ?? []) pushAll(todo, callees(n));
        pushAll(todo, gradients.get(f) ?? []);
      }
      return seen;
    };
    const nodesFrom = (start: Iterable<string>): Set<string> => {
      const seen = new Set<string>();
      const todo = [...start];
      for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
        if (seen.has(name)) continue;
        const n = graph.get(name);
        if (n === undefined) continue;
        seen.add(name);
        for (const input of n.inputs) todo.push(tensorNode(input));
      }
      return seen;
    };
    const calledBy = (nodes: Set<string>): string[] =>
      [...nodes].flatMap((name) => {
        const n = graph.get(name);
        return n === undefined ? [] : callees(n);
      });
    const exposedNodes = nodesFrom(meta.entryNodes);
    const saverNodes = nodesFrom([...meta.saverRoots, ...meta.restoreRoots]);
    const restoreNodes = nodesFrom(meta.restoreRoots);
    // every node neither the saver's nor named like a saver's may be fetched: what it needs runs
    const prefixes = [...summary.saverPrefixes];
    const fetchedNodes = nodesFrom(
      [...graph.keys()].filter((name) => !saverNodes.has(name) && !isSaverNamed(name, prefixes)),
    );
    const fetched = new Set([...exposedNodes, ...fetchedNodes]);
    result.set(index, {
      exposedNodes,
      fetchedNodes,
      exposedFunctions: functionsFrom([...calledBy(fetched), ...meta.objectFunctions]),
      saverNodes,
      saverFunctions: functionsFrom(calledBy(saverNodes)),
      restoreNodes,
      restoreFunctions: functionsFrom(calledBy(restoreNodes)),
    });
  }
  return result;
}

/**
 * Why a checkpoint op is outside the checkpoint machinery, or undefined when it is the saver's:
 * reached only from the graph nodes the SaverDef names, and no write in what the restore op runs.
 * A saver-like name (`save/` scope, `__inference__traced_save_N`) counts only for what nothing in
 * the model runs: no signature, init op, object function, saver node or function calling it.
 */
function outsideSaver(node: TfNode, reach: Reach | undefined, summary: SavedModelSummary): string | undefined {
  const writes = CHECKPOINT_WRITES.has(node.op);
  if (node.fn !== "") {
    if (reach?.exposedFunctions.has(node.fn)) return "reachable from a signature, an init op or an object's function";
    if (writes && reach?.restoreFunctions.has(node.fn))
      return "writes files from the restore function, which loading a TF1 SavedModel runs";
    if (reach?.saverFunctions.has(node.fn)) return undefined;
    // nothing in the model calls it (a leftover of the saver, or a library built by hand)
    if (SAVER_FUNCTION.test(node.fn)) return undefined;
    return "in a function the saver does not call";
  }
  if (reach?.exposedNodes.has(node.name)) {
    return "reachable from a signature, an init op, a variable initializer or a queue runner";
  }
  if (reach?.fetchedNodes.has(node.name)) {
    return "reachable from graph nodes outside the saver, which a session runs when they are fetched";
  }
  if (writes && reach?.restoreNodes.has(node.name))
    return "writes files from the restore op, which loading a TF1 SavedModel runs (tf.saved_model.load too), as Saver.restore does";
  if (reach?.saverNodes.has(node.name)) return undefined;
  if (isSaverNamed(node.name, summary.saverPrefixes)) return undefined;
  return "outside the checkpoint saver";
}

/** Whether a node is named like the checkpoint saver's (`save/...`, or a SaverDef's own scope). */
function isSaverNamed(name: string, prefixes: Iterable<string>): boolean {
  if (SAVER_SCOPE.test(name)) return true;
  for (const prefix of prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

/** Distinct op uses reported per rule; further ones are counted in one more finding. */
const MAX_FINDINGS_PER_RULE = 50;

/**
 * Findings for a SavedModel summary (ops and assets; Keras metadata is analysed separately).
 * @param summary - what the reader found
 */
export function savedModelFindings(summary: SavedModelSummary): FindingInput[] {
  const findings: FindingInput[] = [];
  // one finding per distinct use (op, function ...), counting its nodes; uses past the cap are
  // not remembered, each of their nodes counts as one more occurrence
  const perKey = new Map<string, FindingInput & { count: number }>();
  const reach = summary.nodes.some((n) => CHECKPOINT_OPS.has(n.op)) ? reachability(summary) : new Map<number, Reach>();
  const capped = new FindingList<FindingInput & { count: number }>(MAX_FINDINGS_PER_RULE);
  const add = (key: string, node: TfNode, finding: Omit<FindingInput, "offset" | "evidence">) => {
    const known = perKey.get(key);
    if (known) {
      known.count++;
      return;
    }
    const entry = {
      ...finding,
      offset: node.offset,
      evidence: { op: node.op.slice(0, 200), node: node.name.slice(0, 200), function: node.fn.slice(0, 200) },
      count: 1,
    };
    const before = capped.kept.length;
    capped.add(entry);
    if (capped.kept.length > before) perKey.set(key, entry);
  };
  for (const node of summary.nodes) {
    const where = node.fn ? `function ${node.fn}` : "the graph";
    if (PY_FUNC_OPS.has(node.op)) {
      add(`py:${node.op}:${node.fn}`, node, {
        ruleId: "savedmodel/py-func",
        message: `${where} calls Python through ${node.op} (node ${node.name})`,
      });
    } else if (LOAD_LIBRARY_OPS.has(node.op)) {
      add(`lib:${node.op}`, node, {
        ruleId: "savedmodel/load-library",
        message: `${where} loads a native library through ${node.op} (node ${node.name})`,
      });
    } else if (FILE_IO_OPS.has(node.op)) {
      add(`io:${node.op}:${node.fn}`, node, {
        ruleId: "savedmodel/file-io-op",
        message: `${where} touches the file system through ${node.op} (node ${node.name})`,
        ...(ASSET_READERS.has(node.op) ? { severity: "low" as const } : {}),
      });
    } else if (node.op === "PrintV2" && (node.attrs.output_stream ?? "").startsWith("file://")) {
      add(`print:${node.attrs.output_stream}`, node, {
        ruleId: "savedmodel/file-io-op",
        message: `${where} prints to ${node.attrs.output_stream} (node ${node.name})`,
      });
    } else if (
      (node.op === "DecodeProtoV2" || node.op === "EncodeProto") &&
      node.attrs.descriptor_source !== undefined &&
      node.attrs.descriptor_source !== "local://" &&
      !node.attrs.descriptor_source.startsWith("bytes://")
    ) {
      add(`proto:${node.attrs.descriptor_source}`, node, {
        ruleId: "savedmodel/file-io-op",
        message: `${where} reads a protobuf descriptor from ${node.attrs.descriptor_source} (node ${node.name})`,
      });
    } else if (CHECKPOINT_OPS.has(node.op)) {
      const why = outsideSaver(node, reach.get(node.meta), summary);
      if (why !== undefined) {
        add(`ckpt:${node.op}:${node.fn}`, node, {
          ruleId: "savedmodel/checkpoint-op",
          message: `${where} uses ${node.op} outside the checkpoint saver: ${why} (node ${node.name})`,
          ...(CHECKPOINT_WRITES.has(node.op) ? { severity: "high" as const } : {}),
        });
      }
    } else if (!TF_OPS.has(node.op) && !summary.functions.has(node.op)) {
      add(`unknown:${node.op}`, node, {
        ruleId: "savedmodel/unknown-op",
        message: `${where} uses op ${JSON.stringify(node.op.slice(0, 200))}, which TensorFlow does not define (node ${node.name})`,
      });
    }
    if (CALL_OPS.has(node.op) && node.attrs.f !== undefined && !summary.functions.has(node.attrs.f)) {
      add(`call:${node.attrs.f}`, node, {
        ruleId: "savedmodel/unknown-op",
        message: `${where} calls function ${JSON.stringify(node.attrs.f.slice(0, 200))}, which the library does not define`,
      });
    }
  }
  for (const f of capped.list()) {
    if (!("count" in f)) findings.push(f);
    else {
      const { count, ...finding } = f;
      findings.push({ ...finding, evidence: { ...finding.evidence, count } });
    }
  }
  for (const asset of summary.assets) {
    const problem = lexicalProblem(asset.filename);
    if (problem !== undefined) {
      findings.push({
        ruleId: "savedmodel/asset-path-traversal",
        message: `asset ${JSON.stringify(asset.filename.slice(0, 200))} resolves outside assets/ (${problem})`,
        offset: asset.offset,
        evidence: { filename: asset.filename.slice(0, 400), problem },
      });
    }
  }
  return findings;
}

/**
 * Which message a file holds, and in which encoding. The name decides, as it does for TensorFlow,
 * which parses `saved_model.pb` as a SavedModel whatever its first bytes (a field of the wrong wire
 * type is an unknown field to protobuf) and `saved_model.pbtxt` as a text SavedModel; any other
 * file is a MetaGraphDef or a GraphDef when its structure is one (`import_meta_graph` and
 * `import_graph_def` take any name), binary or text, else a SavedModel (a `.pb` with SavedModel
 * fields).
 */
async function kindOf(ctx: AnalysisContext): Promise<{ kind: SavedModelSummary["kind"]; text: boolean }> {
  const base = ctx.name.slice(ctx.name.lastIndexOf("/") + 1).toLowerCase();
  if (base === "keras_metadata.pb") return { kind: "keras_metadata", text: false };
  if (base === "saved_model.pb") return { kind: "saved_model", text: false };
  const input = { head: ctx.head, tail: ctx.head, size: ctx.source.size, name: ctx.name };
  if (detectMetaGraph(input) !== undefined) return { kind: "meta_graph", text: false };
  if (detectGraphDef(input) !== undefined) return { kind: "graph_def", text: false };
  const text = textKind(input);
  if (text !== undefined) return { kind: text, text: true };
  if (paddedTextGraph(input)) {
    // padded past the head: the first field of the whole text decides (a GraphDef's parse reports
    // anything else as malformed)
    const whole = ctx.source.size <= MAX_TEXT_BYTES ? await ctx.source.read(0, ctx.source.size) : ctx.head;
    return { kind: textKindByField(whole) ?? "graph_def", text: true };
  }
  return { kind: "saved_model", text: false };
}

/**
 * Reads the file. A text MetaGraphDef is also read as binary: `import_meta_graph` tries the binary
 * parse first, so a file that is both (a binary graph hidden in a text file's comments) loads as
 * binary; what that reading finds is reported too.
 */
async function read(
  ctx: AnalysisContext,
  kind: SavedModelSummary["kind"],
  text: boolean,
): Promise<SavedModelReadResult> {
  const options = { checkpoint: () => ctx.checkpoint() };
  if (!text || kind === "keras_metadata") return readSavedModel(ctx.source, kind, options);
  const result = await readSavedModelText(ctx.source, kind, options);
  if (result.anyTypes !== undefined && result.anyTypes.length > 0) {
    ctx.fact("savedmodel.textAnyTypes", [...new Set(result.anyTypes)].slice(0, 50));
  }
  if (kind !== "meta_graph") return result;
  const binary = await readSavedModel(ctx.source, "meta_graph", options);
  if (binary.error !== undefined || binary.summary.nodes.length === 0) return result;
  for (const n of binary.summary.nodes) result.summary.nodes.push({ ...n, meta: n.meta + result.summary.metas.length });
  pushAll(result.summary.metas, binary.summary.metas);
  result.summary.metaGraphs += binary.summary.metaGraphs;
  for (const f of binary.summary.functions) result.summary.functions.add(f);
  for (const p of binary.summary.saverPrefixes) result.summary.saverPrefixes.add(p);
  pushAll(result.summary.assets, binary.summary.assets);
  return result;
}

/** Analyzer for `saved_model.pb`, MetaGraphDef files and `keras_metadata.pb`. */
export const savedModelAnalyzer: Analyzer = {
  name: "tf-savedmodel",
  formats: ["tf-savedmodel"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const { kind, text } = await kindOf(ctx);
    const { summary, error } = await read(ctx, kind, text);
    if (kind !== "keras_metadata") {
      if (kind === "meta_graph" || kind === "graph_def") ctx.fact("savedmodel.kind", kind);
      if (text) ctx.fact("savedmodel.encoding", "text");
      ctx.fact("savedmodel.metaGraphs", summary.metaGraphs);
      if (summary.tags.length > 0) ctx.fact("savedmodel.tags", [...new Set(summary.tags)]);
      if (summary.tensorflowVersion) ctx.fact("savedmodel.tensorflowVersion", summary.tensorflowVersion);
      ctx.fact("savedmodel.nodes", summary.nodes.length);
      ctx.fact("savedmodel.functions", summary.functions.size);
      const ops = new Map<string, number>();
      for (const n of summary.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
      ctx.fact("savedmodel.opTypes", Object.fromEntries([...ops].sort((a, b) => b[1] - a[1]).slice(0, 50)));
    }
    for (const finding of savedModelFindings(summary)) ctx.report(finding);
    for (const meta of summary.kerasMetadata) {
      const where = `${ctx.name}:${meta.path}`;
      let value: unknown;
      try {
        const parsed = parsePlainJson(meta.json, { maxDepth: 512, maxTreeBytes: 32 << 20 });
        value = parsed.value;
        // the metadata is no file of its own: no other analyzer sees its repeated keys
        reportDuplicateKeys(
          (f) => ctx.report({ ...f, offset: meta.offset, evidence: { ...f.evidence, source: where.slice(0, 200) } }),
          parsed.duplicates,
        );
      } catch {
        ctx.report({
          ruleId: "keras/malformed",
          message: `Keras metadata of ${meta.path} is not valid JSON`,
          offset: meta.offset,
          evidence: { source: meta.path.slice(0, 200) },
        });
        continue;
      }
      await reportKerasConfig(ctx, analyzeKerasConfig(value, where), where);
    }
    if (summary.kerasMetadata.length > 0) ctx.fact("keras.savedModelLayers", summary.kerasMetadata.length);
    if (error === undefined) return;
    if (error.code === "BUDGET_EXCEEDED") throw error;
    ctx.report({
      ruleId: "savedmodel/malformed",
      message: `the protobuf is invalid: ${error.message}`,
      ...(error.offset === undefined ? {} : { offset: error.offset }),
      evidence: { code: error.code },
    });
  },
};
