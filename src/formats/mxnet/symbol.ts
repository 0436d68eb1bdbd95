/**
 * MXNet symbol graphs (`*-symbol.json`, `sym.tojson()`): `nodes` (each `{op, name, inputs,
 * attrs}`; inputs are `[node, output, version]` of earlier nodes), `arg_nodes` (indices of the
 * variables), `node_row_ptr`, `heads` (the outputs) and `attrs.mxnet_version` (`["int", N]`,
 * N = major·10000 + minor·100 + patch). Older files name the per-node attributes `attr` or
 * `param`.
 * @module
 */
import type { Evidence, RuleId } from "../../core/findings.js";
import { preview } from "../../core/preview.js";

/** Something the graph reveals. */
export interface SymbolIssue {
  readonly ruleId: RuleId;
  readonly message: string;
  readonly evidence?: Evidence;
}

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);
const own = (o: Rec, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
const isIndex = (v: unknown, n: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v < n;

/**
 * Validates a parsed symbol graph.
 * @returns undefined when the document is not a symbol graph (no `nodes`/`heads`)
 */
export function analyzeSymbol(
  root: unknown,
): { issues: SymbolIssue[]; nodes: number; ops: Set<string>; version: string | undefined } | undefined {
  if (!isRecord(root)) return undefined;
  const nodes = own(root, "nodes");
  const heads = own(root, "heads");
  if (!Array.isArray(nodes) || !Array.isArray(heads)) return undefined;
  const issues: SymbolIssue[] = [];
  const malformed = (message: string) => issues.push({ ruleId: "mxnet/malformed", message });
  const ops = new Set<string>();
  let bad = 0;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (!isRecord(node) || typeof own(node, "op") !== "string" || typeof own(node, "name") !== "string") {
      if (bad++ === 0) malformed(`node ${i} lacks op or name`);
      continue;
    }
    const op = own(node, "op") as string;
    const name = preview(own(node, "name") as string, 80);
    ops.add(op);
    const inputs = own(node, "inputs");
    if (!Array.isArray(inputs) || !inputs.every((e) => Array.isArray(e) && e.length >= 2 && isIndex(e[0], i))) {
      if (bad++ === 0) malformed(`node ${i} (${name}) has inputs that are not earlier nodes`);
    }
    const attrs = [own(node, "attrs"), own(node, "attr"), own(node, "param")].find(isRecord);
    const opType = attrs === undefined ? undefined : own(attrs, "op_type");
    if (op === "Custom") {
      issues.push({
        ruleId: "mxnet/custom-operator",
        message: `node ${i} (${name}) runs the Python custom operator ${JSON.stringify(preview(String(opType ?? "?"), 80))}`,
        evidence: { node: name, opType: preview(String(opType ?? ""), 80) },
      });
    } else if (op === "_Native" || op === "_NDArray") {
      issues.push({
        ruleId: "mxnet/native-operator",
        message: `node ${i} (${name}) is a ${op} operator: it calls callbacks through a pointer stored in the file`,
        evidence: { node: name, op, info: preview(String((attrs === undefined ? "" : own(attrs, "info")) ?? ""), 40) },
      });
    }
  }
  const argNodes = own(root, "arg_nodes");
  if (argNodes !== undefined && (!Array.isArray(argNodes) || !argNodes.every((v) => isIndex(v, nodes.length)))) {
    malformed("arg_nodes point outside the graph");
  }
  if (!heads.every((h) => Array.isArray(h) && h.length >= 2 && isIndex(h[0], nodes.length))) {
    malformed("heads point outside the graph");
  }
  const attrs = own(root, "attrs");
  const v = isRecord(attrs) ? own(attrs, "mxnet_version") : undefined;
  const n = Array.isArray(v) && typeof v[1] === "number" && Number.isInteger(v[1]) && v[1] >= 0 ? v[1] : undefined;
  const version = n === undefined ? undefined : `${Math.floor(n / 10000)}.${Math.floor((n % 10000) / 100)}.${n % 100}`;
  return { issues, nodes: nodes.length, ops, version };
}
