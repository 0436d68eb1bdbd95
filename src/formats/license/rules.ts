/**
 * Rules of licences.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** Licence rules. */
export const licenseRules = [
  {
    id: "license/flagged",
    title: "Licence the policy flags",
    severity: "medium",
    description:
      "The model card (`license:` in its front matter) or a licence file states a licence listed in the policy's `licenses.flag` (non-commercial, copyleft, custom community licences a team must review). Licences are recorded in the report (`files[].facts.license`) and the CycloneDX ML-BOM either way.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof licenseRules)[number]["id"], true> {}
}
