/**
 * The compressed-stream module: gzip, bzip2, xz, LZMA-alone, zlib and zstd streams are decoded
 * (within the decompression budget) and their content scanned as a member; lz4 frames and RAR
 * archives are recognised but not read (`format/unsupported`).
 * @module
 */
import { type FormatModule, lazyAnalyzer } from "../../core/module.js";
import { detectBz2, detectGzip, detectLz4, detectLzma, detectRar, detectXz, detectZlib, detectZstd } from "./detect.js";

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
    { id: "lz4", description: "lz4 frame (recognised, not decoded)" },
    { id: "rar", description: "RAR archive (recognised, not read)" },
  ],
  detectors: [
    { rank: 60, detect: detectRar },
    { rank: 70, detect: detectGzip },
    { rank: 80, detect: detectXz },
    { rank: 90, detect: detectZstd },
    { rank: 100, detect: detectLz4 },
    { rank: 110, detect: detectBz2 },
    { rank: 160, detect: detectZlib },
    { rank: 170, detect: detectLzma },
  ],
  analyzers: [
    lazyAnalyzer(
      "compressed",
      ["gzip", "zlib", "zstd", "bz2", "xz", "lzma"],
      async () => (await import("./analyzer.js")).compressedAnalyzer,
    ),
  ],
} as const satisfies FormatModule;
