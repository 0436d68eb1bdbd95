/**
 * JSON files of Hugging Face model repositories: `config.json` (architecture facts, `auto_map`),
 * `tokenizer_config.json` / `chat_template.json` / processor configs (chat templates, `auto_map`),
 * sharded-checkpoint indexes (`*.index.json`), and any other JSON (validity, duplicate keys, and
 * Jinja templates embedded anywhere: `../template/embedded.ts`).
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { pushAll } from "../../core/arrays.js";
import { isModelgateError } from "../../core/errors.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { type DuplicateKey, JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";
import { reportJsonTemplates } from "../template/embedded.js";
import { escapeDunderIn, FRAME_ATTRIBUTES } from "../template/names.js";
import {
  AUTO_MAP_FILES,
  collectReferences,
  type References,
  SENTENCE_TRANSFORMERS_FILES,
  sentenceTransformersReferences,
} from "./auto-map.js";
import {
  attentionKernels,
  crossEncoderActivation,
  diffusersComponentImports,
  diffusersPipeline,
  modularComponents,
  openClipTowers,
  peftAutoMapping,
  processorAudioTokenizer,
  type ScannedRepo,
} from "./loader-references.js";
import { parseConfigJson, readText } from "./text.js";

/** Files whose `chat_template` value is a template (string, or a list of `{name, template}`). */
const TEMPLATE_FILES: ReadonlySet<string> = new Set([
  "tokenizer_config.json",
  "chat_template.json",
  "processor_config.json",
  "preprocessor_config.json",
]);

/** Processor configs whose `audio_tokenizer` names a model to load. */
const PROCESSOR_FILES: ReadonlySet<string> = new Set(["processor_config.json", "preprocessor_config.json"]);

/** Files whose special tokens transformers passes to chat templates as variables. */
const TOKEN_FILES: ReadonlySet<string> = new Set(["tokenizer_config.json", "special_tokens_map.json"]);

/** Special tokens of a tokenizer config: the template variables they become, and every value. */
interface SpecialTokens {
  /** `bos_token` → its text, for every single-token variable. */
  readonly variables: Map<string, string>;
  /** Every token value, with where it was found. */
  readonly values: { readonly key: string; readonly value: string }[];
}

/** Special-token values kept per file; past it only those the judgement reports are kept. */
const MAX_TOKEN_VALUES = 10_000;

/**
 * The special tokens transformers passes to `apply_chat_template`'s renderer as variables: every
 * top-level `*_token` key (`bos_token`, `eos_token`, `image_token` ...) and the entries of
 * `extra_special_tokens`, as strings or `{"content": ...}` objects, plus the values of
 * `additional_special_tokens`.
 * @param root - the parsed config
 */
export function specialTokens(root: JsonObject): SpecialTokens {
  const variables = new Map<string, string>();
  const values: { key: string; value: string }[] = [];
  const text = (v: JsonValue | undefined): string | undefined => {
    if (typeof v === "string") return v;
    if (v instanceof JsonObject) {
      const content = v.get("content");
      if (typeof content === "string") return content;
    }
    return undefined;
  };
  let judgedPast = 0;
  const add = (key: string, v: JsonValue | undefined, variable: string | undefined): void => {
    const t = text(v);
    if (t === undefined) return;
    // every variable is known to the template analysis (the parsed config bounds them)
    if (variable !== undefined && !variables.has(variable)) variables.set(variable, t);
    if (values.length < MAX_TOKEN_VALUES) values.push({ key, value: t });
    else if (judgedPast < MAX_TOKEN_VALUES && dunderToken(t) !== undefined) {
      // past the cap a value is still kept when it is what the judgement looks for
      judgedPast++;
      values.push({ key, value: t });
    }
  };
  for (const [k, v] of root.entries) {
    if (k.endsWith("_token")) add(k, v, k);
  }
  const extra = root.get("extra_special_tokens");
  if (extra instanceof JsonObject) for (const [k, v] of extra.entries) add(`extra_special_tokens.${k}`, v, k);
  else if (Array.isArray(extra)) for (const [i, v] of extra.entries()) add(`extra_special_tokens[${i}]`, v, undefined);
  const additional = root.get("additional_special_tokens");
  if (Array.isArray(additional)) {
    for (const [i, v] of additional.entries()) add(`additional_special_tokens[${i}]`, v, undefined);
  }
  return { variables, values };
}

/** The sandbox-escape name a special-token value spells, if any. */
function dunderToken(value: string): string | undefined {
  return escapeDunderIn(value) ?? (FRAME_ATTRIBUTES.has(value.trim()) ? value.trim() : undefined);
}

/**
 * Reports special-token values that name a sandbox-escape dunder (`bos_token: "__globals__"`):
 * transformers hands them to the chat template, which can use them as attribute names
 * (`x[bos_token]`) without spelling the name itself.
 */
function reportTokenValues(ctx: AnalysisContext, tokens: SpecialTokens): void {
  const findings = new FindingList(10);
  for (const { key, value } of tokens.values) {
    const name = dunderToken(value);
    if (name === undefined) continue;
    findings.add({
      ruleId: "template/dunder-string",
      message: `special token ${preview(key, 80)} is "${preview(value, 80)}": transformers passes it to chat templates as a variable, which a template can use as an attribute name`,
      evidence: { token: preview(key, 80), name: preview(name, 80), value: preview(value, 120) },
    });
  }
  for (const f of findings.list()) ctx.report(f);
}

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

/** Most `auto_map` keys looked at in a document that could not be parsed. */
const MAX_SALVAGED = 20;
/** Longest `auto_map` value parsed out of a document that could not be parsed. */
const MAX_SALVAGED_CHARS = 1 << 20;

/**
 * Where the JSON value starting at `start` ends (exclusive), matching brackets and skipping
 * strings; undefined when it does not end within {@link MAX_SALVAGED_CHARS}.
 */
function valueEnd(text: string, start: number): number | undefined {
  const limit = Math.min(text.length, start + MAX_SALVAGED_CHARS);
  let depth = 0;
  for (let i = start; i < limit; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < limit && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth === 0) return i + 1;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (--depth <= 0) return depth === 0 ? i + 1 : i;
    } else if (depth === 0 && (c === "," || c === "\n")) return i;
  }
  return undefined;
}

/**
 * The code references of the `auto_map` objects in a configuration that could not be parsed as a
 * whole (nesting past the parser's budget elsewhere in the file): each `"auto_map": value` found
 * in the text is parsed on its own.
 * @param text - the configuration text
 * @param checkpoint - abort/timeout check
 */
export function salvageReferences(text: string, checkpoint?: () => void): References {
  const refs: References["refs"] = [];
  const unread: References["unread"] = [];
  const keys = /"auto(?:_|\\u005[fF])map"\s*:\s*/g;
  let overflow: string | undefined;
  for (let n = 0; ; n++) {
    const m = keys.exec(text);
    if (m === null) break;
    if (n >= MAX_SALVAGED || refs.length + unread.length >= 200) {
      // an `auto_map` past the budget is not dropped silently: the file cannot be clean
      overflow = "hf.salvagedAutoMaps";
      break;
    }
    checkpoint?.();
    const start = m.index + m[0].length;
    const end = valueEnd(text, start);
    let found: References | undefined;
    if (end !== undefined) {
      try {
        found = collectReferences(parseConfigJson(`{"auto_map":${text.slice(start, end)}}`).value);
      } catch (error) {
        if (!isModelgateError(error)) throw error;
      }
    }
    if (found === undefined) {
      unread.push({
        declaredAt: "auto_map",
        value: preview(text.slice(start, start + 80)),
        why: "unreadable in invalid JSON",
      });
    } else {
      pushAll(refs, found.refs);
      pushAll(unread, found.unread);
      overflow ??= found.overflow;
    }
  }
  return { refs, unread, ...(overflow === undefined ? {} : { overflow }) };
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
  // the scan does not look inside the model directory's own .git (see src/integrity/vcs.ts)
  if (path.split(/[/\\]/).filter((p) => p !== "" && p !== ".")[0] === ".git")
    return "inside .git, which is not scanned";
  return undefined;
}

/**
 * The last component of a file or member name (`a/b/tokenizer_config.json` → `tokenizer_config.json`).
 * @param name - name or path, `/`-separated
 */
export function baseName(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

/** The Hub repository the scan reads (its own references are not another repository's). */
function scannedRepo(ctx: AnalysisContext): ScannedRepo | undefined {
  const hub = ctx.root.target.hub;
  return hub === undefined ? undefined : { repo: hub.repo, revisions: [hub.revision, hub.commit] };
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
        // Python's parser may still take it (nesting past our 512 levels): the `auto_map` objects
        // found in the text are reported as they would be from a parsed document.
        const name = baseName(ctx.name).toLowerCase();
        if (AUTO_MAP_FILES.has(name)) {
          const salvaged = salvageReferences(text, () => ctx.checkpoint());
          if (salvaged.refs.length + salvaged.unread.length > 0 || salvaged.overflow !== undefined)
            reportCodeReferences(ctx, salvaged, "transformers");
        }
        return;
      }
      throw error;
    }
    // By base name at any depth: `tokenizer/tokenizer_config.json` (diffusers) is a tokenizer config
    // like the root one (a top-level file's name can be its path relative to the scan root).
    const name = baseName(ctx.name).toLowerCase();
    if (SENTENCE_TRANSFORMERS_FILES.has(name)) {
      const st = sentenceTransformersReferences(name, root);
      if (st !== undefined) reportCodeReferences(ctx, st, "sentence-transformers");
    }
    const checkpoint = (): void => ctx.checkpoint();
    if (!(root instanceof JsonObject)) {
      await reportJsonTemplates((f) => ctx.report(f), root, { checkpoint });
      return;
    }

    if (AUTO_MAP_FILES.has(name)) reportCodeReferences(ctx, collectReferences(root), "transformers");
    const tokens = TOKEN_FILES.has(name) ? specialTokens(root) : undefined;
    if (tokens !== undefined) reportTokenValues(ctx, tokens);
    const known = TEMPLATE_FILES.has(name) ? await reportTemplates(ctx, root, tokens?.variables) : undefined;
    // Templates anywhere else in the document, whatever the file's name (`config.json`'s
    // `chat_template`, a nested `model.custom_chat_template`, a `prompt_template`).
    await reportJsonTemplates((f) => ctx.report(f), root, { checkpoint, variables: tokens?.variables, known });
    if (name.endsWith(".index.json")) checkIndex(ctx, root);
    const loaderRefs =
      name === "adapter_config.json"
        ? peftAutoMapping(root)
        : PROCESSOR_FILES.has(name)
          ? processorAudioTokenizer(root)
          : name === "config.json"
            ? [...attentionKernels(root), ...crossEncoderActivation(root)]
            : name === "model_index.json"
              ? [...diffusersPipeline(root), ...diffusersComponentImports(root)]
              : name === "modular_model_index.json"
                ? [...diffusersPipeline(root), ...modularComponents(root, scannedRepo(ctx))]
                : name === "open_clip_config.json"
                  ? openClipTowers(root)
                  : [];
    for (const r of loaderRefs) ctx.report({ ruleId: r.ruleId, message: r.message, evidence: { ...r.evidence } });
  },
};

/**
 * Reports the code references of a config: local modules (`repo/remote-code`), other
 * repositories' (`repo/remote-code-external`), and values that could not be read
 * (`repo/remote-code`: a loader may import something from them).
 * @param ctx - the file's context
 * @param references - what {@link collectReferences} (or the sentence-transformers reader) found
 * @param loader - the library that imports them, for messages
 */
function reportCodeReferences(ctx: AnalysisContext, references: References, loader: string): void {
  const { refs, unread, overflow } = references;
  if (overflow !== undefined) {
    // the values past the collector's budget were never judged (one could name another repository)
    ctx.report({
      ruleId: "scan/budget-exceeded",
      message: `${ctx.name} declares more class references than modelgate reads (${refs.length + unread.length} read): the rest were not judged`,
      evidence: { budget: overflow, read: refs.length + unread.length },
    });
  }
  const local = refs.filter((r) => r.repo === undefined);
  if (local.length > 0) {
    const files = [...new Set(local.map((r) => r.moduleFile))];
    ctx.report({
      ruleId: "repo/remote-code",
      message: `loading with ${loader} and trust_remote_code=True imports ${files.map((f) => preview(f, 120)).join(", ")} (${local
        .slice(0, 6)
        .map(
          (r) =>
            `${preview(r.declaredAt, 100)} → ${r.className === "" ? "(empty class name)" : preview(r.className, 100)}`,
        )
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
  for (const u of unread.slice(0, 20)) {
    ctx.report({
      ruleId: "repo/remote-code",
      message: `${preview(u.declaredAt, 100)} holds ${preview(u.value, 120)} where ${loader} expects a class reference (${u.why}); modelgate cannot tell what a loader would import from it`,
      evidence: { declaredAt: preview(u.declaredAt, 100), value: preview(u.value, 200), reason: u.why },
    });
  }
}

/**
 * Reports the chat templates of a tokenizer config. The template analysis (the Jinja parser) loads
 * with the first template met, not with this analyzer, which runs on every JSON file.
 * @returns the texts analysed (the search of the whole document skips them)
 */
async function reportTemplates(
  ctx: AnalysisContext,
  root: JsonObject,
  variables: ReadonlyMap<string, string> | undefined,
): Promise<ReadonlySet<string>> {
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
  if (templates.length === 0) return new Set();
  const { reportTemplate } = await import("../template/report.js");
  for (const { where, text } of templates) {
    reportTemplate(
      (f) => ctx.report(f),
      text,
      { where },
      () => ctx.checkpoint(),
      variables,
    );
  }
  return new Set(templates.map((t) => t.text));
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
