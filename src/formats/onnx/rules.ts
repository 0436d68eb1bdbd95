/**
 * Rules of the onnx area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

/** onnx rules. */
export const onnxRules = [
  {
    id: "onnx/external-data-traversal",
    title: "ONNX external data path escapes the model directory",
    severity: "high",
    description:
      "A tensor's `external_data` `location` is absolute, has a drive letter or UNC prefix, contains `..` components, or otherwise resolves outside the model's directory once normalised. Vulnerable `onnx` releases read (and `save_model` writes) that path, so a model can exfiltrate `/etc/passwd` or SSH keys into its weights, or overwrite files.",
    cve: ["CVE-2022-25882", "CVE-2024-27318"],
    references: ["https://onnx.ai/onnx/repo-docs/ExternalData.html"],
  },
  {
    id: "onnx/external-data-symlink",
    title: "ONNX external data reached through a symbolic link",
    severity: "high",
    description:
      "An `external_data` `location` that looks local resolves, through a symbolic link in the model directory, to a file outside it. Path checks that only look at the string (the fix of CVE-2022-25882) miss this; loaders follow the link.",
    cve: ["CVE-2024-27318"],
  },
  {
    id: "onnx/external-data-missing",
    title: "ONNX external data file missing",
    severity: "medium",
    description:
      "A tensor stores its data in an external file that is not present next to the model. The model cannot load as shipped; a loader run elsewhere may pick up whatever file happens to have that name.",
  },
  {
    id: "onnx/external-data-out-of-bounds",
    title: "ONNX external data range outside its file",
    severity: "medium",
    description:
      "An `external_data` `offset`/`length` pair reaches past the end of the referenced file. Readers that trust these numbers read out of bounds or fail; a well-formed exporter never writes them.",
  },
  {
    id: "onnx/external-data-invalid",
    title: "Malformed ONNX external data entry",
    severity: "medium",
    invalidates: true,
    description:
      "A tensor marked `EXTERNAL` has no `location`, a location with NUL or control characters, a non-numeric or negative `offset`/`length`, duplicated keys, or keys the ONNX spec does not define. The data the model would load cannot be determined.",
  },
  {
    id: "onnx/nonstandard-domain",
    title: "Operator from a non-standard ONNX domain",
    severity: "low",
    description:
      'A node uses an operator domain other than the standard ones (`""`/`ai.onnx`, `ai.onnx.ml`, `ai.onnx.preview.training`). Such operators need custom kernels registered by the runtime (a native custom-op library or Python code). Well-known runtime vendor domains (`com.microsoft`, `org.pytorch.aten`) are reported at `info`; functions defined inside the model are reported as facts.',
  },
  {
    id: "onnx/python-op",
    title: "ONNX operator that runs Python or a custom kernel",
    severity: "high",
    description:
      "A node's operator runs Python or arbitrary library code when the model executes: `PyOp` (onnxruntime-extensions), `PythonOp`/`PythonOpGrad` (exported `torch.autograd.Function`s), `PyFunc` and similar (ATen fallbacks are `onnx/aten-op`). Loading such a model with the matching custom-op library executes code that the model controls.",
  },
  {
    id: "onnx/aten-op",
    title: "ONNX node that dispatches to a PyTorch ATen operator",
    severity: "low",
    description:
      "A node is an `ATen` fallback (torch.onnx's `ONNX_ATEN` export): onnxruntime built with ATen support looks its `operator` attribute up among libtorch's native `aten::` operators and runs it. No Python runs and the operator set is PyTorch's own, but the graph needs the installed torch at inference, which the report makes visible.",
  },
  {
    id: "onnx/unknown-op",
    title: "Operator unknown to ONNX",
    severity: "low",
    description:
      "A node in a standard ONNX domain uses an operator type that no ONNX release defines. Standard runtimes refuse it; its presence suggests a hand-edited or tampered graph, or an operator meant to be resolved by a custom registry.",
  },
  {
    id: "onnx/malformed",
    title: "Malformed ONNX model",
    severity: "medium",
    invalidates: true,
    description:
      "The protobuf structure of the model is broken (truncated fields, bad wire types, lengths past the end, invalid UTF-8 in names), so the graph could not be fully analysed.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof onnxRules)[number]["id"], true> {}
}
