/**
 * Rules of the tensorrt area (serialized TensorRT engines).
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const RUNTIME = "https://docs.nvidia.com/deeplearning/tensorrt/latest/inference-library/c-api-docs.html";
const PLUGINS = "https://docs.nvidia.com/deeplearning/tensorrt/latest/inference-library/extending-custom-layers.html";

/** tensorrt rules. */
export const tensorrtRules = [
  {
    id: "tensorrt/opaque-engine",
    title: "Serialized TensorRT engine (not analysable)",
    severity: "low",
    description:
      "A serialized TensorRT engine (`ptrt`/`ftrt` tag, possibly behind a length-prefixed JSON metadata block as Ultralytics exports write). The format is proprietary and undocumented: modelgate recognises it and scans its strings, but cannot verify what `IRuntime::deserializeCudaEngine` will do with it, so it is never `clean`.",
    references: [RUNTIME],
  },
  {
    id: "tensorrt/plugin-reference",
    title: "TensorRT plugin referenced by the engine",
    severity: "medium",
    description:
      "The engine names a plugin creator (`IPluginV2`/`IPluginV3` layers, `*_TRT` creators, `*Plugin*` names) or a shared library (`.so`, `.dll`, `.dylib`). Plugins are native code: deserializing the engine looks the creator up in the plugin registry and runs its code, and the library must be loaded into the process first (`IPluginRegistry::loadLibrary`, `trtexec --plugins`).",
    references: [PLUGINS],
  },
  {
    id: "tensorrt/embedded-library",
    title: "Native library embedded in the engine",
    severity: "high",
    description:
      "An ELF or PE image lies inside the engine. TensorRT 8.6+ can serialize plugin libraries into the engine (`setPluginsToSerialize`) and version-compatible engines carry a lean runtime: the runtime loads that native code when it deserializes the engine.",
    references: [PLUGINS],
  },
  {
    id: "tensorrt/no-engine",
    title: "Ultralytics-style metadata without an engine after it",
    severity: "low",
    description:
      "The file opens like an Ultralytics TensorRT export (a 32-bit length, then a JSON object of that length) but no `ptrt`/`ftrt` engine tag follows the metadata, which lies beyond the bytes the sniffer reads. TensorRT refuses such an engine; the metadata is still analysed, and the rest of the file is not.",
    references: [RUNTIME],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof tensorrtRules)[number]["id"], true> {}
}
