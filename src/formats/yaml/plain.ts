/**
 * A composed YAML document as a safe loader hands it over (PyYAML's `safe_load` for MLflow,
 * ruamel's safe loader for DVC): mappings become objects (the last of repeated keys wins),
 * sequences arrays, scalars their text. Aliases are followed to the node they name and mapping
 * keys are read through the one key reader (`./keys.ts`: alias keys resolved, a key that cannot be
 * read is counted, never dropped quietly); `<<` merge keys are applied in PyYAML's order (keys
 * written in the mapping win over merged ones, a later `<<` key over an earlier one, an earlier
 * mapping of one `<<` list over a later one). `!!omap` is a mapping for ruamel (an ordered dict)
 * and a list of pairs for PyYAML: the caller says which.
 *
 * Expansion is bounded by a node budget (every visit counts, aliases again) and a depth; a view
 * cut by either says so (`cut`), so that a cut view is not read as if it were the file.
 * @module
 */
import { isAlias, isMap, isPair, isScalar, isSeq } from "yaml";
import { yamlKeys } from "./keys.js";

type Plain = Record<string, unknown>;

/** How the loader builds `!!omap`. */
export type OmapReading = "mapping" | "pairs";

/** Options of {@link plainDocument}. */
export interface PlainOptions {
  /** Nodes converted at most (each alias expansion counts again). */
  readonly maxNodes: number;
  /** Nesting converted at most (each alias counts one level). */
  readonly maxDepth?: number;
  /** `!!omap` as ruamel's safe loader builds it (`mapping`) or PyYAML's (`pairs`). */
  readonly omap: OmapReading;
  readonly checkpoint?: () => void;
}

/** What {@link plainDocument} returns. */
export interface PlainDocument {
  readonly value: unknown;
  /** The conversion ran out of nodes or depth: part of the file is missing from `value`. */
  readonly cut: boolean;
  /** Keys that could not be read (first few reasons) and how many. */
  readonly unreadKeys: readonly string[];
  readonly unreadCount: number;
  /** Aliases naming no anchor before them: the loaders refuse the document. */
  readonly undefinedAliases: number;
}

const OMAP_TAG = "tag:yaml.org,2002:omap";
/** Reasons kept. */
const MAX_REASONS = 4;

/**
 * The plain value of a composed YAML document (see the module comment).
 * @param root - the document's contents
 * @param options - budgets and the `!!omap` reading
 */
export function plainDocument(root: unknown, options: PlainOptions): PlainDocument {
  const keys = yamlKeys(root, options.checkpoint);
  const maxDepth = options.maxDepth ?? 64;
  let budget = options.maxNodes;
  let cut = false;
  const unreadKeys: string[] = [];
  let unreadCount = 0;
  const unread = (why: string): void => {
    unreadCount++;
    if (unreadKeys.length < MAX_REASONS) unreadKeys.push(why);
  };
  /** One key/value pair into `own` or, for `<<`, into `merged`. */
  const addPair = (
    key: unknown,
    value: unknown,
    depth: number,
    own: Map<string, unknown>,
    merged: Map<string, unknown>,
  ) => {
    const read = keys.key(key);
    if (read === undefined) return;
    if ("unread" in read) {
      unread(read.unread);
      return;
    }
    const converted = convert(value, depth + 1);
    if (read.text !== "<<" || (isScalar(value) && !isAlias(value))) {
      own.set(read.text, converted);
      return;
    }
    // PyYAML's flatten_mapping: `<<: [*a, *b]` takes the list in reverse (earlier mappings of
    // the list win), and the pairs of each `<<` key are appended in order, so a later `<<` key
    // wins over an earlier one; the mapping's own keys win over both.
    const sources = Array.isArray(converted) ? [...converted].reverse() : [converted];
    for (const source of sources) {
      if (typeof source !== "object" || source === null || Array.isArray(source)) continue;
      for (const [k, v] of Object.entries(source as Plain)) merged.set(k, v);
    }
  };
  /** An `!!omap` entry (composed as a pair): `- k: v`, or `- *a` naming a one-pair mapping. */
  const addOmapEntry = (item: unknown, depth: number, own: Map<string, unknown>, merged: Map<string, unknown>) => {
    if (!isPair(item)) return;
    const named = keys.target(item.key);
    if (isAlias(item.key) && isMap(named) && (item.value === null || item.value === undefined)) {
      const only = named.items.length === 1 ? named.items[0] : undefined;
      if (only === undefined) unread(`an !!omap entry *${item.key.source} is not a single pair`);
      else addPair(only.key, only.value, depth, own, merged);
      return;
    }
    addPair(item.key, item.value, depth, own, merged);
  };
  const convert = (node: unknown, depth: number): unknown => {
    if (--budget < 0) cut = true;
    if (cut || node === null || node === undefined) return undefined;
    if (depth > maxDepth) {
      cut = true;
      return undefined;
    }
    if (isAlias(node)) return convert(keys.target(node), depth + 1);
    if (isScalar(node)) return node.value === null || node.value === undefined ? undefined : String(node.value);
    const own = new Map<string, unknown>();
    const merged = new Map<string, unknown>();
    if (isSeq(node) && node.tag === OMAP_TAG) {
      if (options.omap === "pairs") {
        return node.items.map((item) =>
          isPair(item) ? [convert(item.key, depth + 1), convert(item.value, depth + 1)] : undefined,
        );
      }
      for (const item of node.items) addOmapEntry(item, depth, own, merged);
      return Object.fromEntries([...merged, ...own]);
    }
    if (isSeq(node)) return node.items.map((item) => convert(item, depth + 1));
    if (!isMap(node)) return undefined;
    for (const pair of node.items) addPair(pair.key, pair.value, depth, own, merged);
    return Object.fromEntries([...merged, ...own]);
  };
  const value = convert(root, 0);
  if (!keys.complete) cut = true;
  return { value, cut, unreadKeys, unreadCount, undefinedAliases: keys.undefinedAliases };
}
