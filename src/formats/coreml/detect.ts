/**
 * Recognises Core ML `.mlmodel` files: a protobuf `Model` whose top-level fields are only
 * `specificationVersion` (1, varint), `description` (2), `isUpdatable` (10) and model-type fields
 * (200 and above, which no ONNX or TensorFlow top-level message uses), with at least one model
 * type in the sniffed bytes.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";
import { MODEL_FIELDS, MODEL_TYPES } from "./schema.js";

/** Reads a varint of at most 5 bytes (field keys and lengths); [value, next] or undefined. */
function varint(bytes: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

export const detectCoreml: Detector = ({ head, size, name }) => {
  let at = 0;
  let version: number | undefined;
  let type: string | undefined;
  for (let n = 0; n < 16 && at < head.length; n++) {
    const key = varint(head, at);
    if (key === undefined) break;
    const field = Math.floor(key[0] / 8);
    const wire = key[0] % 8;
    if (!MODEL_FIELDS.has(field) && !MODEL_TYPES.has(field)) return undefined;
    if (field === 1 || field === 10) {
      if (wire !== 0) return undefined;
      const v = varint(head, key[1]);
      if (v === undefined) return undefined;
      if (field === 1) version = v[0];
      at = v[1];
      continue;
    }
    if (wire !== 2) return undefined;
    const len = varint(head, key[1]);
    if (len === undefined || len[1] + len[0] > size) return undefined;
    if (MODEL_TYPES.has(field)) {
      type = MODEL_TYPES.get(field);
      break;
    }
    at = len[1] + len[0];
  }
  if (version === undefined || version < 1 || version > 32) return undefined;
  // a description larger than the sniffed bytes hides the type: the name decides then
  if (type === undefined && !(at >= head.length && extensionOf(name) === "mlmodel")) return undefined;
  return {
    format: "coreml",
    offset: 0,
    reason: `Core ML Model (specification ${version}, ${type ?? "type beyond the sniffed bytes"})`,
  };
};
