/**
 * Rules of the gguf area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const SPEC = "https://github.com/ggml-org/ggml/blob/master/docs/gguf.md";

/** gguf rules. */
export const ggufRules = [
  {
    id: "gguf/unsupported-version",
    title: "Unknown GGUF version",
    severity: "medium",
    invalidates: true,
    description:
      "The version field is neither 1, 2 nor 3 in either byte order. The rest of the file cannot be read safely.",
    references: [SPEC],
  },
  {
    id: "gguf/malformed",
    title: "GGUF header is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "A key/value or tensor-info record cannot be parsed: an unknown value type, an empty key, a nested array, a string or array whose declared length exceeds what the file holds, or a header that ends early. Parsers in C and C++ loaders have had heap overflows on exactly these fields.",
    cve: ["CVE-2024-23496"],
    references: [SPEC, "https://talosintelligence.com/vulnerability_reports/TALOS-2024-1913"],
  },
  {
    id: "gguf/count-out-of-bounds",
    title: "GGUF tensor or key/value count impossible for the file size",
    severity: "medium",
    invalidates: true,
    description:
      "The header declares more tensors or key/value pairs than the file could hold (each needs a minimum number of bytes). Loaders that pre-allocate from these counts have been driven into integer overflows and heap corruption.",
    references: [SPEC],
  },
  {
    id: "gguf/duplicate-key",
    title: "Duplicate GGUF key or tensor name",
    severity: "high",
    invalidates: true,
    description:
      "The same metadata key or tensor name appears twice. llama.cpp rejects such files; readers that keep the first or the last occurrence see different models (and different chat templates).",
    references: [SPEC],
  },
  {
    id: "gguf/bad-alignment",
    title: "Invalid general.alignment",
    severity: "medium",
    invalidates: true,
    description: "`general.alignment` is not a UINT32 or not a non-zero power of two; llama.cpp refuses the file.",
    references: [SPEC],
  },
  {
    id: "gguf/invalid-tensor-info",
    title: "Invalid GGUF tensor description",
    severity: "medium",
    invalidates: true,
    description:
      "A tensor has more than 4 dimensions, a negative or overflowing element count, an unknown or removed ggml type, a row size that is not a multiple of the type's block size, or a name of 64 bytes or more. Loaders compute buffer sizes from these fields.",
    references: [SPEC],
  },
  {
    id: "gguf/tensor-layout",
    title: "Tensor data offsets misaligned, overlapping or out of order",
    severity: "medium",
    invalidates: true,
    description:
      "Tensor offsets must be multiples of the alignment and follow each other in file order, each tensor starting where the previous one (padded to the alignment) ends, as llama.cpp requires. Overlaps alias tensors; gaps leave bytes no tensor claims.",
    references: [SPEC],
  },
  {
    id: "gguf/tensor-out-of-bounds",
    title: "Tensor data lies outside the file",
    severity: "medium",
    invalidates: true,
    description:
      "A tensor's data range ends past the end of the file (a truncated download, or a crafted file). Loaders that map or copy it read beyond their buffer: Ollama's GGUF loader leaked heap memory this way.",
    cve: ["CVE-2026-7482"],
    references: [SPEC, "https://github.com/advisories/GHSA-x8qc-fggm-mpqg"],
  },
  {
    id: "gguf/trailing-data",
    title: "Bytes after the last tensor",
    severity: "low",
    description:
      "The file continues past the end of the data section (beyond alignment padding). Nothing reads these bytes; they are analysed as a member because appended archives and pickles hide there.",
    references: [SPEC],
  },
  {
    id: "gguf/key-type-mismatch",
    title: "Well-known GGUF key has the wrong type",
    severity: "medium",
    description:
      "A key whose type llama.cpp assumes (tokenizer token/score/type arrays, token ids, chat templates, architecture) has another type, or the vocabulary arrays disagree in length. Loaders that cast the raw array pointer read out of bounds.",
    references: [SPEC, "https://github.com/ggml-org/llama.cpp/pull/26690"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof ggufRules)[number]["id"], true> {}
}
