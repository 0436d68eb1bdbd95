/**
 * The secrets module: credentials (access tokens, private keys) in text files and metadata.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

const rules = lazyRules(import.meta.url, "./rules.js", "secretsRules");

/** Credentials in model files. */
export const secretsModule = {
  name: "secrets",
  analyzers: [
    lazyAnalyzer(
      "secrets",
      ["json", "text", "python", "shell", "notebook", "jinja", "yaml", "mlflow"],
      async () => (await import("./analyzer.js")).secretsAnalyzer,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
