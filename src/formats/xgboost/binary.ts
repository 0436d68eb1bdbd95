/**
 * XGBoost's legacy binary model (what `save_model` wrote before JSON, and still writes for names
 * other than `.json`/`.ubj` in 1.x): an optional `binf` magic, the learner's fixed 136-byte
 * parameter block (base score, feature and class counts, flags, the version that wrote it), the
 * objective and booster names as 64-bit-length strings, then for tree boosters a 160-byte model
 * parameter block (number of trees first), each tree (a 148-byte parameter block with the node
 * count, 20-byte nodes: parent, left, right, split index with the default-left bit, value; 16-byte
 * node statistics; a leaf vector when declared), one tree-info integer per tree, `dart`'s drop
 * weights, and the learner's attributes (string pairs) and evaluation metrics when its flags say
 * so. All little-endian.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { Cursor, lengthWithin } from "../msgpack/cursor.js";
import { LEARNER_PARAM, legacyBinaryStart } from "./index.js";
import type { XgbIssue, XgbModelInfo } from "./model.js";

export { legacyBinaryStart };

const GBTREE_PARAM = 160;
const TREE_PARAM = 148;
const NODE = 20;
const NODE_STAT = 16;
/** Longest objective or booster name, attribute key or value read. */
const MAX_NAME = 4096;

/**
 * Reads a legacy binary model.
 * @param source - the file
 * @param start - offset of the learner block (after `binf`, if any)
 * @param options - budgets
 */
export async function readLegacyBinary(
  source: ByteSource,
  start: number,
  options: { maxTrees: number; maxNodes: number; checkpoint?: () => void; head?: Uint8Array },
): Promise<{ info: XgbModelInfo; issues: XgbIssue[]; end: number }> {
  const c = new Cursor(source, start, source.size, options.head);
  const issues: XgbIssue[] = [];
  const bad = (message: string): ModelgateError => new ModelgateError("MALFORMED", message, { offset: c.pos });
  await c.need(LEARNER_PARAM);
  c.f32le(); // base score
  const numFeature = c.u32le();
  const numClass = c.i32le();
  const extraAttrs = c.i32le();
  const evalMetrics = c.i32le();
  const major = c.u32le();
  const minor = c.u32le();
  c.skip(LEARNER_PARAM - 28);
  if (numClass < 0 || ![0, 1].includes(extraAttrs) || ![0, 1].includes(evalMetrics)) {
    throw bad(`learner parameters are implausible (num_class ${numClass}, flags ${extraAttrs}/${evalMetrics})`);
  }
  const str = async (what: string): Promise<string> => {
    await c.need(8);
    const n = lengthWithin(c.u64le(), c, what);
    if (n > MAX_NAME) throw bad(`${what} of ${n} bytes`);
    const bytes = await c.take(n);
    return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  };
  const objective = await str("objective name");
  const booster = await str("booster name");
  const info: XgbModelInfo = {
    encoding: "binary",
    objective,
    booster,
    numFeature,
    numClass,
    version: major > 0 || minor > 0 ? `${major}.${minor}` : undefined,
    numTrees: undefined,
    nodes: 0,
  };
  if (booster === "gblinear") return { info, issues, end: source.size };
  if (booster !== "gbtree" && booster !== "dart") throw bad(`unknown booster ${JSON.stringify(booster.slice(0, 40))}`);
  await c.need(GBTREE_PARAM);
  const numTrees = c.i32le();
  c.skip(GBTREE_PARAM - 4);
  if (numTrees < 0 || numTrees > options.maxTrees) throw bad(`num_trees ${numTrees} outside 0..${options.maxTrees}`);
  info.numTrees = numTrees;
  for (let t = 0; t < numTrees; t++) {
    options.checkpoint?.();
    const treeAt = c.pos;
    await c.need(TREE_PARAM);
    c.i32le(); // num_roots
    const numNodes = c.i32le();
    c.i32le(); // num_deleted
    c.i32le(); // max_depth
    c.i32le(); // num_feature
    const leafVector = c.i32le();
    c.skip(TREE_PARAM - 24);
    if (numNodes < 1 || numNodes > options.maxNodes - info.nodes) {
      throw bad(`tree ${t} declares ${numNodes} nodes`);
    }
    if (numNodes * (NODE + NODE_STAT) > c.remaining) {
      throw new ModelgateError("TRUNCATED", `tree ${t} declares ${numNodes} nodes, ${c.remaining} bytes left`, {
        offset: treeAt,
      });
    }
    info.nodes += numNodes;
    let reported = false;
    const hasParent = new Uint8Array(numNodes);
    for (let i = 0; i < numNodes; i++) {
      await c.need(NODE);
      c.i32le(); // parent
      const left = c.i32le();
      const right = c.i32le();
      const split = c.u32le() & 0x7fffffff;
      c.skip(4);
      const leaf = left === -1 && right === -1;
      const why = leaf
        ? undefined
        : left < 0 || right < 0
          ? "has one child"
          : left >= numNodes || right >= numNodes || left === 0 || right === 0 || left === right
            ? `has children (${left}, ${right}) outside 1..${numNodes - 1}`
            : hasParent[left] === 1 || hasParent[right] === 1
              ? "shares a child with another node (the tree has a cycle)"
              : numFeature > 0 && split >= numFeature
                ? `splits on feature ${split} of ${numFeature}`
                : undefined;
      if (!leaf && left > 0 && right > 0 && left < numNodes && right < numNodes) {
        hasParent[left] = 1;
        hasParent[right] = 1;
      }
      if (why !== undefined && !reported) {
        reported = true;
        issues.push({ ruleId: "xgboost/invalid-tree", message: `tree ${t} node ${i} ${why}`, offset: c.pos - NODE });
      }
    }
    c.skip(numNodes * NODE_STAT);
    if (leafVector !== 0) {
      await c.need(8);
      const n = lengthWithin(c.u64le() * 4n, c, "leaf vector");
      c.skip(n);
    }
  }
  c.skip(numTrees * 4); // tree_info
  if (booster === "dart") {
    await c.need(8);
    c.skip(lengthWithin(c.u64le() * 4n, c, "dart weights"));
  }
  if (extraAttrs === 1 && c.remaining > 0) {
    await c.need(8);
    const pairs = c.u64le();
    if (pairs > BigInt(c.remaining) / 16n) throw bad(`${pairs} attributes declared`);
    for (let i = 0n; i < pairs; i++) {
      await str("attribute name");
      await str("attribute value");
    }
  }
  if (objective === "count:poisson" && c.remaining > 0) await str("max_delta_step");
  if (evalMetrics === 1 && c.remaining > 0) {
    await c.need(8);
    const n = c.u64le();
    if (n > BigInt(c.remaining) / 8n) throw bad(`${n} evaluation metrics declared`);
    for (let i = 0n; i < n; i++) await str("evaluation metric");
  }
  return { info, issues, end: c.pos };
}
