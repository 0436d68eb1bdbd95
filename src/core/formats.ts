/**
 * Format ids (the report's public `format` enum) and what the sniffer says about some bytes.
 * @module
 */

/**
 * Formats the scanner recognises by content. `unknown` is content that matches nothing the
 * scanner knows; `empty` is a zero-byte file.
 */
export const FORMATS = [
  "pickle",
  "pytorch-zip",
  "pytorch-legacy",
  "torchscript",
  "numpy",
  "npz",
  "joblib",
  "zip",
  "tar",
  "gzip",
  "bz2",
  "xz",
  "lzma",
  "zlib",
  "zstd",
  "lz4",
  "7z",
  "rar",
  "safetensors",
  "onnx",
  "gguf",
  "hdf5",
  "keras",
  "tf-savedmodel",
  "protobuf",
  "json",
  "jinja",
  "python",
  "notebook",
  "shell",
  "executable",
  "oms-signature",
  "text",
  "empty",
  "unknown",
] as const;

/** A recognised format. */
export type Format = (typeof FORMATS)[number];

/** A format recognised in some bytes, and where it starts. */
export interface Detection {
  /** The format. */
  readonly format: Format;
  /** Byte offset where that format's data begins (non-zero for prepended data). */
  readonly offset: number;
  /** Short explanation of what matched (for evidence). */
  readonly reason: string;
  /**
   * Set on a pickle reading asked for by a claim rather than found by the sniffer alone
   * (`src/formats/claims.ts`): `strong` readings that fail make the stream `invalid`; `weak` ones
   * are speculative (only their dangerous findings count when the stream turns out not to parse);
   * `beside` readings run beside another format positively recognised at the same bytes (only
   * their dangerous findings count, and the stream keeps that format).
   */
  readonly claim?: "strong" | "weak" | "beside";
}
