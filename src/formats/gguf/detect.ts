/**
 * Recognises GGUF files by their magic and version.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

export const detectGguf: Detector = ({ head }) => {
  if (!startsWith(head, ascii("GGUF")) || head.length < 8) return undefined;
  const le = head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! << 24);
  const be = (head[4]! << 24) | (head[5]! << 16) | (head[6]! << 8) | head[7]!;
  const plausible = (v: number) => v >= 1 && v <= 3;
  return plausible(le) || plausible(be)
    ? { format: "gguf", offset: 0, reason: `GGUF magic, version ${plausible(le) ? le : be}` }
    : { format: "gguf", offset: 0, reason: "GGUF magic, unknown version" };
};
