/**
 * The TensorFlow SavedModel module: `saved_model.pb` graphs (file-system and Python ops).
 * Recognised by the protobuf module's detector and by name.
 *
 * Detection: name-based recognition of TensorFlow SavedModel files whose bytes are not valid protobuf,
 * and of the SavedModel's `fingerprint.pb` (inert protobuf).
 * @module
 */
import type { SniffInput } from "../../core/analyzer.js";
import type { Detection } from "../../core/formats.js";
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { varint } from "../../core/sniffing.js";

/**
 * A `saved_model.pb` or `keras_metadata.pb` is a SavedModel file by name even when its content
 * does not parse (truncated, corrupted): it must be analysed and reported invalid, never passed
 * over as unknown content.
 * @param name - file or member name
 */
export function detectSavedModelByName(name: string): Detection | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  return base === "saved_model.pb" || base === "keras_metadata.pb"
    ? { format: "tf-savedmodel", offset: 0, reason: `named ${base} (not valid protobuf)` }
    : undefined;
}

/**
 * Whether `bytes` are exactly a sequence of protobuf fields, each accepted by `accept` (field
 * number, wire type, payload of a length-delimited field).
 */
function strictFields(
  bytes: Uint8Array,
  accept: (field: number, wire: number, payload?: Uint8Array) => boolean,
): boolean {
  let at = 0;
  while (at < bytes.length) {
    const tag = varint(bytes, at);
    if (tag === undefined) return false;
    const field = Math.floor(tag[0] / 8);
    const wire = tag[0] % 8;
    if (wire === 0) {
      const v = varint(bytes, tag[1]);
      if (v === undefined || !accept(field, wire)) return false;
      at = v[1];
    } else if (wire === 2) {
      const len = varint(bytes, tag[1]);
      if (len === undefined || len[1] + len[0] > bytes.length) return false;
      if (!accept(field, wire, bytes.subarray(len[1], len[1] + len[0]))) return false;
      at = len[1] + len[0];
    } else return false;
  }
  return true;
}

/** `VersionDef`: producer (1), min_consumer (2), bad_consumers (3, repeated, maybe packed). */
const isVersionDef = (bytes: Uint8Array): boolean =>
  strictFields(bytes, (field, wire, payload) =>
    wire === 0 ? field >= 1 && field <= 3 : field === 3 && payload !== undefined && strictPacked(payload),
  );

/** A uuid as TensorFlow writes it: letters, digits and `-` only. */
const isUuid = (bytes: Uint8Array): boolean =>
  bytes.every((b) => b === 0x2d || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));

function strictPacked(bytes: Uint8Array): boolean {
  let at = 0;
  while (at < bytes.length) {
    const v = varint(bytes, at);
    if (v === undefined) return false;
    at = v[1];
  }
  return true;
}

/**
 * TensorFlow's `fingerprint.pb` beside `saved_model.pb` (TF 2.11 and later): a `FingerprintDef`
 * of five uint64 hashes (`saved_model_checksum`, `graph_def_program_hash`, `signature_def_hash`,
 * `saved_object_graph_hash`, `checkpoint_hash`: fields 1–5, varints), a `VersionDef` (field 6) and,
 * since TF 2.15 or so, a `uuid` string (field 7, decimal digits as TF 2.21 writes it).
 * Its opening varint field 1 made it look like an ONNX `ModelProto` (`onnx/malformed`). Recognised
 * by name and only when the whole file parses strictly as that message: such bytes hold nothing an
 * ONNX loader could run (read as a `GraphProto`, a uuid of letters, digits and `-` cannot hold a
 * node, whose tag is 0x0a), so it is inert protobuf.
 * @param input - sniffer input
 */
export function detectFingerprint({ head, size, name }: SniffInput): Detection | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  if (base !== "fingerprint.pb" || size === 0 || size > head.length || size > 4096) return undefined;
  const bytes = head.subarray(0, size);
  const ok = strictFields(bytes, (field, wire, payload) =>
    wire === 0
      ? field >= 1 && field <= 5
      : payload !== undefined &&
        ((field === 6 && isVersionDef(payload)) || (field === 7 && payload.length <= 128 && isUuid(payload))),
  );
  return ok
    ? { format: "protobuf", offset: 0, reason: "TensorFlow SavedModel fingerprint (FingerprintDef)" }
    : undefined;
}

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "tf-savedmodel": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "savedmodelRules");

/** TensorFlow SavedModels. */
export const savedModelModule = {
  name: "savedmodel",
  formats: [{ id: "tf-savedmodel", description: "TensorFlow SavedModel protobuf" }],
  // before the protobuf detector (180), which takes a fingerprint for ONNX
  detectors: [{ rank: 178, detect: detectFingerprint }],
  analyzers: [
    lazyAnalyzer("tf-savedmodel", ["tf-savedmodel"], async () => (await import("./analyzer.js")).savedModelAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
