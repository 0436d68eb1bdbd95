/**
 * Strict safetensors header reader following the reference implementation's rules. Reads the
 * 8-byte length and the JSON header only (`8 + N` bytes), never tensor data, so a 20 GB file costs
 * what a 2 KB one does.
 * @module
 */

import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type Evidence, FindingList, type RuleId } from "../../core/findings.js";
import { decodeUtf8Strict, JsonNumber, JsonObject, type JsonValue, parseStrictJson } from "../../core/json.js";
import { preview } from "../../core/preview.js";

/** Largest header the reference implementation accepts. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** Bits per element of every dtype the reference implementation knows. */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
});

const U64_MAX = (1n << 64n) - 1n;
const FIELDS = new Set(["dtype", "shape", "data_offsets"]);
/** Issues of one rule beyond this many are summarised in one last issue. */
const MAX_ISSUES_PER_RULE = 20;

/** A tensor as the header declares it (offsets relative to the data section). */
export interface SafetensorsTensor {
  /** Tensor name (the header key). */
  readonly name: string;
  /** Declared dtype (known or not). */
  readonly dtype: string;
  /** Shape, exact. */
  readonly shape: readonly bigint[];
  /** First byte in the data section. */
  readonly begin: bigint;
  /** End (exclusive) in the data section. */
  readonly end: bigint;
}

/** A rule violation found in the header. */
export interface SafetensorsIssue {
  /** Rule. */
  readonly ruleId: RuleId;
  /** What is wrong, specifically. */
  readonly message: string;
  /** Byte offset in the file, when meaningful. */
  readonly offset?: number;
  /** Structured evidence. */
  readonly evidence?: Evidence;
}

/** A byte range of the data section that no tensor claims. */
export interface UnclaimedRange {
  /** Absolute file offset. */
  readonly offset: number;
  /** Length in bytes. */
  readonly length: number;
  /** `gap` between tensors, or `trailing` after the last one. */
  readonly kind: "gap" | "trailing";
}

/** What {@link readSafetensorsHeader} found. */
export interface SafetensorsHeader {
  /** The declared header length N (bytes 8..8+N), when it could be read. */
  readonly headerLength?: number;
  /** Size of the data section (file size - 8 - N), when the header length was valid. */
  readonly dataLength?: number;
  /** Tensors with a well-formed entry (dtype possibly unknown), in header order. */
  readonly tensors: readonly SafetensorsTensor[];
  /** `__metadata__`, when present and well-formed. */
  readonly metadata?: ReadonlyMap<string, string>;
  /** Rule violations. An `invalidates` rule among them means a loader rejects the file. */
  readonly issues: readonly SafetensorsIssue[];
  /** Ranges of the data section no tensor claims (gaps, trailing bytes). */
  readonly unclaimed: readonly UnclaimedRange[];
  /** Sum of element counts over well-formed tensors. */
  readonly parameterCount: bigint;
  /** Tensor count per dtype. */
  readonly dtypeCounts: Readonly<Record<string, number>>;
}

/** Options of {@link readSafetensorsHeader}. */
export interface SafetensorsReadOptions {
  /** First bytes of the source, already read (saves a read when they cover the header). */
  head?: Uint8Array;
  /** Called in long loops; may throw to stop. */
  checkpoint?: (() => void) | undefined;
}

/** Rule violations, at most {@link MAX_ISSUES_PER_RULE} per rule and the rest summarised. */
type Issues = FindingList<SafetensorsIssue>;

/**
 * Reads and validates a safetensors header.
 *
 * Rule violations are returned as issues (the reference implementation would reject the file for
 * any `invalidates` rule); a `ModelgateError` is thrown only for I/O failures and budgets.
 * @param source - the file
 * @param options - head bytes and checkpoint
 */
export async function readSafetensorsHeader(
  source: ByteSource,
  options: SafetensorsReadOptions = {},
): Promise<SafetensorsHeader> {
  const issues: Issues = new FindingList(MAX_ISSUES_PER_RULE);
  const empty = (): SafetensorsHeader => ({
    tensors: [],
    issues: issues.list(),
    unclaimed: [],
    parameterCount: 0n,
    dtypeCounts: {},
  });
  if (source.size < 8) {
    issues.add({
      ruleId: "safetensors/invalid-header",
      message: `file has ${source.size} bytes, fewer than 8`,
      offset: 0,
    });
    return empty();
  }
  const prefix = await readBytes(source, 0, 8, options.head);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) {
    issues.add({
      ruleId: "safetensors/header-too-large",
      message: `header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER}-byte limit`,
      offset: 0,
      evidence: { headerLength: n.toString() },
    });
    return empty();
  }
  const headerLength = Number(n);
  if (8 + headerLength > source.size) {
    issues.add({
      ruleId: "safetensors/header-out-of-bounds",
      message: `header of ${headerLength} bytes does not fit in a ${source.size}-byte file`,
      offset: 0,
      evidence: { headerLength, fileSize: source.size },
    });
    return { ...empty(), headerLength };
  }
  const dataLength = source.size - 8 - headerLength;
  const bytes = await readBytes(source, 8, headerLength, options.head);
  options.checkpoint?.();

  let root: JsonValue;
  let duplicates: readonly { key: string; path: string; offset: number }[];
  try {
    const text = decodeUtf8Strict(bytes, 8);
    const parsed = parseStrictJson(text, { maxDepth: 64, checkpoint: options.checkpoint });
    root = parsed.value;
    duplicates = parsed.duplicates;
  } catch (error) {
    if (error instanceof ModelgateError && error.code === "MALFORMED") {
      issues.add({ ruleId: "safetensors/invalid-header", message: `header: ${error.message}`, offset: 8 });
      return { ...empty(), headerLength, dataLength };
    }
    throw error;
  }
  if (!(root instanceof JsonObject)) {
    issues.add({ ruleId: "safetensors/invalid-header", message: "header is not a JSON object", offset: 8 });
    return { ...empty(), headerLength, dataLength };
  }
  for (const dup of duplicates) {
    issues.add({
      ruleId: "safetensors/duplicate-key",
      message:
        dup.path === ""
          ? `key "${preview(dup.key)}" appears more than once (loaders keep the last one)`
          : `key "${preview(dup.key)}" repeated inside "${preview(dup.path)}"`,
      offset: 8,
      evidence: { key: preview(dup.key), in: preview(dup.path), headerChar: dup.offset },
    });
  }

  const tensors: SafetensorsTensor[] = [];
  let metadata: Map<string, string> | undefined;
  let i = 0;
  for (const [name, entry] of root.entries) {
    if ((++i & 0x3fff) === 0) options.checkpoint?.();
    if (name === "__metadata__") {
      metadata = readMetadata(entry, issues);
      continue;
    }
    const tensor = readTensor(name, entry, issues);
    if (tensor !== undefined) tensors.push(tensor);
  }

  const { unclaimed } = validateLayout(tensors, dataLength, 8 + headerLength, issues, options.checkpoint);
  const dtypeCounts: Record<string, number> = {};
  let parameterCount = 0n;
  for (const t of tensors) {
    dtypeCounts[t.dtype] = (dtypeCounts[t.dtype] ?? 0) + 1;
    const count = elementCount(t.shape);
    if (count !== undefined) parameterCount += count;
  }
  return {
    headerLength,
    dataLength,
    tensors,
    ...(metadata === undefined ? {} : { metadata }),
    issues: issues.list(),
    unclaimed,
    parameterCount,
    dtypeCounts,
  };
}

async function readBytes(source: ByteSource, offset: number, length: number, head?: Uint8Array): Promise<Uint8Array> {
  if (head !== undefined && head.length >= offset + length) return head.subarray(offset, offset + length);
  return readExact(source, offset, length);
}

function readMetadata(entry: JsonValue, issues: Issues): Map<string, string> | undefined {
  if (entry === null) return undefined;
  if (!(entry instanceof JsonObject)) {
    issues.add({ ruleId: "safetensors/invalid-header", message: "__metadata__ is not an object", offset: 8 });
    return undefined;
  }
  const out = new Map<string, string>();
  for (const [key, value] of entry.entries) {
    if (typeof value !== "string") {
      issues.add({
        ruleId: "safetensors/invalid-header",
        message: `__metadata__ value of "${preview(key)}" is not a string`,
        offset: 8,
        evidence: { key: preview(key) },
      });
      continue;
    }
    out.set(key, value);
  }
  return out;
}

function u64(value: JsonValue | undefined): bigint | undefined {
  if (!(value instanceof JsonNumber)) return undefined;
  const v = value.bigint;
  return v !== undefined && v >= 0n && v <= U64_MAX && !value.raw.startsWith("-") ? v : undefined;
}

function readTensor(name: string, entry: JsonValue, issues: Issues): SafetensorsTensor | undefined {
  const bad = (why: string): undefined => {
    issues.add({
      ruleId: "safetensors/invalid-header",
      message: `tensor "${preview(name)}": ${why}`,
      offset: 8,
      evidence: { tensor: preview(name) },
    });
    return undefined;
  };
  if (!(entry instanceof JsonObject)) return bad("entry is not an object");
  const extra = [...entry.entries.keys()].filter((k) => !FIELDS.has(k));
  if (extra.length > 0) {
    issues.add({
      ruleId: "safetensors/nonstandard-field",
      message: `tensor "${preview(name)}" has extra fields: ${extra.map((k) => preview(k, 40)).join(", ")}`,
      offset: 8,
      evidence: { tensor: preview(name), fields: preview(extra.join(","), 200) },
    });
  }
  const dtype = entry.get("dtype");
  const shape = entry.get("shape");
  const offsets = entry.get("data_offsets");
  if (typeof dtype !== "string") return bad(dtype === undefined ? "missing dtype" : "dtype is not a string");
  if (!Array.isArray(shape)) return bad(shape === undefined ? "missing shape" : "shape is not an array");
  if (!Array.isArray(offsets)) {
    return bad(offsets === undefined ? "missing data_offsets" : "data_offsets is not an array");
  }
  const dims: bigint[] = [];
  for (const d of shape) {
    const v = u64(d);
    if (v === undefined) return bad("shape holds a value that is not an unsigned 64-bit integer");
    dims.push(v);
  }
  if (offsets.length !== 2) return bad(`data_offsets has ${offsets.length} elements, not 2`);
  const begin = u64(offsets[0]);
  const end = u64(offsets[1]);
  if (begin === undefined || end === undefined) return bad("data_offsets are not unsigned 64-bit integers");
  if (!Object.hasOwn(SAFETENSORS_DTYPE_BITS, dtype)) {
    issues.add({
      ruleId: "safetensors/unknown-dtype",
      message: `tensor "${preview(name)}" has unknown dtype "${preview(dtype, 40)}"`,
      offset: 8,
      evidence: { tensor: preview(name), dtype: preview(dtype, 40) },
    });
  }
  return { name, dtype, shape: dims, begin, end };
}

/**
 * Element count of a shape, or `undefined` when it overflows 64 bits (as the reference checks).
 * @param shape - dimensions
 */
export function elementCount(shape: readonly bigint[]): bigint | undefined {
  let n = 1n;
  for (const d of shape) {
    n *= d;
    if (n > U64_MAX) return undefined;
  }
  return n;
}

function validateLayout(
  tensors: readonly SafetensorsTensor[],
  dataLength: number,
  dataStart: number,
  issues: Issues,
  checkpoint: (() => void) | undefined,
): { unclaimed: UnclaimedRange[] } {
  const unclaimed: UnclaimedRange[] = [];
  const sorted = [...tensors].sort((a, b) =>
    a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0,
  );
  let cursor = 0n;
  let i = 0;
  for (const t of sorted) {
    if ((++i & 0x3fff) === 0) checkpoint?.();
    const ev = (): Evidence => ({ tensor: preview(t.name), begin: t.begin.toString(), end: t.end.toString() });
    if (t.end < t.begin) {
      issues.add({
        ruleId: "safetensors/offsets-not-contiguous",
        message: `tensor "${preview(t.name)}" ends (${t.end}) before it begins (${t.begin})`,
        offset: dataStart,
        evidence: ev(),
      });
      continue;
    }
    if (t.begin > cursor) {
      issues.add({
        ruleId: "safetensors/offsets-not-contiguous",
        message: `gap of ${t.begin - cursor} bytes before tensor "${preview(t.name)}" (expected it at ${cursor})`,
        offset: dataStart,
        evidence: { ...ev(), expected: cursor.toString() },
      });
      if (t.begin <= BigInt(dataLength)) {
        unclaimed.push({ offset: dataStart + Number(cursor), length: Number(t.begin - cursor), kind: "gap" });
      }
    } else if (t.begin < cursor) {
      issues.add({
        ruleId: "safetensors/offsets-not-contiguous",
        message: `tensor "${preview(t.name)}" overlaps the previous tensor (starts at ${t.begin}, expected ${cursor})`,
        offset: dataStart,
        evidence: { ...ev(), expected: cursor.toString() },
      });
    }
    checkSize(t, issues, dataStart);
    if (t.end > cursor) cursor = t.end;
  }
  const total = BigInt(dataLength);
  if (cursor < total) {
    issues.add({
      ruleId: "safetensors/data-length-mismatch",
      message: `${total - cursor} bytes follow the last tensor (data section is ${total} bytes, tensors end at ${cursor})`,
      offset: dataStart + Number(cursor),
      evidence: { dataLength, tensorsEnd: cursor.toString(), trailingBytes: (total - cursor).toString() },
    });
    unclaimed.push({ offset: dataStart + Number(cursor), length: Number(total - cursor), kind: "trailing" });
  } else if (cursor > total) {
    issues.add({
      ruleId: "safetensors/data-length-mismatch",
      message: `tensors end at ${cursor} but the data section has only ${total} bytes`,
      offset: dataStart,
      evidence: { dataLength, tensorsEnd: cursor.toString() },
    });
  }
  return { unclaimed };
}

function checkSize(t: SafetensorsTensor, issues: Issues, dataStart: number): void {
  if (!Object.hasOwn(SAFETENSORS_DTYPE_BITS, t.dtype)) return; // reported as unknown-dtype
  const bits = BigInt(SAFETENSORS_DTYPE_BITS[t.dtype] ?? 0);
  const count = elementCount(t.shape);
  const ev = (): Evidence => ({ tensor: preview(t.name), dtype: t.dtype, shape: `[${t.shape.join(",")}]` });
  const bitCount = count === undefined ? undefined : count * bits;
  if (bitCount === undefined || bitCount > U64_MAX) {
    issues.add({
      ruleId: "safetensors/tensor-size-mismatch",
      message: `tensor "${preview(t.name)}": element count × dtype size overflows 64 bits`,
      offset: dataStart,
      evidence: ev(),
    });
    return;
  }
  if (bitCount % 8n !== 0n) {
    issues.add({
      ruleId: "safetensors/tensor-size-mismatch",
      message: `tensor "${preview(t.name)}": ${count} ${t.dtype} elements do not fill whole bytes`,
      offset: dataStart,
      evidence: ev(),
    });
    return;
  }
  const expected = bitCount / 8n;
  if (t.end - t.begin !== expected) {
    issues.add({
      ruleId: "safetensors/tensor-size-mismatch",
      message: `tensor "${preview(t.name)}" spans ${t.end - t.begin} bytes but its shape and dtype need ${expected}`,
      offset: dataStart,
      evidence: { ...ev(), declared: (t.end - t.begin).toString(), expected: expected.toString() },
    });
  }
}
