/**
 * The skops module: scikit-learn models saved with `skops.io.dump` (`.skops`), zips of a
 * `schema.json` tree of typed nodes plus the `.npy`/`.npz`/`.bin` members it references.
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { pythonMemberName, SCHEMA, SKOPS_MEMBERS } from "./names.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    skops: true;
  }
}

/**
 * A skops archive: a top-level `schema.json` and only top-level arrays, sparse matrices and bytes
 * beside it (what `skops.io.dump` writes), names read as Python's `zipfile` reads them (cut at a
 * NUL). This only names the format: the analyzer judges the schema of any zip whose `schema.json`
 * is a skops tree, whatever else it holds and whatever its name (skops reads nothing else).
 */
function matchSkops(names: readonly string[], files: ReadonlySet<string>): object | undefined {
  if (!files.has(SCHEMA) && !names.some((n) => n.startsWith(`${SCHEMA}\0`))) return undefined;
  const others = names.map(pythonMemberName).filter((n) => n !== SCHEMA && !n.endsWith("/"));
  return others.every((n) => !n.includes("/") && SKOPS_MEMBERS.some((s) => n.endsWith(s))) ? {} : undefined;
}

const rules = lazyRules(import.meta.url, "./rules.js", "skopsRules");

/** skops files. */
export const skopsModule = {
  name: "skops",
  formats: [
    {
      id: "skops",
      description: "skops.io archive (.skops)",
      claimExtensions: ["skops"],
      // No other signature can match a skops archive (no `data.pkl` folder, no `config.json`, a
      // non-`.npy` member): the rank only orders it after the existing ones.
      zipSignature: { rank: 45, match: matchSkops },
    },
  ],
  analyzers: [lazyAnalyzer("skops", ["zip"], async () => (await import("./analyzer.js")).skopsAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
