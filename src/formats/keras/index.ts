/**
 * The Keras module: `.keras` zips (config, metadata, weights), legacy HDF5 `.h5` models and Keras
 * configs inside other containers (Lambda layers, modules outside Keras).
 *
 * Detection: recognises HDF5 files (Keras `.h5`) by their superblock signature.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

const HDF5_MAGIC = [0x89, ...ascii("HDF"), 0x0d, 0x0a, 0x1a, 0x0a];
export const detectHdf5: Detector = ({ head }) => {
  // The superblock sits at 0 or after a user block of 512, 1024, 2048 ... bytes.
  for (let at = 0; at + HDF5_MAGIC.length <= head.length; at = at === 0 ? 512 : at * 2) {
    if (startsWith(head, HDF5_MAGIC, at)) return { format: "hdf5", offset: at, reason: `HDF5 superblock at ${at}` };
  }
  return undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    hdf5: true;
    keras: true;
  }
}

/** A `.keras` zip: top-level `config.json` plus `metadata.json` and/or `model.weights.h5`. */
function matchKeras(names: readonly string[]): object | undefined {
  const top = new Set(names.filter((n) => !n.includes("/")));
  return top.has("config.json") && (top.has("metadata.json") || top.has("model.weights.h5")) ? {} : undefined;
}

const rules = lazyRules(import.meta.url, "./rules.js", "kerasRules");

/** Keras models. */
export const kerasModule = {
  name: "keras",
  formats: [
    { id: "hdf5", description: "HDF5 file (legacy Keras .h5)", claimExtensions: ["h5", "hdf5", "keras"] },
    {
      id: "keras",
      description: "Keras v3 .keras archive",
      claimExtensions: ["keras", "zip"],
      zipSignature: { rank: 40, match: matchKeras },
    },
  ],
  detectors: [{ rank: 40, detect: detectHdf5 }],
  analyzers: [
    lazyAnalyzer("keras-config", ["json"], async () => (await import("./analyzer.js")).kerasConfigAnalyzer),
    lazyAnalyzer("keras-hdf5", ["hdf5"], async () => (await import("./analyzer.js")).kerasHdf5Analyzer),
    lazyAnalyzer(
      "keras-member",
      ["python", "shell", "notebook"],
      async () => (await import("./analyzer.js")).kerasMemberAnalyzer,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
