/**
 * The joblib module: `joblib.dump` files (a pickle with NumPy arrays written after their wrapper
 * objects), recognised by claims and by the array wrapper in the stream.
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    joblib: true;
  }
}

/** joblib files. */
export const joblibModule = {
  name: "joblib",
  formats: [{ id: "joblib", description: "joblib.dump file", pickleContext: { context: "joblib", rank: 2 } }],
  analyzers: [lazyAnalyzer("joblib", ["joblib"], async () => (await import("./analyzer.js")).joblibAnalyzer)],
} as const satisfies FormatModule;
