/**
 * The Hugging Face repository analyzer: looks at a scanned directory as one model. It resolves
 * which `.py` files `trust_remote_code=True` would import (auto_map targets and their relative
 * imports; a diffusers component's `<component>/<library>.py`), reports modules that are missing,
 * pickle weights sitting beside safetensors weights, shards a checkpoint index names but the
 * directory lacks, and the connected pipelines a model card beside a `model_index.json` names.
 * @module
 */
import { posix } from "node:path";
import type { RepoAnalyzer, RepoContext } from "../../core/analyzer.js";
import { readClamped } from "../../core/byte-source.js";
import { isModelgateError } from "../../core/errors.js";
import type { Format } from "../../core/formats.js";
import { JsonObject, type JsonValue } from "../../core/json.js";
import { preview } from "../../core/preview.js";
import type { RootEntry } from "../../core/root.js";
import {
  AUTO_MAP_FILES,
  type CodeReference,
  codeReferences,
  relativeImports,
  SENTENCE_TRANSFORMERS_FILES,
  sentenceTransformersReferences,
} from "./auto-map.js";
import { pathEscape } from "./json-analyzer.js";
import { diffusersComponents } from "./loader-references.js";
import { parseConfigJson, readText } from "./text.js";

const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const MAX_MODULE_BYTES = 16 * 1024 * 1024;
/** Most remote-code modules followed per config (more: `scan/budget-exceeded` on the config). */
const MAX_MODULES = 500;
/** Bytes of a model card read for its front matter (the start of a larger card; the YAML budget). */
const MAX_CARD_BYTES = 8 * 1024 * 1024;

/** Formats whose loading runs a pickle (as opposed to safetensors). */
const PICKLE_FORMATS: ReadonlySet<Format> = new Set([
  "pickle",
  "pytorch-zip",
  "pytorch-legacy",
  "torchscript",
  "joblib",
]);
const PICKLE_EXTENSIONS = /\.(?:bin|pt|pth|ckpt|pkl|pickle|joblib)$/i;

/** Errors that say something about the content, which the per-file analyzers already report. */
const CONTENT_ERRORS = new Set(["MALFORMED", "TRUNCATED", "BUDGET_EXCEEDED", "UNSUPPORTED"]);

/**
 * Reads a listed file whole as text, or undefined when it cannot be: content problems are the
 * per-file analyzers' to report; a failed or timed-out read is reported on the file (the scan is
 * then incomplete). The caller's abort and the scan's deadline stop the analyzer.
 */
async function readListed(ctx: RepoContext, path: string, maxBytes: number): Promise<string | undefined> {
  let source: Awaited<ReturnType<RepoContext["openFile"]>> | undefined;
  try {
    source = await ctx.openFile(path);
    return await readText(source, maxBytes);
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    if (!isModelgateError(error)) throw error;
    if (CONTENT_ERRORS.has(error.code)) return undefined;
    ctx.report(path, {
      ruleId: error.code === "TIMEOUT" ? "scan/timeout" : "scan/read-error",
      message: `the repository analysis could not read it: ${error.message}`,
      evidence: { code: error.code },
    });
    return undefined;
  } finally {
    await source?.close?.()?.catch(() => undefined);
  }
}

async function readJson(ctx: RepoContext, path: string): Promise<JsonValue | undefined> {
  const text = await readListed(ctx, path, MAX_CONFIG_BYTES);
  if (text === undefined) return undefined;
  try {
    return parseConfigJson(text, undefined, { maxTreeBytes: 32 << 20 }).value;
  } catch (error) {
    if (isModelgateError(error)) return undefined; // the per-file analyzer reports it
    throw error;
  }
}

/**
 * The files the file pass read to the end (no `scan/*` finding): the only ones opened again. A
 * file that failed or timed out there is not fetched a second time.
 */
function completedFiles(ctx: RepoContext): Set<string> {
  return new Set(ctx.files.filter((f) => !f.findings.some((x) => x.ruleId.startsWith("scan/"))).map((f) => f.path));
}

/** Resolves `rel` against directory `dir`; undefined when it leaves the scanned root. */
function join(dir: string, rel: string): string | undefined {
  const p = posix.normalize(posix.join(dir, rel));
  return p.startsWith("../") || p === ".." || p.startsWith("/") ? undefined : p.replace(/^\.\//, "");
}

async function remoteCode(
  ctx: RepoContext,
  files: ReadonlyMap<string, RootEntry>,
  completed: ReadonlySet<string>,
): Promise<void> {
  for (const entry of files.values()) {
    const name = posix.basename(entry.path);
    const st = SENTENCE_TRANSFORMERS_FILES.has(name);
    const diffusers = name === "model_index.json";
    if ((!AUTO_MAP_FILES.has(name) && !st && !diffusers) || entry.size > MAX_CONFIG_BYTES || !completed.has(entry.path))
      continue;
    ctx.signal.throwIfAborted();
    const root = await readJson(ctx, entry.path);
    if (root === undefined) continue;
    const dir = posix.dirname(entry.path);
    if (diffusers && root instanceof JsonObject) await connectedPipelines(ctx, entry.path, dir, files, completed);
    const all = diffusers
      ? customComponents(root, dir, files)
      : st
        ? (sentenceTransformersReferences(name, root)?.refs ?? [])
        : codeReferences(root);
    const refs = all.filter((r) => r.repo === undefined);
    if (refs.length === 0) continue;
    // Breadth-first over auto_map targets and their relative imports.
    const via = new Map<string, string>();
    const queue: [string, string][] = [];
    const missing = new Map<string, string>();
    let overflow = false;
    const enqueue = (path: string | undefined, reason: string, ref: string): void => {
      if (path === undefined) {
        if (missing.size < MAX_MODULES) missing.set(ref, reason);
        else overflow = true;
        return;
      }
      if (via.has(path)) return;
      if (via.size >= MAX_MODULES) {
        overflow = true; // a module past the budget is not followed: reported below, never dropped silently
        return;
      }
      via.set(path, reason);
      queue.push([path, reason]);
    };
    for (const r of refs) enqueue(join(dir, r.moduleFile), describe(name, r), r.moduleFile);
    const present: string[] = [];
    while (queue.length > 0) {
      const item = queue.shift();
      if (item === undefined) break;
      const [path, reason] = item;
      const file = files.get(path);
      if (file === undefined) {
        missing.set(path, reason);
        continue;
      }
      present.push(path);
      if (file.size > MAX_MODULE_BYTES || !completed.has(path)) continue;
      ctx.signal.throwIfAborted();
      const src = await readListed(ctx, path, MAX_MODULE_BYTES);
      if (src === undefined) continue;
      for (const rel of relativeImports(src)) {
        enqueue(join(posix.dirname(path), rel), `imported by ${posix.basename(path)} (${reason})`, rel);
      }
    }
    for (const path of present) {
      ctx.report(path, {
        ruleId: "repo/remote-code",
        message: `runs when the model is loaded with trust_remote_code=True: ${via.get(path) ?? ""}`,
        evidence: { config: entry.path, reason: preview(via.get(path) ?? "", 200) },
      });
    }
    for (const [module, reason] of missing) {
      ctx.report(entry.path, {
        ruleId: "repo/remote-code-missing",
        message: `${preview(module)} (${preview(reason, 160)}) is not in the scanned tree; loaders would fetch it unscanned`,
        evidence: { module: preview(module, 200) },
      });
    }
    if (overflow) {
      ctx.report(entry.path, {
        ruleId: "scan/budget-exceeded",
        message: `the remote code of ${preview(entry.path)} imports more modules than modelgate follows (${MAX_MODULES}): the rest were not judged`,
        evidence: { budget: "hf.remoteCodeModules", limit: MAX_MODULES },
      });
    }
    ctx.fact(entry.path, "hf.remoteCodeFiles", present.slice(0, 100));
  }
}

/**
 * A diffusers `model_index.json`'s custom components: a component `[library, Class]` whose folder
 * holds `<library>.py` is loaded from that file (`get_class_from_dynamic_module`). diffusers looks
 * for the file before it imports any library that is not a pipeline module of the running version,
 * `diffusers` and `transformers` included, and older versions know fewer pipeline modules: the
 * file's presence is the signal (diffusers' own repositories have none), whatever the library.
 * One whose file is absent imports an installed module instead (reported on the config by the
 * JSON analyzer), so only present files count here.
 */
function customComponents(root: JsonValue, dir: string, files: ReadonlyMap<string, RootEntry>): CodeReference[] {
  if (!(root instanceof JsonObject)) return [];
  const out: CodeReference[] = [];
  for (const c of diffusersComponents(root, { includeOwn: true })) {
    const moduleFile = `${c.name}/${c.library}.py`;
    const path = join(dir, moduleFile);
    if (path === undefined || !files.has(path)) continue;
    out.push({ declaredAt: c.name, reference: `${c.library}.${c.className}`, moduleFile, className: c.className });
  }
  return out;
}

/** Model cards by folder, any case (built once per listing). */
const cardsByListing = new WeakMap<ReadonlyMap<string, RootEntry>, Map<string, RootEntry>>();

/** The model card beside a `model_index.json` (`README.md`; any case, as some file systems match it). */
function cardBeside(dir: string, files: ReadonlyMap<string, RootEntry>): RootEntry | undefined {
  const exact = files.get(join(dir, "README.md") ?? "");
  if (exact !== undefined) return exact;
  let cards = cardsByListing.get(files);
  if (cards === undefined) {
    cards = new Map();
    for (const entry of files.values()) {
      if (posix.basename(entry.path).toLowerCase() === "readme.md") cards.set(posix.dirname(entry.path), entry);
    }
    cardsByListing.set(files, cards);
  }
  return cards.get(dir);
}

/**
 * Reads the start of a listed file as text (the whole file when it is small enough); undefined
 * when it cannot be read (reported as {@link readListed} does).
 */
async function readStart(ctx: RepoContext, entry: RootEntry, maxBytes: number): Promise<string | undefined> {
  if (entry.size <= maxBytes) return readListed(ctx, entry.path, maxBytes);
  let source: Awaited<ReturnType<RepoContext["openFile"]>> | undefined;
  try {
    source = await ctx.openFile(entry.path);
    return Buffer.from(await readClamped(source, 0, maxBytes)).toString("utf8");
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    if (!isModelgateError(error)) throw error;
    return undefined; // the file pass reported what it could not read
  } finally {
    await source?.close?.()?.catch(() => undefined);
  }
}

/**
 * diffusers' connected pipelines: the model card beside a `model_index.json` whose front matter
 * has `prior:` makes the combined pipelines (`_load_connected_pipes`: Kandinsky, Würstchen,
 * Stable Cascade; chosen for their decoders by `AutoPipeline*` or `load_connected_pipeline=True`,
 * or named by the caller, whatever `_class_name` says) load that repository with
 * `DiffusionPipeline.from_pretrained` and the caller's options: its weights, its components'
 * imports and, with `trust_remote_code`, its code. Reported on the card as another model.
 */
async function connectedPipelines(
  ctx: RepoContext,
  config: string,
  dir: string,
  files: ReadonlyMap<string, RootEntry>,
  completed: ReadonlySet<string>,
): Promise<void> {
  const card = cardBeside(dir, files);
  if (card === undefined || !completed.has(card.path)) return;
  ctx.signal.throwIfAborted();
  const text = await readStart(ctx, card, MAX_CARD_BYTES);
  if (text === undefined) return;
  // the YAML parser loads with the first card beside a model_index.json
  const { connectedPipes } = await import("./model-card.js");
  const pipes = connectedPipes(text, card.size > MAX_CARD_BYTES, () => ctx.signal.throwIfAborted());
  for (const pipe of pipes) {
    const what =
      pipe.kind === "repo"
        ? `names "${preview(pipe.repo, 120)}"${pipe.shape === "string" ? " (a string: diffusers takes its first character)" : ""}`
        : pipe.kind === "unknown"
          ? `is ${pipe.value}, of which diffusers loads entry 0`
          : `could not be read (${preview(pipe.why, 160)})`;
    ctx.report(card.path, {
      ruleId: "repo/external-model",
      message: `the model card's prior ${what}: diffusers' connected pipelines (Kandinsky, Würstchen, Stable Cascade combined pipelines) load it with DiffusionPipeline.from_pretrained beside ${preview(config, 120)}, another repository (or a path of the loading machine) that is not part of this scan`,
      evidence: {
        declaredAt: "prior",
        config: preview(config, 200),
        path: pipe.kind === "repo" ? preview(pipe.repo, 120) : pipe.kind === "unknown" ? pipe.value : "(unread)",
      },
    });
  }
}

function describe(configName: string, r: CodeReference): string {
  return `${configName} ${r.declaredAt} → ${r.className}`;
}

function weightMix(ctx: RepoContext, files: ReadonlyMap<string, RootEntry>): void {
  const formatOf = new Map(ctx.files.map((f) => [f.path, f.formats]));
  const byDir = new Map<string, { safetensors: string[]; pickles: string[] }>();
  for (const entry of files.values()) {
    const formats = formatOf.get(entry.path) ?? [];
    const dir = posix.dirname(entry.path);
    const slot = byDir.get(dir) ?? { safetensors: [], pickles: [] };
    if (formats.includes("safetensors") || (formats.length === 0 && entry.path.endsWith(".safetensors"))) {
      slot.safetensors.push(entry.path);
    } else if (
      formats.some((f) => PICKLE_FORMATS.has(f)) ||
      ((formats.length === 0 || formats.includes("zip")) && PICKLE_EXTENSIONS.test(entry.path))
    ) {
      slot.pickles.push(entry.path);
    }
    byDir.set(dir, slot);
  }
  for (const { safetensors, pickles } of byDir.values()) {
    if (safetensors.length === 0) continue;
    for (const p of pickles) {
      ctx.report(p, {
        ruleId: "repo/pickle-beside-safetensors",
        message: `pickle-based weights next to ${posix.basename(safetensors[0] ?? "")}: loaders that fall back to (or prefer) them run the pickle`,
        evidence: { safetensors: preview(safetensors.slice(0, 3).join(","), 300) },
      });
    }
  }
}

async function indexShards(
  ctx: RepoContext,
  files: ReadonlyMap<string, RootEntry>,
  completed: ReadonlySet<string>,
): Promise<void> {
  for (const entry of files.values()) {
    if (!entry.path.endsWith(".index.json") || entry.size > MAX_CONFIG_BYTES || !completed.has(entry.path)) continue;
    ctx.signal.throwIfAborted();
    const root = await readJson(ctx, entry.path);
    const map = root instanceof JsonObject ? root.get("weight_map") : undefined;
    if (!(map instanceof JsonObject)) continue;
    const dir = posix.dirname(entry.path);
    const shards = new Set<string>();
    for (const v of map.entries.values()) if (typeof v === "string") shards.add(v);
    let reported = 0;
    for (const shard of shards) {
      if (pathEscape(shard) !== undefined) continue; // reported by the JSON analyzer
      const path = join(dir, shard);
      if (path === undefined || files.has(path)) continue;
      if (++reported > 20) break;
      ctx.report(entry.path, {
        ruleId: "repo/index-missing-shard",
        message: `weight_map names ${preview(shard)}, which is not in the scanned tree`,
        evidence: { shard: preview(shard, 200) },
      });
    }
  }
}

/**
 * A Hub dataset repository's loading script: `<name>.py` at the top level, which `datasets` runs
 * on `load_dataset(..., trust_remote_code=True)`. Only for dataset repositories (the root says so).
 */
function datasetScript(ctx: RepoContext, files: ReadonlyMap<string, RootEntry>): void {
  const hub = ctx.root.target.hub;
  if (hub?.repoType !== "dataset") return;
  // The Hub's ids are case-insensitive: users may name the dataset in another case than its own.
  const script = `${hub.repo.split("/").at(-1) ?? ""}.py`.toLowerCase();
  for (const path of files.keys()) {
    if (path.includes("/") || path.toLowerCase() !== script) continue;
    ctx.report(path, {
      ruleId: "repo/dataset-script",
      message: `loading script of dataset ${preview(hub.repo)}: load_dataset runs it when trust_remote_code=True`,
      evidence: { dataset: preview(hub.repo, 200), commit: hub.commit },
    });
  }
}

/** Largest template file analysed by name (as the template analyzer's budget). */
const MAX_TEMPLATE_BYTES = 8 * 1024 * 1024;

/**
 * Template files (`chat_template.jinja`, `additional_chat_templates/*.jinja`) that transformers
 * reads as text whatever their bytes, but that the sniffer took for another format (a GIF, zip or
 * GGUF magic in front of the template): analysed as templates here, on the file.
 */
async function templatesByName(
  ctx: RepoContext,
  files: ReadonlyMap<string, RootEntry>,
  completed: ReadonlySet<string>,
): Promise<void> {
  const formatOf = new Map(ctx.files.map((f) => [f.path, f.formats]));
  for (const entry of files.values()) {
    if (!/\.(?:jinja|j2)$/i.test(entry.path) || entry.size > MAX_TEMPLATE_BYTES || !completed.has(entry.path)) continue;
    const formats = formatOf.get(entry.path);
    if (formats === undefined || formats.includes("jinja")) continue;
    ctx.signal.throwIfAborted();
    const text = await readListed(ctx, entry.path, MAX_TEMPLATE_BYTES);
    if (text === undefined) continue;
    const { reportTemplate } = await import("../template/report.js");
    reportTemplate(
      (f) => ctx.report(entry.path, f),
      text,
      { where: entry.path },
      () => ctx.signal.throwIfAborted(),
    );
  }
}

/** Looks at a Hugging Face model directory (or Hub dataset) as a whole. */
export const hfRepoAnalyzer: RepoAnalyzer = {
  name: "hf-repo",
  async analyze(ctx: RepoContext): Promise<void> {
    const files = new Map(ctx.entries.filter((e) => e.kind === "file").map((e) => [e.path, e]));
    const completed = completedFiles(ctx);
    datasetScript(ctx, files);
    await remoteCode(ctx, files, completed);
    weightMix(ctx, files);
    await indexShards(ctx, files, completed);
    await templatesByName(ctx, files, completed);
  },
};
