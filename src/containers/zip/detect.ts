/**
 * Recognises zip archives: a local header at 0, or an end-of-central-directory record at the end
 * (data prepended: a polyglot).
 * @module
 */
import type { Detector } from "../../core/module.js";
import { startsWith } from "../../core/sniffing.js";

const EOCD = [0x50, 0x4b, 0x05, 0x06];
const EOCD_BYTES = Buffer.from(EOCD);
export const detectZip: Detector = ({ head, tail, size }) => {
  if (
    startsWith(head, [0x50, 0x4b, 0x03, 0x04]) ||
    startsWith(head, EOCD) ||
    startsWith(head, [0x50, 0x4b, 0x07, 0x08])
  ) {
    return { format: "zip", offset: 0, reason: "zip local header at 0" };
  }
  // End of central directory near the end: a zip with data prepended (polyglot) or an odd layout.
  const view = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  for (let i = view.lastIndexOf(EOCD_BYTES); i >= 0; i = i === 0 ? -1 : view.lastIndexOf(EOCD_BYTES, i - 1)) {
    if (i + 22 > tail.length) continue;
    const commentLength = tail[i + 20]! | (tail[i + 21]! << 8);
    if (i + 22 + commentLength === tail.length) {
      return { format: "zip", offset: size - tail.length + i, reason: "zip end-of-central-directory record" };
    }
  }
  return undefined;
};
