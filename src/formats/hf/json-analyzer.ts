/**
 * JSON files of Hugging Face model repositories: `config.json` (architecture facts, `auto_map`),
 * `tokenizer_config.json` / `chat_template.json` / processor configs (chat templates, `auto_map`),
 * sharded-checkpoint indexes (`*.index.json`), and any other JSON (validity, duplicate keys).
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { isModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { type DuplicateKey, JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";
import { AUTO_MAP_FILES, codeReferences } from "./auto-map.js";
import { parseConfigJson, readText } from "./text.js";

/** Files whose `chat_template` value is a template (string, or a list of `{name, template}`). */
const TEMPLATE_FILES: ReadonlySet<string> = new Set([
  "tokenizer_config.json",
  "chat_template.json",
  "processor_config.json",
  "preprocessor_config.json",
]);

/** Duplicate keys reported one by one; the rest are counted in one more finding. */
const MAX_DUPLICATE_FINDINGS = 10;

/**
 * Reports the repeated keys of a JSON document (`repo/json-duplicate-key`): Python's `json` keeps
 * the last value, other parsers the first, so two readers see two different documents.
 * @param report - the context's `report`
 * @param duplicates - what the strict parser found
 */
export function reportDuplicateKeys(
  report: (finding: FindingInput) => void,
  duplicates: readonly DuplicateKey[],
): void {
  const findings = new FindingList(MAX_DUPLICATE_FINDINGS);
  for (const d of duplicates) {
    findings.add({
      ruleId: "repo/json-duplicate-key",
      message: `key "${preview(d.key)}" appears more than once${d.path === "" ? "" : ` in "${preview(d.path)}"`}; Python keeps the last value`,
      evidence: { key: preview(d.key), in: preview(d.path), char: d.offset },
    });
  }
  for (const f of findings.list()) report(f);
}

/**
 * Why a shard path from an index escapes the model directory, or `undefined`.
 * @param path - shard path as written
 */
export function pathEscape(path: string): string | undefined {
  if (path.includes("\0")) return "NUL character";
  if (/^[/\\]/.test(path)) return "absolute path";
  if (/^[A-Za-z]:/.test(path)) return "drive letter";
  if (/^[a-z][\w+.-]*:\/\//i.test(path)) return "URL";
  if (path.split(/[/\\]/).includes("..")) return "`..` component";
  return undefined;
}

/**
 * The last component of a file or member name (`a/b/tokenizer_config.json` → `tokenizer_config.json`).
 * @param name - name or path, `/`-separated
 */
export function baseName(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

/** Analyses JSON files in model repositories. */
export const hfJsonAnalyzer: Analyzer = {
  name: "hf-json",
  formats: ["json"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const text = await readText(ctx.source, undefined, ctx.head);
    let root: JsonValue;
    try {
      const parsed = parseConfigJson(text, () => ctx.checkpoint());
      root = parsed.value;
      reportDuplicateKeys((f) => ctx.report(f), parsed.duplicates);
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "BUDGET_EXCEEDED")) {
        ctx.report({
          ruleId: "repo/invalid-json",
          message: `${ctx.name} is not valid JSON: ${error.message}`,
          ...(error.offset === undefined ? {} : { evidence: { char: error.offset } }),
        });
        return;
      }
      throw error;
    }
    if (!(root instanceof JsonObject)) return;
    // By base name at any depth: `tokenizer/tokenizer_config.json` (diffusers) is a tokenizer config
    // like the root one (a top-level file's name can be its path relative to the scan root).
    const name = baseName(ctx.name).toLowerCase();

    if (AUTO_MAP_FILES.has(name)) reportCodeReferences(ctx, root);
    if (TEMPLATE_FILES.has(name)) await reportTemplates(ctx, root);
    if (name.endsWith(".index.json")) checkIndex(ctx, root);
  },
};

function reportCodeReferences(ctx: AnalysisContext, root: JsonObject): void {
  const refs = codeReferences(root);
  const local = refs.filter((r) => r.repo === undefined);
  if (local.length > 0) {
    const files = [...new Set(local.map((r) => r.moduleFile))];
    ctx.report({
      ruleId: "repo/remote-code",
      message: `loading with trust_remote_code=True imports ${files.join(", ")} (${local
        .slice(0, 6)
        .map((r) => `${r.declaredAt} → ${r.className}`)
        .join("; ")})`,
      evidence: {
        modules: preview(files.join(","), 300),
        classes: preview(local.map((r) => `${r.declaredAt}=${r.reference}`).join(","), 400),
      },
    });
    ctx.fact(
      "hf.remoteCodeModules",
      files.slice(0, 50).map((f) => preview(f, 120)),
    );
  }
  for (const r of refs.filter((x) => x.repo !== undefined)) {
    ctx.report({
      ruleId: "repo/remote-code-external",
      message: `${r.declaredAt} loads ${r.moduleFile} from another repository, ${preview(r.repo ?? "", 100)}`,
      evidence: {
        declaredAt: preview(r.declaredAt, 100),
        repo: preview(r.repo ?? "", 100),
        reference: preview(r.reference, 200),
      },
    });
  }
}

/**
 * Reports the chat templates of a tokenizer config. The template analysis (the Jinja parser) loads
 * with the first template met, not with this analyzer, which runs on every JSON file.
 */
async function reportTemplates(ctx: AnalysisContext, root: JsonObject): Promise<void> {
  const value = root.get("chat_template");
  const templates: { where: string; text: string }[] = [];
  const check = (where: string, t: JsonValue | undefined): void => {
    if (typeof t === "string") templates.push({ where, text: t });
  };
  if (typeof value === "string") check("chat_template", value);
  else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (item instanceof JsonObject) {
        const label = item.get("name");
        check(`chat_template[${typeof label === "string" ? preview(label, 60) : i}]`, item.get("template"));
      }
    });
  } else if (value instanceof JsonObject) {
    for (const [k, v] of value.entries) check(`chat_template[${preview(k, 60)}]`, v);
  }
  if (templates.length === 0) return;
  const { reportTemplate } = await import("../template/report.js");
  for (const { where, text } of templates) {
    reportTemplate(
      (f) => ctx.report(f),
      text,
      { where },
      () => ctx.checkpoint(),
    );
  }
}

function checkIndex(ctx: AnalysisContext, root: JsonObject): void {
  const map = root.get("weight_map");
  if (!(map instanceof JsonObject)) return;
  const shards = new Set<string>();
  for (const v of map.entries.values()) if (typeof v === "string") shards.add(v);
  let reported = 0;
  for (const shard of shards) {
    const why = pathEscape(shard);
    if (why === undefined) continue;
    if (++reported > 20) break;
    ctx.report({
      ruleId: "repo/index-path-escape",
      message: `weight_map names shard "${preview(shard)}" (${why})`,
      evidence: { shard: preview(shard, 200), reason: why },
    });
  }
  ctx.fact("hf.shardCount", shards.size);
}
