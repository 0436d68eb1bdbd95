/**
 * Rules of the gguf area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** gguf rules. */
export const ggufRules = [] as const satisfies readonly RuleDef[];
