/**
 * The Hub source's contribution to the registry: its rules (what the Hub itself says of a file).
 * @module
 */
import { type FormatModule, lazyRules } from "../../core/module.js";

/** Loaded when a finding or the rules reference needs them, not on every start. */
const rules = lazyRules(import.meta.url, "./rules.js", "hubRules");

/** Hugging Face Hub source rules. */
export const hubModule = {
  name: "hub",
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
