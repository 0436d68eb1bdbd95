/**
 * Candidates for ONNX external data: files an ONNX model's tensors may point at through
 * `external_data` (`location`, `offset`, `length`). Their content is raw tensor bytes, so only
 * names decide, and only for bytes no other detector recognised (the detector ranks last); the
 * analyzer keeps a candidate only when a sibling model references it.
 *
 * Names the ONNX tools write: `<model>.onnx.data` / `<model>.onnx_data` (onnx.save_model with a
 * location, torch.onnx, Optimum), a UUID without extension (onnx.save_model without a location),
 * one file per tensor named after the tensor (`fc1.weight`, `onnx__MatMul_12`). `.bin` names are
 * the OpenVINO weights detector's: its candidates are also offered to the ONNX data analyzer.
 * @module
 */
import type { Detector } from "../../core/module.js";

/** Extensions of tensor data files. */
const DATA_EXTENSIONS: ReadonlySet<string> = new Set([
  "data",
  "dat",
  "weight",
  "weights",
  "bias",
  "extdata",
  "external",
  "raw",
  "tensor",
  "tensors",
]);

/** `<anything>.onnx` followed by a separator and a suffix (`model.onnx.data`, `model.onnx_data`). */
const BESIDE_MODEL = /\.onnx[._-][^/]*$/;
/** What `str(uuid.uuid1())` writes. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Per-tensor files of models exported by torch (`onnx::MatMul_12` sanitised). */
const TORCH_TENSOR = /^onnx(?:__|::)/;
/** Names a loader unpickles inside a legacy PyTorch tar: never offered as tensor data. */
const PICKLE_NAMES: ReadonlySet<string> = new Set(["pickle", "storages", "tensors", "sys_info"]);

/**
 * Whether a file name is one ONNX tools give external data.
 * @param name - the file or member name
 */
export function isExternalDataName(name: string): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  if (base.length === 0 || PICKLE_NAMES.has(base)) return false;
  if (BESIDE_MODEL.test(base) || UUID.test(base) || TORCH_TENSOR.test(base)) return true;
  const dot = base.lastIndexOf(".");
  return dot > 0 && DATA_EXTENSIONS.has(base.slice(dot + 1));
}

/** Candidate: bytes nothing else recognised, under a name ONNX tools give external data. */
export const detectExternalData: Detector = ({ name, size }) =>
  size > 0 && isExternalDataName(name)
    ? { format: "onnx-external-data", offset: 0, reason: "unrecognised bytes named like ONNX external data" }
    : undefined;
