/**
 * The OpenSSF Model Signing module: Sigstore bundles recognised by content, and the repository
 * analyzer that finds, verifies and reports the signatures of a scanned directory.
 * @module
 */
import { type FormatModule, lazyRepoAnalyzer } from "../../core/module.js";
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
  repoAnalyzers: [lazyRepoAnalyzer("oms-signature", async () => (await import("./analyzer.js")).omsRepoAnalyzer)],
  rules: omsRules,
} as const satisfies FormatModule;
