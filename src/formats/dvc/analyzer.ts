/**
 * The DVC analyzer: the YAML analysis of the pointer file (safe composition, budgets: see
 * `../yaml/parse.ts`), then its outputs as DVC reads them (`yaml.safe_load`-like: aliases and merge
 * keys resolved): every `outs` entry names an artifact `dvc pull` fetches that was not scanned
 * (medium, path and hash in evidence), and a path that lands outside the pointer's folder once
 * joined to `wdir` (absolute, drive letter, URL, `..` climbing out) is where DVC would write it
 * (high). `dvc.yaml` and `dvc.lock` are read by `./pipeline.ts`: their stage outputs the same way,
 * and their stage commands (what `dvc repro` runs).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { mlmodelPlain } from "../mlflow/plain.js";
import type { YamlAnalysis } from "../yaml/analyze.js";
import { analyzeYamlFile } from "../yaml/analyzer.js";
import { pipelineKind } from "./index.js";
import { escapeReason } from "./paths.js";
import { pipelineFindings } from "./pipeline.js";

export { escapeReason } from "./paths.js";

/** Output entries looked at most. */
const MAX_OUTS = 10_000;
/** YAML nodes converted at most (aliases count again). */
const MAX_PLAIN_NODES = 100_000;
/** Hash fields DVC records for an output, by preference. */
const HASH_KEYS = ["md5", "sha256", "etag", "checksum", "version_id"] as const;

type Plain = Record<string, unknown>;
const isObject = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
/** A YAML string that is not null (`null`, `~`, empty): the failsafe schema keeps every scalar a string. */
const text = (v: unknown): string | undefined =>
  typeof v === "string" && !/^(?:null|Null|NULL|~|)$/.test(v) ? v : undefined;

/** The findings of one pointer document. */
export function dvcFindings(root: unknown): FindingInput[] {
  const list = new FindingList<FindingInput>();
  const doc = mlmodelPlain(root, MAX_PLAIN_NODES);
  const outs = isObject(doc) ? doc.outs : undefined;
  if (!Array.isArray(outs) || outs.length === 0) {
    list.add({ ruleId: "dvc/malformed", message: "the .dvc file has no outs list" });
    return list.list();
  }
  const wdir = isObject(doc) ? (text(doc.wdir) ?? ".") : ".";
  const deps = isObject(doc) && Array.isArray(doc.deps) ? doc.deps : [];
  const repo = deps.map((d) => (isObject(d) && isObject(d.repo) ? text(d.repo.url) : undefined)).find(Boolean);
  for (const [i, out] of outs.slice(0, MAX_OUTS).entries()) {
    const path = isObject(out) ? text(out.path) : undefined;
    if (!isObject(out) || path === undefined) {
      list.add({ ruleId: "dvc/malformed", message: `output ${i} of the .dvc file names no path` });
      continue;
    }
    const hashKey = HASH_KEYS.find((k) => text(out[k]) !== undefined);
    const hash = hashKey === undefined ? undefined : text(out[hashKey]);
    const evidence = {
      path: preview(path, 200),
      ...(hashKey === undefined || hash === undefined ? {} : { hashName: hashKey, hash: preview(hash, 100) }),
      ...(typeof out.size === "string" ? { size: preview(out.size, 40) } : {}),
      ...(text(out.remote) === undefined ? {} : { remote: preview(text(out.remote)!, 200) }),
      ...(repo === undefined ? {} : { repo: preview(String(repo), 200) }),
      ...(wdir === "." ? {} : { wdir: preview(wdir, 200) }),
    };
    list.add({
      ruleId: "dvc/external-artifact",
      message: `dvc pull fetches ${JSON.stringify(evidence.path)}${hash === undefined ? "" : ` (${hashKey} ${evidence.hash})`}, which was not scanned`,
      evidence,
    });
    const reason = escapeReason(wdir, path);
    if (reason !== undefined) {
      list.add({
        ruleId: "dvc/path-traversal",
        message: `output path ${JSON.stringify(evidence.path)}${wdir === "." ? "" : ` (wdir ${JSON.stringify(evidence.wdir)})`} is ${reason}: dvc checkout writes the artifact outside the folder`,
        evidence,
      });
    }
  }
  return list.list();
}

/** Analyses DVC pointer files (`*.dvc`) and pipeline files (`dvc.yaml`, `dvc.lock`). */
export const dvcAnalyzer: Analyzer = {
  name: "dvc",
  formats: ["dvc"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const pipeline = pipelineKind(ctx.name);
    await analyzeYamlFile(ctx, (analysis: YamlAnalysis) => {
      const root = analysis.docs[0]?.contents;
      if (!analysis.ok || root === undefined || root === null) {
        const what = pipeline ?? ".dvc";
        return [{ ruleId: "dvc/malformed", message: `the ${what} file is not a YAML mapping DVC reads` }];
      }
      return pipeline === undefined ? dvcFindings(root) : pipelineFindings(root, pipeline);
    });
  },
};
