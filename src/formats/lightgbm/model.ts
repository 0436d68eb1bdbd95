/**
 * LightGBM's text model (`Booster.save_model`, `model_to_string`), read line by line: a header of
 * `key=value` lines opening with `tree` (`version`, `num_class`, `num_tree_per_iteration`,
 * `max_feature_idx`, `objective`, `feature_names`, `tree_sizes` ...), then blocks opening
 * `Tree=<i>` with `num_leaves`, `split_feature`, `threshold`, `decision_type`, `left_child`,
 * `right_child` (a negative child `c` is leaf `~c`), `leaf_value` ..., then `end of trees`, the
 * feature importances, the training parameters and `pandas_categorical`. Nothing in it is code.
 * @module
 */
import { type ByteSource, readChunks } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import type { Evidence, RuleId } from "../../core/findings.js";

/** Something wrong with the model. */
export interface LgbIssue {
  readonly ruleId: RuleId;
  readonly message: string;
  readonly offset?: number;
  readonly evidence?: Evidence;
}

/** What the model says about itself. */
export interface LgbModel {
  readonly header: Map<string, string>;
  trees: number;
  leaves: number;
  readonly issues: LgbIssue[];
}

/** Lines of a source, with their offsets; a line longer than `maxLine` is a budget error. */
async function* lines(source: ByteSource, maxLine: number): AsyncGenerator<[string, number]> {
  const decoder = new TextDecoder("utf-8");
  let pending = "";
  let pendingAt = 0;
  let pos = 0;
  for await (const chunk of readChunks(source)) {
    const text = decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const line = pending + text.slice(start, nl);
      if (line.length > maxLine) {
        throw new ModelgateError("BUDGET_EXCEEDED", `line longer than ${maxLine} characters`, {
          offset: pendingAt,
          budget: "lightgbmLine",
        });
      }
      yield [line.endsWith("\r") ? line.slice(0, -1) : line, pendingAt];
      pending = "";
      pendingAt = pos + nl + 1; // approximate for multi-byte text; offsets are for evidence only
      start = nl + 1;
    }
    pending += text.slice(start);
    if (pending.length > maxLine) {
      throw new ModelgateError("BUDGET_EXCEEDED", `line longer than ${maxLine} characters`, {
        offset: pendingAt,
        budget: "lightgbmLine",
      });
    }
    pos += chunk.length;
  }
  pending += decoder.decode();
  if (pending !== "") yield [pending, pendingAt];
}

const INT = /^-?\d+$/;

/**
 * Reads and validates a text model.
 * @param source - the file
 * @param options - budgets
 */
export async function readLightgbm(
  source: ByteSource,
  options: { maxTrees: number; maxLine?: number; checkpoint?: () => void },
): Promise<LgbModel> {
  const model: LgbModel = { header: new Map(), trees: 0, leaves: 0, issues: [] };
  const malformed = (message: string, offset: number): never => {
    throw new ModelgateError("MALFORMED", message, { offset });
  };
  let section: "header" | "trees" | "tail" = "header";
  let tree: Map<string, string> | undefined;
  let treeIndex = -1;
  let treeAt = 0;
  let invalid = 0;
  let first = true;
  let maxFeature = -1;
  const closeTree = () => {
    if (tree === undefined) return;
    const why = checkTree(tree, maxFeature);
    if (typeof why === "number") model.leaves += why;
    else if (invalid++ < 20) {
      model.issues.push({
        ruleId: "lightgbm/invalid-tree",
        message: `tree ${treeIndex}: ${why}`,
        offset: treeAt,
        evidence: { tree: treeIndex },
      });
    }
    tree = undefined;
  };
  for await (const [line, at] of lines(source, options.maxLine ?? 64 * 1024 * 1024)) {
    if (first) {
      if (line !== "tree") malformed("the model does not open with `tree`", 0);
      first = false;
      continue;
    }
    if (section === "header") {
      if (line.startsWith("Tree=") || line === "end of trees") {
        section = "trees";
        for (const key of ["version", "num_class", "max_feature_idx"]) {
          if (!model.header.has(key)) malformed(`header lacks ${key}`, at);
        }
        for (const key of ["num_class", "max_feature_idx", "num_tree_per_iteration"]) {
          const v = model.header.get(key);
          if (v !== undefined && !INT.test(v)) malformed(`${key}=${v.slice(0, 40)} is not an integer`, at);
        }
        maxFeature = Number(model.header.get("max_feature_idx"));
      } else {
        if (line === "") continue;
        const eq = line.indexOf("=");
        if (eq <= 0) {
          if (line === "average_output" || line === "linear_tree") model.header.set(line, "");
          else malformed(`header line without a value: ${line.slice(0, 60)}`, at);
        } else model.header.set(line.slice(0, eq), line.slice(eq + 1));
        continue;
      }
    }
    if (section === "trees") {
      if (line.startsWith("Tree=")) {
        closeTree();
        const i = line.slice(5);
        if (!INT.test(i) || Number(i) !== treeIndex + 1)
          malformed(`tree block ${line.slice(0, 40)} out of sequence`, at);
        treeIndex++;
        if (treeIndex >= options.maxTrees) {
          throw new ModelgateError("BUDGET_EXCEEDED", `more than ${options.maxTrees} trees`, {
            offset: at,
            budget: "maxEntries",
          });
        }
        if ((treeIndex & 0xff) === 0) options.checkpoint?.();
        tree = new Map();
        treeAt = at;
        continue;
      }
      if (line === "end of trees") {
        closeTree();
        section = "tail";
        continue;
      }
      if (line === "") continue;
      if (tree === undefined) malformed(`line outside a tree block: ${line.slice(0, 60)}`, at);
      const eq = line.indexOf("=");
      if (eq <= 0) malformed(`tree line without a value: ${line.slice(0, 60)}`, at);
      tree?.set(line.slice(0, eq), line.slice(eq + 1));
    }
    // The tail (feature importances, parameters, pandas_categorical) is data only.
  }
  if (first) malformed("empty model", 0);
  if (section !== "tail") malformed("the model has no `end of trees`", source.size);
  model.trees = treeIndex + 1;
  const sizes = model.header.get("tree_sizes");
  if (sizes !== undefined) {
    const list = sizes.trim() === "" ? [] : sizes.trim().split(" ");
    const total = list.reduce((a, s) => a + (INT.test(s) ? Number(s) : Number.NaN), 0);
    if (list.length !== model.trees || !Number.isFinite(total) || total > source.size) {
      malformed(`tree_sizes lists ${list.length} sizes (${total} bytes) for ${model.trees} trees`, 0);
    }
  }
  return model;
}

/** Integer list of a tree key, or undefined. */
function ints(tree: ReadonlyMap<string, string>, key: string): number[] | undefined {
  const v = tree.get(key);
  if (v === undefined) return undefined;
  const parts = v.trim() === "" ? [] : v.trim().split(" ");
  const out: number[] = [];
  for (const p of parts) {
    if (!INT.test(p)) return undefined;
    out.push(Number(p));
  }
  return out;
}

/** The tree's leaf count, or why it is invalid. */
function checkTree(tree: ReadonlyMap<string, string>, maxFeature: number): number | string {
  const leavesText = tree.get("num_leaves");
  if (leavesText === undefined || !INT.test(leavesText) || Number(leavesText) < 1)
    return "num_leaves is not a positive integer";
  const leaves = Number(leavesText);
  const values = tree.get("leaf_value")?.trim().split(" ") ?? [];
  if (values.length !== leaves) return `leaf_value has ${values.length} entries for ${leaves} leaves`;
  if (leaves === 1) return 1;
  const inner = leaves - 1;
  const left = ints(tree, "left_child");
  const right = ints(tree, "right_child");
  const split = ints(tree, "split_feature");
  if (left === undefined || right === undefined || split === undefined) return "child or split arrays missing";
  for (const [name, a] of [
    ["left_child", left],
    ["right_child", right],
    ["split_feature", split],
  ] as const) {
    if (a.length !== inner) return `${name} has ${a.length} entries for ${inner} internal nodes`;
  }
  for (const key of ["threshold", "decision_type"]) {
    const n = tree.get(key)?.trim().split(" ").length ?? 0;
    if (n !== inner) return `${key} has ${n} entries for ${inner} internal nodes`;
  }
  // Every internal node but the root and every leaf has exactly one parent.
  const nodeParent = new Uint8Array(inner);
  const leafParent = new Uint8Array(leaves);
  for (let i = 0; i < inner; i++) {
    for (const c of [left[i]!, right[i]!]) {
      if (c >= 0) {
        if (c >= inner || c === 0) return `node ${i} has child node ${c} outside 1..${inner - 1}`;
        if (nodeParent[c] === 1) return `node ${c} is reached twice`;
        nodeParent[c] = 1;
      } else {
        const leaf = ~c;
        if (leaf >= leaves) return `node ${i} has child leaf ${leaf} of ${leaves}`;
        if (leafParent[leaf] === 1) return `leaf ${leaf} is reached twice`;
        leafParent[leaf] = 1;
      }
    }
    if (split[i]! < 0 || split[i]! > maxFeature)
      return `node ${i} splits on feature ${split[i]} (max_feature_idx ${maxFeature})`;
  }
  return leaves;
}
