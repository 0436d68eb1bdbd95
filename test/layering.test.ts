/**
 * The layers of `src/` import one way: core ← (sources, formats, containers, integrity, report) ←
 * policy ← scan ← cli, with `src/index.ts` on top. Folders of the same layer may import each other.
 * Every `import`, `import type`, `export ... from` and dynamic `import()` of every file is checked;
 * the violations that remain until the FormatModule step are listed in {@link ALLOWED}, each with
 * its reason, so that any new one fails.
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
  /** Compatibility re-export of `core/errors.ts` (code that still imports `src/errors.ts`). */
  "errors.ts": 0,
  sources: 1,
  formats: 1,
  containers: 1,
  integrity: 1,
  report: 1,
  policy: 2,
  scan: 3,
  cli: 4,
  "index.ts": 5,
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

const CONTRACT =
  "analyzer contract (Analyzer, AnalysisContext) is in scan/types.ts until FormatModule moves it to core";
const REPO_CONTRACT =
  "repo analyzer contract (RepoAnalyzer, RepoContext: policy, ScanOptions) is in scan/types.ts until FormatModule";
const RULES = "rule registry lookup (getRule) until rules live in the format modules (FormatModule)";
const REGISTRY = "the analyzer registry moves to scan/ and is derived from the format modules (FormatModule)";
const PICKLE = "pickle engine (being split): imports core instead once its split lands";
const PICKLE_POLICY = "pickle semantic tables in policy/pickle become data next to the engine (pickle split)";

/** Violations still present, each with its reason. Remove an entry when its import goes. */
const ALLOWED: readonly Allowed[] = [
  { from: "containers/budget.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "containers/compressed/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "containers/sevenzip/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "containers/tar/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "containers/zip/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/gguf/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/hf/code-analyzers.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/hf/json-analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/hf/repo-analyzer.ts", to: "scan/types.ts", why: REPO_CONTRACT },
  { from: "formats/joblib/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/keras/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/numpy/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/onnx/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/pytorch-legacy/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/safetensors/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/safetensors/analyzer.ts", to: "policy/rules/index.ts", why: RULES },
  { from: "formats/savedmodel/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/template/analyzer.ts", to: "scan/types.ts", why: CONTRACT },
  { from: "formats/registry.ts", to: "scan/types.ts", why: REGISTRY },
  { from: "formats/registry.ts", to: "policy/configs.ts", why: REGISTRY },
  { from: "formats/pickle/analyze.ts", to: "scan/types.ts", why: PICKLE },
  { from: "formats/pickle/analyze.ts", to: "policy/pickle/index.ts", why: PICKLE_POLICY },
  { from: "formats/pickle/analyzer.ts", to: "scan/types.ts", why: PICKLE },
  { from: "formats/pickle/analyzer.ts", to: "policy/pickle/index.ts", why: PICKLE_POLICY },
  { from: "formats/pickle/analyzer.ts", to: "policy/rules/index.ts", why: RULES },
  { from: "integrity/oms/analyzer.ts", to: "scan/types.ts", why: REPO_CONTRACT },
  {
    from: "integrity/oms/analyzer.ts",
    to: "policy/policy.ts",
    why: "signature requirement read from the policy in a repo analyzer (applySignaturePolicy through the recorders)",
  },
  {
    from: "integrity/oms/analyzer.ts",
    to: "policy/signature.ts",
    why: "signer check of the policy in a repo analyzer (applySignaturePolicy through the recorders)",
  },
  { from: "integrity/pins/analyzer.ts", to: "scan/types.ts", why: REPO_CONTRACT },
  {
    from: "policy/configs.ts",
    to: "scan/types.ts",
    why: "configAnalyzer is an analyzer living in policy/ (FormatModule)",
  },
  { from: "report/render/cyclonedx.ts", to: "policy/rules/index.ts", why: RULES },
  { from: "report/render/sarif.ts", to: "policy/rules/index.ts", why: RULES },
];

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
    // the parser works: the engine imports core, index.ts re-exports from every folder
    expect(all.some((e) => e.from === "scan/engine.ts" && e.to === "core/errors.ts")).toBe(true);
    expect(new Set(all.filter((e) => e.from === "index.ts").map((e) => unit(e.to)))).toEqual(
      new Set(Object.keys(LAYERS).filter((u) => u !== "index.ts" && u !== "errors.ts" && u !== "cli")),
    );
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
