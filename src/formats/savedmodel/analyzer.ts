/**
 * The TensorFlow SavedModel analyzer: flags graph ops that run Python, touch files or need custom
 * native ops, asset paths that escape the SavedModel, and Keras layer metadata (Lambda layers ...).
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { parsePlainJson } from "../../core/json.js";
import { reportDuplicateKeys } from "../hf/json-analyzer.js";
import { reportKerasConfig } from "../keras/analyzer.js";
import { analyzeKerasConfig } from "../keras/config.js";
import { lexicalProblem } from "../onnx/external.js";
import { readSavedModel, type SavedModelSummary, type TfNode } from "./reader.js";
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

const SAVER_FUNCTION = /_traced_(save|restore)_\d+$|_(save|restore)_fn_\d+$|^(save|restore)_fn$/;

function inCheckpointContext(node: TfNode, summary: SavedModelSummary): boolean {
  if (node.fn !== "") return SAVER_FUNCTION.test(node.fn);
  if (/^save(_\d+)?\//.test(node.name)) return true;
  for (const prefix of summary.saverPrefixes) if (node.name.startsWith(prefix)) return true;
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
      if (!inCheckpointContext(node, summary)) {
        add(`ckpt:${node.op}:${node.fn}`, node, {
          ruleId: "savedmodel/checkpoint-op",
          message: `${where} uses ${node.op} outside the checkpoint saver (node ${node.name})`,
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

/** Analyzer for `saved_model.pb` and `keras_metadata.pb`. */
export const savedModelAnalyzer: Analyzer = {
  name: "tf-savedmodel",
  formats: ["tf-savedmodel"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    // The name decides, as it does for TensorFlow, which parses `saved_model.pb` as a SavedModel
    // whatever its first bytes (a field of the wrong wire type is an unknown field to protobuf).
    const base = ctx.name.slice(ctx.name.lastIndexOf("/") + 1).toLowerCase();
    const kind = base === "keras_metadata.pb" ? "keras_metadata" : "saved_model";
    const { summary, error } = await readSavedModel(ctx.source, kind, { checkpoint: () => ctx.checkpoint() });
    if (kind === "saved_model") {
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
