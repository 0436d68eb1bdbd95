/**
 * Rules of the executorch area.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const SCHEMA = "https://github.com/pytorch/executorch/blob/main/schema/program.fbs";
const FORMAT = "https://github.com/pytorch/executorch/blob/main/docs/source/pte-file-format.md";
const DELEGATES = "https://docs.pytorch.org/executorch/stable/compiler-delegate-and-partitioner.html";

/** executorch rules. */
export const executorchRules = [
  {
    id: "executorch/malformed",
    title: "ExecuTorch program is malformed",
    severity: "medium",
    invalidates: true,
    description:
      "The program's flatbuffer or headers cannot be read safely (an offset or a length past the end, an invalid vtable, an extended header whose sizes do not fit the file, budgets exceeded) or the runtime refuses it (a file identifier other than ET12, a delegate or instruction pointing at data, operators or delegates that do not exist, a segment past the end of the file).",
    references: [SCHEMA, FORMAT],
  },
  {
    id: "executorch/delegate",
    title: "Delegate to a well-known ExecuTorch backend",
    severity: "info",
    description:
      "An execution plan hands part of the graph to a backend shipped with ExecuTorch (XNNPACK, Core ML, MPS, Vulkan, Qualcomm QNN, Arm Ethos-U/VGF, MediaTek, Samsung, NXP, OpenVINO). The delegate's processed blob is backend-specific data the backend parses natively; it is scanned as an opaque member.",
    references: [DELEGATES],
  },
  {
    id: "executorch/unknown-delegate",
    title: "Delegate to an unknown ExecuTorch backend",
    severity: "medium",
    description:
      "An execution plan hands part of the graph to a backend id that is not one ExecuTorch ships. The runtime passes the delegate's blob to whatever backend registered that id in the loading application: native code and data the program cannot show.",
    references: [DELEGATES, SCHEMA],
  },
  {
    id: "executorch/custom-op",
    title: "Operator outside ExecuTorch's standard kernel libraries",
    severity: "low",
    description:
      "An operator's namespace is not `aten`, `quantized_decomposed`, `dim_order_ops`, `executorch_prim` or `llama`: a custom kernel library must be linked into the loading application, and the program runs whatever it registered under that name.",
    references: ["https://docs.pytorch.org/executorch/stable/kernel-library-custom-aten-kernel.html"],
  },
  {
    id: "executorch/structure-anomaly",
    title: "ExecuTorch flatbuffer structure no writer produces",
    severity: "low",
    description:
      "The flatbuffer has misaligned tables, vectors or scalars, a field overlapping its table's vtable offset, or a union type without a value. The runtime's loader accepts them, but the FlatBuffers builder EXIR uses never writes them: the file was crafted or patched by hand.",
    references: [SCHEMA, "https://flatbuffers.dev/internals/"],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof executorchRules)[number]["id"], true> {}
}
