/**
 * The secrets module: credentials (access tokens, private keys) in text files and metadata.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { secretsAnalyzer } from "./analyzer.js";
import { secretsRules } from "./rules.js";

/** Credentials in model files. */
export const secretsModule = {
  name: "secrets",
  analyzers: [secretsAnalyzer],
  rules: secretsRules,
} as const satisfies FormatModule;
