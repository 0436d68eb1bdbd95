/**
 * The Paddle module: PaddlePaddle static programs (`ProgramDesc` protobuf, `.pdmodel` and
 * `__model__`). Parameters saved with `paddle.save` (`.pdparams`) are pickles and go to the pickle
 * engine; combined parameter files (`.pdiparams`) are raw tensors.
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectPaddleProgram } from "./detect.js";
import { paddleRules } from "./rules.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "paddle-program": true;
  }
}

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
  rules: paddleRules,
} as const satisfies FormatModule;
