/**
 * Rules of the ggml area (pre-GGUF llama.cpp and whisper.cpp files).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const GGML = "https://github.com/ggml-org/ggml";

/** ggml rules. */
export const ggmlRules = [
  {
    id: "ggml/malformed",
    title: "ggml/ggmf/ggjt file is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "No known layout (llama.cpp's `ggml`/`ggmf`/`ggjt`, whisper.cpp's `ggml`) accounts for the file: an unknown version, a negative hyperparameter, a vocabulary or token longer than the file, a tensor with an unknown or out-of-era type, more than 4 or non-positive dimensions, a row that is not a whole number of blocks, or data past the end of the file. The old C++ loaders trusted these fields when they allocated and copied.",
    references: [GGML],
  },
  {
    id: "ggml/duplicate-tensor",
    title: "Duplicate tensor name",
    severity: "medium",
    invalidates: true,
    description:
      "Two tensors have the same name. Loaders that index tensors by name keep one of them, so two readers can see different weights.",
    references: [GGML],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof ggmlRules)[number]["id"], true> {}
}
