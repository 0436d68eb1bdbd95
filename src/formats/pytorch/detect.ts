/**
 * Recognises PyTorch legacy checkpoints (a pickled magic number opens them).
 * @module
 */
import type { Detector } from "../../core/module.js";
import { startsWith } from "../../core/sniffing.js";

/** PyTorch legacy files open with a pickled magic number 0x1950a86a20f9469cfc6c (LONG1). */
const TORCH_LEGACY_MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export const detectTorchLegacy: Detector = ({ head }) => {
  const at = head[0] === 0x80 ? 2 : 0;
  return startsWith(head, TORCH_LEGACY_MAGIC, at)
    ? { format: "pytorch-legacy", offset: 0, reason: "pickled PyTorch legacy magic number" }
    : undefined;
};
