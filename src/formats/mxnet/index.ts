/**
 * The MXNet module: symbol graphs (`*-symbol.json`) and NDArray parameter files (`.params`).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectMxnetParams, detectMxnetSymbol } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "mxnet-symbol": true;
    "mxnet-params": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "mxnetRules");

/** MXNet files. */
export const mxnetModule = {
  name: "mxnet",
  formats: [
    { id: "mxnet-symbol", description: "MXNet symbol graph (JSON)", textual: true, hintExtensions: ["json"] },
    { id: "mxnet-params", description: "MXNet NDArray list (.params)" },
  ],
  detectors: [
    { rank: 57, detect: detectMxnetParams },
    { rank: 186, detect: detectMxnetSymbol },
  ],
  analyzers: [
    lazyAnalyzer("mxnet-params", ["mxnet-params"], async () => (await import("./analyzer.js")).mxnetParamsAnalyzer),
    lazyAnalyzer("mxnet-symbol", ["mxnet-symbol"], async () => (await import("./analyzer.js")).mxnetSymbolAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
