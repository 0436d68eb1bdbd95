/**
 * `modelgate/gguf`: the header of a GGUF file (versions 1–3, either byte order): metadata
 * key/values and tensor descriptions, bounds-checked, without reading tensor data.
 *
 * ```ts
 * import { readGguf } from "modelgate/gguf";
 * const gguf = await readGguf("model.gguf");
 * console.log(gguf.metadata.find((kv) => kv.key === "general.architecture")?.value);
 * ```
 * @module
 */
import { readGgufHeader } from "../formats/gguf/reader.js";
import { GGUF_TYPE_NAMES, ggmlTypeName } from "../formats/gguf/types.js";
import { issueView, type ReaderInput, type ReaderIssue, type ReaderOptions, withInput } from "./input.js";

export type { ByteSource } from "../core/byte-source.js";
export type { RuleId } from "../core/findings.js";
export type { ReaderInput, ReaderIssue, ReaderOptions } from "./input.js";

/** A metadata value: a scalar (integers beyond 32 bits are `bigint`s), or the elements of a small array. */
export type GgufValue = number | bigint | boolean | string | readonly (number | bigint | boolean | string)[];

/** One metadata key/value pair. */
export interface GgufKeyValueView {
  /**
   * The key (`general.architecture` ...). A key longer than 256 bytes is shown as its first 64
   * characters and the SHA-256 of the whole key.
   */
  readonly key: string;
  /** Value type (`UINT32`, `STRING`, `ARRAY` ..., or `type#N` for an unknown id). */
  readonly type: string;
  /** Element type, for arrays. */
  readonly arrayType?: string | undefined;
  /** Element count, for arrays. */
  readonly length?: number | undefined;
  /**
   * The value; absent for large arrays (only their length is read) and for values past the
   * reader's total budget of kept bytes (then `issues` holds a `scan/budget-exceeded`).
   */
  readonly value?: GgufValue | undefined;
  /** True when a string value (or a template key's string array) was cut to the reader's keep budget. */
  readonly truncated?: boolean | undefined;
  /** File offset of the record. */
  readonly offset: number;
}

/** One tensor description. */
export interface GgufTensorView {
  /** Tensor name. */
  readonly name: string;
  /** Dimensions (ggml's `ne`), innermost first. */
  readonly dims: readonly bigint[];
  /** ggml type name (`F16`, `Q4_K` ..., or `type#N` for an unknown id). */
  readonly type: string;
  /** Offset relative to the data section. */
  readonly offset: bigint;
  /** Data size in bytes, when the type is known and the shape valid. */
  readonly byteSize?: bigint | undefined;
}

/** What {@link readGguf} found. */
export interface GgufView {
  /** Format version (1–3), when recognised. */
  readonly version?: number | undefined;
  /** Byte order. */
  readonly littleEndian: boolean;
  /** Declared tensor count. */
  readonly tensorCount: bigint;
  /** Declared key/value count. */
  readonly kvCount: bigint;
  /** Key/values read, in file order. */
  readonly metadata: readonly GgufKeyValueView[];
  /** Tensor descriptions read, in file order. */
  readonly tensors: readonly GgufTensorView[];
  /** Alignment of the data section. */
  readonly alignment: number;
  /** File offset of the data section, when the tensor descriptions were read. */
  readonly dataOffset?: number | undefined;
  /** True when every record was read (no structural issue stopped the parse). */
  readonly complete: boolean;
  /** Rule violations. */
  readonly issues: readonly ReaderIssue[];
}

const typeName = (id: number): string => GGUF_TYPE_NAMES[id] ?? `type#${id}`;

/**
 * Reads a GGUF header: key/values and tensor descriptions, with bounds checks against the file.
 * Rule violations are returned as issues; it rejects (with a `ModelgateError`) only when the input
 * cannot be read or a budget is exceeded.
 * @param input - the file
 * @param options - signal and read budget
 */
export async function readGguf(input: ReaderInput, options: ReaderOptions = {}): Promise<GgufView> {
  const header = await withInput(input, options, (source) => readGgufHeader(source));
  return {
    ...(header.version === undefined ? {} : { version: header.version }),
    littleEndian: header.littleEndian,
    tensorCount: header.tensorCount,
    kvCount: header.kvCount,
    metadata: header.keyValues.map((kv) => ({
      key: kv.key,
      type: typeName(kv.type),
      ...(kv.arrayType === undefined ? {} : { arrayType: typeName(kv.arrayType) }),
      ...(kv.length === undefined ? {} : { length: kv.length }),
      ...(kv.value === undefined ? {} : { value: Array.isArray(kv.value) ? [...kv.value] : kv.value }),
      ...(kv.truncated === undefined ? {} : { truncated: kv.truncated }),
      offset: kv.offset,
    })),
    tensors: header.tensors.map((t) => ({
      name: t.name,
      dims: [...t.dims],
      type: ggmlTypeName(t.type),
      offset: t.offset,
      ...(t.byteSize === undefined ? {} : { byteSize: t.byteSize }),
    })),
    alignment: header.alignment,
    ...(header.dataOffset === undefined ? {} : { dataOffset: header.dataOffset }),
    complete: header.complete,
    issues: header.issues.map(issueView),
  };
}

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
