/**
 * Recognises MXNet files by content: the NDArray list magic, and JSON opening with `"nodes": [`
 * (a symbol graph; the analyzer falls back to plain JSON when the rest is not one).
 * @module
 */
import type { Detector } from "../../core/module.js";
import { isNdarrayList } from "./params.js";
import { startsLikeSymbol } from "./symbol.js";

export const detectMxnetParams: Detector = ({ head }) =>
  isNdarrayList(head) ? { format: "mxnet-params", offset: 0, reason: "NDArray list magic 0x112" } : undefined;

export const detectMxnetSymbol: Detector = ({ head }) =>
  startsLikeSymbol(head)
    ? { format: "mxnet-symbol", offset: 0, reason: 'JSON object opening with "nodes"' }
    : undefined;
