/**
 * A DVC file as DVC's YAML loader hands it over (aliases and merge keys resolved: `../mlflow/plain.ts`),
 * and whether that view is whole. The conversion stops at a node budget and a nesting depth; DVC's
 * loader does not, so a file whose anchors expand past the budget, or whose merge chains nest past
 * the depth, would hide the `stages`/`outs`/`cmd` converted after the cut. {@link dvcPlain} walks
 * the same nodes in the same order to tell: a cut view is not read as if it were the file.
 * @module
 */
import { isAlias, isMap, isScalar, isSeq } from "yaml";
import { mlmodelPlain } from "../mlflow/plain.js";

/** YAML nodes converted at most (aliases count again). */
export const MAX_PLAIN_NODES = 100_000;
/** The nesting `mlmodelPlain` converts (each alias counts one level). */
const PLAIN_DEPTH = 64;

/** The plain view of a DVC document. */
export interface DvcPlain {
  /** The document as plain objects, arrays and strings. */
  readonly doc: unknown;
  /** The conversion ran out of nodes or depth: part of the file is missing from `doc`. */
  readonly cut: boolean;
}

/** Whether a scalar key converts to a string key (as `mlmodelPlain` keeps it). */
const hasKey = (node: unknown): boolean => isScalar(node) && node.value !== null && node.value !== undefined;

/**
 * Whether converting `root` with `maxNodes` runs out of nodes or depth: the same walk as
 * `mlmodelPlain` (every node visited once per path to it, aliases followed to the latest anchor
 * before them), counting only.
 */
function conversionIsCut(root: unknown, maxNodes: number): boolean {
  let budget = maxNodes;
  let cut = false;
  const anchors = new Map<string, unknown>();
  const visit = (node: unknown, depth: number): void => {
    if (cut) return;
    // as mlmodelPlain: every visit spends the budget, a null one too
    if (--budget < 0) cut = true;
    if (cut || node === null || node === undefined) return;
    if (depth > PLAIN_DEPTH) {
      cut = true;
      return;
    }
    if (isAlias(node)) {
      visit(anchors.get(node.source), depth + 1);
      return;
    }
    const anchor = (node as { anchor?: unknown }).anchor;
    if (typeof anchor === "string") anchors.set(anchor, node);
    if (isSeq(node)) {
      for (const item of node.items) visit(item, depth + 1);
    } else if (isMap(node)) {
      for (const pair of node.items) if (hasKey(pair.key)) visit(pair.value, depth + 1);
    }
  };
  visit(root, 0);
  return cut;
}

/**
 * The plain view of a composed DVC document, and whether it is whole.
 * @param root - the document's contents
 */
export function dvcPlain(root: unknown): DvcPlain {
  return { doc: mlmodelPlain(root, MAX_PLAIN_NODES), cut: conversionIsCut(root, MAX_PLAIN_NODES) };
}
