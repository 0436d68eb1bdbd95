/**
 * The R module: serialized R objects (`saveRDS`/`serialize`, `.rds`) and `save()` workspaces
 * (`.rda`, `.RData`), read without evaluating anything: promises (CVE-2024-27322), closures,
 * bytecode, language objects and environment hooks.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectR } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    rds: true;
    rdata: true;
  }
}

/** R writes these compressed by default (gzip; bzip2 and xz on request). */
const R_COMPRESSION = ["gzip", "bz2", "xz"] as const;

const rules = lazyRules(import.meta.url, "./rules.js", "rRules");

/** R serialization. */
export const rModule = {
  name: "r",
  formats: [
    {
      id: "rds",
      description: "R serialized object (saveRDS, serialize)",
      claimExtensions: ["rds"],
      claimWrappers: R_COMPRESSION,
    },
    {
      id: "rdata",
      description: "R workspace (save)",
      claimExtensions: ["rda", "rdata"],
      claimWrappers: R_COMPRESSION,
    },
  ],
  detectors: [{ rank: 143, detect: detectR }],
  analyzers: [lazyAnalyzer("r", ["rds", "rdata"], async () => (await import("./analyzer.js")).rAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
