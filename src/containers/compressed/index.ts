/**
 * The compressed-stream module: gzip, bzip2, xz, LZMA-alone, zlib, zstd and LZ4-frame streams are
 * decoded (within the decompression budget) and their content scanned as a member; RAR archives
 * are recognised but not read (`format/unsupported`).
 *
 * Detection: recognises compressed streams (gzip, bzip2, xz, zstd, lz4, zlib, LZMA-alone) and RAR archives.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { ascii, magic, startsWith } from "../../core/sniffing.js";

export const detectGzip = magic("gzip", [0x1f, 0x8b, 0x08], "gzip header");
export const detectXz = magic("xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz header");
export const detectZstd = magic("zstd", [0x28, 0xb5, 0x2f, 0xfd], "zstd frame");
export const detectLz4 = magic("lz4", [0x04, 0x22, 0x4d, 0x18], "lz4 frame");
export const detectRar = magic("rar", ascii("Rar!\x1a\x07"), "RAR signature");

export const detectBz2: Detector = ({ head }) =>
  startsWith(head, ascii("BZh")) &&
  head[3]! >= 0x31 &&
  head[3]! <= 0x39 &&
  (startsWith(head, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59], 4) ||
    startsWith(head, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90], 4))
    ? { format: "bz2", offset: 0, reason: "bzip2 stream header" }
    : undefined;

export const detectZlib: Detector = ({ head }) => {
  if (head.length < 2 || head[0] !== 0x78) return undefined;
  const ok = ((head[0]! << 8) | head[1]!) % 31 === 0 && (head[1]! & 0x20) === 0;
  return ok ? { format: "zlib", offset: 0, reason: "zlib stream header" } : undefined;
};

/**
 * liblzma's test of an .lzma header's dictionary size in its auto-detecting ("picky") decoder, as
 * liblzma computes it in 32-bit unsigned arithmetic: the size rounded up to the next 2^n or
 * 2^n + 2^(n-1) must be the size itself, or the size is UINT32_MAX. A size of 0 passes (0 - 1
 * wraps to UINT32_MAX, which rounds up to 0 again): liblzma then decodes with its 4 KiB minimum.
 * @param dict - the header's dictionary size (unsigned 32-bit)
 */
export function lzmaDictionaryAccepted(dict: number): boolean {
  if (dict === 0xffffffff) return true;
  let d = (dict - 1) >>> 0;
  d = (d | (d >>> 2)) >>> 0;
  d = (d | (d >>> 3)) >>> 0;
  d = (d | (d >>> 4)) >>> 0;
  d = (d | (d >>> 8)) >>> 0;
  d = (d | (d >>> 16)) >>> 0;
  return (d + 1) >>> 0 === dict;
}

export const detectLzma: Detector = ({ head }) => {
  // LZMA "alone": properties byte (lc/lp/pb, usually 0x5d), dictionary size, 64-bit size.
  if (head.length < 13 || head[0]! >= 225) return undefined;
  const dict = (head[1]! | (head[2]! << 8) | (head[3]! << 16) | (head[4]! << 24)) >>> 0;
  // What liblzma's .lzma auto-detection accepts (Python's lzma.open, joblib): an unknown size or
  // one below 2^38, and a dictionary size passing `lzmaDictionaryAccepted`.
  const dictOk = lzmaDictionaryAccepted(dict);
  const sizeUnknown = head.subarray(5, 13).every((b) => b === 0xff);
  const sizeOk = sizeUnknown || (head[9]! < 0x40 && head[10] === 0 && head[11] === 0 && head[12] === 0);
  return head[0] === 0x5d && dictOk && sizeOk ? { format: "lzma", offset: 0, reason: "LZMA-alone header" } : undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    gzip: true;
    bz2: true;
    xz: true;
    lzma: true;
    zlib: true;
    zstd: true;
    lz4: true;
    rar: true;
  }
}

/** Compressed streams. */
export const compressedModule = {
  name: "compressed",
  formats: [
    { id: "gzip", description: "gzip stream", claimExtensions: ["gz", "tgz", "nemo"] },
    { id: "bz2", description: "bzip2 stream", claimExtensions: ["bz2"] },
    { id: "xz", description: "xz stream", claimExtensions: ["xz"] },
    { id: "lzma", description: "LZMA-alone stream", claimExtensions: ["lzma"], probe: true },
    { id: "zlib", description: "zlib stream" },
    { id: "zstd", description: "zstd frame", claimExtensions: ["zst"] },
    { id: "lz4", description: "LZ4 frame" },
    { id: "rar", description: "RAR archive (recognised, not read)" },
  ],
  detectors: [
    { rank: 60, detect: detectRar },
    { rank: 70, detect: detectGzip },
    { rank: 80, detect: detectXz },
    { rank: 90, detect: detectZstd },
    { rank: 100, detect: detectLz4 },
    { rank: 110, detect: detectBz2 },
    // joblib.load routes on these prefixes (zlib `x`, LZMA-alone `]`) whatever else the bytes are.
    { rank: 160, detect: detectZlib, coexist: "binary" },
    { rank: 170, detect: detectLzma, coexist: "binary" },
  ],
  analyzers: [
    lazyAnalyzer(
      "compressed",
      ["gzip", "zlib", "zstd", "bz2", "xz", "lzma", "lz4"],
      async () => (await import("./analyzer.js")).compressedAnalyzer,
    ),
  ],
} as const satisfies FormatModule;
