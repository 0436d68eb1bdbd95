/**
 * The protobuf module: recognises protobuf messages by their fields and tells ONNX and SavedModel
 * graphs apart from other protobuf (which carries nothing executable here).
 *
 * Detection: recognises protobuf messages by their top-level fields: ONNX `ModelProto`, TensorFlow
 * SavedModel, or plain protobuf.
 * @module
 */
import type { Detector, FormatModule } from "../../core/module.js";
import { extensionOf, varint } from "../../core/sniffing.js";
import { detectSavedModelByName } from "../savedmodel/index.js";

/** Top-level protobuf fields of the head: [field number, wire type, start of payload, length]. */
function protobufFields(head: Uint8Array, size: number): Array<[number, number, number, number]> | undefined {
  const fields: Array<[number, number, number, number]> = [];
  let at = 0;
  while (at < head.length && fields.length < 64) {
    const tag = varint(head, at);
    if (tag === undefined) return fields.length >= 2 ? fields : undefined;
    const [key, next] = tag;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field < 1 || field > 536_870_911) return undefined;
    let end: number;
    if (wire === 0) {
      const v = varint(head, next);
      if (v === undefined) return fields.length >= 2 ? fields : undefined;
      fields.push([field, wire, next, v[1] - next]);
      end = v[1];
    } else if (wire === 1 || wire === 5) {
      end = next + (wire === 1 ? 8 : 4);
      fields.push([field, wire, next, end - next]);
    } else if (wire === 2) {
      const len = varint(head, next);
      if (len === undefined) return fields.length >= 2 ? fields : undefined;
      end = len[1] + len[0];
      if (end > size) return undefined;
      fields.push([field, wire, len[1], len[0]]);
    } else {
      return undefined;
    }
    at = end;
  }
  return fields.length >= 2 && at <= size ? fields : undefined;
}

/** ONNX `ModelProto`'s field numbers and their wire types (0 varint, 2 length-delimited). */
const ONNX_MODEL_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, 0],
  [2, 2],
  [3, 2],
  [4, 2],
  [5, 0],
  [6, 2],
  [7, 2],
  [8, 2],
  [14, 2],
  [20, 2],
  [25, 2],
  [26, 2],
]);

const isPrintable = (bytes: Uint8Array): boolean => bytes.every((b) => b >= 0x20 && b < 0x7f);

/**
 * A SentencePiece `ModelProto` (`tokenizer.model`, `spiece.model`): top-level fields 1–5 only,
 * opening with a piece (field 1) whose own fields are the piece text (1), its score (2, fixed32)
 * and optionally its type (3, varint).
 */
function isSentencePiece(head: Uint8Array, fields: Array<[number, number, number, number]>): boolean {
  const first = fields[0];
  if (first === undefined || first[0] !== 1 || first[1] !== 2 || first[3] > 4096) return false;
  if (!fields.every(([f, w]) => f >= 1 && f <= 5 && w === 2)) return false;
  const piece = protobufFields(head.subarray(first[2], first[2] + first[3]), first[3]);
  return (
    piece !== undefined &&
    piece[0]?.[0] === 1 &&
    piece[0][1] === 2 &&
    piece[1]?.[0] === 2 &&
    piece[1][1] === 5 &&
    piece.slice(2).every(([f, w]) => f === 3 && w === 0)
  );
}

export const detectProtobuf: Detector = ({ head, size, name }) => {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  const ext = extensionOf(name);
  const fields = protobufFields(head, size);
  if (fields === undefined) {
    if (ext === "onnx") return { format: "onnx", offset: 0, reason: "named .onnx (not valid protobuf)" };
    return detectSavedModelByName(name);
  }
  const [first] = fields;
  if (base === "saved_model.pb" || base === "keras_metadata.pb") {
    return { format: "tf-savedmodel", offset: 0, reason: `protobuf named ${base}` };
  }
  // ONNX ModelProto: ir_version (field 1, varint), its producer named in field 2, the graph in 7.
  // onnx writes ir_version first, but a protobuf parser takes the fields in any order: a ModelProto
  // is recognised by its field numbers and wire types, with ir_version and a graph anywhere.
  // Fields the parser does not know are skipped (onnx.load keeps them as unknown fields), so a
  // ModelProto with ir_version and a graph is ONNX whatever other fields it holds; without a graph
  // in the head, every field must be one of ModelProto's.
  const producer = fields.find(([f, w]) => f === 2 && w === 2);
  const irVersion = fields.some(([f, w]) => f === 1 && w === 0);
  const graph = fields.some(([f, w]) => f === 7 && w === 2);
  const onnxLike =
    first !== undefined &&
    irVersion &&
    (producer === undefined ||
      isPrintable(head.subarray(producer[2], Math.min(head.length, producer[2] + producer[3])))) &&
    (graph || (first[0] === 1 && fields.every(([f, w]) => ONNX_MODEL_FIELDS.get(f) === w)));
  if (onnxLike || ext === "onnx") return { format: "onnx", offset: 0, reason: "ONNX ModelProto fields" };
  const savedModelLike =
    first !== undefined && first[0] === 1 && first[1] === 0 && fields.some(([f, w]) => f === 2 && w === 2);
  if (savedModelLike && ext === "pb") return { format: "tf-savedmodel", offset: 0, reason: "SavedModel fields" };
  if (isSentencePiece(head, fields)) return { format: "protobuf", offset: 0, reason: "SentencePiece ModelProto" };
  return ext === "pb" || ext === "pbtxt" ? { format: "protobuf", offset: 0, reason: "protobuf fields" } : undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    protobuf: true;
  }
}

/** Protobuf messages. */
export const protobufModule = {
  name: "protobuf",
  formats: [{ id: "protobuf", description: "protobuf message", inert: true }],
  detectors: [{ rank: 180, detect: detectProtobuf }],
} as const satisfies FormatModule;
