/**
 * Candidates for ONNX external data: files an ONNX model's tensors may point at through
 * `external_data` (`location`, `offset`, `length`). Their content is raw tensor bytes, so content
 * cannot say what they are: only bytes no other detector recognised are candidates (the detector
 * ranks last), and the analyzer keeps a candidate only when a model beside it references it,
 * handing every other one back as unknown content.
 *
 * The model chooses the name (`location` is any relative path): besides the names ONNX tools
 * write, a name without extension (`weights`) or a `.bin` (`model.bin`) is a candidate
 * ({@link isChosenDataName}), whatever pickle opcode its first byte happens to be: the pickle
 * engine still reads such bytes, as firmly as a weak reading beside a candidate known by its name
 * alone (in full when they parse whole; what they hand to loaders is scanned either way), whatever
 * this analyzer decides. Never a candidate: a name a loader unpickles (`pytorch_model.bin`,
 * `adapter_model.bin`, `diffusion_pytorch_model.bin`, `.pkl`, `.pt` ...:
 * the claim reads it as a pickle, and a positive detection here would demote that strong reading
 * to a speculative one), and, under a chosen name, bytes that open with PROTO 2–5 (a pickle claimed
 * by content) or in which a format is found past byte 0 (a zip by its end record, HDF5 after a user
 * block: the sniffer analyses that format, and a candidate here would make it a polyglot).
 *
 * Names the ONNX tools write ({@link isExternalDataName}): `<model>.onnx.data` / `<model>.onnx_data`
 * (onnx.save_model with a location, torch.onnx, Optimum), a UUID without extension (onnx.save_model
 * without a location), one file per tensor named after the tensor (`fc1.weight`,
 * `onnx__MatMul_12`). `.bin` names whose bytes do not open like a pickle are the OpenVINO weights
 * detector's: its candidates are also offered to the ONNX data analyzer.
 * @module
 */
import { detectZip } from "../../containers/zip/index.js";
import type { Detector } from "../../core/module.js";
import { detectHdf5 } from "../keras/index.js";
import { isTorchTarMember, unpicklesByName } from "../pickle/claim-names.js";

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

/**
 * Whether a file name is one ONNX tools give external data.
 * @param name - the file or member name
 */
export function isExternalDataName(name: string): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  // names a loader unpickles inside a legacy PyTorch tar are never offered as tensor data
  if (base.length === 0 || isTorchTarMember(base)) return false;
  if (BESIDE_MODEL.test(base) || UUID.test(base) || TORCH_TENSOR.test(base)) return true;
  const dot = base.lastIndexOf(".");
  return dot > 0 && DATA_EXTENSIONS.has(base.slice(dot + 1));
}

/**
 * Whether a loader would unpickle a file of this name (its claim asks for a strong pickle
 * reading): the table the claims are built from (`../pickle/claim-names.ts`).
 * @param name - the file or member name
 */
export const claimsPickle = (name: string): boolean => unpicklesByName(name);

/**
 * Whether a name may be one a model chose for its data beyond the names ONNX tools write: no
 * extension (`weights`) or `.bin` (`model.bin`). Other extensions are claimed by formats or are
 * too common to take: every candidate's verdict depends on its folder (a model beside it), so it
 * is never cached, and unknown bytes under any name would all lose the verdict cache.
 * @param name - the file or member name
 */
export function isChosenDataName(name: string): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  const dot = base.lastIndexOf(".");
  return base.length > 0 && (dot < 0 || (dot > 0 && base.slice(dot + 1) === "bin"));
}

/** PROTO 2–5 at byte 0: the bytes claim a pickle by content. */
const opensWithProto = (head: Uint8Array): boolean => head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0xff) <= 5;

/**
 * Candidate: bytes nothing else recognised, under a name ONNX tools write or a chosen one (no
 * extension, `.bin`), never one a loader unpickles; under a chosen name, not when the bytes open
 * with PROTO 2–5 or hold a zip end record or an HDF5 superblock past byte 0. The analyzer keeps it only when a model beside it references it.
 */
export const detectExternalData: Detector = (input) => {
  const { name, size, head } = input;
  if (size === 0 || claimsPickle(name) || isTorchTarMember(name)) return undefined;
  const named = isExternalDataName(name);
  // names ONNX tools write keep their candidacy whatever the bytes (as before); other names give way
  if (!named && !isChosenDataName(name)) return undefined;
  if (!named && (opensWithProto(head) || detectZip(input) !== undefined || detectHdf5(input) !== undefined))
    return undefined;
  return {
    format: "onnx-external-data",
    offset: 0,
    reason: named
      ? "unrecognised bytes named like ONNX external data"
      : "unrecognised bytes under a name a model may choose for its external data",
  };
};
