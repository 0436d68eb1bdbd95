/**
 * The Paddle module: PaddlePaddle static programs (`ProgramDesc` protobuf, `.pdmodel` and
 * `__model__`). Parameters saved with `paddle.save` (`.pdparams`) are pickles and go to the pickle
 * engine; combined parameter files (`.pdiparams`) are raw tensors.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectPaddleProgram } from "./detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "paddle-program": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "paddleRules");

/** Paddle programs. */
export const paddleModule = {
  name: "paddle",
  formats: [
    { id: "paddle-program", description: "PaddlePaddle program (ProgramDesc, .pdmodel)", claimExtensions: ["pdmodel"] },
  ],
  // Before the generic protobuf detector (180), after every magic-number format: it only matches
  // the ProgramDesc opening, which no ONNX, SavedModel or GraphDef has.
  detectors: [{ rank: 175, detect: detectPaddleProgram }],
  analyzers: [lazyAnalyzer("paddle", ["paddle-program"], async () => (await import("./analyzer.js")).paddleAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
