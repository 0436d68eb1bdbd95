/**
 * The OpenSSF Model Signing module: Sigstore bundles recognised by content, and the repository
 * analyzer that finds, verifies and reports the signatures of a scanned directory.
 * @module
 */
import { type FormatModule, lazyRepoAnalyzer, lazyRules } from "../../core/module.js";
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

const rules = lazyRules(import.meta.url, "./rules.js", "omsRules");

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
  repoAnalyzers: [
    lazyRepoAnalyzer(
      "oms-signature",
      async () => (await import("./analyzer.js")).omsRepoAnalyzer,
      // signatures turned off, or no local directory to look for one in (a single file's
      // policy requirement is the engine's: `signatureViolation`); a scan option that requires or
      // names a signature still reaches the analyzer, which fails closed for such targets
      (ctx) =>
        ctx.options.signature === false ||
        ((ctx.root.localDir === undefined || ctx.root.target.kind !== "directory") &&
          ctx.options.signature?.require !== true &&
          ctx.options.signature?.signaturePath === undefined),
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
