/**
 * Rules of the integrity area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** integrity rules. */
export const integrityRules = [] as const satisfies readonly RuleDef[];
