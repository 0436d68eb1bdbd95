/**
 * An MLmodel document as `yaml.safe_load` hands it to MLflow: mappings become objects (the last
 * of repeated keys wins), sequences arrays, scalars their text; unlike the YAML module's plain
 * view, aliases are followed (to the latest anchor of that name before them) and `<<` merge keys
 * are applied in PyYAML's order (keys written in the mapping win over merged ones, a later `<<`
 * key over an earlier one, an earlier mapping of one `<<` list over a later one), because PyYAML's SafeLoader does
 * both: an MLmodel can take its `loader_module` or `code` from an anchored mapping elsewhere.
 * Expansion is bounded by a node budget, so an alias bomb costs no more than that.
 * @module
 */
import { isAlias, isMap, isScalar, isSeq } from "yaml";

type Plain = Record<string, unknown>;

const scalarText = (node: unknown): string | undefined => {
  if (!isScalar(node)) return undefined;
  const v = node.value;
  return typeof v === "string" ? v : v === null || v === undefined ? undefined : String(v);
};

/**
 * The plain value of a composed YAML node, aliases and merge keys resolved.
 * @param root - a composed document's contents
 * @param maxNodes - nodes converted at most (each alias expansion counts again)
 */
export function mlmodelPlain(root: unknown, maxNodes = 20_000): unknown {
  let budget = maxNodes;
  const anchors = new Map<string, unknown>();
  const convert = (node: unknown, depth: number): unknown => {
    if (--budget < 0 || depth > 64 || node === null || node === undefined) return undefined;
    if (isAlias(node)) return convert(anchors.get(node.source), depth + 1);
    const anchor = (node as { anchor?: unknown }).anchor;
    if (typeof anchor === "string") anchors.set(anchor, node);
    if (isScalar(node)) return scalarText(node);
    if (isSeq(node)) return node.items.map((item) => convert(item, depth + 1));
    if (!isMap(node)) return undefined;
    const own = new Map<string, unknown>();
    const merged = new Map<string, unknown>();
    for (const pair of node.items) {
      const key = scalarText(pair.key);
      if (key === undefined) continue;
      const value = convert(pair.value, depth + 1);
      if (key !== "<<" || (isScalar(pair.value) && !isAlias(pair.value))) {
        own.set(key, value);
        continue;
      }
      // PyYAML's flatten_mapping: `<<: [*a, *b]` takes the list in reverse (earlier mappings of
      // the list win), and the pairs of each `<<` key are appended in order, so a later `<<` key
      // wins over an earlier one; the mapping's own keys win over both.
      const sources = Array.isArray(value) ? [...value].reverse() : [value];
      for (const source of sources) {
        if (typeof source !== "object" || source === null || Array.isArray(source)) continue;
        for (const [k, v] of Object.entries(source as Plain)) merged.set(k, v);
      }
    }
    return Object.fromEntries([...merged, ...own]);
  };
  return convert(root, 0);
}
