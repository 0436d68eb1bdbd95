/**
 * The zip module: zip archives (and the container of every zip-based format, whose modules
 * recognise them by member names: PyTorch, TorchScript, NumPy `.npz`, Keras `.keras`).
 *
 * Detection: recognises zip archives: a local header at 0, or an end-of-central-directory record at the end
 * (data prepended: a polyglot).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { startsWith } from "../../core/sniffing.js";

const EOCD = [0x50, 0x4b, 0x05, 0x06];
const EOCD_BYTES = Buffer.from(EOCD);
/** A central-directory file header's signature. */
const CDH = [0x50, 0x4b, 0x01, 0x02];
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
  // Python's zipfile also takes the last record in the final 64 KiB when bytes follow it (a zip
  // appended inside or after another file, then padded): recognised here when its central
  // directory ends right before it and opens with a central-directory header, which random bytes
  // holding the record's signature by chance do not.
  for (let i = view.lastIndexOf(EOCD_BYTES); i >= 0; i = i === 0 ? -1 : view.lastIndexOf(EOCD_BYTES, i - 1)) {
    if (i + 22 > tail.length) continue;
    const cdSize = (tail[i + 12]! | (tail[i + 13]! << 8) | (tail[i + 14]! << 16)) + tail[i + 15]! * 0x1000000;
    const cdStart = i - cdSize;
    if (cdSize >= 46 && cdStart >= 0 && startsWith(tail.subarray(cdStart), CDH)) {
      return {
        format: "zip",
        offset: size - tail.length + i,
        reason: `zip end-of-central-directory record followed by ${tail.length - i - 22} bytes`,
      };
    }
  }
  return undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    zip: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "zipRules");

/** Zip archives. */
export const zipModule = {
  name: "zip",
  formats: [{ id: "zip", description: "zip archive", claimExtensions: ["zip", "npz"] }],
  detectors: [{ rank: 0, detect: detectZip, trailer: true }],
  analyzers: [lazyAnalyzer("zip", ["zip"], async () => (await import("./analyzer.js")).zipAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
