/**
 * The licence module: licences stated by model cards and licence files, as facts for the report
 * and the ML-BOM, flagged when the policy lists them.
 * @module
 */
import { type FormatModule, lazyRepoAnalyzer, lazyRules } from "../../core/module.js";

/**
 * Names that may state a licence: the last path segment starts like a model card or a licence
 * file. The analyzer reads `README.md`, `LICENSE`/`LICENCE`/`COPYING` and their suffixed forms;
 * this is a superset of those.
 */
const STATEMENT = /(?:^|\/)(?:readme|licen[cs]e|copying)[^/]*$/i;

const rules = lazyRules(import.meta.url, "./rules.js", "licenseRules");

/** Licences. */
export const licenseModule = {
  name: "license",
  repoAnalyzers: [
    lazyRepoAnalyzer(
      "license",
      async () => (await import("./analyzer.js")).licenseRepoAnalyzer,
      // no model card or licence file: a wider net than the analyzer's own (README.md, LICENSE*,
      // LICENCE*, COPYING*): any name that starts like one
      (ctx) => !ctx.entries.some((e) => STATEMENT.test(e.path)),
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
