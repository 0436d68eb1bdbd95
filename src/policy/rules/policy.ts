/**
 * Rules of the policy area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** policy rules. */
export const policyRules = [] as const satisfies readonly RuleDef[];
