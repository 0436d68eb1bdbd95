/**
 * Rules of the lightgbm area (text models).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DOCS = "https://lightgbm.readthedocs.io/en/latest/Python-API.html";

/** lightgbm rules. */
export const lightgbmRules = [
  {
    id: "lightgbm/malformed",
    title: "LightGBM model is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The text model lacks its header keys (`version`, `num_class`, `max_feature_idx`), a key's value is not what LightGBM parses, a tree block is out of sequence, `tree_sizes` disagrees with the trees, or a line exceeds the reader's budget. LightGBM refuses such a file.",
    references: [DOCS],
  },
  {
    id: "lightgbm/invalid-tree",
    title: "Tree arrays inconsistent or out of range",
    severity: "medium",
    invalidates: true,
    description:
      "A tree's arrays disagree with `num_leaves`, a child index points outside the tree, a node or leaf is reached twice, or a split uses a feature beyond `max_feature_idx`. Prediction walks these indices without bounds checks.",
    references: [DOCS],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof lightgbmRules)[number]["id"], true> {}
}
