/**
 * Rules of the safetensors area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const SPEC = "https://github.com/huggingface/safetensors#format";

/** safetensors rules. */
export const safetensorsRules = [
  {
    id: "safetensors/header-too-large",
    title: "safetensors header length over the reference limit",
    severity: "medium",
    invalidates: true,
    description:
      "The 8-byte little-endian header length exceeds 100,000,000 bytes, the limit the reference implementation enforces. Loaders refuse the file; a scanner that allocated the declared length could be exhausted.",
    references: [SPEC],
  },
  {
    id: "safetensors/header-out-of-bounds",
    title: "safetensors header extends past the end of the file",
    severity: "medium",
    invalidates: true,
    description:
      "The declared header length (plus its 8-byte prefix) is larger than the file. The file is truncated or forged.",
    references: [SPEC],
  },
  {
    id: "safetensors/invalid-header",
    title: "safetensors header is not valid",
    severity: "medium",
    invalidates: true,
    description:
      "The header is not strict UTF-8 JSON, is not an object, has bytes other than JSON whitespace around the object, or an entry does not have the shape the reference implementation requires (`__metadata__` a string-to-string map; every other key a tensor with a known `dtype`, an unsigned-integer `shape` and two unsigned-integer `data_offsets`). The reference loader rejects such files; other loaders may read them differently.",
    references: [SPEC],
  },
  {
    id: "safetensors/duplicate-key",
    title: "Duplicate key in safetensors header",
    severity: "high",
    invalidates: true,
    description:
      "The header JSON repeats a tensor name or metadata key. The reference implementation and Python's `json` keep the last occurrence, other JSON parsers the first: two loaders see two different models, and a scanner that uses the other rule is blind to one of them.",
    references: [SPEC],
  },
  {
    id: "safetensors/unknown-dtype",
    title: "Unknown safetensors dtype",
    severity: "medium",
    invalidates: true,
    description:
      "A tensor declares a dtype outside the reference list (BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64). Its byte size cannot be checked and loaders reject it.",
    references: [SPEC],
  },
  {
    id: "safetensors/tensor-size-mismatch",
    title: "Tensor byte range does not match its shape and dtype",
    severity: "medium",
    invalidates: true,
    description:
      "`data_offsets[1] - data_offsets[0]` differs from the product of the shape times the dtype size, the product overflows 64 bits, or a sub-byte dtype does not fill whole bytes. Loaders that trust the offsets read other tensors' bytes (or past the buffer); the reference rejects the file.",
    references: [SPEC],
  },
  {
    id: "safetensors/offsets-not-contiguous",
    title: "Tensor data ranges overlap or leave gaps",
    severity: "medium",
    invalidates: true,
    description:
      "Sorted by offset, tensor byte ranges must tile the data section from 0 with no gap, no overlap and no reversed range. Gaps can carry hidden payloads that no tensor claims; overlaps make two tensors alias the same bytes.",
    references: [SPEC],
  },
  {
    id: "safetensors/data-length-mismatch",
    title: "Data section is not exactly covered by the tensors",
    severity: "medium",
    invalidates: true,
    description:
      "The last tensor does not end exactly at the end of the file: either bytes follow it (trailing data that no tensor claims, a classic place to append a pickle or an archive; they are scanned as a member) or tensors point past the end of the file. The reference rejects both.",
    references: [SPEC],
  },
  {
    id: "safetensors/nonstandard-field",
    title: "Tensor entry has fields the format does not define",
    severity: "low",
    description:
      "A tensor entry carries keys besides `dtype`, `shape` and `data_offsets`. The reference ignores them; they have no use and can smuggle data past tools that only read the known fields.",
    references: [SPEC],
  },
  {
    id: "safetensors/metadata-code",
    title: "Metadata value contains code",
    severity: "medium",
    description:
      "A `__metadata__` value looks like executable code (Python imports or calls such as `os.system`, `exec`, `eval`, `__import__`, `subprocess`; shell pipelines such as `curl … | sh`; `<script>`). No safetensors loader executes, evaluates or renders metadata, so the text is inert and the file `suspicious`, not `malicious`; but metadata is free text that tools display or feed to other programs, and code in it may be a staged payload or a lure. Jinja templates found there are analysed too, their findings capped at medium for the same reason.",
  },
  {
    id: "safetensors/metadata-pickle",
    title: "Metadata value is an encoded pickle",
    severity: "medium",
    description:
      "A `__metadata__` value is, or decodes (base64 or hex) to, a Python pickle stream. safetensors loaders never unpickle metadata, so the file is `suspicious`, not `malicious`; a tool that did would run it. The stream is analysed with the pickle policy and what it would import or call is named in the message and evidence (`callee`, `payloadSeverity`, `payloadRules`).",
  },
  {
    id: "safetensors/metadata-url",
    title: "Metadata value contains a URL",
    severity: "low",
    description:
      "A `__metadata__` value contains a URL. Harmless when it is documentation; worth a look when a tool may fetch it (remote code, configuration or weights pulled at load time).",
  },
  {
    id: "safetensors/suspicious-tensor-name",
    title: "Tensor name with path, control or markup characters",
    severity: "medium",
    description:
      "A tensor name contains control characters, path traversal (`..`, a leading `/` or `\\`, a drive letter) or markup/template characters (`<`, `>`, quotes, backquote, `${`, `{{`). Tools write tensor names into file paths, HTML reports and shell commands; real models use dotted identifiers.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof safetensorsRules)[number]["id"], true> {}
}
