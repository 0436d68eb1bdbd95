/**
 * Rules of the tf-checkpoint area (TensorFlow checkpoint indexes).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const DOCS = "https://www.tensorflow.org/guide/checkpoint";
const TABLE = "https://github.com/google/leveldb/blob/main/doc/table_format.md";

/** tf-checkpoint rules. */
export const tfCheckpointRules = [
  {
    id: "tf-checkpoint/malformed",
    title: "TensorFlow checkpoint index is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The `.index` table's footer, block handles, block trailers, entries or restart points run outside the file or their block, keys are not in order, or an entry is not the BundleHeaderProto/BundleEntryProto TensorFlow writes (a shard or byte range outside the checkpoint's shards). TensorFlow refuses the checkpoint.",
    references: [DOCS, TABLE],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof tfCheckpointRules)[number]["id"], true> {}
}
