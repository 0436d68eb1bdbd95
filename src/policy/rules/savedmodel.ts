/**
 * Rules of the savedmodel area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** savedmodel rules. */
export const savedmodelRules = [] as const satisfies readonly RuleDef[];
