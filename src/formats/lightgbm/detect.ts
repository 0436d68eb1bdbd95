/**
 * Recognises LightGBM text models: a first line `tree` and a second line `version=...`.
 * @module
 */
import type { Detector } from "../../core/module.js";

/** `tree` then a `version=` line. */
export function startsLikeLightgbm(head: Uint8Array): boolean {
  const text = new TextDecoder("latin1").decode(head.subarray(0, 32));
  return /^tree\r?\nversion=/.test(text);
}

export const detectLightgbm: Detector = ({ head }) =>
  startsLikeLightgbm(head) ? { format: "lightgbm", offset: 0, reason: "`tree` then `version=` lines" } : undefined;
