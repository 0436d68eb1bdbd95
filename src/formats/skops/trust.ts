/**
 * The types skops trusts by default, per loader (`trusted.json`, data restating skops' documented
 * defaults), and the code-capable names of the pickle denylist (`../pickle/policy/`), which apply
 * here unchanged: a skops loader that imports a name can call it.
 * @module
 */
import type { Severity } from "../../core/severity.js";
import { PicklePolicy } from "../pickle/policy/index.js";
import trusted from "./trusted.json" with { type: "json" };

/** Loaders skops registers (`__loader__` values its `NODE_TYPE_MAPPING` knows). */
export const KNOWN_LOADERS: ReadonlySet<string> = new Set(Object.keys(trusted.loaders));

/** Loaders that never import the node's `__module__`/`__class__` (the names are not used). */
export const NAMELESS_LOADERS: ReadonlySet<string> = new Set(["JsonNode", "SliceNode", "CachedNode"]);

const groups = trusted.groups as Readonly<Record<string, readonly string[]>>;

/**
 * A name's version-tolerant key: the package, its first subpackage and the class
 * (`sklearn.linear_model._logistic.LogisticRegression` → `sklearn.linear_model…LogisticRegression`):
 * private module paths move between releases, the public subpackage and class do not.
 */
function looseKey(name: string): string | undefined {
  const parts = name.split(".");
  if (parts.length < 3) return undefined;
  return `${parts[0]}.${parts[1]}\u2026${parts[parts.length - 1]}`;
}

const TRUSTED: ReadonlyMap<string, { exact: ReadonlySet<string>; loose: ReadonlySet<string> }> = new Map(
  Object.entries(trusted.loaders as Readonly<Record<string, readonly string[]>>).map(([loader, entries]) => {
    const names = entries.flatMap((e) => (e.startsWith("@") ? (groups[e.slice(1)] ?? []) : [e]));
    const loose = names.flatMap((n) => {
      const key = looseKey(n);
      return key === undefined ? [] : [key];
    });
    return [loader, { exact: new Set(names), loose: new Set(loose) }];
  }),
);

/**
 * Whether skops trusts `name` for `loader` by default.
 * @param loader - the node's `__loader__`
 * @param name - `<__module__>.<__class__>`
 */
export function isTrusted(loader: string, name: string): boolean {
  const set = TRUSTED.get(loader);
  if (set === undefined) return false;
  if (set.exact.has(name)) return true;
  const key = looseKey(name);
  return key !== undefined && set.loose.has(key);
}

// The denylist alone: no allowlist profile, so every denied name is reported whatever a pickle
// profile would allow.
const DENYLIST = new PicklePolicy("pickle", { profiles: { pickle: [] } });

/**
 * The denylist's verdict on a dotted name, or undefined when it is not denied.
 * @param name - dotted name
 * @param moduleParts - how many leading components are the module
 */
export function deniedName(name: string, moduleParts = 1): { severity: Severity; category: string } | undefined {
  const c = DENYLIST.classify(name, moduleParts);
  return c.status === "denied" ? { severity: c.severity, category: c.category ?? "denied" } : undefined;
}
