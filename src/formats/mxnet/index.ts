/**
 * The MXNet module: symbol graphs (`*-symbol.json`) and NDArray parameter files (`.params`).
 *
 * Detection: recognises MXNet files by content: the NDArray list magic, and JSON opening with `"nodes": [`
 * (a symbol graph; the analyzer falls back to plain JSON when the rest is not one).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/** The list magic and reserved word. */
export function isNdarrayList(head: Uint8Array): boolean {
  if (head.length < 24) return false;
  const magic = [0x12, 0x01, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 16; i++) if (head[i] !== (i < 8 ? magic[i] : 0)) return false;
  return true;
}

/** `{"nodes": [` after optional whitespace. */
export function startsLikeSymbol(head: Uint8Array): boolean {
  const text = new TextDecoder("latin1").decode(head.subarray(0, 64));
  return /^\s*\{\s*"nodes"\s*:\s*\[/.test(text);
}

export const detectMxnetParams: Detector = ({ head }) =>
  isNdarrayList(head) ? { format: "mxnet-params", offset: 0, reason: "NDArray list magic 0x112" } : undefined;

export const detectMxnetSymbol: Detector = ({ head }) =>
  startsLikeSymbol(head)
    ? { format: "mxnet-symbol", offset: 0, reason: 'JSON object opening with "nodes"' }
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
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
