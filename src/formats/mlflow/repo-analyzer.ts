/**
 * The MLflow repository analyzer: for every MLflow model directory (an `MLmodel` with flavours),
 * the environment files beside it (`requirements.txt`, `conda.yaml`, `python_env.yaml`) are read
 * for requirements that install from outside PyPI, and the modules of its `code` directories are
 * checked for names that replace standard or installed modules: loading the model puts the `code`
 * directory and each folder directly inside it first on `sys.path` (and drops the cached modules
 * named like its files), so such a module is what every later import of the name gets.
 * @module
 */
import { posix } from "node:path";
import type { RepoAnalyzer, RepoContext } from "../../core/analyzer.js";
import { isModelgateError, ruleForError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { isFileChangedError } from "../../sources/file.js";
import { readText } from "../hf/text.js";
import { shadowingModules } from "../marshal/python-modules.js";
import { CODE_DIRS_FACT, MLMODEL } from "./index.js";

/** Environment files MLflow writes beside MLmodel. */
const ENV_FILES = ["requirements.txt", "conda.yaml", "conda.yml", "python_env.yaml"];
const MAX_ENV_BYTES = 1024 * 1024;

/** Requirement lines that install from outside PyPI, with what they do. */
const REMOTE: readonly [RegExp, string][] = [
  [/(?:^|\s)--(?:extra-index-url|index-url|find-links|trusted-host)\b/, "package index option"],
  [/(?:^|\s)-[if](?:\s|[a-z]+:)/, "package index option"],
  [/\b(?:git|hg|svn|bzr)\+[a-z]+:/i, "VCS requirement"],
  [/\b(?:https?|ftp|file):\/\//i, "URL"],
];

/**
 * Lines of an environment file that fetch from outside PyPI.
 * @param text - `requirements.txt`, `conda.yaml` or `python_env.yaml`
 */
export function remoteRequirements(text: string): { line: number; text: string; kind: string }[] {
  const out: { line: number; text: string; kind: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length && out.length < 50; i++) {
    const line = (lines[i] ?? "").replace(/(?:^|\s)#(?!egg=).*$/, "").trim();
    if (line.length === 0) continue;
    const hit = REMOTE.find(([re]) => re.test(line));
    if (hit !== undefined) out.push({ line: i + 1, text: line, kind: hit[1] });
  }
  return out;
}

/**
 * Reads an environment file whole, or undefined when it cannot be. Nothing is skipped silently:
 * pip reads the whole file, so one too large to read here, or a read that failed (the store
 * answered otherwise the second time, a timeout), is reported on the file; a file the file pass
 * could not read already carries its own finding (the engine does not repeat it).
 */
async function readListed(ctx: RepoContext, path: string): Promise<string | undefined> {
  let source: Awaited<ReturnType<RepoContext["openFile"]>> | undefined;
  try {
    source = await ctx.openFile(path);
    return await readText(source, MAX_ENV_BYTES);
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    if (!isModelgateError(error)) throw error;
    const ruleId = isFileChangedError(error) ? "scan/file-changed" : ruleForError(error);
    ctx.report(path, {
      ruleId: ruleId === "format/malformed" ? "scan/read-error" : ruleId,
      message: `the MLflow environment file could not be read for its requirements: ${error.message}`,
      evidence: { code: error.code },
    });
    return undefined;
  } finally {
    await source?.close?.()?.catch(() => undefined);
  }
}

/** How many shadowing modules are reported per model directory. */
const MAX_SHADOWS = 8;
/** `code` entries of one model, folders put on `sys.path`, and models checked for shadowing. */
const MAX_CODE_DIRS = 16;
const MAX_IMPORT_ROOTS = 256;
const MAX_MODELS = 64;

/**
 * The folders a model's `code` entries put on `sys.path`, relative to the scanned root: each
 * `code` directory and every folder directly inside it (MLflow's `_get_code_dirs`). Paths leaving
 * the model directory are ignored (they are not part of the artifact).
 */
function importRoots(
  dir: string,
  codeDirs: readonly string[],
  listed: readonly string[],
): { roots: string[]; cut: boolean } {
  const roots = new Set<string>();
  let cut = codeDirs.length > MAX_CODE_DIRS;
  for (const code of codeDirs.slice(0, MAX_CODE_DIRS)) {
    const plain = posix.normalize(code).replace(/\/+$/, "");
    if (plain === "" || plain === "." || plain.startsWith("/") || plain === ".." || plain.startsWith("../")) continue;
    const root = dir === "." ? `${plain}/` : `${dir}/${plain}/`;
    roots.add(root);
    for (const path of listed) {
      if (!path.startsWith(root)) continue;
      const rest = path.slice(root.length);
      const slash = rest.indexOf("/");
      if (slash > 0 && rest.slice(0, slash) !== "__pycache__") {
        const sub = `${root}${rest.slice(0, slash + 1)}`;
        if (roots.has(sub)) continue;
        if (roots.size >= MAX_IMPORT_ROOTS) cut = true;
        else roots.add(sub);
      }
    }
  }
  return { roots: [...roots], cut };
}

/** Reports the modules of a model's code directories that shadow standard or known modules. */
function reportShadowing(
  ctx: RepoContext,
  model: string,
  codeDirs: readonly string[],
  listed: readonly string[],
): void {
  const reported = new Set<string>();
  const { roots, cut } = importRoots(posix.dirname(model), codeDirs, listed);
  if (cut) {
    ctx.report(model, {
      ruleId: "scan/budget-exceeded",
      message: `the model's code directories put more than ${MAX_CODE_DIRS} entries or ${MAX_IMPORT_ROOTS} folders on sys.path: the modules of the rest were not checked for shadowing`,
      evidence: { budget: "mlflowImportRoots" },
    });
  }
  for (const root of roots) {
    const relative = new Map<string, string>();
    for (const path of listed) if (path.startsWith(root)) relative.set(path.slice(root.length), path);
    for (const shadow of shadowingModules(relative.keys(), MAX_SHADOWS)) {
      const path = relative.get(shadow.path);
      if (path === undefined || reported.has(path) || reported.size >= MAX_SHADOWS) continue;
      reported.add(path);
      ctx.report(path, {
        ruleId: "mlflow/shadowed-module",
        message: `the MLflow model's code directory ships ${JSON.stringify(preview(shadow.path, 80))}, which replaces the ${shadow.kind === "stdlib" ? "standard library module" : "installed package"} ${shadow.module} once the model is loaded (its code directory comes first on sys.path): its code runs when ${shadow.module} is imported`,
        evidence: { module: shadow.module, shadows: shadow.kind, importRoot: preview(root, 200) },
      });
    }
  }
}

const stringList = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];

/** Environment files of MLflow model directories. */
export const mlflowRepoAnalyzer: RepoAnalyzer = {
  name: "mlflow",
  async analyze(ctx: RepoContext): Promise<void> {
    const models = ctx.files.filter((f) => f.format === "mlflow" && posix.basename(f.path) === MLMODEL);
    const dirs = new Set(models.map((f) => posix.dirname(f.path)));
    if (dirs.size === 0) return;
    const listed = new Set(ctx.entries.filter((e) => e.kind === "file").map((e) => e.path));
    // links count: the import follows them
    const importable = ctx.entries.filter((e) => e.kind === "file" || e.kind === "symlink").map((e) => e.path);
    for (const [i, model] of models.entries()) {
      const codeDirs = stringList(model.facts?.[CODE_DIRS_FACT]);
      if (codeDirs.length === 0) continue;
      if (i >= MAX_MODELS) {
        ctx.report(model.path, {
          ruleId: "scan/budget-exceeded",
          message: `more than ${MAX_MODELS} MLflow models with code directories in the scan: this one's modules were not checked for shadowing`,
          evidence: { budget: "mlflowModels" },
        });
        continue;
      }
      reportShadowing(ctx, model.path, codeDirs, importable);
    }
    const analysed = new Set(ctx.files.map((f) => f.path));
    for (const dir of dirs) {
      for (const name of ENV_FILES) {
        const path = dir === "." ? name : `${dir}/${name}`;
        if (!listed.has(path) || !analysed.has(path)) continue;
        const text = await readListed(ctx, path);
        if (text === undefined) continue;
        const hits = remoteRequirements(text);
        if (hits.length === 0) continue;
        const kinds = [...new Set(hits.map((h) => h.kind))];
        ctx.report(path, {
          ruleId: "mlflow/remote-requirement",
          message: `the MLflow model's environment installs from outside PyPI (${kinds.join(", ")}): ${hits
            .slice(0, 3)
            .map((h) => `line ${h.line} \`${preview(h.text, 80)}\``)
            .join("; ")}`,
          evidence: {
            first: preview(hits[0]?.text ?? "", 160),
            line: hits[0]?.line ?? 0,
            count: hits.length,
            kinds: kinds.join(","),
          },
        });
      }
    }
  },
};
