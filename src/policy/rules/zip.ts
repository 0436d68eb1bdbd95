/**
 * Rules of the zip area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** zip rules. */
export const zipRules = [] as const satisfies readonly RuleDef[];
