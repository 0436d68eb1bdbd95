/**
 * Recognises pre-GGUF ggml files by their little-endian uint32 magic (`lmgg`, `fmgg`, `tjgg`).
 * @module
 */
import type { Detector } from "../../core/module.js";
import { GGML_MAGICS } from "./reader.js";

export const detectGgml: Detector = ({ head }) => {
  if (head.length < 8) return undefined;
  const magic = GGML_MAGICS.get((head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0);
  if (magic === undefined) return undefined;
  return { format: "ggml", offset: 0, reason: `${magic} magic (pre-GGUF ggml file)` };
};
