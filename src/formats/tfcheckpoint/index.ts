/**
 * The TensorFlow checkpoint module: `*.index` tables and their `*.data-NNNNN-of-NNNNN` shards.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectCheckpointData, detectCheckpointIndex } from "./detect.js";

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
