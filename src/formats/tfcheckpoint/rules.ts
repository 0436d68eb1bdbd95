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
  {
    id: "tf-checkpoint/out-of-bounds",
    title: "TensorFlow checkpoint tensor outside its data shard",
    severity: "medium",
    invalidates: true,
    description:
      "A BundleEntryProto's `offset` + `size` reaches past the end of the `.data-NNNNN-of-NNNNN` shard it names (checked from file sizes, without reading tensor data). TensorFlow fails to restore the checkpoint; a reader that trusts the index reads past the shard.",
    references: [DOCS],
  },
  {
    id: "tf-checkpoint/missing-shard",
    title: "TensorFlow checkpoint data shard missing",
    severity: "low",
    description:
      "The index stores tensors in a data shard (`<prefix>.data-NNNNN-of-NNNNN`) that is not beside it in the scanned tree. The checkpoint cannot be restored as shipped, and its tensors were not accounted for. Only checked when the scan can see sibling files (a directory or a repository).",
    references: [DOCS],
  },
  {
    id: "tf-checkpoint/unread-blocks",
    title: "TensorFlow checkpoint index blocks not read",
    severity: "low",
    description:
      "Some blocks of the `.index` table are stored compressed (Snappy). TensorFlow's bundle writer stores them uncompressed, and modelgate does not decompress them: their entries (which tensors, in which shards, at which offsets) were not read or checked, so the index is not known to be what it claims.",
    references: [TABLE],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof tfCheckpointRules)[number]["id"], true> {}
}
