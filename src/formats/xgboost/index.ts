/**
 * The XGBoost module: boosters saved as JSON, UBJSON (`.ubj`) or the legacy binary format.
 * Pickled boosters are pickles and go to the pickle engine.
 *
 * Detection: recognises XGBoost models by content: JSON whose first key is `learner`, UBJSON whose first key
 * is `learner`, and the legacy binary layout (the `binf` magic, or the objective's name at its
 * fixed offset). Other JSON is left to the text module.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";

/** Size of the legacy binary header's learner parameters (the objective's name follows them). */
export const LEARNER_PARAM = 136;

/** The first bytes of a legacy binary model: offset of the learner block, or undefined. */
export function legacyBinaryStart(head: Uint8Array): number | undefined {
  const magic = head[0] === 0x62 && head[1] === 0x69 && head[2] === 0x6e && head[3] === 0x66; // "binf"
  const start = magic ? 4 : 0;
  const at = start + LEARNER_PARAM;
  if (head.length < at + 9) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const len = view.getBigUint64(at, true);
  if (len < 1n || len > 64n || head.length < at + 8 + Number(len)) return magic ? start : undefined;
  const name = charCodes(head.subarray(at + 8, at + 8 + Number(len)));
  if (magic) return start;
  // Without the magic, the objective's name at its fixed offset is the evidence.
  return /^[a-z]+:[a-z_]+$/.test(name) ? start : undefined;
}

const LEARNER = [0x6c, 0x65, 0x61, 0x72, 0x6e, 0x65, 0x72]; // "learner"

const isWs = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** `{"learner":` after optional whitespace. */
export const detectXgboostJson: Detector = ({ head }) => {
  let i = 0;
  while (isWs(head[i])) i++;
  if (head[i++] !== 0x7b) return undefined;
  while (isWs(head[i])) i++;
  if (head[i++] !== 0x22) return undefined;
  for (const b of LEARNER) if (head[i++] !== b) return undefined;
  if (head[i++] !== 0x22) return undefined;
  while (isWs(head[i])) i++;
  return head[i] === 0x3a ? { format: "xgboost", offset: 0, reason: 'JSON object opening with "learner"' } : undefined;
};

/** UBJSON `{` with the key `learner` (length 7 as any integer type), or the legacy binary header. */
export const detectXgboostBinary: Detector = ({ head }) => {
  if (head[0] === 0x7b) {
    const sizes: Record<number, number> = { 105: 1, 85: 1, 73: 2, 108: 4, 76: 8 }; // i U I l L
    const size = sizes[head[1] ?? 0];
    if (size === undefined) return undefined;
    for (let k = 0; k < size - 1; k++) if (head[2 + k] !== 0) return undefined;
    if (head[1 + size] !== 7) return undefined;
    for (let k = 0; k < 7; k++) if (head[2 + size + k] !== LEARNER[k]) return undefined;
    return { format: "xgboost", offset: 0, reason: "UBJSON object opening with learner" };
  }
  const start = legacyBinaryStart(head);
  if (start === undefined) return undefined;
  return { format: "xgboost", offset: 0, reason: start === 4 ? "XGBoost binf magic" : "XGBoost legacy binary header" };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    xgboost: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "xgboostRules");

/** XGBoost models. */
export const xgboostModule = {
  name: "xgboost",
  formats: [
    {
      id: "xgboost",
      description: "XGBoost model (JSON, UBJSON or legacy binary)",
      claimExtensions: ["ubj"],
      hintExtensions: ["json"],
    },
  ],
  detectors: [
    { rank: 135, detect: detectXgboostBinary },
    { rank: 185, detect: detectXgboostJson },
  ],
  analyzers: [lazyAnalyzer("xgboost", ["xgboost"], async () => (await import("./analyzer.js")).xgboostAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
