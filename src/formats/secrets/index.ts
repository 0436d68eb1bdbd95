/**
 * The secrets module: credentials (access tokens, private keys) in text files and metadata.
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { secretsRules } from "./rules.js";

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
  rules: secretsRules,
} as const satisfies FormatModule;
