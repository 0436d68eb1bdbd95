/**
 * The Paddle module: PaddlePaddle static programs (`ProgramDesc` protobuf, `.pdmodel` and
 * `__model__`). Parameters saved with `paddle.save` (`.pdparams`) are pickles and go to the pickle
 * engine; combined parameter files (`.pdiparams`) are raw tensors.
 *
 * Detection: recognises a Paddle `ProgramDesc` by its fields, in any order (protobuf parsers, and
 * so Paddle, accept fields in any order: a program may open with its `version` or an unknown
 * field, and a block may give `parent_idx` before `idx`, or its ops before both). The head's
 * top-level fields are walked; a `blocks` field (1, length-delimited) whose fields seen in the head
 * are all BlockDesc fields with their wire types is block-shaped. A program is recognised whatever
 * its name when its top-level fields are only ProgramDesc's (1 blocks, 4 version, 5 op_version_map)
 * and a block shows `idx` and `parent_idx` and is the global block (`parent_idx` -1) or holds vars
 * or ops, or shows a var with its name or an op with its type (its indices may lie past the head,
 * after large vars); under Paddle's own names (`*.pdmodel`, `__model__`) any walkable
 * protobuf with a block-shaped `blocks` field is one. ONNX models and SavedModels open with a
 * varint field 1, GraphDefs' field 1 holds a NodeDef whose field 1 is a string: neither has such a
 * block. `__model__` (Paddle's legacy default name, no extension to claim) is read as a program
 * whatever else it holds (unless it opens like ONNX), as Paddle reads it; the analyzer reports what
 * does not parse.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";

/** Top-level and block fields walked at most in the head. */
const MAX_HEAD_FIELDS = 256;

/** Reads a varint in `[at, end)`: [value (exact below 2^53; negatives as 2^64 + v), next]; undefined when cut. */
function readVarint(bytes: Uint8Array, at: number, end: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 10; i++) {
    const b = bytes[i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

/** One protobuf field seen in the head. */
interface HeadField {
  readonly field: number;
  readonly wire: number;
  /** Varint value, or payload start for a length-delimited field. */
  readonly value: number;
  /** Payload length (length-delimited fields). */
  readonly length: number;
  /** The payload runs past the head (its content was not seen whole). */
  readonly cut: boolean;
}

/**
 * Walks protobuf fields of `[start, end)` as far as the head holds them.
 * @param truncatable - `end` is the end of the file: a last field running past it is kept, cut (a
 *   truncated program is still one; its analysis reports it malformed)
 * @returns the fields, or undefined when the bytes are not protobuf wire data (or a field overruns `end`)
 */
function walkFields(head: Uint8Array, start: number, end: number, truncatable: boolean): HeadField[] | undefined {
  const fields: HeadField[] = [];
  const seen = Math.min(end, head.length);
  let at = start;
  while (at < seen && fields.length < MAX_HEAD_FIELDS) {
    const tag = readVarint(head, at, seen);
    if (tag === undefined) return fields;
    const [key, next] = tag;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field < 1 || field > 536_870_911) return undefined;
    if (wire === 0) {
      const v = readVarint(head, next, seen);
      if (v === undefined) return next >= seen ? fields : undefined;
      fields.push({ field, wire, value: v[0], length: 0, cut: false });
      at = v[1];
    } else if (wire === 1 || wire === 5) {
      at = next + (wire === 1 ? 8 : 4);
      if (at > end && !truncatable) return undefined;
      fields.push({ field, wire, value: next, length: at - next, cut: at > seen });
    } else if (wire === 2) {
      const len = readVarint(head, next, seen);
      if (len === undefined) return fields;
      at = len[1] + len[0];
      if (at > end && !truncatable) return undefined;
      fields.push({ field, wire, value: len[1], length: len[0], cut: at > seen });
    } else return undefined;
    if (at > end) return fields; // the file ends inside this field
  }
  return fields;
}

/** BlockDesc field number → wire type (1 idx, 2 parent_idx, 3 vars, 4 ops, 5 forward_block_idx). */
const BLOCK_WIRES: Readonly<Record<number, number>> = { 1: 0, 2: 0, 3: 2, 4: 2, 5: 0 };
/** ProgramDesc's fields (1 blocks, 4 version, 5 op_version_map), all length-delimited. */
const PROGRAM_FIELDS = new Set([1, 4, 5]);
/** `parent_idx = -1` as a varint (the global block). */
const MINUS_ONE = 2 ** 64 - 1;

/** What a `blocks` field's head shows. */
interface BlockShape {
  /** Every field seen is a BlockDesc field with its wire type, idx and parent_idx among them. */
  readonly complete: boolean;
  /** Every field seen is a BlockDesc field with its wire type (the required ones may lie past the head). */
  readonly shaped: boolean;
  readonly global: boolean;
  /** Vars or ops seen. */
  readonly content: boolean;
  /** A var with its name or an op with its type seen (a block whose indices lie past the head). */
  readonly named: boolean;
}

const printable = (bytes: Uint8Array): boolean => bytes.length > 0 && bytes.every((b) => b > 0x20 && b < 0x7f);

/**
 * Whether a vars (3) or ops (4) field of a block shows a VarDesc with its name (1, a string) or an
 * OpDesc with its type (3, a string), among fields numbered as those messages number theirs.
 */
function namedContent(head: Uint8Array, field: HeadField): boolean {
  if (field.field !== 3 && field.field !== 4) return false;
  const fields = walkFields(head, field.value, field.value + field.length, false);
  if (fields === undefined || !fields.every((f) => f.field <= 10 && (f.wire === 0 || f.wire === 2))) return false;
  const label = fields.find((f) => f.field === (field.field === 3 ? 1 : 3) && f.wire === 2 && !f.cut);
  return (
    label !== undefined && label.length <= 256 && printable(head.subarray(label.value, label.value + label.length))
  );
}

function blockShape(head: Uint8Array, field: HeadField, size: number): BlockShape | undefined {
  const end = field.value + field.length;
  const fields = walkFields(head, field.value, Math.min(end, size), end > size);
  if (fields === undefined || fields.length === 0) return undefined;
  if (!fields.every((f) => BLOCK_WIRES[f.field] === f.wire)) return undefined;
  const idx = fields.find((f) => f.field === 1);
  const parent = fields.find((f) => f.field === 2);
  const small = (v: number) => v < 2 ** 31 || v === MINUS_ONE || v >= 2 ** 64 - 2 ** 31;
  if ((idx !== undefined && !small(idx.value)) || (parent !== undefined && !small(parent.value))) return undefined;
  return {
    complete: idx !== undefined && parent !== undefined,
    shaped: true,
    global: parent?.value === MINUS_ONE,
    content: fields.some((f) => f.field === 3 || f.field === 4),
    named: fields.some((f) => namedContent(head, f)),
  };
}

/** Whether a name is one Paddle gives programs (`*.pdmodel`, `__model__`). */
export function isPaddleProgramName(name: string): boolean {
  const base = name.slice(name.lastIndexOf("/") + 1);
  return extensionOf(name) === "pdmodel" || base === "__model__";
}

/**
 * A ProgramDesc, its fields in any order: any name with only ProgramDesc fields at the top and a
 * complete block (global, or with vars or ops) or one showing a named var or typed op; Paddle's names with a block-shaped `blocks` field
 * among any top-level fields; and `__model__` whatever it holds.
 */
export const detectPaddleProgram: Detector = ({ head, size, name }) => {
  const top = walkFields(head, 0, size, true);
  const named = isPaddleProgramName(name);
  const legacy = name.slice(name.lastIndexOf("/") + 1) === "__model__";
  if (top !== undefined && top.length > 0) {
    const blocks = top.filter((f) => f.field === 1 && f.wire === 2);
    const shapes = blocks.map((b) => blockShape(head, b, size));
    const programOnly = top.every((f) => PROGRAM_FIELDS.has(f.field) && f.wire === 2);
    const programBlock = (b: BlockShape | undefined) =>
      b !== undefined && ((b.complete && (b.global || b.content)) || b.named);
    if (programOnly && shapes.some(programBlock)) {
      return { format: "paddle-program", offset: 0, reason: "ProgramDesc fields with a BlockDesc (idx, parent_idx)" };
    }
    if (named && shapes.some((b) => b?.shaped === true)) {
      return { format: "paddle-program", offset: 0, reason: "protobuf with a BlockDesc, named like a Paddle program" };
    }
  }
  // An ONNX model or SavedModel (a varint field 1, anywhere) named __model__ is left to their detectors.
  const onnxLike = top?.some((f) => f.field === 1 && f.wire === 0) === true;
  return legacy && !onnxLike
    ? { format: "paddle-program", offset: 0, reason: "named __model__ (Paddle's program name)" }
    : undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "paddle-program": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "paddleRules");

/** Paddle programs. */
export const paddleModule = {
  name: "paddle",
  formats: [
    { id: "paddle-program", description: "PaddlePaddle program (ProgramDesc, .pdmodel)", claimExtensions: ["pdmodel"] },
  ],
  // Before the generic protobuf detector (180), after every magic-number format: it only matches
  // the ProgramDesc opening, which no ONNX, SavedModel or GraphDef has.
  detectors: [{ rank: 175, detect: detectPaddleProgram }],
  analyzers: [lazyAnalyzer("paddle", ["paddle-program"], async () => (await import("./analyzer.js")).paddleAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
