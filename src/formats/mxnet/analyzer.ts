/**
 * MXNet analyzers: the NDArray list (structure, sizes, facts, trailing bytes), the symbol graph
 * (structure, custom and native-callback operators, facts), and JSON the sniffer took for plain
 * data that is a symbol graph all the same (dmlc reads the graph's keys in any order, so its
 * `nodes` can lie past any head the sniffer sees).
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readClamped, SliceSource } from "../../core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../core/errors.js";
import { decodeUtf8Strict, parsePlainJson } from "../../core/json.js";
import { factNumber } from "../safetensors/analyzer.js";
import { GRAPH_KEYS } from "./index.js";
import { readNdarrayList } from "./params.js";
import { analyzeSymbol } from "./symbol.js";

/** Largest symbol graph parsed. */
const MAX_SYMBOL_BYTES = 256 * 1024 * 1024;
/** Bytes read per step when looking for the graph keys in a JSON document. */
const SCAN_CHUNK = 4 * 1024 * 1024;
const NODES = new TextEncoder().encode('"nodes"');
const HEADS = new TextEncoder().encode('"heads"');

/** Whether `needle` occurs in `bytes` (Buffer's native search). */
const contains = (bytes: Uint8Array, needle: Uint8Array): boolean =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(needle) >= 0;

/**
 * Whether the document spells both `"nodes"` and `"heads"` (dmlc's reader has no `\u` escapes, so a
 * graph it loads spells its keys literally), read in chunks that overlap by a key's length.
 */
async function mentionsGraphKeys(ctx: AnalysisContext): Promise<boolean> {
  let nodes = false;
  let heads = false;
  const overlap = NODES.length - 1;
  for (let at = 0; at < ctx.source.size && !(nodes && heads); at += SCAN_CHUNK) {
    ctx.checkpoint();
    const chunk = await readClamped(ctx.source, Math.max(0, at - overlap), SCAN_CHUNK + overlap);
    nodes ||= contains(chunk, NODES);
    heads ||= contains(chunk, HEADS);
  }
  return nodes && heads;
}

/**
 * The document's text as dmlc's JSON reader sees it: dmlc reads strings as raw bytes (no UTF-8
 * check), so bytes that are not UTF-8 (a Latin-1 `\xff` in a note) do not stop MXNet loading the
 * graph. Valid UTF-8 is decoded as such; anything else byte for byte (ISO-8859-1), which keeps
 * every ASCII key and operator name as dmlc compares them.
 */
function decodeAsDmlc(bytes: Uint8Array): string {
  try {
    return decodeUtf8Strict(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  }
}

/** Reports a parsed graph's issues and facts. */
function reportGraph(ctx: AnalysisContext, graph: NonNullable<ReturnType<typeof analyzeSymbol>>): void {
  for (const issue of graph.issues) ctx.report(issue);
  ctx.fact("mxnet.nodes", graph.nodes);
  ctx.fact("mxnet.ops", [...graph.ops].sort().slice(0, 200));
  if (graph.version !== undefined) ctx.fact("toolVersions", { mxnet: graph.version });
}

/** Analyses `.params` NDArray lists. */
export const mxnetParamsAnalyzer: Analyzer = {
  name: "mxnet-params",
  formats: ["mxnet-params"],
  async analyze(ctx) {
    let list: Awaited<ReturnType<typeof readNdarrayList>>;
    try {
      list = await readNdarrayList(ctx.source, {
        maxArrays: ctx.limits.maxEntries,
        head: ctx.head,
        checkpoint: () => ctx.checkpoint(),
      });
    } catch (error) {
      if (isModelgateError(error, "MALFORMED") || isModelgateError(error, "TRUNCATED")) {
        ctx.report({
          ruleId: "mxnet/malformed",
          message: error.message,
          ...(error.offset === undefined ? {} : { offset: error.offset }),
        });
        return;
      }
      throw error;
    }
    ctx.fact("tensorCount", list.arrays);
    ctx.fact("parameterCount", factNumber(list.parameters));
    ctx.fact("dtypes", [...list.dtypes].sort());
    ctx.fact("mxnet.named", list.names > 0);
    if (list.sparse > 0) ctx.fact("mxnet.sparseArrays", list.sparse);
    if (list.end < ctx.source.size) {
      ctx.report({
        ruleId: "mxnet/trailing-data",
        message: `${ctx.source.size - list.end} bytes follow the NDArray list (byte ${list.end})`,
        offset: list.end,
        evidence: { end: list.end, trailingBytes: ctx.source.size - list.end },
      });
      await ctx.scanMember(`@${list.end}`, new SliceSource(ctx.source, list.end, ctx.source.size - list.end), {
        offset: list.end,
        opaqueData: true,
      });
    }
  },
};

/** What {@link readGraphJson} returns when the document did not parse (already reported). */
const NOT_READ = Symbol("not read");

/**
 * Reads a whole graph document under the symbol budget, decoded as dmlc reads bytes; one that does
 * not parse is reported `mxnet/malformed` (never passed as clean) and gives {@link NOT_READ}.
 * @param ctx - the file's context
 * @param what - what the document is, for the budget error
 * @param message - the finding's message for a parse error
 * @throws ModelgateError `BUDGET_EXCEEDED` past {@link MAX_SYMBOL_BYTES}
 */
async function readGraphJson(
  ctx: AnalysisContext,
  what: string,
  message: (error: ModelgateError) => string,
): Promise<unknown> {
  const size = ctx.source.size;
  if (size > MAX_SYMBOL_BYTES) {
    throw new ModelgateError("BUDGET_EXCEEDED", `${what} of ${size} bytes exceeds ${MAX_SYMBOL_BYTES}`, {
      budget: "mxnetSymbolBytes",
    });
  }
  try {
    const bytes = size <= ctx.head.length ? ctx.head : await readClamped(ctx.source, 0, size);
    return parsePlainJson(decodeAsDmlc(bytes), { checkpoint: () => ctx.checkpoint() }).value;
  } catch (error) {
    if (!isModelgateError(error, "MALFORMED")) throw error;
    ctx.report({
      ruleId: "mxnet/malformed",
      message: message(error),
      ...(error.offset === undefined ? {} : { offset: error.offset }),
    });
    return NOT_READ;
  }
}

/** Analyses `*-symbol.json` graphs. */
export const mxnetSymbolAnalyzer: Analyzer = {
  name: "mxnet-symbol",
  formats: ["mxnet-symbol"],
  async analyze(ctx) {
    const root = await readGraphJson(ctx, "symbol graph", (error) => `symbol JSON: ${error.message}`);
    if (root === NOT_READ) return;
    const graph = analyzeSymbol(root);
    if (graph === undefined) {
      ctx.refineFormat("json"); // JSON with a "nodes" array that is no MXNet graph: plain data
      return;
    }
    reportGraph(ctx, graph);
  },
};

/**
 * Reads JSON documents (and notebooks: a graph's `attrs` may hold any key) that mention both
 * `"nodes"` and `"heads"` whole: one whose root has only graph keys, `nodes` and `heads` arrays
 * among them, is a symbol graph,
 * analysed as such and reported as `mxnet-symbol`. Bytes that are not UTF-8 are read as dmlc reads
 * them (raw); a document naming the graph keys that still does not parse is `mxnet/malformed`
 * (dmlc's reader is more lenient than a strict JSON parser: raw control characters in strings).
 */
export const mxnetJsonAnalyzer: Analyzer = {
  name: "mxnet-json",
  formats: ["json", "notebook"],
  async analyze(ctx) {
    if (!(await mentionsGraphKeys(ctx))) return;
    // dmlc's reader takes what a strict parser refuses (raw control characters in strings): a
    // document naming the graph keys that this parser cannot read is not passed as clean.
    const root = await readGraphJson(
      ctx,
      "JSON naming graph keys",
      (error) =>
        `JSON naming MXNet graph keys ("nodes", "heads") does not parse: ${error.message} (MXNet's dmlc reader may still load it as a graph)`,
    );
    if (root === NOT_READ) return;
    // dmlc's reader refuses a key the graph does not declare: such a document is no graph MXNet loads.
    if (typeof root !== "object" || root === null || !Object.keys(root).every((k) => GRAPH_KEYS.has(k))) return;
    const graph = analyzeSymbol(root);
    if (graph === undefined) return;
    ctx.refineFormat("mxnet-symbol");
    reportGraph(ctx, graph);
  },
};
