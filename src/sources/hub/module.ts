/**
 * The Hub source's contribution to the registry: its rules (what the Hub itself says of a file).
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { hubRules } from "./rules.js";

/** Hugging Face Hub source rules. */
export const hubModule = {
  name: "hub",
  rules: hubRules,
} as const satisfies FormatModule;
