/**
 * Mapping keys of a composed YAML document as the loaders read them: the one key reader of the
 * YAML-bearing formats (MLflow's MLmodel, DVC files, Hydra/OmegaConf configs, model cards).
 *
 * A key may be written as an alias (`*k : value`): PyYAML, ruamel and OmegaConf compose the alias
 * to the node its anchor names (the latest anchor of that name before it, anchors on keys
 * included) and use that scalar as the key, so `meta: {a: &c cmd}` then `*c : curl … | sh` gives
 * the mapping a `cmd`. The composed tree keeps aliases unexpanded (see `./parse.ts`), so
 * {@link yamlKeys} walks the document once in document order (keys before values, nothing
 * expanded) and records which node each alias names. A key that still is not a scalar (an alias
 * naming no anchor before it, a collection used as a key) is "unread": the loaders refuse it (an
 * unhashable key, an undefined alias), and callers report it instead of dropping the pair.
 * @module
 */
import { isAlias, isScalar } from "yaml";
import { childrenOf } from "./parse.js";

/** A scalar node's text (undefined for collections, aliases and null). */
export function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const v = node.value;
  return typeof v === "string" ? v : v === null || v === undefined ? undefined : String(v);
}

/** A mapping key as read: its text, or why it cannot be read. Undefined is a null key (Python's None). */
export type KeyRead = { readonly text: string } | { readonly unread: string } | undefined;

/** The key reader of one document. */
export interface YamlKeys {
  /** The node an alias names (the latest anchor of its name before it); undefined when none does. */
  target(alias: unknown): unknown;
  /** A mapping key as the loaders read it (see the module comment). */
  key(node: unknown): KeyRead;
  /** A key's text, or undefined when it is null or unread. */
  text(node: unknown): string | undefined;
  /** Aliases naming no anchor before them (the loaders refuse the document). */
  readonly undefinedAliases: number;
  /** The first such alias's name. */
  readonly firstUndefined?: string;
  /** Whether the walk covered the whole document (within its node budget). */
  readonly complete: boolean;
}

/** Nodes the walk visits at most (composition itself stops far below: see `YAML_BUDGETS`). */
const MAX_WALKED = 4_000_000;

/**
 * The key reader of a composed document.
 * @param root - the document's contents
 * @param checkpoint - abort/timeout check, called every few thousand nodes
 */
export function yamlKeys(root: unknown, checkpoint?: () => void): YamlKeys {
  const targets = new Map<unknown, unknown>();
  const anchors = new Map<string, unknown>();
  let undefinedAliases = 0;
  let firstUndefined: string | undefined;
  let complete = true;
  const stack: unknown[] = [root];
  let walked = 0;
  while (stack.length > 0) {
    if (++walked > MAX_WALKED) {
      complete = false;
      break;
    }
    if ((walked & 0xfff) === 0) checkpoint?.();
    const node = stack.pop();
    if (node === null || node === undefined) continue;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) {
        undefinedAliases++;
        firstUndefined ??= node.source;
      } else targets.set(node, target);
      continue;
    }
    const anchor = (node as { anchor?: unknown }).anchor;
    // registered when the node opens: an alias inside it names it (as PyYAML's composer does)
    if (typeof anchor === "string") anchors.set(anchor, node);
    const children = childrenOf(node);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  const target = (alias: unknown): unknown => (isAlias(alias) ? targets.get(alias) : undefined);
  const key = (node: unknown): KeyRead => {
    if (node === null || node === undefined) return undefined;
    if (isScalar(node)) {
      const text = scalarText(node);
      return text === undefined ? undefined : { text };
    }
    if (isAlias(node)) {
      const named = targets.get(node);
      if (named === undefined) {
        return { unread: `the key *${node.source} is an alias naming no anchor before it` };
      }
      if (isScalar(named)) {
        const text = scalarText(named);
        return text === undefined ? undefined : { text };
      }
      return { unread: `the key *${node.source} is an alias naming a collection` };
    }
    return { unread: "a key is a collection" };
  };
  return {
    target,
    key,
    text: (node) => {
      const read = key(node);
      return read !== undefined && "text" in read ? read.text : undefined;
    },
    undefinedAliases,
    ...(firstUndefined === undefined ? {} : { firstUndefined }),
    complete,
  };
}
