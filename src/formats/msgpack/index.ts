/**
 * The msgpack module: Flax/JAX checkpoints (`flax_model.msgpack`) and other msgpack-serialised
 * weights (msgpack-numpy). Data only, but object arrays carry pickles and extension types decode
 * to whatever the loader registers.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectMsgpack } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "flax-msgpack": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "msgpackRules");

/** msgpack model files. */
export const msgpackModule = {
  name: "msgpack",
  formats: [
    {
      id: "flax-msgpack",
      description: "msgpack-serialised weights (Flax/JAX flax_model.msgpack, msgpack-numpy)",
      claimExtensions: ["msgpack"],
    },
  ],
  detectors: [{ rank: 145, detect: detectMsgpack }],
  analyzers: [lazyAnalyzer("msgpack", ["flax-msgpack"], async () => (await import("./analyzer.js")).msgpackAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
