/**
 * The licence module: licences stated by model cards and licence files, as facts for the report
 * and the ML-BOM, flagged when the policy lists them.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { licenseRepoAnalyzer } from "./analyzer.js";
import { licenseRules } from "./rules.js";

/** Licences. */
export const licenseModule = {
  name: "license",
  repoAnalyzers: [licenseRepoAnalyzer],
  rules: licenseRules,
} as const satisfies FormatModule;
