/**
 * The tar module: tar archives (legacy PyTorch checkpoints and NeMo archives are tars).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectTar } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    tar: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "tarRules");

/** Tar archives. */
export const tarModule = {
  name: "tar",
  formats: [{ id: "tar", description: "tar archive", claimExtensions: ["tar", "nemo"] }],
  detectors: [{ rank: 140, detect: detectTar }],
  analyzers: [lazyAnalyzer("tar", ["tar"], async () => (await import("./analyzer.js")).tarAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
