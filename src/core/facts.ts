/**
 * The fact keys model cards and version checks read (see docs/architecture.md, "Facts"), the
 * namespaced keys some analyzers record instead, and how the facts of a file's nodes (the file and
 * its members, recorded each on its own) become the file's `facts`.
 * @module
 */
import { maxOf } from "./arrays.js";

/**
 * Namespaced keys analyzers record, by the canonical key they stand for. The canonical key wins
 * when a file has both.
 */
export const FACT_ALIASES: Readonly<Record<string, readonly string[]>> = {
  architecture: ["keras.modelClass"],
  parameterCount: ["onnx.parameters"],
  tensorCount: ["onnx.initializers"],
  opset: ["onnx.opsets"],
};

/** Namespaced keys holding a library version, by library. */
const VERSION_ALIASES: Readonly<Record<string, string>> = {
  "keras.version": "keras",
};

/**
 * A file's facts under the canonical keys: aliases are copied to their canonical key when it is
 * missing, and versions recorded under namespaced keys join `toolVersions`.
 * @param facts - `files[].facts`
 */
export function canonicalFacts(facts: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...facts };
  for (const [key, aliases] of Object.entries(FACT_ALIASES)) {
    if (out[key] !== undefined) continue;
    const alias = aliases.find((a) => out[a] !== undefined);
    if (alias !== undefined) out[key] = out[alias];
  }
  const tv = out.toolVersions;
  const versions: Record<string, unknown> =
    tv !== null && typeof tv === "object" && !Array.isArray(tv) ? { ...tv } : {};
  let added = false;
  for (const [key, tool] of Object.entries(VERSION_ALIASES)) {
    if (typeof out[key] === "string" && versions[tool] === undefined) {
      versions[tool] = out[key];
      added = true;
    }
  }
  if (added) out.toolVersions = versions;
  return out;
}

/**
 * How the values several nodes of one file (the file itself and its members) give for one key
 * become the file's value:
 * - `first`: the file's own value, else the shallowest member's (the earliest recorded among
 *   equally deep ones);
 * - `sum`: counts, summed exactly (beyond 2^53 as a decimal string); values that are not
 *   non-negative integers are ignored;
 * - `max`: the largest number;
 * - `union`: lists joined without duplicates, in first-seen order, at most {@link MAX_UNION_ITEMS};
 * - `merge`: records merged, the value given first (as for `first`) winning per entry;
 * - `sumEach`: records of counts (`{F16: 3}`), summed per entry;
 * - `same`: kept only when every node gives the same value (the shape of one array says nothing
 *   about an archive of two).
 *
 * Under every rule a key that a single node gives keeps that node's value unchanged. When no value
 * fits the rule (a `sum` of strings), `first` applies.
 */
export type FactRule = "first" | "sum" | "max" | "union" | "merge" | "sumEach" | "same";

/** The rule of each key; keys not listed follow {@link DEFAULT_FACT_RULE}. */
export const FACT_RULES: Readonly<Record<string, FactRule>> = {
  // canonical keys (docs/architecture.md, "Facts")
  architecture: "first",
  modelType: "first",
  task: "first",
  parameterCount: "sum",
  tensorCount: "sum",
  dtypes: "union",
  quantization: "first",
  contextLength: "first",
  opset: "merge",
  inputs: "first",
  outputs: "first",
  toolVersions: "merge",
  license: "union",
  // aliases follow their canonical key
  "keras.modelClass": "first",
  "onnx.parameters": "sum",
  "onnx.initializers": "sum",
  "onnx.opsets": "merge",
  // details
  "onnx.graphs": "sum",
  "onnx.nodes": "sum",
  "onnx.functions": "union",
  "onnx.externalDataFiles": "union",
  "safetensors.dtypeCounts": "sumEach",
  "gguf.tensorTypes": "sumEach",
  "numpy.shape": "same",
  "numpy.dtype": "same",
  "numpy.arrays": "sum",
  "pickle.count": "sum",
  "pickle.opcodes": "sum",
  "pickle.protocol": "max",
  "pickle.globals": "union",
  "pytorch.storages": "sum",
  "pytorch.storageBytes": "sum",
  "sklearn.estimators": "union",
};

/** Rule of keys {@link FACT_RULES} does not list: container details (`zip.entries`) are the outermost node's. */
export const DEFAULT_FACT_RULE: FactRule = "first";

/** Most items a `union` of several nodes keeps. */
export const MAX_UNION_ITEMS = 256;

/**
 * A count as an exact integer: a non-negative integral number or a decimal string (how analyzers
 * give counts beyond 2^53), else undefined.
 * @param value - a fact value
 */
export function countOf(value: unknown): bigint | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? BigInt(value) : undefined;
  if (typeof value === "string" && /^\d{1,400}$/.test(value)) return BigInt(value);
  return undefined;
}

/**
 * A count as a fact value: a number up to 2^53 - 1, a decimal string beyond (facts are JSON).
 * @param n - the count
 */
export function countFact(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Identity of a list item for `union` (strings by value, anything else by its JSON). */
const itemKey = (v: unknown): string => (typeof v === "string" ? `s:${v}` : `j:${JSON.stringify(v) ?? String(v)}`);

function sumOf(values: readonly unknown[]): unknown {
  let total: bigint | undefined;
  for (const v of values) {
    const n = countOf(v);
    if (n !== undefined) total = (total ?? 0n) + n;
  }
  return total === undefined ? values[0] : countFact(total);
}

function largestOf(values: readonly unknown[]): unknown {
  const numbers = values.filter((v): v is number => typeof v === "number" && !Number.isNaN(v));
  return numbers.length === 0 ? values[0] : maxOf(numbers);
}

function unionOf(values: readonly unknown[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const v of values) {
    for (const item of Array.isArray(v) ? v : [v]) {
      if (out.length >= MAX_UNION_ITEMS) return out;
      const key = itemKey(item);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

function mergeOf(values: readonly unknown[]): unknown {
  if (!values.every(isRecord)) return values[0];
  const out = new Map<string, unknown>();
  for (const v of values) for (const [k, x] of Object.entries(v)) if (!out.has(k)) out.set(k, x);
  return Object.fromEntries(out); // defines "__proto__" as an own entry, as JSON.parse does
}

function sumEachOf(values: readonly unknown[]): unknown {
  if (!values.every(isRecord)) return values[0];
  const out = new Map<string, unknown>();
  for (const v of values) {
    for (const [k, x] of Object.entries(v)) {
      const b = countOf(x);
      if (!out.has(k)) {
        out.set(k, b === undefined ? x : countFact(b));
        continue;
      }
      const a = countOf(out.get(k));
      if (a !== undefined && b !== undefined) out.set(k, countFact(a + b));
    }
  }
  return Object.fromEntries(out);
}

function sameOf(values: readonly unknown[]): unknown {
  const first = JSON.stringify(values[0]);
  return values.every((v) => JSON.stringify(v) === first) ? values[0] : undefined;
}

const COMBINE: Readonly<Record<FactRule, (values: readonly unknown[]) => unknown>> = {
  first: (values) => values[0],
  sum: sumOf,
  max: largestOf,
  union: unionOf,
  merge: mergeOf,
  sumEach: sumEachOf,
  same: sameOf,
};

/**
 * The rule a key follows.
 * @param key - a fact key
 */
export function factRule(key: string): FactRule {
  return Object.hasOwn(FACT_RULES, key) ? FACT_RULES[key]! : DEFAULT_FACT_RULE;
}

/**
 * One file's facts from the facts of its nodes (the file and its members, each recorded on its
 * own), key by key under {@link FACT_RULES}: `arrays.npz` with two arrays has `tensorCount: 2`, a
 * zip of two safetensors files of 3 and 5 tensors has 8.
 * @param nodes - each node's facts, the file's own first, then members from the shallowest (equally
 *   deep ones in the order they were recorded); `undefined` values are skipped
 * @returns the file's facts (empty when no node has any)
 */
export function aggregateFacts(nodes: readonly Readonly<Record<string, unknown>>[]): Record<string, unknown> {
  const byKey = new Map<string, unknown[]>();
  for (const facts of nodes) {
    for (const [key, value] of Object.entries(facts)) {
      if (value === undefined) continue;
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [value]);
      else list.push(value);
    }
  }
  const out = new Map<string, unknown>();
  for (const [key, values] of byKey) {
    const value = values.length === 1 ? values[0] : COMBINE[factRule(key)](values);
    if (value !== undefined) out.set(key, value);
  }
  return Object.fromEntries(out);
}
