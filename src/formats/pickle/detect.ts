/**
 * Recognises pickle streams by content (see `./sniff.ts` for the grammar).
 * @module
 */
import type { Detector } from "../../core/module.js";
import { looksLikePickle } from "./sniff.js";

export const detectPickle: Detector = ({ head, size }) => {
  const protocol = looksLikePickle(head, size);
  return protocol === undefined
    ? undefined
    : { format: "pickle", offset: 0, reason: `pickle opcodes (protocol ${protocol})` };
};
