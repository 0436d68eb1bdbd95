/**
 * Rules of the repo area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** repo rules. */
export const repoRules = [] as const satisfies readonly RuleDef[];
