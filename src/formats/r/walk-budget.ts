/**
 * The item and depth budgets the R walkers (`reader.ts` for serialization versions 2 and 3,
 * `v1.ts` for version-1 workspaces) share.
 * @module
 */
import { ModelgateError } from "../../core/errors.js";

/**
 * Counts one item at `depth` against the budgets, calling `checkpoint` every 4,096 items.
 * @param stats - the walker's counters (`items` is incremented)
 * @param depth - nesting of the item
 * @param limits - the walker's budgets
 * @param offset - where the item starts, for the error
 * @param label - what is walked, for messages (`R stream`, `R workspace`)
 * @param checkpoint - abort and time check
 * @throws ModelgateError `BUDGET_EXCEEDED` past a budget
 */
export function countItem(
  stats: { items: number },
  depth: number,
  limits: { readonly maxDepth: number; readonly maxItems: number },
  offset: number,
  label: string,
  checkpoint: () => void,
): void {
  if (depth > limits.maxDepth)
    throw new ModelgateError("BUDGET_EXCEEDED", `${label} nests deeper than ${limits.maxDepth} items`, {
      offset,
      budget: "r.maxDepth",
    });
  const n = ++stats.items;
  if (n > limits.maxItems)
    throw new ModelgateError("BUDGET_EXCEEDED", `${label} has more than ${limits.maxItems} items`, {
      offset,
      budget: "r.maxItems",
    });
  if ((n & 0xfff) === 0) checkpoint();
}
