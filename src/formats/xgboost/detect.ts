/**
 * Recognises XGBoost models by content: JSON whose first key is `learner`, UBJSON whose first key
 * is `learner`, and the legacy binary layout (the `binf` magic, or the objective's name at its
 * fixed offset). Other JSON is left to the text module.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { legacyBinaryStart } from "./binary.js";

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
