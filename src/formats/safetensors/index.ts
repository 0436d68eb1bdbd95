/**
 * The safetensors module: a JSON header and raw tensor bytes; the header and its metadata are
 * checked, tensor bytes never read.
 *
 * Detection: recognises safetensors files by their header length and opening brace (or their name).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";

export const detectSafetensors: Detector = ({ head, size, name }) => {
  if (head.length < 9) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n = view.getBigUint64(0, true);
  const byName = extensionOf(name) === "safetensors";
  let i = 8;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  const plausible = n >= 2n && n <= 100_000_000n && 8n + n <= BigInt(size) && head[i] === 0x7b;
  if (plausible) return { format: "safetensors", offset: 0, reason: `safetensors header of ${n} bytes` };
  return byName ? { format: "safetensors", offset: 0, reason: "named .safetensors (header not plausible)" } : undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    safetensors: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "safetensorsRules");

/** safetensors files. */
export const safetensorsModule = {
  name: "safetensors",
  formats: [{ id: "safetensors", description: "safetensors file", claimExtensions: ["safetensors"] }],
  detectors: [{ rank: 130, detect: detectSafetensors }],
  analyzers: [
    lazyAnalyzer("safetensors", ["safetensors"], async () => (await import("./analyzer.js")).safetensorsAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
