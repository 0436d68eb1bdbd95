/**
 * Reads what a Flex (select TensorFlow ops) operator runs from its `custom_options`.
 *
 * Why: the `custom_code` `Flex<Op>` only routes the operator to the Flex delegate. The kernel the
 * delegate builds comes from the custom options, a FlexBuffer vector whose element 0 is the op name
 * handed to TensorFlow's kernel factory and whose element 1 is a serialized `tensorflow.NodeDef`
 * whose `op` (field 2) TensorFlow looks up and whose attributes configure the kernel
 * (`tensorflow/lite/delegates/flex/kernel.cc`, `OpNode::InitializeNodeDef`). A model can name
 * `FlexAddV2` and carry `WriteFile` there, so both names are read and judged.
 *
 * The reading mirrors `flexbuffers::GetRoot(...).AsVector()`, `v[i].AsString()` and protobuf's
 * parse of the NodeDef (the last `op` wins, fields in any order, unknown fields and groups
 * skipped), bounded: every read stays inside the options' bytes, and a NodeDef is walked for at
 * most {@link MAX_NODEDEF_FIELDS} fields. Anything else is `unreadable`, with the reason.
 * @module
 */
import type { FlatBytes } from "../flatbuffer/reader.js";

/** What a Flex operator's custom options name. */
export type FlexKernel =
  | { readonly ok: true; readonly name: string; readonly nodeOp: string }
  | { readonly ok: false; readonly reason: string };

/** Longest op name kept (TensorFlow op names are short identifiers). */
const MAX_NAME = 1024;
/** Protobuf fields of one NodeDef visited at most. */
export const MAX_NODEDEF_FIELDS = 4096;
/** Protobuf fields visited at most over all the Flex operators of a model (see {@link FlexBudget}). */
export const MAX_MODEL_NODEDEF_FIELDS = 2_000_000;

/** What is left of a model's NodeDef budget; shared by every call of {@link readFlexKernel}. */
export interface FlexBudget {
  fields: number;
}
/** Group nesting followed at most (the C++ protobuf runtime's recursion limit). */
const MAX_GROUP_DEPTH = 100;

/** FlexBuffer types used here (`flexbuffers::Type`). */
const FBT_KEY = 4;
const FBT_STRING = 5;
const FBT_MAP = 9;
const FBT_VECTOR = 10;

/** A read outside the options, or a structure the reader does not accept. */
class Unreadable extends Error {}

/** Bounded little-endian reads inside `[start, end)` of the flatbuffer. */
class Window {
  constructor(
    readonly bytes: FlatBytes,
    readonly start: number,
    readonly end: number,
  ) {}

  check(at: number, length: number, what: string): void {
    if (!(at >= this.start && length >= 0 && at + length <= this.end)) {
      throw new Unreadable(`${what} lies outside the custom options`);
    }
  }

  /** An unsigned integer of `width` (1, 2, 4 or 8) bytes. */
  uint(at: number, width: number, what: string): number {
    this.check(at, width, what);
    let value = 0;
    for (let i = width - 1; i >= 0; i--) value = value * 256 + this.bytes.u8(at + i);
    return value;
  }
}

const widthOf = (packedType: number): number => 1 << (packedType & 3);

/**
 * The string an element holds as `Reference::AsString()` returns it: a STRING's sized bytes, a
 * KEY's bytes up to NUL; any other type is the empty string.
 */
function elementString(w: Window, elem: number, parentWidth: number, packedType: number, what: string): string {
  const type = packedType >> 2;
  if (type !== FBT_STRING && type !== FBT_KEY) return "";
  const data = elem - w.uint(elem, parentWidth, `${what} offset`);
  if (type === FBT_KEY) {
    let n = 0;
    while (n <= MAX_NAME) {
      w.check(data + n, 1, what);
      if (w.bytes.u8(data + n) === 0) return decode(w.bytes.bytes(data, n));
      n++;
    }
    throw new Unreadable(`${what} is longer than ${MAX_NAME} bytes`);
  }
  const width = widthOf(packedType);
  const length = w.uint(data - width, width, `${what} size`);
  if (length > MAX_NAME) throw new Unreadable(`${what} is longer than ${MAX_NAME} bytes`);
  w.check(data, length, what);
  return decode(w.bytes.bytes(data, length));
}

/** Where a STRING element's bytes are (the serialized NodeDef, which may be large). */
function elementRange(w: Window, elem: number, parentWidth: number, packedType: number): [number, number] {
  const type = packedType >> 2;
  if (type !== FBT_STRING) return [0, 0]; // AsString() of anything else is "" (a NodeDef without an op)
  const data = elem - w.uint(elem, parentWidth, "NodeDef offset");
  const width = widthOf(packedType);
  const length = w.uint(data - width, width, "NodeDef size");
  w.check(data, length, "NodeDef");
  return [data, length];
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
const decode = (bytes: Uint8Array): string => utf8.decode(bytes);

/** Reads a protobuf varint at `at`; returns [value (exact below 2^53), next]. */
function varint(w: Window, at: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at + i >= end) throw new Unreadable("NodeDef varint runs past its end");
    const b = w.bytes.u8(at + i);
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, at + i + 1];
  }
  throw new Unreadable("NodeDef varint longer than 10 bytes");
}

/** The last `op` (field 2) of a serialized NodeDef, as protobuf's parser leaves it ("" when absent). */
function nodeDefOp(w: Window, start: number, length: number, budget: FlexBudget): string {
  const end = start + length;
  let at = start;
  let op = "";
  let fields = 0;
  const groups: number[] = [];
  while (at < end) {
    if (++fields > MAX_NODEDEF_FIELDS) throw new Unreadable(`NodeDef has more than ${MAX_NODEDEF_FIELDS} fields`);
    if (--budget.fields < 0) throw new Unreadable("the model's NodeDef budget is spent");
    const [tag, next] = varint(w, at, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new Unreadable("NodeDef field number 0");
    at = next;
    if (wire === 0) at = varint(w, at, end)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [len, data] = varint(w, at, end);
      if (data + len > end) throw new Unreadable("NodeDef field runs past its end");
      // A top-level op field (not one inside a group) sets NodeDef.op.
      if (field === 2 && groups.length === 0) {
        if (len > MAX_NAME) throw new Unreadable(`NodeDef op is longer than ${MAX_NAME} bytes`);
        op = decode(w.bytes.bytes(data, len));
      }
      at = data + len;
    } else if (wire === 3) {
      if (groups.length >= MAX_GROUP_DEPTH) throw new Unreadable("NodeDef groups nest too deep");
      groups.push(field);
    } else if (wire === 4) {
      if (groups.pop() !== field) throw new Unreadable("NodeDef end-group without its start");
    } else throw new Unreadable(`NodeDef wire type ${wire}`);
    if (at > end) throw new Unreadable("NodeDef field runs past its end");
  }
  if (groups.length > 0) throw new Unreadable("NodeDef group without its end");
  return op;
}

/**
 * Reads the op name (element 0) and the NodeDef's `op` (element 1) of Flex custom options.
 * @param bytes - the flatbuffer (or the whole file)
 * @param start - first byte of the custom options
 * @param length - their length
 * @param budget - the model's remaining NodeDef fields (decremented)
 */
export function readFlexKernel(bytes: FlatBytes, start: number, length: number, budget: FlexBudget): FlexKernel {
  const w = new Window(bytes, start, start + length);
  try {
    if (length < 3) throw new Unreadable(`custom options of ${length} bytes hold no FlexBuffer`);
    const end = start + length;
    const rootWidth = w.uint(end - 1, 1, "root width");
    const rootType = w.uint(end - 2, 1, "root type");
    if (![1, 2, 4, 8].includes(rootWidth)) throw new Unreadable(`root byte width ${rootWidth}`);
    const root = end - 2 - rootWidth;
    const type = rootType >> 2;
    // AsVector() of anything but a vector or a map is the empty vector: no name, no NodeDef.
    if (type !== FBT_VECTOR && type !== FBT_MAP)
      throw new Unreadable(`the root is FlexBuffer type ${type}, not a vector`);
    const vector = root - w.uint(root, rootWidth, "root offset");
    const width = widthOf(rootType);
    const size = w.uint(vector - width, width, "vector size");
    if (size < 2) throw new Unreadable(`the vector has ${size} element(s), not [name, NodeDef]`);
    const types = vector + size * width;
    const name = elementString(w, vector, width, w.uint(types, 1, "element 0 type"), "op name");
    const [nodeDef, nodeDefLength] = elementRange(w, vector + width, width, w.uint(types + 1, 1, "element 1 type"));
    return { ok: true, name, nodeOp: nodeDefOp(w, nodeDef, nodeDefLength, budget) };
  } catch (error) {
    if (error instanceof Unreadable) return { ok: false, reason: error.message };
    throw error; // MissingBytes (paged reading) and budget errors go to the caller
  }
}
