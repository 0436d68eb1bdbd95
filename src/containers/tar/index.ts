/**
 * The tar module: tar archives (legacy PyTorch checkpoints and NeMo archives are tars).
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectTar } from "./detect.js";
import { tarRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    tar: true;
  }
}

/** Tar archives. */
export const tarModule = {
  name: "tar",
  formats: [{ id: "tar", description: "tar archive", claimExtensions: ["tar", "nemo"] }],
  detectors: [{ rank: 140, detect: detectTar }],
  analyzers: [lazyAnalyzer("tar", ["tar"], async () => (await import("./analyzer.js")).tarAnalyzer)],
  rules: tarRules,
} as const satisfies FormatModule;
