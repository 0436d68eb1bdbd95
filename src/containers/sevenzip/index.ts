/**
 * The 7z module: 7z archives, read member by member (LZMA, LZMA2, Deflate, BZip2, BCJ, Delta).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { magic } from "../../core/sniffing.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "7z": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "sevenZipRules");

/** 7z archives. */
export const sevenZipModule = {
  name: "sevenzip",
  formats: [{ id: "7z", description: "7z archive", claimExtensions: ["7z"] }],
  detectors: [{ rank: 50, detect: magic("7z", [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], "7z signature") }],
  analyzers: [lazyAnalyzer("7z", ["7z"], async () => (await import("./analyzer.js")).sevenZipAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
