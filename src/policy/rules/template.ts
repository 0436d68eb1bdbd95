/**
 * Rules of the template area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** template rules. */
export const templateRules = [] as const satisfies readonly RuleDef[];
