/**
 * The PMML module: Predictive Model Markup Language documents (data-only models; recognised by the
 * XML module's detector, claimed by `.pmml`).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    pmml: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "pmmlRules");

/** PMML documents. */
export const pmmlModule = {
  name: "pmml",
  formats: [{ id: "pmml", description: "PMML model (XML)", textual: true, claimExtensions: ["pmml"] }],
  analyzers: [lazyAnalyzer("pmml", ["pmml"], async () => (await import("./analyzer.js")).pmmlAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
