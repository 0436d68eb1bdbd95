/**
 * Rules of the catboost area (`.cbm` binary models).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DOCS = "https://catboost.ai/docs/en/concepts/python-reference_catboost_save_model";

/** catboost rules. */
export const catboostRules = [
  {
    id: "catboost/malformed",
    title: "CatBoost model is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "After the `CBM1` magic, the model core's declared size runs past the end of the file, or the flatbuffer it holds has a root table, vtable, string or vector outside the core. CatBoost's loader (and flatbuffer verifiers) refuse such files; readers that skip verification read out of bounds.",
    references: [DOCS, "https://flatbuffers.dev/flatbuffers_internals.html"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof catboostRules)[number]["id"], true> {}
}
