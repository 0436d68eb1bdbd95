/**
 * The NumPy module: `.npy` arrays (object arrays carry pickles) and `.npz` zips of them.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { ascii, magic } from "../../core/sniffing.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    numpy: true;
    npz: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "numpyRules");

/** A zip whose every file member is a `.npy` array. */
function matchNpz(names: readonly string[]): object | undefined {
  const files = names.filter((n) => !n.endsWith("/"));
  return files.length > 0 && files.every((n) => n.endsWith(".npy")) ? {} : undefined;
}

/** NumPy arrays. */
export const numpyModule = {
  name: "numpy",
  formats: [
    {
      id: "numpy",
      description: "NumPy .npy array",
      claimExtensions: ["npy"],
      pickleContext: { context: "numpy", rank: 3 },
    },
    {
      id: "npz",
      description: "NumPy .npz archive",
      claimExtensions: ["npz", "zip"],
      zipSignature: { rank: 30, match: matchNpz },
      pickleContext: { context: "numpy", rank: 3 },
    },
  ],
  detectors: [{ rank: 20, detect: magic("numpy", [0x93, ...ascii("NUMPY")], "NumPy .npy magic") }],
  analyzers: [lazyAnalyzer("numpy", ["numpy"], async () => (await import("./analyzer.js")).numpyAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
