/**
 * The YAML module: YAML documents (hparams, hydra/omegaconf configs, NeMo configs, conda
 * environments). The text detector recognises them (by name, or by content only YAML has); the
 * analyzer reports what a loader would construct or call.
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { yamlRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    yaml: true;
  }
}

/** YAML documents. */
export const yamlModule = {
  name: "yaml",
  formats: [{ id: "yaml", description: "YAML document", textual: true, hintExtensions: ["yaml", "yml"] }],
  analyzers: [lazyAnalyzer("yaml", ["yaml"], async () => (await import("./analyzer.js")).yamlAnalyzer)],
  rules: yamlRules,
} as const satisfies FormatModule;
