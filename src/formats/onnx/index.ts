/**
 * The ONNX modules: `ModelProto` graphs (operators, custom domains, external data), recognised by
 * the protobuf module's detector; and the external data files those graphs reference, recognised
 * as a last resort (bytes nothing else recognised, under any name a loader does not unpickle and
 * no format claims: the model chooses the name) and kept only when a model beside them references
 * them.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectExternalData } from "./data-detect.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    onnx: true;
    "onnx-external-data": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "onnxRules");

/** ONNX models. */
export const onnxModule = {
  name: "onnx",
  formats: [{ id: "onnx", description: "ONNX model", claimExtensions: ["onnx"] }],
  analyzers: [lazyAnalyzer("onnx", ["onnx"], async () => (await import("./analyzer.js")).onnxAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;

/**
 * ONNX external data files. A module of its own so that the registry runs its analyzer after the
 * OpenVINO one: a `.bin` candidate is the OpenVINO weights detector's, and its analyzer hands an
 * unreferenced one back as unknown before this one looks for an ONNX model referencing it.
 */
export const onnxExternalDataModule = {
  name: "onnx-external-data",
  formats: [
    {
      id: "onnx-external-data",
      description: "ONNX external data (raw tensor bytes a model beside it references by location)",
    },
  ],
  // After every content detector and the name-only ones (TF shards 1000): only bytes nothing else
  // recognises are candidates (see ./data-detect.ts for the names and bytes left to other readings).
  detectors: [{ rank: 1010, detect: detectExternalData }],
  analyzers: [
    lazyAnalyzer(
      "onnx-external-data",
      ["onnx-external-data", "openvino-weights"],
      async () => (await import("./external-data.js")).onnxExternalDataAnalyzer,
    ),
  ],
} as const satisfies FormatModule;
