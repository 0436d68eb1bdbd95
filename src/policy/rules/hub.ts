/**
 * Rules of the hub area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** hub rules. */
export const hubRules = [] as const satisfies readonly RuleDef[];
