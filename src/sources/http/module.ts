/**
 * The remote sources' contribution to the registry (`https://` URLs and S3): their rules.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { remoteRules } from "./rules.js";

/** Remote source rules. */
export const remoteModule = {
  name: "remote",
  rules: remoteRules,
} as const satisfies FormatModule;
