/**
 * Rules of the onnx area.
 * @module
 */
import type { RuleDef } from "./types.js";

/** onnx rules. */
export const onnxRules = [] as const satisfies readonly RuleDef[];
