/**
 * Recognises MXNet files by content: the NDArray list magic, and JSON opening with `"nodes": [`
 * (a symbol graph; the analyzer falls back to plain JSON when the rest is not one).
 * @module
 */
import type { Detector } from "../../core/module.js";

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
