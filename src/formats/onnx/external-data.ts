/**
 * The ONNX external-data analyzer: keeps a file as tensor data (`onnx-external-data`) only when an
 * ONNX model beside it (in its folder or a folder above, as `onnx.load` resolves `location`
 * against the model's folder) references it; any other candidate goes back to unknown content
 * (`format/unknown`): a name alone never makes bytes clean. The references it is kept for are
 * bounds-checked against the file and inventoried (tensors, bytes).
 *
 * Models are found by name (`x.onnx.data` → `x.onnx`, `x.data` → `x.onnx`, `model.onnx` beside it)
 * and, in a local directory, by listing the file's folder and the folders above it (bounded). Each
 * model is read once per scan (its graph without payloads), whichever data files ask.
 * @module
 */
import { opendir } from "node:fs/promises";
import { posix, resolve } from "node:path";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { FindingList } from "../../core/findings.js";
import type { ScanRoot } from "../../core/root.js";
import { lexicalProblem, parseCount, staysInside } from "./external.js";
import { readOnnxPartial } from "./reader.js";

/** Folders above the data file searched for its model (its own included). */
const MAX_LEVELS = 4;
/** Directory entries looked at per folder. */
const MAX_DIRENTS = 10_000;
/** Models read per data file. */
const MAX_CANDIDATES = 16;
/** External references of one model kept for matching. */
const MAX_REFS = 200_000;
/** Models named in the facts. */
const MAX_MODELS_NAMED = 8;

/** One tensor stored in another file, as a model says. */
interface DataRef {
  readonly tensor: string;
  /** The referenced file, normalised, relative to the root. */
  readonly path: string;
  readonly offset: number;
  readonly length: number | undefined;
}

/** A model's well-formed references by referenced path (undefined when the model could not be read). */
type ModelRefs = ReadonlyMap<string, readonly DataRef[]> | undefined;

/** What one scan learned so far: each model's references, each local folder's models. */
interface ScanCache {
  readonly models: Map<string, Promise<ModelRefs>>;
  readonly folders: Map<string, Promise<string[]>>;
}

/** Per scan root (a scan's data files share its models and folder listings). */
// Keyed by the root's target: each file's analysis sees the scan's root through its own wrapper
// (scan/context-watch.ts), the target is the scan's.
const CACHE = new WeakMap<object, ScanCache>();

function cacheOf(root: ScanRoot): ScanCache {
  let cache = CACHE.get(root.target);
  if (cache === undefined) {
    cache = { models: new Map(), folders: new Map() };
    CACHE.set(root.target, cache);
  }
  return cache;
}

/**
 * The well-formed, in-directory external references of a model. Anything wrong with the model or
 * a reference is the model analyzer's to report; here such references vouch for nothing.
 */
async function readModelRefs(ctx: AnalysisContext, path: string): Promise<ModelRefs> {
  try {
    const source = await ctx.root.open(path, { signal: ctx.signal });
    try {
      const { summary, error } = await readOnnxPartial(source, {
        checkpoint: () => ctx.checkpoint(),
        maxExternalRefs: MAX_REFS,
      });
      // A model onnx.load rejects loads no data: it vouches for none.
      if (error !== undefined) return undefined;
      const dir = posix.dirname(path);
      const refs = new Map<string, DataRef[]>();
      for (const ref of summary.externalRefs) {
        if (!ref.markedExternal) continue;
        const get = (key: string) => {
          const values = ref.entries.filter(([k]) => k === key);
          return values.length === 1 ? values[0]?.[1] : values.length === 0 ? undefined : null;
        };
        const location = get("location");
        const offset = parseCount(get("offset") ?? undefined);
        const length = parseCount(get("length") ?? undefined);
        if (typeof location !== "string" || offset === null || length === null) continue;
        if (get("offset") === null || get("length") === null) continue;
        if (lexicalProblem(location) !== undefined || !staysInside(dir, location)) continue;
        const target = posix.normalize(posix.join(dir, location.replaceAll("\\", "/")));
        const list = refs.get(target) ?? [];
        if (list.length === 0) refs.set(target, list);
        list.push({ tensor: ref.tensor.slice(0, 200), path: target, offset: offset ?? 0, length });
      }
      return refs;
    } finally {
      await source.close?.();
    }
  } catch {
    // not there, not readable, not ONNX, over a budget, out of time: it vouches for nothing
    return undefined;
  }
}

function modelRefs(ctx: AnalysisContext, path: string): Promise<ModelRefs> {
  const { models } = cacheOf(ctx.root);
  let refs = models.get(path);
  if (refs === undefined) {
    const signal = ctx.signal;
    const reading: Promise<ModelRefs> = readModelRefs(ctx, path).then((r) => {
      // a read cut short by this file's deadline says nothing of the model: the next file retries
      if (r === undefined && signal.aborted && models.get(path) === reading) models.delete(path);
      return r;
    });
    refs = reading;
    models.set(path, refs);
  }
  return refs;
}

function folderModels(ctx: AnalysisContext, dir: string): Promise<string[]> {
  const { folders } = cacheOf(ctx.root);
  let models = folders.get(dir);
  if (models === undefined) {
    const signal = ctx.signal;
    const listing: Promise<string[]> = localModels(ctx.root, dir, signal).then((found) => {
      // a listing cut short by this file's deadline is not kept for the next file
      if (signal.aborted && folders.get(dir) === listing) folders.delete(dir);
      return found;
    });
    models = listing;
    folders.set(dir, models);
  }
  return models;
}

/** `.onnx` files of a local folder (no links followed: the root refuses to open them anyway). */
async function localModels(root: ScanRoot, dir: string, signal: AbortSignal): Promise<string[]> {
  if (root.localDir === undefined) return [];
  const found: string[] = [];
  try {
    const handle = await opendir(resolve(root.localDir, dir), { bufferSize: 256 });
    let seen = 0;
    try {
      for await (const entry of handle) {
        if (signal.aborted || ++seen > MAX_DIRENTS || found.length >= MAX_CANDIDATES) break;
        if (entry.isFile() && entry.name.toLowerCase().endsWith(".onnx"))
          found.push(dir === "." ? entry.name : `${dir}/${entry.name}`);
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  } catch {
    return found;
  }
  return found.sort();
}

/**
 * The models that may reference the file at `path` (root-relative), nearest first.
 * @param ctx - the data file's context
 * @param path - its path in the root
 */
async function candidateModels(ctx: AnalysisContext, path: string): Promise<string[]> {
  const dir = posix.dirname(path);
  const base = posix.basename(path);
  const join = (d: string, name: string) => (d === "." ? name : `${d}/${name}`);
  const named: string[] = [];
  const beside = /^(.*\.onnx)[._-][^/]*$/i.exec(base);
  if (beside?.[1] !== undefined) named.push(join(dir, beside[1]));
  const dot = base.lastIndexOf(".");
  if (dot > 0) named.push(join(dir, `${base.slice(0, dot)}.onnx`));
  named.push(join(dir, "model.onnx"));
  const found = new Set(named);
  let level = dir;
  for (let i = 0; i < MAX_LEVELS && found.size < MAX_CANDIDATES; i++) {
    ctx.checkpoint();
    for (const model of await folderModels(ctx, level)) found.add(model);
    if (level === ".") break;
    level = posix.dirname(level);
  }
  return [...found].filter((p) => p !== path).slice(0, MAX_CANDIDATES);
}

/**
 * Keeps ONNX external data referenced by a model beside it; reports references past its end.
 * Also offered the OpenVINO weights candidates (`.bin`): it runs after their analyzer and only
 * changes the format when a model references the file.
 */
export const onnxExternalDataAnalyzer: Analyzer = {
  name: "onnx-external-data",
  formats: ["onnx-external-data", "openvino-weights"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const own = ctx.detection.format === "onnx-external-data";
    // Only top-level files have siblings (a member's model is not looked for in its archive).
    const path = ctx.depth === 0 ? posix.normalize(ctx.path) : undefined;
    const matches: { model: string; ref: DataRef }[] = [];
    if (path !== undefined && !path.startsWith("../") && !posix.isAbsolute(path)) {
      for (const model of await candidateModels(ctx, path)) {
        ctx.checkpoint();
        for (const ref of (await modelRefs(ctx, model))?.get(path) ?? []) matches.push({ model, ref });
      }
    }
    if (matches.length === 0) {
      if (own) ctx.refineFormat("unknown");
      return;
    }
    ctx.refineFormat("onnx-external-data");
    const size = ctx.source.size;
    const findings = new FindingList();
    let tensors = 0;
    let bytes = 0;
    for (const [i, { model, ref }] of matches.entries()) {
      if (i % 4096 === 4095) ctx.checkpoint();
      const end = ref.length === undefined ? size : ref.offset + ref.length;
      if (ref.offset > size || end > size) {
        findings.add({
          ruleId: "onnx/external-data-out-of-bounds",
          message: `tensor ${JSON.stringify(ref.tensor)} of ${model} reads ${ref.offset}+${ref.length ?? "rest"}, past the end of this file (${size} bytes)`,
          evidence: {
            model: model.slice(0, 400),
            tensor: ref.tensor,
            dataOffset: ref.offset,
            dataLength: ref.length ?? -1,
            fileSize: size,
          },
        });
        continue;
      }
      tensors++;
      bytes += end - ref.offset;
    }
    for (const finding of findings.list()) ctx.report(finding);
    const models = [...new Set(matches.map((m) => m.model))];
    ctx.fact("onnx.externalDataOf", models.slice(0, MAX_MODELS_NAMED));
    ctx.fact("tensorCount", tensors);
    ctx.fact("onnx.externalDataBytes", bytes);
  },
};
