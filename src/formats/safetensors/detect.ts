/**
 * Recognises safetensors files by their header length and opening brace (or their name).
 * @module
 */
import type { Detector } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";

export const detectSafetensors: Detector = ({ head, size, name }) => {
  if (head.length < 9) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n = view.getBigUint64(0, true);
  const byName = extensionOf(name) === "safetensors";
  let i = 8;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  const plausible = n >= 2n && n <= 100_000_000n && 8n + n <= BigInt(size) && head[i] === 0x7b;
  if (plausible) return { format: "safetensors", offset: 0, reason: `safetensors header of ${n} bytes` };
  return byName ? { format: "safetensors", offset: 0, reason: "named .safetensors (header not plausible)" } : undefined;
};
