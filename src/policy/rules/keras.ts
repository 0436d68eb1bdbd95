/**
 * Rules of the keras area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** keras rules. */
export const kerasRules = [] as const satisfies readonly RuleDef[];
