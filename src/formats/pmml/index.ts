/**
 * The PMML module: Predictive Model Markup Language documents (data-only models; recognised by the
 * XML module's detector, claimed by `.pmml`).
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { pmmlRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    pmml: true;
  }
}

/** PMML documents. */
export const pmmlModule = {
  name: "pmml",
  formats: [{ id: "pmml", description: "PMML model (XML)", textual: true, claimExtensions: ["pmml"] }],
  analyzers: [lazyAnalyzer("pmml", ["pmml"], async () => (await import("./analyzer.js")).pmmlAnalyzer)],
  rules: pmmlRules,
} as const satisfies FormatModule;
