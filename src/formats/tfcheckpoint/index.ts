/**
 * The TensorFlow checkpoint module: `*.index` tables and their `*.data-NNNNN-of-NNNNN` shards.
 *
 * Detection: recognises TensorFlow checkpoint indexes (a LevelDB-format table whose first entry is the
 * bundle header under the empty key) and, by name only when nothing else recognises the bytes,
 * their data shards (`*.data-00000-of-00001`: raw tensor bytes the index points into).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/** The table magic as it ends the file (the index reader checks it too). */
export const TABLE_MAGIC = [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb];

export const detectCheckpointIndex: Detector = ({ head, tail, size }) => {
  if (size < 48 || head[0] !== 0 || head[1] !== 0 || tail.length < 8) return undefined;
  const end = tail.subarray(tail.length - 8);
  return TABLE_MAGIC.every((b, i) => end[i] === b)
    ? { format: "tf-checkpoint", offset: 0, reason: "table footer magic, bundle header first" }
    : undefined;
};

/** Names of checkpoint data shards. */
export const SHARD = /\.data-\d{5}-of-\d{5}$/;

export const detectCheckpointData: Detector = ({ name }) =>
  SHARD.test(name) ? { format: "tf-checkpoint-data", offset: 0, reason: "checkpoint data shard name" } : undefined;

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "tf-checkpoint": true;
    "tf-checkpoint-data": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "tfCheckpointRules");

/** TensorFlow checkpoints. */
export const tfCheckpointModule = {
  name: "tfcheckpoint",
  formats: [
    { id: "tf-checkpoint", description: "TensorFlow checkpoint index (.index)" },
    {
      id: "tf-checkpoint-data",
      description: "TensorFlow checkpoint data shard (raw tensor bytes the index points into)",
    },
  ],
  detectors: [
    { rank: 58, detect: detectCheckpointIndex },
    // Last of all: only bytes nothing else recognises are taken for a shard, by their name.
    { rank: 1000, detect: detectCheckpointData },
  ],
  analyzers: [
    lazyAnalyzer("tf-checkpoint", ["tf-checkpoint"], async () => (await import("./analyzer.js")).tfCheckpointAnalyzer),
    lazyAnalyzer(
      "tf-checkpoint-data",
      ["tf-checkpoint-data"],
      async () => (await import("./analyzer.js")).tfCheckpointDataAnalyzer,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
