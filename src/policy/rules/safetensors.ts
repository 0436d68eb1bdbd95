/**
 * Rules of the safetensors area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** safetensors rules. */
export const safetensorsRules = [] as const satisfies readonly RuleDef[];
