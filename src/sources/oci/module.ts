/**
 * The OCI source's contribution to the registry: its rules.
 * @module
 */
import { type FormatModule, lazyRules } from "../../core/module.js";

/** Loaded when a finding or the rules reference needs them, not on every start. */
const rules = lazyRules(import.meta.url, "./rules.js", "ociRules");

/** OCI source rules. */
export const ociModule = {
  name: "oci",
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
