/**
 * The YAML module: YAML documents (hparams, hydra/omegaconf configs, NeMo configs, conda
 * environments). The text detector recognises them (by name, or by content only YAML has); the
 * analyzer reports what a loader would construct or call.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    yaml: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "yamlRules");

/** YAML documents. */
export const yamlModule = {
  name: "yaml",
  formats: [{ id: "yaml", description: "YAML document", textual: true, hintExtensions: ["yaml", "yml"] }],
  analyzers: [lazyAnalyzer("yaml", ["yaml"], async () => (await import("./analyzer.js")).yamlAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
