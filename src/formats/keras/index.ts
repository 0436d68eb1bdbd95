/**
 * The Keras module: `.keras` zips (config, metadata, weights), legacy HDF5 `.h5` models and Keras
 * configs inside other containers (Lambda layers, modules outside Keras).
 *
 * Detection: recognises HDF5 files (Keras `.h5`) by their superblock signature, and JSON text as
 * Python's `json.loads` of bytes decodes it (UTF-32, UTF-16 without a byte-order mark, UTF-8 with
 * encoded surrogates: Keras reads a `.keras` archive's `config.json` so) where the text sniffer
 * does not read it so.
 * @module
 */
import { detectJsonEncoding, jsonOpeningEncoding } from "../../core/json-bytes.js";
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

const HDF5_MAGIC = [0x89, ...ascii("HDF"), 0x0d, 0x0a, 0x1a, 0x0a];
export const detectHdf5: Detector = ({ head }) => {
  // The superblock sits at 0 or after a user block of 512, 1024, 2048 ... bytes. Beyond the head
  // (user blocks of 64 KiB and more) only a file named .h5/.hdf5/.keras is looked at, by the
  // analyzer (the format is a probed claim); the same search is `locateHdf5Superblock`.
  for (let at = 0; at + HDF5_MAGIC.length <= head.length; at = at === 0 ? 512 : at * 2) {
    if (startsWith(head, HDF5_MAGIC, at)) return { format: "hdf5", offset: at, reason: `HDF5 superblock at ${at}` };
  }
  return undefined;
};

/**
 * JSON text as Python's `json.loads(bytes)` decodes it where the text sniffer (rank 190: UTF-8, or
 * UTF-16 after a byte-order mark) reads it otherwise or not at all. Keras 3 passes the bytes of a
 * `.keras` archive's `config.json` to `json.loads`, so such a config is read, and must be analysed,
 * as JSON. Two ranks:
 * - before the sniffer, UTF-32 (with or without a byte-order mark: the sniffer takes the
 *   little-endian mark for UTF-16's); anything else is left to it at once (four bytes looked at);
 * - after it, whatever it refused: UTF-16 without a mark, and UTF-8 with an encoded surrogate (which
 *   Python's `surrogatepass` decoding takes) or with bytes that do not decode (the analyzer then
 *   reports them).
 */
function jsonBytesDetector(utf32: boolean): Detector {
  return ({ head }) => {
    if (detectJsonEncoding(head).startsWith("utf-32") !== utf32) return undefined;
    const encoding = jsonOpeningEncoding(head);
    return encoding === undefined
      ? undefined
      : { format: "json", offset: 0, reason: `JSON text in ${encoding} (as Python's json reads bytes)` };
  };
}

/** UTF-32 JSON (before the text sniffer). */
export const detectJsonUtf32 = jsonBytesDetector(true);
/** Other JSON the text sniffer refused (after it). */
export const detectJsonBytes = jsonBytesDetector(false);

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
    // probe: HDF5 finds the superblock at 0, 512, 1024 ... anywhere in the file; behind a user block
    // of 64 KiB or more the sniffer's head does not reach it, so a file so named is probed.
    {
      id: "hdf5",
      description: "HDF5 file (legacy Keras .h5)",
      claimExtensions: ["h5", "hdf5", "keras"],
      probe: true,
    },
    {
      id: "keras",
      description: "Keras v3 .keras archive",
      claimExtensions: ["keras", "zip"],
      zipSignature: { rank: 40, match: matchKeras },
    },
  ],
  // Around the text sniffer (190): see jsonBytesDetector.
  detectors: [
    { rank: 40, detect: detectHdf5 },
    { rank: 189, detect: detectJsonUtf32 },
    { rank: 191, detect: detectJsonBytes },
  ],
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
