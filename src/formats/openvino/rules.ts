/**
 * Rules of the openvino area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const IR = "https://docs.openvino.ai/2024/documentation/openvino-ir-format/operation-sets.html";
const EXT = "https://docs.openvino.ai/2024/documentation/openvino-extensibility.html";

/** openvino rules. */
export const openvinoRules = [
  {
    id: "openvino/custom-layer",
    title: "OpenVINO layer outside the standard operation sets",
    severity: "medium",
    description:
      "A `<layer>`'s `version`/`type` is not an operation of opset1–opset15. OpenVINO can only load such a layer through an extension: a native library registered with `Core.add_extension` (or a plugin's custom kernel), code that runs in the loading process. Check where that library comes from.",
    references: [IR, EXT],
  },
  {
    id: "openvino/extension-library",
    title: "OpenVINO IR names a native extension library",
    severity: "high",
    description:
      "An attribute in `<rt_info>`, or an `extension` attribute, names a shared library (`.so`, `.dll`, `.dylib`). Custom operations run as native code from such libraries; an IR that points its loader at one asks it to run code shipped beside the model.",
    references: [EXT],
  },
  {
    id: "openvino/malformed",
    title: "OpenVINO IR structure is invalid",
    severity: "medium",
    invalidates: true,
    description:
      "The IR is not a `<net>` with `<layers>` and `<edges>`, a layer has no id or type, two layers share an id, or an edge names a layer that does not exist. OpenVINO rejects such graphs; other readers may build a different one.",
    references: [IR],
  },
  {
    id: "openvino/unsupported-version",
    title: "Unknown OpenVINO IR version",
    severity: "medium",
    invalidates: true,
    description:
      "`<net version>` is neither 10 nor 11, the IR versions current OpenVINO releases read (older IRs were read by the Inference Engine with its own custom-layer mechanism). modelgate cannot tell what a loader would make of it.",
    references: [IR],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof openvinoRules)[number]["id"], true> {}
}
