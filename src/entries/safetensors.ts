/**
 * `modelgate/safetensors`: the header of a safetensors file as modelgate's strict reader sees it
 * (the reference implementation's rules), without reading tensor data.
 *
 * ```ts
 * import { readSafetensors } from "modelgate/safetensors";
 * const header = await readSafetensors("model.safetensors");
 * for (const t of header.tensors) console.log(t.name, t.dtype, t.shape);
 * ```
 * @module
 */
import { readSafetensorsHeader } from "../formats/safetensors/parser.js";
import { issueView, type ReaderInput, type ReaderIssue, type ReaderOptions, withInput } from "./input.js";

export type { ByteSource } from "../core/byte-source.js";
export type { RuleId } from "../core/findings.js";
export type { ReaderInput, ReaderIssue, ReaderOptions } from "./input.js";

/** A tensor as the header declares it. */
export interface SafetensorsTensorView {
  /** Tensor name (the header key). */
  readonly name: string;
  /** Declared dtype (`F16`, `BF16` ...; possibly one the reference implementation does not know). */
  readonly dtype: string;
  /** Shape, exact. */
  readonly shape: readonly bigint[];
  /** First byte in the data section (which starts at `8 + headerLength`). */
  readonly begin: bigint;
  /** End (exclusive) in the data section. */
  readonly end: bigint;
}

/** A byte range of the data section that no tensor claims. */
export interface SafetensorsUnclaimedRange {
  /** Absolute file offset. */
  readonly offset: number;
  /** Length in bytes. */
  readonly length: number;
  /** `gap` between tensors, or `trailing` after the last one. */
  readonly kind: "gap" | "trailing";
}

/** What {@link readSafetensors} found. */
export interface SafetensorsView {
  /** The declared header length N (bytes 8..8+N), when it could be read. */
  readonly headerLength?: number | undefined;
  /** Size of the data section (file size - 8 - N), when the header length was valid. */
  readonly dataLength?: number | undefined;
  /** Tensors with a well-formed entry, in header order. */
  readonly tensors: readonly SafetensorsTensorView[];
  /** `__metadata__`, when present and well-formed. */
  readonly metadata?: ReadonlyMap<string, string> | undefined;
  /** Sum of element counts over the well-formed tensors. */
  readonly parameterCount: bigint;
  /** Tensor count per dtype. */
  readonly dtypeCounts: Readonly<Record<string, number>>;
  /** Ranges of the data section no tensor claims (bytes a loader ignores: a place to hide a payload). */
  readonly unclaimed: readonly SafetensorsUnclaimedRange[];
  /** Rule violations; one whose rule invalidates (see `getRule`) means a loader rejects the file. */
  readonly issues: readonly ReaderIssue[];
}

/**
 * Reads and validates a safetensors header: the 8-byte length and the JSON header, never the
 * tensor data. Rule violations are returned as issues; it rejects (with a `ModelgateError`) only
 * when the input cannot be read or a budget is exceeded.
 * @param input - the file
 * @param options - signal and read budget
 */
export async function readSafetensors(input: ReaderInput, options: ReaderOptions = {}): Promise<SafetensorsView> {
  const header = await withInput(input, options, (source) => readSafetensorsHeader(source));
  return {
    ...(header.headerLength === undefined ? {} : { headerLength: header.headerLength }),
    ...(header.dataLength === undefined ? {} : { dataLength: header.dataLength }),
    tensors: header.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: [...t.shape],
      begin: t.begin,
      end: t.end,
    })),
    ...(header.metadata === undefined ? {} : { metadata: new Map(header.metadata) }),
    parameterCount: header.parameterCount,
    dtypeCounts: { ...header.dtypeCounts },
    unclaimed: header.unclaimed.map((u) => ({ offset: u.offset, length: u.length, kind: u.kind })),
    issues: header.issues.map(issueView),
  };
}

/** Completes `RuleId`, `Format` and `PolicyOptions` in the declaration files (see `registries.ts`). */
export type * from "./registries.js";
