/**
 * Recognises TFLite models by the flatbuffer file identifier `TFL3` at bytes 4–8.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

const TFL3 = ascii("TFL3");

export const detectTflite: Detector = ({ head, size }) => {
  if (!startsWith(head, TFL3, 4)) return undefined;
  const root = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  return {
    format: "tflite",
    offset: 0,
    reason:
      root >= 8 && root < size
        ? "flatbuffer file identifier TFL3"
        : "flatbuffer file identifier TFL3, root offset out of range",
  };
};
