/**
 * Recognises pre-GGUF ggml files by their little-endian uint32 magic (`lmgg`, `fmgg`, `tjgg`).
 * @module
 */
import type { Detector } from "../../core/module.js";

/** Magic values (uint32) and their names. */
export const GGML_MAGICS: ReadonlyMap<number, string> = new Map([
  [0x67676d6c, "ggml"],
  [0x67676d66, "ggmf"],
  [0x67676a74, "ggjt"],
]);

export const detectGgml: Detector = ({ head }) => {
  if (head.length < 8) return undefined;
  const magic = GGML_MAGICS.get((head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0);
  if (magic === undefined) return undefined;
  return { format: "ggml", offset: 0, reason: `${magic} magic (pre-GGUF ggml file)` };
};
