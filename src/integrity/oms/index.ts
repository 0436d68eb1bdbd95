/**
 * The OpenSSF Model Signing module: Sigstore bundles recognised by content, and the repository
 * analyzer that finds, verifies and reports the signatures of a scanned directory.
 * @module
 */
import type { FormatModule } from "../../core/module.js";
import { omsRepoAnalyzer } from "./analyzer.js";
import { omsRules } from "./rules.js";
import type { ScanSignatureOptions } from "./verify.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "oms-signature": true;
  }
}

declare module "../../core/analyzer.js" {
  interface ScanSections {
    /** OMS signature verification of a scanned directory; `false` skips signatures. */
    readonly signature?: ScanSignatureOptions | false | undefined;
  }
}

/** OMS signatures. */
export const omsModule = {
  name: "oms",
  formats: [
    {
      id: "oms-signature",
      description: "Sigstore bundle (OpenSSF Model Signing)",
      textual: true,
      inert: true,
      hintExtensions: ["json"],
    },
  ],
  repoAnalyzers: [omsRepoAnalyzer],
  rules: omsRules,
} as const satisfies FormatModule;
