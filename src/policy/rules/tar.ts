/**
 * Rules of the tar area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** tar rules. */
export const tarRules = [] as const satisfies readonly RuleDef[];
