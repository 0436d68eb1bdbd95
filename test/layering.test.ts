/**
 * The layers of `src/` import one way: core ← (sources, formats, containers, integrity) ← registry
 * ← (report, policy) ← scan ← cli, with `src/index.ts` and the subpath entries on top. Folders of
 * the same layer may import each other. Every `import`, `import type`, `export ... from` and
 * dynamic `import()` of every file is checked; a violation that has to stay for a while is listed
 * in {@link ALLOWED} with its reason (none today), so that any new one fails.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** Layer of each top-level folder (and file) of `src/`: a module may import only lower layers and its own. */
const LAYERS: Readonly<Record<string, number>> = {
  core: 0,
  sources: 1,
  formats: 1,
  containers: 1,
  integrity: 1,
  /** The module list and what is derived from it (formats, sniffer, claims, analyzers, rules). */
  registry: 2,
  report: 3,
  policy: 3,
  scan: 4,
  cli: 5,
  /** The scan service (HTTP API, queues, workers): beside the CLI, which loads it lazily. */
  service: 5,
  "index.ts": 6,
  /** Subpath entry points (`modelgate/pickle` ...), beside the root facade. */
  entries: 6,
};

/** An import against the direction that stays until the step that removes it, and why. */
interface Allowed {
  /** Importing file, relative to `src/`. */
  readonly from: string;
  /** Imported file, relative to `src/`. */
  readonly to: string;
  /** Why it is still there and what removes it. */
  readonly why: string;
}

/** Violations still present, each with its reason. Remove an entry when its import goes. */
const ALLOWED: readonly Allowed[] = [];

/** Every `.ts` file under a directory, relative to `src/`, POSIX separators. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(relative(SRC, path).split(sep).join("/"));
  }
  return out.sort();
}

/** Top-level folder (or file) of a path relative to `src/`. */
const unit = (path: string): string => path.split("/")[0] ?? path;

/** Resolves a relative specifier of `from` to a path relative to `src/` (`.js` → `.ts`). */
function resolveSpecifier(from: string, specifier: string): string {
  const target = relative(SRC, resolve(SRC, dirname(from), specifier))
    .split(sep)
    .join("/");
  return target.replace(/\.js$/, ".ts");
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Every relative import of every file (static, type-only, re-exports and dynamic `import()`). */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(join(SRC, file), "utf8"), true, true);
    for (const { fileName } of info.importedFiles) {
      if (fileName.startsWith(".")) out.push({ from: file, to: resolveSpecifier(file, fileName) });
    }
  }
  return out;
}

/** Why an import breaks the layering, or undefined when it does not. */
function violation({ from, to }: Edge): string | undefined {
  if (to.startsWith("../")) return "imports from outside src/";
  const a = LAYERS[unit(from)];
  const b = LAYERS[unit(to)];
  if (a === undefined) return `${unit(from)} is in no layer (add it to LAYERS)`;
  if (b === undefined) return `${unit(to)} is in no layer (add it to LAYERS)`;
  if (unit(from) === "core" && unit(to) !== "core") return "core imports nothing from the rest of src/";
  if (b > a) return `layer ${a} (${unit(from)}) imports layer ${b} (${unit(to)})`;
  return undefined;
}

const key = (e: Edge): string => `${e.from} -> ${e.to}`;

describe("layering", () => {
  const all = edges();
  const found = new Map<string, string>();
  for (const e of all) {
    const why = violation(e);
    if (why !== undefined) found.set(key(e), why);
  }
  const allowed = new Set(ALLOWED.map(key));

  it("sees the imports", () => {
    // the parser works: the engine imports core, the registry every module, index.ts the engine
    expect(all.some((e) => e.from === "scan/engine.ts" && e.to === "core/errors.ts")).toBe(true);
    expect(all.some((e) => e.from === "registry/modules.ts" && e.to === "formats/pickle/index.ts")).toBe(true);
    expect(all.some((e) => e.from === "index.ts" && unit(e.to) === "scan")).toBe(true);
  });

  it("classifies every top-level folder and file of src/", () => {
    const units = new Set(sourceFiles(SRC).map(unit));
    expect([...units].filter((u) => LAYERS[u] === undefined)).toEqual([]);
  });

  it("src/core imports nothing from the rest of src/", () => {
    const out = all.filter((e) => unit(e.from) === "core" && unit(e.to) !== "core");
    expect(out.map(key)).toEqual([]);
  });

  it("imports only downward, but for the allowlisted violations", () => {
    const fresh = [...found].filter(([k]) => !allowed.has(k)).map(([k, why]) => `${k}: ${why}`);
    expect(fresh).toEqual([]);
  });

  it("allowlists only violations that still occur (remove an entry once its import is gone)", () => {
    expect(ALLOWED.map(key).filter((k) => !found.has(k))).toEqual([]);
    expect(new Set(ALLOWED.map(key)).size).toBe(ALLOWED.length);
  });

  it("never allowlists an import out of core", () => {
    expect(ALLOWED.filter((a) => unit(a.from) === "core")).toEqual([]);
  });
});
