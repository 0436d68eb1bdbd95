/**
 * The torch7 module: Lua Torch `torch.save` files (`.t7`), walked without executing anything.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectTorch7 } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    torch7: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "torch7Rules");

/** Lua Torch7 serialized objects. */
export const torch7Module = {
  name: "torch7",
  formats: [{ id: "torch7", description: "Lua Torch7 serialized object (torch.save)", claimExtensions: ["t7"] }],
  // Below the text formats: ASCII torch files are text, binary ones have no magic.
  detectors: [{ rank: 185, detect: detectTorch7 }],
  analyzers: [lazyAnalyzer("torch7", ["torch7"], async () => (await import("./analyzer.js")).torch7Analyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
