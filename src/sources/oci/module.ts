/**
 * The OCI source's contribution to the registry: its rules.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { ociRules } from "./rules.js";

/** OCI source rules. */
export const ociModule = {
  name: "oci",
  rules: ociRules,
} as const satisfies FormatModule;
