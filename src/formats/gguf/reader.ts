/**
 * GGUF header reader over a {@link ByteSource}: header, key/values and tensor infos for versions
 * 1–3 in either byte order, with bounds checks against the file and explicit budgets. It reads the
 * header region through a sliding window and never touches tensor data, so its cost depends on the
 * size of the metadata, not of the model. What it keeps of string values is bounded in total
 * (`maxKeptBytes`, see `strings.ts`): past it values are left out and the header says so with a
 * `scan/budget-exceeded` issue, so a file of many large values is not analysed as clean.
 *
 * Why not `@huggingface/gguf`: it reads through `fetch` or a local path in fixed 2 MB chunks (not
 * through a {@link ByteSource}, so no read budget, abort signal or container member), materialises
 * every array (a 256k-token vocabulary becomes JS arrays), throws plain `Error`s, does not check
 * tensor offsets (alignment, overlap, bounds), duplicate keys or nested arrays, and pulls in
 * `@huggingface/tasks`. The format is small; its type tables are facts we keep in `types.ts`.
 * @module
 */

import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type Evidence, FindingList, type RuleId } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { Cursor } from "./cursor.js";
import { cKey, KeepBudget, keptKey, readStringArray } from "./strings.js";
import { GGML_TYPES, GGUF_TYPE, GGUF_TYPE_NAMES, GGUF_TYPE_SIZE, ggmlTypeName } from "./types.js";

/** The GGUF magic, `GGUF`. */
export const GGUF_MAGIC = Uint8Array.of(0x47, 0x47, 0x55, 0x46);
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4;
const MAX_NAME = 64;
const MAX_KEY_LENGTH = 65_535;
const INT64_MAX = (1n << 63n) - 1n;
const MAX_ISSUES_PER_RULE = 20;
/** Arrays up to this many elements have their values kept. */
const KEEP_ARRAY = 64;
/** Strings in kept arrays are cut to this many bytes. */
const KEEP_ARRAY_STRING = 4096;
/** Non-template string values are cut to this many bytes. */
const KEEP_STRING = 64 * 1024;
/** Template values (a string, or all the elements of a string array) keep this many bytes by default. */
const KEEP_TEMPLATE = 8 * 1024 * 1024;
/** Most elements kept of a template key's string array. */
const KEEP_TEMPLATE_ELEMENTS = 1024;
/** Default total of string bytes kept across all key/values (see {@link GgufReadOptions.maxKeptBytes}). */
const MAX_KEPT_BYTES = 32 * 1024 * 1024;
/** The key whose elements {@link readGgufArrayStrings} can look up. */
const TOKENS_KEY = "tokenizer.ggml.tokens";

/** A scalar metadata value. Strings longer than the keep budget are cut (see `truncated`). */
export type GgufScalar = number | bigint | boolean | string;

/** One key/value pair. */
export interface GgufKeyValue {
  /** The key. */
  readonly key: string;
  /** Value type id ({@link GGUF_TYPE}). */
  readonly type: number;
  /** Element type id, for arrays. */
  readonly arrayType?: number;
  /** Element count, for arrays. */
  readonly length?: number;
  /**
   * The value: a scalar, or the elements of a small array (of any size, up to the keep budgets,
   * for a template key). Absent for large arrays, and for strings past the total keep budget.
   */
  readonly value?: GgufScalar | readonly GgufScalar[];
  /**
   * True when a string value, or an element of a template key's array, was cut or not kept (the
   * per-key or the total keep budget).
   */
  readonly truncated?: boolean;
  /** Byte length of a string value as stored. */
  readonly byteLength?: number;
  /** File offset of the record. */
  readonly offset: number;
  /**
   * For a string array named `tokenizer.ggml.tokens`: file offsets of elements 0, 256, 512 ...,
   * so that {@link readGgufArrayStrings} reads single tokens without keeping the vocabulary.
   */
  readonly elementOffsets?: readonly number[];
}

/** One tensor description. */
export interface GgufTensorInfo {
  /** Tensor name. */
  readonly name: string;
  /** Dimensions (ne), innermost first. */
  readonly dims: readonly bigint[];
  /** ggml type id. */
  readonly type: number;
  /** Offset relative to the data section. */
  readonly offset: bigint;
  /** Data size in bytes, when the type is known and the shape valid. */
  readonly byteSize?: bigint;
  /** File offset of the record. */
  readonly recordOffset: number;
}

/** A rule violation. */
export interface GgufIssue {
  /** Rule. */
  readonly ruleId: RuleId;
  /** What is wrong. */
  readonly message: string;
  /** File offset. */
  readonly offset?: number;
  /** Evidence. */
  readonly evidence?: Evidence;
}

/** What {@link readGgufHeader} found. */
export interface GgufHeader {
  /** Format version (1–3), when recognised. */
  readonly version?: number;
  /** Byte order. */
  readonly littleEndian: boolean;
  /** Declared tensor count. */
  readonly tensorCount: bigint;
  /** Declared key/value count. */
  readonly kvCount: bigint;
  /** Key/values read (all of them unless an issue stopped the parse). */
  readonly keyValues: readonly GgufKeyValue[];
  /** Tensor infos read. */
  readonly tensors: readonly GgufTensorInfo[];
  /** Alignment in force. */
  readonly alignment: number;
  /** File offset of the data section (when the tensor infos were read). */
  readonly dataOffset?: number;
  /** End of the data section, padded, as llama.cpp computes it. */
  readonly dataEnd?: bigint;
  /** End of the last tensor's bytes (unpadded). */
  readonly tensorsEnd?: bigint;
  /** File offset just after the last tensor info (end of the header proper). */
  readonly headerEnd?: number;
  /** True when every record was read (no structural issue stopped the parse). */
  readonly complete: boolean;
  /** Issues. */
  readonly issues: readonly GgufIssue[];
}

/** Options of {@link readGgufHeader}. */
export interface GgufReadOptions {
  /** First bytes of the source, already read. */
  head?: Uint8Array;
  /** Called in long loops; may throw to stop. */
  checkpoint?: (() => void) | undefined;
  /** Maximum tensors (default 1,000,000). */
  maxTensors?: number;
  /** Maximum key/values (default 1,000,000). */
  maxKeyValues?: number;
  /**
   * Template values (keys naming a template: a string, or all the elements of a string array
   * together) are kept up to this many bytes (default 8 MiB); longer ones are cut.
   */
  keepStringBytes?: number;
  /**
   * Total string bytes kept across all key/values (default 32 MiB). Past it values are not kept
   * (or cut) and the header carries a `scan/budget-exceeded` issue: the file is not fully analysed.
   */
  maxKeptBytes?: number;
  /** Maximum elements of one array (default 100,000,000). */
  maxArrayLength?: number;
}

/** Why the parse stopped. */
class Stop extends Error {}
/** Rule violations, at most {@link MAX_ISSUES_PER_RULE} per rule and the rest summarised. */
class Issues extends FindingList<GgufIssue> {
  constructor() {
    super(MAX_ISSUES_PER_RULE);
  }

  /** Records the issue and stops the parse. */
  stop(issue: GgufIssue): never {
    this.add(issue);
    throw new Stop(issue.message);
  }
}

/**
 * Whether bytes start with the GGUF magic.
 * @param head - first bytes
 */
export function isGguf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
}

/**
 * Reads a GGUF header. Structural violations become issues (the parse stops at the first one that
 * makes the rest unreadable); I/O failures and budgets throw `ModelgateError`.
 * @param source - the file
 * @param options - head bytes, budgets, checkpoint
 */
export async function readGgufHeader(source: ByteSource, options: GgufReadOptions = {}): Promise<GgufHeader> {
  const c = new Cursor(source, options.head);
  const issues = new Issues();
  const budget = new KeepBudget(options.maxKeptBytes ?? MAX_KEPT_BYTES);
  const keyValues: GgufKeyValue[] = [];
  const tensors: GgufTensorInfo[] = [];
  const state = {
    version: undefined as number | undefined,
    tensorCount: 0n,
    kvCount: 0n,
    alignment: DEFAULT_ALIGNMENT,
    dataOffset: undefined as number | undefined,
    dataEnd: undefined as bigint | undefined,
    tensorsEnd: undefined as bigint | undefined,
    headerEnd: undefined as number | undefined,
    complete: false,
  };
  try {
    await parse(c, options, issues, budget, keyValues, tensors, state);
    state.complete = true;
  } catch (error) {
    if (error instanceof Stop) {
      // recorded
    } else if (error instanceof ModelgateError && error.code === "TRUNCATED") {
      issues.add({ ruleId: "gguf/malformed", message: `header ends early: ${error.message}`, offset: c.pos });
    } else {
      throw error;
    }
  }
  const notKept = budget.issue();
  if (notKept !== undefined) issues.add(notKept);
  return {
    ...(state.version === undefined ? {} : { version: state.version }),
    littleEndian: c.le,
    tensorCount: state.tensorCount,
    kvCount: state.kvCount,
    keyValues,
    tensors,
    alignment: state.alignment,
    ...(state.dataOffset === undefined ? {} : { dataOffset: state.dataOffset }),
    ...(state.dataEnd === undefined ? {} : { dataEnd: state.dataEnd }),
    ...(state.tensorsEnd === undefined ? {} : { tensorsEnd: state.tensorsEnd }),
    ...(state.headerEnd === undefined ? {} : { headerEnd: state.headerEnd }),
    complete: state.complete,
    issues: issues.list(),
  };
}

interface State {
  version: number | undefined;
  tensorCount: bigint;
  kvCount: bigint;
  alignment: number;
  dataOffset: number | undefined;
  dataEnd: bigint | undefined;
  tensorsEnd: bigint | undefined;
  headerEnd: number | undefined;
}

async function parse(
  c: Cursor,
  options: GgufReadOptions,
  issues: Issues,
  budget: KeepBudget,
  keyValues: GgufKeyValue[],
  tensors: GgufTensorInfo[],
  state: State,
): Promise<void> {
  await c.fill(8);
  for (let i = 0; i < 4; i++) {
    if (c.u8() !== GGUF_MAGIC[i]) issues.stop({ ruleId: "gguf/malformed", message: "missing GGUF magic", offset: 0 });
  }
  c.le = true;
  const le = c.u32();
  c.pos = 4;
  c.le = false;
  const be = c.u32();
  if (le >= 1 && le <= 3) {
    c.le = true;
    state.version = le;
  } else if (be >= 1 && be <= 3) {
    c.le = false;
    state.version = be;
  } else {
    issues.stop({
      ruleId: "gguf/unsupported-version",
      message: `unsupported GGUF version ${le} (big-endian reading ${be})`,
      offset: 4,
      evidence: { versionLE: le, versionBE: be },
    });
  }
  c.v1 = state.version === 1;

  await c.fill(c.lenSize * 2);
  const tensorCount = c.v1 ? BigInt(c.u32()) : c.u64();
  const kvCount = c.v1 ? BigInt(c.u32()) : c.u64();
  state.tensorCount = tensorCount;
  state.kvCount = kvCount;
  const minKv = c.lenSize + 4 + 1;
  const minTensor = c.lenSize + 4 + 4 + 8;
  const room = BigInt(c.remaining);
  if (kvCount * BigInt(minKv) > room || tensorCount * BigInt(minTensor) > room) {
    issues.stop({
      ruleId: "gguf/count-out-of-bounds",
      message: `header declares ${tensorCount} tensors and ${kvCount} key/values, more than ${c.remaining} remaining bytes can hold`,
      offset: 8,
      evidence: { tensorCount: tensorCount.toString(), kvCount: kvCount.toString(), remaining: c.remaining },
    });
  }
  const maxKv = options.maxKeyValues ?? 1_000_000;
  const maxTensors = options.maxTensors ?? 1_000_000;
  if (kvCount > BigInt(maxKv)) {
    throw new ModelgateError("BUDGET_EXCEEDED", `GGUF declares ${kvCount} key/values (budget ${maxKv})`, {
      offset: 8,
      budget: "maxEntries",
    });
  }
  if (tensorCount > BigInt(maxTensors)) {
    throw new ModelgateError("BUDGET_EXCEEDED", `GGUF declares ${tensorCount} tensors (budget ${maxTensors})`, {
      offset: 8,
      budget: "maxEntries",
    });
  }

  const keys = new Set<string>();
  for (let i = 0; i < Number(kvCount); i++) {
    if ((i & 0xff) === 0) options.checkpoint?.();
    const kv = await readKeyValue(c, options, issues, budget);
    if (keys.has(kv.key)) {
      issues.add({
        ruleId: "gguf/duplicate-key",
        message: `key "${preview(kv.key)}" appears more than once`,
        offset: kv.offset,
        evidence: { key: preview(kv.key) },
      });
    }
    keys.add(kv.key);
    keyValues.push(kv);
  }

  const alignKv = keyValues.find((kv) => kv.key === "general.alignment");
  if (alignKv !== undefined) {
    const a = alignKv.value;
    if (alignKv.type !== GGUF_TYPE.UINT32 || typeof a !== "number" || a === 0 || (a & (a - 1)) !== 0) {
      issues.stop({
        ruleId: "gguf/bad-alignment",
        message: `general.alignment is ${GGUF_TYPE_NAMES[alignKv.type] ?? alignKv.type} ${String(a)}, not a power-of-two UINT32`,
        offset: alignKv.offset,
        evidence: { type: GGUF_TYPE_NAMES[alignKv.type] ?? alignKv.type, value: String(a) },
      });
    }
    state.alignment = a as number;
  }

  const names = new Set<string>();
  for (let i = 0; i < Number(tensorCount); i++) {
    if ((i & 0xff) === 0) options.checkpoint?.();
    const t = await readTensorInfo(c, issues);
    if (names.has(t.name)) {
      issues.add({
        ruleId: "gguf/duplicate-key",
        message: `tensor name "${preview(t.name)}" appears more than once`,
        offset: t.recordOffset,
        evidence: { tensor: preview(t.name) },
      });
    }
    names.add(t.name);
    tensors.push(t);
  }
  state.headerEnd = c.pos;
  if (tensorCount === 0n) return;

  const align = BigInt(state.alignment);
  const dataOffset = Math.ceil(c.pos / state.alignment) * state.alignment;
  state.dataOffset = dataOffset;
  let expected = 0n;
  let end = 0n;
  const fileSize = BigInt(c.size);
  for (const t of tensors) {
    const ev = { tensor: preview(t.name), offset: t.offset.toString() };
    if (t.offset % align !== 0n) {
      issues.add({
        ruleId: "gguf/tensor-layout",
        message: `tensor "${preview(t.name)}" offset ${t.offset} is not a multiple of the alignment ${state.alignment}`,
        offset: t.recordOffset,
        evidence: ev,
      });
    } else if (t.offset !== expected) {
      issues.add({
        ruleId: "gguf/tensor-layout",
        message: `tensor "${preview(t.name)}" has offset ${t.offset}, expected ${expected} (${t.offset < expected ? "overlaps the previous tensor" : "leaves a gap"})`,
        offset: t.recordOffset,
        evidence: { ...ev, expected: expected.toString() },
      });
    }
    const size = t.byteSize ?? 0n;
    const tEnd = BigInt(dataOffset) + t.offset + size;
    if (tEnd > fileSize) {
      issues.add({
        ruleId: "gguf/tensor-out-of-bounds",
        message: `tensor "${preview(t.name)}" ends at byte ${tEnd}, past the end of the ${c.size}-byte file`,
        offset: t.recordOffset,
        evidence: { ...ev, end: tEnd.toString(), fileSize: c.size },
      });
    }
    if (tEnd > end) end = tEnd;
    expected = (t.offset > expected ? t.offset : expected) + ((size + align - 1n) / align) * align;
  }
  state.tensorsEnd = end;
  state.dataEnd = BigInt(dataOffset) + expected;
}

async function readString(
  c: Cursor,
  what: string,
  keep: number,
  issues: Issues,
): Promise<{ s: string; n: number; cut: boolean }> {
  await c.fill(c.lenSize);
  const at = c.pos;
  const n = c.len();
  if (n > c.remaining) {
    issues.stop({
      ruleId: "gguf/malformed",
      message: `${what} declares ${Number.isFinite(n) ? n : "> 2^53"} bytes, more than the ${c.remaining} left in the file`,
      offset: at,
      evidence: { declared: Number.isFinite(n) ? n : "huge", remaining: c.remaining },
    });
  }
  const k = Math.min(n, keep);
  await c.fill(k);
  const s = c.text(k);
  c.pos += n - k;
  return { s, n, cut: k < n };
}

async function readKeyValue(
  c: Cursor,
  options: GgufReadOptions,
  issues: Issues,
  budget: KeepBudget,
): Promise<GgufKeyValue> {
  const offset = c.pos;
  const rawKey = await readString(c, "key", MAX_KEY_LENGTH + 1, issues);
  if (rawKey.n === 0) issues.stop({ ruleId: "gguf/malformed", message: "empty key", offset });
  if (rawKey.n > MAX_KEY_LENGTH) {
    issues.stop({ ruleId: "gguf/malformed", message: `key of ${rawKey.n} bytes exceeds 65,535`, offset });
  }
  const isTemplate = /template/i.test(rawKey.s);
  const isTokens = cKey(rawKey.s) === TOKENS_KEY;
  const key = keptKey(rawKey.s, rawKey.n);
  await c.fill(4);
  const type = c.u32();
  const bad = (t: number): never =>
    issues.stop({
      ruleId: "gguf/malformed",
      message: `key "${preview(key)}" has invalid value type ${t}`,
      offset,
      evidence: { key: preview(key), type: t },
    });
  if (type > GGUF_TYPE.FLOAT64) bad(type);
  const keepOne = isTemplate ? (options.keepStringBytes ?? KEEP_TEMPLATE) : KEEP_STRING;
  if (type === GGUF_TYPE.STRING) {
    const keep = budget.grant(keepOne);
    const v = await readString(c, `value of "${preview(key)}"`, keep, issues);
    budget.spend(Math.min(v.n, keep));
    if (keep < keepOne && v.n > keep) budget.drop(key, offset);
    const value = v.n > 0 && keep === 0 ? {} : { value: v.s };
    return { key, type, ...value, byteLength: v.n, offset, ...(v.cut ? { truncated: true } : {}) };
  }
  if (type !== GGUF_TYPE.ARRAY) {
    const size = GGUF_TYPE_SIZE[type] ?? 1;
    await c.fill(size);
    return { key, type, value: c.scalar(type), offset };
  }
  await c.fill(4 + c.lenSize);
  const arrayType = c.u32();
  if (arrayType === GGUF_TYPE.ARRAY) {
    issues.stop({
      ruleId: "gguf/malformed",
      message: `key "${preview(key)}" is a nested array (not supported by llama.cpp)`,
      offset,
      evidence: { key: preview(key) },
    });
  }
  if (arrayType > GGUF_TYPE.FLOAT64) bad(arrayType);
  const lenAt = c.pos;
  const length = c.len();
  const elemSize = GGUF_TYPE_SIZE[arrayType] ?? 0;
  const minBytes = arrayType === GGUF_TYPE.STRING ? c.lenSize : elemSize;
  if (!Number.isFinite(length) || length * minBytes > c.remaining) {
    issues.stop({
      ruleId: "gguf/malformed",
      message: `array "${preview(key)}" declares ${Number.isFinite(length) ? length : "> 2^53"} elements, more than the file holds`,
      offset: lenAt,
      evidence: { key: preview(key), declared: Number.isFinite(length) ? length : "huge", remaining: c.remaining },
    });
  }
  const maxArray = options.maxArrayLength ?? 100_000_000;
  if (length > maxArray) {
    throw new ModelgateError("BUDGET_EXCEEDED", `array "${preview(key)}" has ${length} elements (budget ${maxArray})`, {
      offset: lenAt,
      budget: "maxArrayLength",
    });
  }
  const base = { key, type, arrayType, length, offset };
  if (arrayType === GGUF_TYPE.STRING) {
    const read = await readStringArray(c, options, issues, budget, {
      key,
      offset,
      length,
      // A template key's array is kept whole up to the template budget: a loader may render any element.
      keep: isTemplate
        ? { elements: KEEP_TEMPLATE_ELEMENTS, bytes: keepOne, each: keepOne }
        : {
            elements: length <= KEEP_ARRAY ? KEEP_ARRAY : 0,
            bytes: KEEP_ARRAY * KEEP_ARRAY_STRING,
            each: KEEP_ARRAY_STRING,
          },
      index: isTokens,
      template: isTemplate,
    });
    return {
      ...base,
      ...(read.values === undefined ? {} : { value: read.values }),
      ...(read.truncated ? { truncated: true } : {}),
      ...(read.elementOffsets === undefined ? {} : { elementOffsets: read.elementOffsets }),
    };
  }
  if (length <= KEEP_ARRAY) {
    const values: GgufScalar[] = [];
    await c.fill(length * elemSize);
    for (let i = 0; i < length; i++) values.push(c.scalar(arrayType));
    return { ...base, value: values };
  }
  c.pos += length * elemSize;
  return base;
}

async function readTensorInfo(c: Cursor, issues: Issues): Promise<GgufTensorInfo> {
  const recordOffset = c.pos;
  const name = await readString(c, "tensor name", MAX_NAME * 4, issues);
  await c.fill(4);
  const nDims = c.u32();
  const invalid = (why: string): void =>
    issues.add({
      ruleId: "gguf/invalid-tensor-info",
      message: `tensor "${preview(name.s)}": ${why}`,
      offset: recordOffset,
      evidence: { tensor: preview(name.s) },
    });
  if (name.n >= MAX_NAME) invalid(`name of ${name.n} bytes (llama.cpp allows at most ${MAX_NAME - 1})`);
  if (nDims > MAX_DIMS) {
    issues.stop({
      ruleId: "gguf/invalid-tensor-info",
      message: `tensor "${preview(name.s)}" has ${nDims} dimensions (at most ${MAX_DIMS})`,
      offset: recordOffset,
      evidence: { tensor: preview(name.s), dims: nDims },
    });
  }
  const dimSize = c.v1 ? 4 : 8;
  await c.fill(nDims * dimSize + 4 + 8);
  const dims: bigint[] = [];
  for (let i = 0; i < nDims; i++) dims.push(c.v1 ? BigInt(c.u32()) : c.u64());
  const type = c.u32();
  const offset = c.u64();
  let byteSize: bigint | undefined;
  const ne = [...dims, 1n, 1n, 1n, 1n].slice(0, 4).map((d) => BigInt.asIntN(64, d));
  const gt = GGML_TYPES.get(type);
  if (ne.some((d) => d < 0n)) {
    invalid("negative dimension");
  } else if (gt === undefined) {
    invalid(`unknown or removed ggml type ${type}`);
  } else {
    let count = 1n;
    for (const d of ne) count *= d;
    if (count > INT64_MAX) {
      invalid(`element count ${count} overflows int64`);
    } else if ((ne[0] ?? 0n) % BigInt(gt.blockSize) !== 0n) {
      invalid(`row of ${ne[0]} elements is not a multiple of the ${ggmlTypeName(type)} block size ${gt.blockSize}`);
    } else {
      byteSize = (count / BigInt(gt.blockSize)) * BigInt(gt.typeSize);
    }
  }
  return { name: name.s, dims, type, offset, recordOffset, ...(byteSize === undefined ? {} : { byteSize }) };
}
