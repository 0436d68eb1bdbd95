/**
 * The remote sources' contribution to the registry (`https://` URLs and S3): their rules.
 * @module
 */
import { type FormatModule, lazyRules } from "../../core/module.js";

/** Loaded when a finding or the rules reference needs them, not on every start. */
const rules = lazyRules(import.meta.url, "./rules.js", "remoteRules");

/** Remote source rules. */
export const remoteModule = {
  name: "remote",
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
