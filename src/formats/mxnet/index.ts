/**
 * The MXNet module: symbol graphs (`*-symbol.json`) and NDArray parameter files (`.params`).
 *
 * Detection: recognises MXNet files by content: the NDArray list magic, and a JSON object whose
 * top-level keys seen in the head are all keys of an nnvm graph (`nodes`, `arg_nodes`,
 * `node_row_ptr`, `heads`, `attrs`: dmlc's JSON reader takes them in any order and refuses any other
 * key), one of the first four among them (the analyzer falls back to plain JSON when the rest is not
 * a graph). A graph whose keys the head does not show (a long `attrs` first) is recognised by the
 * JSON analysis of this module, which reads any JSON document mentioning both `"nodes"` and
 * `"heads"` whole.
 * @module
 */

import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { latin1 } from "../../core/sniffing.js";

/** The list magic and reserved word. */
export function isNdarrayList(head: Uint8Array): boolean {
  if (head.length < 24) return false;
  const magic = [0x12, 0x01, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 16; i++) if (head[i] !== (i < 8 ? magic[i] : 0)) return false;
  return true;
}

/** Top-level keys of an nnvm graph (`nnvm::pass::LoadJSON`'s JSONGraph); dmlc refuses any other. */
export const GRAPH_KEYS: ReadonlySet<string> = new Set(["nodes", "arg_nodes", "node_row_ptr", "heads", "attrs"]);
/** Of those, the ones only a graph has (`attrs` alone says nothing). */
const GRAPH_ONLY_KEYS = new Set(["nodes", "arg_nodes", "node_row_ptr", "heads"]);

/** JSON whitespace as dmlc's reader skips it (`isspace`: also vertical tab and form feed). */
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * The top-level keys of the JSON object the head opens, in order, as far as the head shows them
 * (strings are scanned without decoding escapes: dmlc's reader has no `\u` escapes, so a key it
 * reads as `nodes` is spelled so). Undefined when the head does not open an object.
 */
export function topLevelKeys(head: Uint8Array): string[] | undefined {
  let i = 0;
  while (i < head.length && isSpace(head[i] as number)) i++;
  if (head[i] !== 0x7b) return undefined;
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (; i < head.length && keys.length < 64; i++) {
    const c = head[i] as number;
    if (c === 0x22) {
      const start = i + 1;
      let j = start;
      while (j < head.length && head[j] !== 0x22) j += head[j] === 0x5c ? 2 : 1;
      if (j >= head.length) break;
      if (depth === 1 && expectKey) keys.push(latin1(head.subarray(start, j)));
      expectKey = false;
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      expectKey = c === 0x7b && depth === 1;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth <= 0) break;
    } else if (c === 0x2c && depth === 1) expectKey = true;
  }
  return keys;
}

/** A JSON object whose top-level keys (as far as the head shows) are all graph keys, one of them only a graph's. */
export function startsLikeSymbol(head: Uint8Array): boolean {
  const keys = topLevelKeys(head);
  return (
    keys !== undefined &&
    keys.length > 0 &&
    keys.every((k) => GRAPH_KEYS.has(k)) &&
    keys.some((k) => GRAPH_ONLY_KEYS.has(k))
  );
}

export const detectMxnetParams: Detector = ({ head }) =>
  isNdarrayList(head) ? { format: "mxnet-params", offset: 0, reason: "NDArray list magic 0x112" } : undefined;

export const detectMxnetSymbol: Detector = ({ head }) =>
  startsLikeSymbol(head)
    ? { format: "mxnet-symbol", offset: 0, reason: "JSON object with the top-level keys of an MXNet graph" }
    : undefined;

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "mxnet-symbol": true;
    "mxnet-params": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "mxnetRules");

/** MXNet files. */
export const mxnetModule = {
  name: "mxnet",
  formats: [
    { id: "mxnet-symbol", description: "MXNet symbol graph (JSON)", textual: true, hintExtensions: ["json"] },
    { id: "mxnet-params", description: "MXNet NDArray list (.params)" },
  ],
  detectors: [
    { rank: 57, detect: detectMxnetParams },
    { rank: 186, detect: detectMxnetSymbol },
  ],
  analyzers: [
    lazyAnalyzer("mxnet-params", ["mxnet-params"], async () => (await import("./analyzer.js")).mxnetParamsAnalyzer),
    lazyAnalyzer("mxnet-symbol", ["mxnet-symbol"], async () => (await import("./analyzer.js")).mxnetSymbolAnalyzer),
    // JSON the sniffer did not recognise as a graph (its keys lie past the head) is read whole when it mentions both.
    lazyAnalyzer("mxnet-json", ["json", "notebook"], async () => (await import("./analyzer.js")).mxnetJsonAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
