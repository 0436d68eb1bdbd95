/**
 * The TFLite module: TensorFlow Lite / LiteRT flatbuffer models (operator codes, custom and Flex
 * operators, metadata).
 *
 * Detection: recognises TFLite models by the flatbuffer file identifier `TFL3` at bytes 4–8.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

const TFL3 = ascii("TFL3");

export const detectTflite: Detector = ({ head, size }) => {
  if (!startsWith(head, TFL3, 4)) return undefined;
  const root = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  return {
    format: "tflite",
    offset: 0,
    reason:
      root >= 8 && root < size
        ? "flatbuffer file identifier TFL3"
        : "flatbuffer file identifier TFL3, root offset out of range",
  };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    tflite: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "tfliteRules");

/** TFLite models. */
export const tfliteModule = {
  name: "tflite",
  formats: [{ id: "tflite", description: "TensorFlow Lite (LiteRT) flatbuffer model", claimExtensions: ["tflite"] }],
  detectors: [{ rank: 125, detect: detectTflite }],
  analyzers: [lazyAnalyzer("tflite", ["tflite"], async () => (await import("./analyzer.js")).tfliteAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
