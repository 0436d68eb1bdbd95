/**
 * The OpenVINO IR analyzer: reads the `.xml` graph through the XML layer (DOCTYPE attacks included)
 * and reports layers outside the standard operation sets (they need a native extension library)
 * and references to such libraries; records the graph's facts. The weights `.bin` is not read.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { readXmlDocument, type XmlElement } from "../xml/reader.js";
import { isStandardOperation } from "./ops.js";

/** Most layers tracked by id (for the edge checks); beyond it the graph is still scanned. */
const MAX_TRACKED_LAYERS = 2_000_000;
/** Inputs/outputs recorded as facts. */
const MAX_IO = 64;
/** A value naming a native library. */
const LIBRARY = /\.(?:so(?:\.\d+)*|dll|dylib)(?=$|[\s"',;:)\]])/i;

interface Io {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

/** What the graph reveals. */
export interface IrSummary {
  name?: string;
  version?: string;
  layers: number;
  opTypes: Map<string, number>;
  inputs: Io[];
  outputs: Io[];
  runtimeVersion?: string;
}

const shapeOf = (text: string | undefined): (number | string)[] =>
  (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .slice(0, 16)
    .map((s) => (/^\d{1,15}$/.test(s) ? Number(s) : s.slice(0, 32)));

/**
 * Reads an IR document and returns its findings and summary.
 * @param ctx - the analysis context (source, report, checkpoint)
 */
export async function analyzeIr(ctx: Pick<AnalysisContext, "source" | "report" | "checkpoint">): Promise<IrSummary> {
  const findings = new FindingList();
  const summary: IrSummary = { layers: 0, opTypes: new Map(), inputs: [], outputs: [] };
  const path: string[] = [];
  const topLayers = new Set<string>();
  const edges: Array<[string, string, number]> = [];
  let sawLayers = false;
  let sawEdges = false;
  let rtInfo = 0;
  const customs = new Map<string, { count: number; first: XmlElement; name: string }>();
  const malformed = (message: string, el?: XmlElement) =>
    findings.add({ ruleId: "openvino/malformed", message, ...(el ? { evidence: { line: el.line } } : {}) });
  let resultLayer: { name: string } | undefined;

  const doc = await readXmlDocument(ctx, {
    open(el) {
      const parent = path.at(-1);
      path.push(el.local);
      if (el.depth === 1) {
        if (el.local !== "net") {
          malformed(`the root element is <${el.name.slice(0, 100)}>, not <net>`, el);
          return;
        }
        const name = el.attr("name");
        if (name !== undefined) summary.name = name.slice(0, 200);
        const version = el.attr("version");
        if (version !== undefined) summary.version = version.slice(0, 20);
        if (version !== "10" && version !== "11") {
          findings.add({
            ruleId: "openvino/unsupported-version",
            message: `IR version ${JSON.stringify((version ?? "(none)").slice(0, 20))}; OpenVINO reads versions 10 and 11`,
            evidence: { version: (version ?? "").slice(0, 20) },
          });
        }
        return;
      }
      if (el.depth === 2 && el.local === "layers") sawLayers = true;
      if (el.depth === 2 && el.local === "edges") sawEdges = true;
      if (el.local === "rt_info") rtInfo++;
      checkLibraries(el, rtInfo > 0, findings);
      if (el.local === "layer" && parent === "layers") {
        summary.layers++;
        const id = el.attr("id");
        const type = el.attr("type");
        const version = el.attr("version");
        if (id === undefined || type === undefined || type === "") {
          malformed(`a layer has no ${id === undefined ? "id" : "type"}`, el);
          return;
        }
        if (el.depth === 3) {
          if (topLayers.has(id)) malformed(`two layers have id ${JSON.stringify(id.slice(0, 50))}`, el);
          else if (topLayers.size < MAX_TRACKED_LAYERS) topLayers.add(id);
        }
        const key = `${version ?? ""}::${type}`.slice(0, 300);
        if (summary.opTypes.size < 10_000 || summary.opTypes.has(key)) {
          summary.opTypes.set(key, (summary.opTypes.get(key) ?? 0) + 1);
        }
        if (!isStandardOperation(version, type)) {
          const seen = customs.get(key);
          if (seen !== undefined) seen.count++;
          else if (customs.size < 1000) customs.set(key, { count: 1, first: el, name: el.attr("name") ?? id });
          else findings.add(customFinding(key, type, version, 1, el, el.attr("name") ?? id));
        }
        if (el.depth === 3 && type === "Parameter" && summary.inputs.length < MAX_IO) {
          summary.inputs.push({ name: (el.attr("name") ?? id).slice(0, 200), dtype: "", shape: [] });
        }
        resultLayer = el.depth === 3 && type === "Result" ? { name: (el.attr("name") ?? id).slice(0, 200) } : undefined;
        if (resultLayer !== undefined && summary.outputs.length < MAX_IO) {
          summary.outputs.push({ name: resultLayer.name, dtype: "", shape: [] });
        }
        return;
      }
      // <layer><data element_type shape> of a top-level Parameter
      if (el.local === "data" && el.depth === 4 && path[2] === "layer") {
        const last = summary.inputs.at(-1);
        const type = el.attr("element_type");
        if (last !== undefined && last.dtype === "" && type !== undefined) {
          last.dtype = type.slice(0, 20);
          last.shape = shapeOf(el.attr("shape"));
        }
      }
      // <layer type=Result><input><port precision> of the last Result
      if (el.local === "port" && el.depth === 5 && parent === "input" && resultLayer !== undefined) {
        const last = summary.outputs.at(-1);
        const precision = el.attr("precision");
        if (last !== undefined && last.dtype === "" && precision !== undefined) last.dtype = precision.slice(0, 20);
      }
      if (el.local === "edge" && el.depth === 3 && parent === "edges" && edges.length < MAX_TRACKED_LAYERS) {
        edges.push([el.attr("from-layer") ?? "", el.attr("to-layer") ?? "", el.line]);
      }
      if (path[1] === "rt_info" && el.depth === 3 && /^Runtime_version$/i.test(el.local)) {
        const value = el.attr("value");
        if (value !== undefined) summary.runtimeVersion = value.slice(0, 50);
      }
    },
    close(el) {
      path.pop();
      if (el.local === "rt_info") rtInfo--;
      if (el.local === "layer" && el.depth === 3) resultLayer = undefined;
    },
  });
  for (const [key, c] of customs) {
    const [version, type] = key.split("::");
    findings.add(customFinding(key, type ?? "", version || undefined, c.count, c.first, c.name));
  }
  if (doc.error === undefined && doc.root?.local === "net") {
    if (!sawLayers) malformed("the IR has no <layers>");
    if (!sawEdges && summary.layers > 1) malformed("the IR has no <edges>");
    if (topLayers.size < MAX_TRACKED_LAYERS) {
      for (const [from, to, line] of edges) {
        const missing = !topLayers.has(from) ? from : !topLayers.has(to) ? to : undefined;
        if (missing !== undefined) {
          findings.add({
            ruleId: "openvino/malformed",
            message: `the edge at line ${line} names layer ${JSON.stringify(missing.slice(0, 50))}, which does not exist`,
            evidence: { line },
          });
          break;
        }
      }
    }
  }
  for (const f of findings.list()) ctx.report(f as FindingInput);
  return summary;
}

function customFinding(
  key: string,
  type: string,
  version: string | undefined,
  count: number,
  el: XmlElement,
  name: string,
): FindingInput {
  return {
    ruleId: "openvino/custom-layer",
    message: `${count} layer(s) of type ${JSON.stringify(type.slice(0, 100))}${version === undefined ? "" : ` from ${JSON.stringify(version.slice(0, 100))}`}, which no standard opset defines: loading needs an extension library`,
    evidence: {
      type: type.slice(0, 200),
      version: (version ?? "").slice(0, 200),
      count,
      layer: name.slice(0, 200),
      line: el.line,
      key: key.slice(0, 300),
    },
  };
}

/** Reports attribute values naming native libraries (inside `<rt_info>`, or on `extension` attributes). */
function checkLibraries(el: XmlElement, inRtInfo: boolean, findings: FindingList): void {
  const named = /extension/i.test(el.local);
  for (const a of el.attributes) {
    if (!inRtInfo && !named && !/extension/i.test(a.local)) continue;
    const m = LIBRARY.exec(a.value);
    if (m === null) continue;
    findings.add({
      ruleId: "openvino/extension-library",
      message: `<${el.name.slice(0, 100)} ${a.name.slice(0, 100)}> names a native library: ${JSON.stringify(a.value.slice(0, 200))}`,
      evidence: {
        element: el.name.slice(0, 100),
        attribute: a.name.slice(0, 100),
        value: a.value.slice(0, 300),
        line: el.line,
      },
    });
  }
}

/** Records what the graph reveals. */
function recordFacts(ctx: AnalysisContext, s: IrSummary): void {
  if (s.version !== undefined) ctx.fact("openvino.irVersion", /^\d+$/.test(s.version) ? Number(s.version) : s.version);
  if (s.name !== undefined) ctx.fact("openvino.name", s.name);
  ctx.fact("openvino.layers", s.layers);
  // standard operations by type (whatever opset), others as `version::type`
  const byType = new Map<string, number>();
  for (const [k, n] of s.opTypes) {
    const key = k.replace(/^(?:opset\d+)?::/, "");
    byType.set(key, (byType.get(key) ?? 0) + n);
  }
  const ops = [...byType].sort((a, b) => b[1] - a[1]).slice(0, 50);
  ctx.fact("openvino.opTypes", Object.fromEntries(ops));
  if (s.inputs.length > 0) ctx.fact("inputs", s.inputs);
  if (s.outputs.length > 0) ctx.fact("outputs", s.outputs);
  if (s.runtimeVersion !== undefined) ctx.fact("openvino.runtimeVersion", s.runtimeVersion);
}

/** Analyzer of OpenVINO IR `.xml` graphs. */
export const openvinoAnalyzer: Analyzer = {
  name: "openvino",
  formats: ["openvino-ir"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const summary = await analyzeIr(ctx);
    recordFacts(ctx, summary);
  },
};
