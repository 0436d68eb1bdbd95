/**
 * The XGBoost model as JSON and UBJSON carry it (`{"learner": {...}, "version": [major, minor,
 * patch]}`), validated on plain values: the learner's parameters, objective and booster, and for
 * tree boosters every tree's node arrays against its node count, its child indices and split
 * features. Facts come out of the same walk.
 * @module
 */
import type { Evidence, RuleId } from "../../core/findings.js";
import { preview } from "../../core/preview.js";

/** Something wrong with the model. */
export interface XgbIssue {
  readonly ruleId: RuleId;
  readonly message: string;
  readonly offset?: number;
  readonly evidence?: Evidence;
}

/** What the model says about itself. */
export interface XgbModelInfo {
  encoding: "json" | "ubjson" | "binary";
  objective: string | undefined;
  booster: string | undefined;
  numFeature: number | undefined;
  numClass: number | undefined;
  version: string | undefined;
  numTrees: number | undefined;
  /** Nodes in all trees. */
  nodes: number;
}

type Rec = Record<string, unknown>;

const isRecord = (v: unknown): v is Rec =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
const isList = (v: unknown): v is ArrayLike<unknown> => Array.isArray(v) || ArrayBuffer.isView(v);
const own = (o: Rec, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/** A number XGBoost writes as a string ("4", "5E-1") or a number. */
function numeric(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

/** Node arrays every tree has, one entry per node. */
const NODE_ARRAYS = ["left_children", "right_children", "parents", "split_indices", "split_conditions", "default_left"];

/**
 * Whether a learner is `Booster.save_config()`'s output (training and generic parameters, a booster
 * without trees or weights): `load_config` sets parameters from it and `load_model` refuses it, so
 * it is a plain JSON config, not a model.
 * @param learner - the document's `learner`
 */
function isSavedConfig(learner: Readonly<Record<string, unknown>>): boolean {
  if (!isRecord(own(learner, "learner_train_param")) || !isRecord(own(learner, "generic_param"))) return false;
  const gb = own(learner, "gradient_booster");
  if (!isRecord(gb)) return false;
  const inner = own(gb, "gbtree");
  return own(gb, "model") === undefined && (!isRecord(inner) || own(inner, "model") === undefined);
}

/**
 * Validates a parsed XGBoost JSON/UBJSON model.
 * @param root - the parsed document
 * @param encoding - which encoding it came from
 * @param checkpoint - called once per tree
 * @throws nothing: problems are returned as issues (`xgboost/malformed` when it is not a model)
 */
export function validateModel(
  root: unknown,
  encoding: "json" | "ubjson",
  checkpoint?: () => void,
): { info: XgbModelInfo; issues: XgbIssue[]; isModel: boolean } {
  const info: XgbModelInfo = {
    encoding,
    objective: undefined,
    booster: undefined,
    numFeature: undefined,
    numClass: undefined,
    version: undefined,
    numTrees: undefined,
    nodes: 0,
  };
  const issues: XgbIssue[] = [];
  const malformed = (message: string) => issues.push({ ruleId: "xgboost/malformed", message });
  const learner = isRecord(root) ? own(root, "learner") : undefined;
  const version = isRecord(root) ? own(root, "version") : undefined;
  if (!isRecord(learner) || !isList(version)) return { info, issues, isModel: false };
  if (isSavedConfig(learner)) return { info, issues, isModel: false };
  const parts = Array.from(version);
  if (parts.length !== 3 || !parts.every((p) => typeof p === "number" && Number.isInteger(p) && p >= 0)) {
    malformed("version is not [major, minor, patch]");
  } else info.version = parts.join(".");
  const param = own(learner, "learner_model_param");
  if (!isRecord(param)) malformed("learner has no learner_model_param");
  else {
    info.numFeature = numeric(own(param, "num_feature"));
    info.numClass = numeric(own(param, "num_class"));
    if (info.numFeature === undefined || info.numFeature < 0 || !Number.isInteger(info.numFeature)) {
      malformed("learner_model_param.num_feature is not a non-negative integer");
      info.numFeature = undefined;
    }
  }
  const objective = own(learner, "objective");
  const objName = isRecord(objective) ? own(objective, "name") : undefined;
  if (typeof objName !== "string") malformed("learner.objective has no name");
  else info.objective = preview(objName, 80);
  const gb = own(learner, "gradient_booster");
  const gbName = isRecord(gb) ? own(gb, "name") : undefined;
  if (!isRecord(gb) || typeof gbName !== "string") {
    malformed("learner.gradient_booster has no name");
    return { info, issues, isModel: true };
  }
  info.booster = preview(gbName, 40);
  let treeModel: unknown;
  if (gbName === "gbtree") treeModel = own(gb, "model");
  else if (gbName === "dart") {
    const inner = own(gb, "gbtree");
    treeModel = isRecord(inner) ? own(inner, "model") : undefined;
  } else if (gbName === "gblinear") {
    const model = own(gb, "model");
    if (!isRecord(model) || !isList(own(model, "weights"))) malformed("gblinear model has no weights");
    return { info, issues, isModel: true };
  } else {
    malformed(`unknown booster ${JSON.stringify(preview(gbName, 40))}`);
    return { info, issues, isModel: true };
  }
  if (!isRecord(treeModel)) {
    malformed(`${gbName} booster has no model`);
    return { info, issues, isModel: true };
  }
  const trees = own(treeModel, "trees");
  const treeInfo = own(treeModel, "tree_info");
  const modelParam = own(treeModel, "gbtree_model_param");
  if (!Array.isArray(trees) || !isList(treeInfo) || !isRecord(modelParam)) {
    malformed("tree model lacks trees, tree_info or gbtree_model_param");
    return { info, issues, isModel: true };
  }
  info.numTrees = trees.length;
  const declared = numeric(own(modelParam, "num_trees"));
  if (declared !== trees.length || treeInfo.length !== trees.length) {
    issues.push({
      ruleId: "xgboost/invalid-tree",
      message: `num_trees is ${String(own(modelParam, "num_trees"))}, ${trees.length} trees and ${treeInfo.length} tree_info entries`,
      evidence: { declared: String(own(modelParam, "num_trees")), trees: trees.length, treeInfo: treeInfo.length },
    });
  }
  let invalid = 0;
  for (let t = 0; t < trees.length; t++) {
    checkpoint?.();
    const why = checkTree(trees[t], info.numFeature);
    if (typeof why === "number") info.nodes += why;
    else if (invalid++ < 20)
      issues.push({ ruleId: "xgboost/invalid-tree", message: `tree ${t}: ${why}`, evidence: { tree: t } });
  }
  return { info, issues, isModel: true };
}

/** The tree's node count, or why it is invalid. */
function checkTree(tree: unknown, numFeature: number | undefined): number | string {
  if (!isRecord(tree)) return "not an object";
  const param = own(tree, "tree_param");
  const n = isRecord(param) ? numeric(own(param, "num_nodes")) : undefined;
  if (n === undefined || !Number.isInteger(n) || n < 1) return "tree_param.num_nodes is not a positive integer";
  const arrays: Record<string, ArrayLike<unknown>> = {};
  for (const key of NODE_ARRAYS) {
    const a = own(tree, key);
    if (!isList(a)) return `${key} missing`;
    if (a.length !== n) return `${key} has ${a.length} entries for ${n} nodes`;
    arrays[key] = a;
  }
  const left = arrays.left_children!;
  const right = arrays.right_children!;
  const split = arrays.split_indices!;
  // Each node is the child of at most one node and the root of none: no node is reached twice.
  const hasParent = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const l = left[i];
    const r = right[i];
    if (typeof l !== "number" || typeof r !== "number" || !Number.isInteger(l) || !Number.isInteger(r)) {
      return `node ${i} has non-integer children`;
    }
    if (l === -1 && r === -1) continue;
    if (l < 0 || r < 0) return `node ${i} has one child`;
    if (l >= n || r >= n || l === 0 || r === 0 || l === r)
      return `node ${i} has children (${l}, ${r}) outside 1..${n - 1}`;
    if (hasParent[l] === 1 || hasParent[r] === 1)
      return `node ${i} shares a child with another node (the tree has a cycle)`;
    hasParent[l] = 1;
    hasParent[r] = 1;
    const f = split[i];
    if (typeof f !== "number" || !Number.isInteger(f) || f < 0) return `node ${i} has split index ${String(f)}`;
    if (numFeature !== undefined && numFeature > 0 && f >= numFeature) {
      return `node ${i} splits on feature ${f} of ${numFeature}`;
    }
  }
  return n;
}
