/**
 * The MLflow repository analyzer: for every MLflow model directory (an `MLmodel` with flavours),
 * the environment files beside it (`requirements.txt`, `conda.yaml`, `python_env.yaml`) are read
 * for requirements that install from outside PyPI.
 * @module
 */
import { posix } from "node:path";
import type { RepoAnalyzer, RepoContext } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { preview } from "../../core/preview.js";
import { readText } from "../hf/text.js";
import { MLMODEL } from "./index.js";

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

async function readListed(ctx: RepoContext, path: string): Promise<string | undefined> {
  let source: Awaited<ReturnType<RepoContext["openFile"]>> | undefined;
  try {
    source = await ctx.openFile(path);
    return await readText(source, MAX_ENV_BYTES);
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    if (!isModelgateError(error)) throw error;
    // a file the file pass could not read carries its own finding
    return undefined;
  } finally {
    await source?.close?.()?.catch(() => undefined);
  }
}

/** Environment files of MLflow model directories. */
export const mlflowRepoAnalyzer: RepoAnalyzer = {
  name: "mlflow",
  async analyze(ctx: RepoContext): Promise<void> {
    const dirs = new Set(
      ctx.files
        .filter((f) => f.format === "mlflow" && posix.basename(f.path) === MLMODEL)
        .map((f) => posix.dirname(f.path)),
    );
    if (dirs.size === 0) return;
    const listed = new Set(ctx.entries.filter((e) => e.kind === "file").map((e) => e.path));
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
