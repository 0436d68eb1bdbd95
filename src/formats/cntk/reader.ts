/**
 * Reads a CNTK v2 model (`CNTK.proto.Dictionary`) into a small tree of dictionaries, vectors and
 * scalar values, with the streaming protobuf walker: tensor values (`NDArrayView`, field 13 of a
 * `DictionaryValue`), shapes and axes are skipped by offset, so a model of gigabytes of
 * parameters costs its structure only. The tree is built as the walk goes: when the wire data
 * breaks, what was read before the break is still there for the analyzer.
 *
 * CNTK.proto (public field numbers): `Dictionary { uint64 version = 1; map<string,
 * DictionaryValue> data = 2; }` (a map entry is `{1: key, 2: value}`), `DictionaryValue { uint64
 * version = 1; Type value_type = 2; oneof { bool 3; int32 4; uint64 5; float 6; double 7; string 8;
 * NDShape 9; Axis 10; Vector 11; Dictionary 12; NDArrayView 13 } }`, `Vector { repeated
 * DictionaryValue value = 1; }`.
 * @module
 */
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type MessageSpec, type WireVisitor, WireWalker } from "../protobuf/walk.js";

/** A `Dictionary`: its entries (a repeated key keeps its last value, as protobuf maps do). */
export interface CntkDict {
  readonly entries: Map<string, CntkValue>;
  /** Offset of the message in the source. */
  readonly offset: number;
}

/** A `DictionaryValue`: the fields this analysis needs. */
export interface CntkValue {
  /** `value_type` (0 when absent). */
  type: number;
  str?: string;
  bool?: boolean;
  /** `int_value` or `size_t_value`. */
  num?: number;
  vector?: CntkValue[];
  dict?: CntkDict;
  /** Offset of the message in the source. */
  readonly offset: number;
}

/** Budgets of one read. */
export interface CntkReadBudgets {
  /** Protobuf fields visited at most. */
  readonly maxFields: number;
  /** Dictionaries, entries and values built at most. */
  readonly maxNodes: number;
  /** Longest string or key read (bytes). */
  readonly maxString: number;
  /** Abort/timeout check. */
  readonly checkpoint?: () => void;
}

export const CNTK_READ_BUDGETS: CntkReadBudgets = Object.freeze({
  maxFields: 20_000_000,
  maxNodes: 2_000_000,
  maxString: 1 << 20,
});

const VECTOR: MessageSpec = { name: "Vector", fields: { 1: { kind: "message", spec: () => VALUE } } };
const ENTRY: MessageSpec = {
  name: "Entry",
  fields: { 1: { kind: "string" }, 2: { kind: "message", spec: () => VALUE } },
};
const DICTIONARY: MessageSpec = {
  name: "Dictionary",
  fields: { 1: { kind: "varint" }, 2: { kind: "message", spec: () => ENTRY } },
};
const VALUE: MessageSpec = {
  name: "DictionaryValue",
  fields: {
    1: { kind: "varint" },
    2: { kind: "varint" },
    3: { kind: "varint" },
    4: { kind: "varint" },
    5: { kind: "varint" },
    8: { kind: "string" },
    11: { kind: "message", spec: () => VECTOR },
    12: { kind: "message", spec: () => DICTIONARY },
    // 6, 7 (float, double), 9, 10 (shape, axis), 13 (NDArrayView): skipped
  },
};

/** One open message of the walk. */
type Frame =
  | { readonly kind: "dict"; readonly dict: CntkDict }
  | { readonly kind: "entry"; key: string; value?: CntkValue; readonly dict: CntkDict }
  | { readonly kind: "value"; readonly value: CntkValue }
  | { readonly kind: "vector"; readonly items: CntkValue[] };

/** Builds the tree from the walker's events. */
class TreeBuilder implements WireVisitor {
  readonly #stack: Frame[] = [];
  readonly #maxNodes: number;
  #nodes = 0;
  root: CntkDict | undefined;

  constructor(maxNodes: number) {
    this.#maxNodes = maxNodes;
  }

  #count(offset: number): void {
    if (++this.#nodes > this.#maxNodes) {
      throw new ModelgateError("BUDGET_EXCEEDED", `more than ${this.#maxNodes} CNTK dictionary nodes`, {
        offset,
        budget: "cntk.maxNodes",
      });
    }
  }

  enter(message: string, _field: number, offset: number): void {
    this.#count(offset);
    const top = this.#stack[this.#stack.length - 1];
    if (message === "Dictionary") {
      const dict: CntkDict = { entries: new Map(), offset };
      if (top === undefined) this.root = dict;
      else if (top.kind === "value") top.value.dict = dict;
      this.#stack.push({ kind: "dict", dict });
    } else if (message === "Entry" && top?.kind === "dict") {
      this.#stack.push({ kind: "entry", key: "", dict: top.dict });
    } else if (message === "DictionaryValue") {
      const value: CntkValue = { type: 0, offset };
      if (top?.kind === "entry") {
        // attached at once (the key comes first): a walk that breaks inside keeps what it read
        top.value = value;
        top.dict.entries.set(top.key, value);
      } else if (top?.kind === "vector") top.items.push(value);
      this.#stack.push({ kind: "value", value });
    } else if (message === "Vector" && top?.kind === "value") {
      const items: CntkValue[] = [];
      top.value.vector = items;
      this.#stack.push({ kind: "vector", items });
    } else {
      throw new ModelgateError("MALFORMED", `unexpected ${message} message`, { offset });
    }
  }

  exit(): void {
    const top = this.#stack.pop();
    if (top?.kind !== "entry") return;
    // a key written after its value: the value was first attached under ""
    if (top.key !== "" && top.value !== undefined && top.dict.entries.get("") === top.value)
      top.dict.entries.delete("");
    top.dict.entries.set(top.key, top.value ?? { type: 0, offset: top.dict.offset });
  }

  string(message: string, field: number, value: string): void {
    const top = this.#stack[this.#stack.length - 1];
    if (message === "Entry" && field === 1 && top?.kind === "entry") top.key = value;
    else if (message === "DictionaryValue" && field === 8 && top?.kind === "value") top.value.str = value;
  }

  varint(message: string, field: number, value: number): void {
    const top = this.#stack[this.#stack.length - 1];
    if (message !== "DictionaryValue" || top?.kind !== "value") return;
    if (field === 2) top.value.type = value;
    else if (field === 3) top.value.bool = value !== 0;
    else if (field === 4 || field === 5) top.value.num = value;
  }

  leaf(): void {}

  blob(): void {}
}

/**
 * Reads the model's root Dictionary.
 *
 * Throws a {@link CntkReadError} (the walker's `MALFORMED`, `TRUNCATED` or `BUDGET_EXCEEDED` error
 * and the tree read so far) when the read stops early.
 * @param source - the model bytes
 * @param budgets - budgets of the read
 */
export async function readCntkDictionary(
  source: ByteSource,
  budgets: CntkReadBudgets = CNTK_READ_BUDGETS,
): Promise<CntkDict> {
  const builder = new TreeBuilder(budgets.maxNodes);
  const walker = new WireWalker(source, builder, {
    maxFields: budgets.maxFields,
    maxString: budgets.maxString,
    ...(budgets.checkpoint === undefined ? {} : { checkpoint: budgets.checkpoint }),
  });
  try {
    await walker.walk(DICTIONARY);
  } catch (error) {
    if (error instanceof ModelgateError && builder.root !== undefined) throw new CntkReadError(error, builder.root);
    throw error;
  }
  return builder.root ?? { entries: new Map(), offset: 0 };
}

/** A read that broke, with the part of the tree read before the break. */
export class CntkReadError extends Error {
  /** Why the read stopped. */
  readonly error: ModelgateError;
  /** The tree read before the break. */
  readonly partial: CntkDict;

  constructor(error: ModelgateError, partial: CntkDict) {
    super(error.message);
    this.name = "CntkReadError";
    this.error = error;
    this.partial = partial;
  }
}
