/**
 * Rules of the pickle area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** pickle rules. */
export const pickleRules = [] as const satisfies readonly RuleDef[];
