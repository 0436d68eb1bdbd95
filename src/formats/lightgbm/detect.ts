/**
 * Recognises LightGBM text models: a first line `tree` and a second line `version=...`.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { startsLikeLightgbm } from "./model.js";

export const detectLightgbm: Detector = ({ head }) =>
  startsLikeLightgbm(head) ? { format: "lightgbm", offset: 0, reason: "`tree` then `version=` lines" } : undefined;
