/**
 * Rules of the xgboost area (JSON, UBJSON and legacy binary boosters).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DOCS = "https://xgboost.readthedocs.io/en/stable/tutorials/saving_model.html";

/** xgboost rules. */
export const xgboostRules = [
  {
    id: "xgboost/malformed",
    title: "XGBoost model is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The model does not parse as XGBoost writes it: JSON or UBJSON that breaks its grammar, a `learner` without its booster, objective or parameters, a legacy binary header whose strings or structures run past the end of the file, or an unknown booster. XGBoost refuses the file, so it is not the model it claims to be.",
    references: [DOCS],
  },
  {
    id: "xgboost/invalid-tree",
    title: "Tree arrays inconsistent or out of range",
    severity: "medium",
    invalidates: true,
    description:
      "A tree's node arrays disagree with its declared node count, a child index points outside the tree, a node has one child, a split uses a feature index beyond `num_feature`, or the number of trees differs from `num_trees`. Prediction code walks these indices without bounds checks; crafted trees read out of bounds.",
    references: [DOCS],
  },
  {
    id: "xgboost/trailing-data",
    title: "Bytes after the XGBoost model",
    severity: "low",
    description:
      "The legacy binary model continues after the last structure XGBoost reads. Nothing loads these bytes; they are analysed as a member because appended archives and pickles hide there.",
    references: [DOCS],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof xgboostRules)[number]["id"], true> {}
}
