/**
 * The licence module: licences stated by model cards and licence files, as facts for the report
 * and the ML-BOM, flagged when the policy lists them.
 * @module
 */
import { type FormatModule, lazyRepoAnalyzer } from "../../core/module.js";
import { licenseRules } from "./rules.js";

/** Licences. */
export const licenseModule = {
  name: "license",
  repoAnalyzers: [lazyRepoAnalyzer("license", async () => (await import("./analyzer.js")).licenseRepoAnalyzer)],
  rules: licenseRules,
} as const satisfies FormatModule;
