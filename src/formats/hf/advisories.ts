/**
 * Known-vulnerable versions of the libraries that write and load model files, and where model
 * repositories record those versions.
 * @module
 */

/** Libraries whose version a model repository may record. */
export const TOOLS = ["transformers", "keras", "diffusers", "sentence-transformers", "torch"] as const;

/** A library from {@link TOOLS}. */
export type Tool = (typeof TOOLS)[number];

/** A published advisory about loading untrusted model files with a range of library versions. */
export interface ToolAdvisory {
  /** The library. */
  readonly tool: Tool;
  /** Affected versions, as a `semver` range. */
  readonly range: string;
  /** CVE (and GHSA, when known) identifiers. */
  readonly ids: readonly string[];
  /** First fixed version. */
  readonly fixed: string;
  /** What a crafted model file does to an affected loader. */
  readonly summary: string;
}

/**
 * Advisories where the attack is a crafted model artifact (weights, config, archive) loaded by the
 * victim. Dependency-only issues (ReDoS in tokenizers, web UI bugs) are left out on purpose.
 */
export const TOOL_ADVISORIES: readonly ToolAdvisory[] = [
  {
    tool: "transformers",
    range: "<4.36.0",
    ids: ["CVE-2023-6730", "CVE-2023-7018"],
    fixed: "4.36.0",
    summary: "RagRetriever index files and TransfoXL vocabularies are unpickled when loaded",
  },
  {
    tool: "transformers",
    range: "<4.38.0",
    ids: ["CVE-2024-3568", "GHSA-37q5-v5qm-c9v8"],
    fixed: "4.38.0",
    summary: "TensorFlow checkpoint loading unpickles repository files",
  },
  {
    tool: "transformers",
    range: "<4.48.0",
    ids: ["CVE-2024-11392", "CVE-2024-11393", "CVE-2024-11394"],
    fixed: "4.48.0",
    summary: "MobileViTV2 configurations, MaskFormer and Trax model files are deserialised unsafely",
  },
  {
    tool: "transformers",
    range: ">=4.56.0 <5.3.0",
    ids: ["CVE-2026-4372", "GHSA-29pf-2h5f-8g72"],
    fixed: "5.3.0",
    summary:
      "a config.json field (_attn_implementation_internal) makes from_pretrained fetch and run Hub code even with trust_remote_code=False",
  },
  {
    tool: "keras",
    range: "<2.13.0",
    ids: ["CVE-2024-3660"],
    fixed: "2.13.0",
    summary: "Lambda layers run arbitrary Python when a model is loaded; there is no safe_mode",
  },
  {
    tool: "keras",
    range: ">=3.0.0 <3.9.0",
    ids: ["CVE-2025-1550", "GHSA-48g7-3x6r-xfhp"],
    fixed: "3.9.0",
    summary: "config.json in a .keras archive names arbitrary modules and functions, run even with safe_mode=True",
  },
  {
    tool: "keras",
    range: ">=3.0.0 <3.11.0",
    ids: ["CVE-2025-8747", "GHSA-c9rc-mg46-23w3", "CVE-2025-9906"],
    fixed: "3.11.0",
    summary: "safe_mode bypasses through allowed Keras functions chained from a .keras config",
  },
  {
    tool: "keras",
    range: ">=3.0.0 <3.11.3",
    ids: ["CVE-2025-9905"],
    fixed: "3.11.3",
    summary: "safe_mode is silently ignored for legacy HDF5 (.h5) models, so Lambda layers run",
  },
  {
    tool: "torch",
    range: "<2.6.0",
    ids: ["CVE-2025-32434", "GHSA-53q9-r3pm-6pq6"],
    fixed: "2.6.0",
    summary: "torch.load(weights_only=True) can still execute code from a crafted checkpoint",
  },
  {
    tool: "torch",
    range: "<2.10.0",
    ids: ["CVE-2026-24747"],
    fixed: "2.10.0",
    summary:
      "the weights_only unpickler corrupts memory on crafted checkpoints (SETITEM on non-dicts, storage size mismatch)",
  },
];
