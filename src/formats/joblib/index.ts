/**
 * The joblib module: `joblib.dump` files (a pickle with NumPy arrays written after their wrapper
 * objects), recognised by claims and by the array wrapper in the stream, and joblib's pre-0.10
 * `ZF` files, recognised by their header (`joblib.load` reads them whatever their name).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { readZfileHeader } from "./layout.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    joblib: true;
  }
}

/** A pre-0.10 `ZF` file: "ZF", then a length field joblib reads (see {@link readZfileHeader}). */
const detectZfile: Detector = ({ head }) =>
  readZfileHeader(head) === undefined
    ? undefined
    : { format: "joblib", offset: 0, reason: "joblib ZF header (pre-0.10 zlib format)" };

/** joblib files. */
export const joblibModule = {
  name: "joblib",
  formats: [{ id: "joblib", description: "joblib.dump file", pickleContext: { context: "joblib", rank: 2 } }],
  detectors: [{ rank: 25, detect: detectZfile }],
  analyzers: [lazyAnalyzer("joblib", ["joblib"], async () => (await import("./analyzer.js")).joblibAnalyzer)],
} as const satisfies FormatModule;
